// One alarm per incident, one resolved event when it ends.
#include "monitor/core/incidents.h"

#include <fmt/format.h>

namespace ringwatch {

void IncidentTracker::on_verdict(Instant now, const Verdict& v) {
    if (v.kind == VerdictKind::inconclusive) return;
    if (last_change_ && v.id <= *last_change_) return;  // about an earlier moment than the last change
    if (!v.alarm()) {
        if (open_) end(now, v, "by_itself");
        return;
    }
    if (open_ && open_->fault == v.kind) {
        open_->last = v.id;  // the same condition lasts: no new alarm
        return;
    }
    if (open_) end(now, v, fmt::format("became_{}", to_string(v.kind)));
    raise(now, v);
}

void IncidentTracker::raise(Instant now, const Verdict& v) {
    open_ = Open{v.kind, v.id, v.id, now};
    last_change_ = v.id;
    ++stats_.opened;
    ++(v.kind == VerdictKind::token_lost ? stats_.token_lost : stats_.token_duplicated);
    events_.push_back(IncidentEvent{IncidentEventKind::alarm, v.kind, v, v.id, v.id, Duration{0}, {}});
}

void IncidentTracker::end(Instant now, const Verdict& v, std::string how) {
    events_.push_back(IncidentEvent{IncidentEventKind::resolved, open_->fault, v, open_->first, open_->last, now - open_->since, std::move(how)});
    ++stats_.resolved;
    open_.reset();
    last_change_ = v.id;
}

}  // namespace ringwatch
