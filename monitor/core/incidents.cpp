// One alarm per incident, one resolved event when it ends.
#include "monitor/core/incidents.h"

#include <fmt/format.h>

namespace ringwatch {

std::string_view to_string(IncidentEventKind k) {
    switch (k) {
        case IncidentEventKind::alarm: return "alarm";
        case IncidentEventKind::resolved: return "resolved";
        case IncidentEventKind::recovery: return "recovery";
        case IncidentEventKind::recovered: return "recovered";
    }
    return "unknown";
}

void IncidentTracker::on_verdict(Instant now, const Verdict& v) {
    if (v.kind == VerdictKind::inconclusive) return;
    if (last_change_ && v.id <= *last_change_) return;  // about an earlier moment than the last change
    if (!v.alarm()) {
        if (open_ && open_->recovering && v.epoch >= open_->recovering->second) {
            IncidentEvent e{IncidentEventKind::recovered, open_->fault, v, open_->first, v.id, now - open_->since, {}, {}, {}, {}, {}, {}};
            e.mode = open_->recovering->first;
            e.epoch = open_->recovering->second;
            e.by_hand = open_->by_hand;
            events_.push_back(std::move(e));
            ++stats_.recovered;
            end(now, v, (open_->by_hand ? "by_hand_" : "by_") + open_->recovering->first);
        } else if (open_) {
            end(now, v, "by_itself");
        }
        return;
    }
    if (open_ && open_->fault == v.kind) {
        open_->last = v.id;  // the same condition lasts: no new alarm
        return;
    }
    if (open_) end(now, v, fmt::format("became_{}", to_string(v.kind)));
    raise(now, v);
}

void IncidentTracker::on_recovery(Instant now, const Verdict& cause, std::string mode, Epoch epoch, std::optional<NodeId> issuer,
                                  std::optional<SnapshotId> restored, std::string note, bool by_hand) {
    const bool ordered = issuer || restored;  // else it could not be done, and the note says why
    if (open_) {
        if (!ordered) {
            if (open_->unrecoverable_said && !by_hand) return;  // an operator's request is always answered
            open_->unrecoverable_said = true;
        } else {
            open_->recovering = std::pair{mode, epoch};
            open_->by_hand = by_hand;
        }
    } else if (!by_hand) {
        return;  // asked for by an operator with no incident open: said, nothing to end; otherwise nothing to say
    }
    if (ordered) ++stats_.recoveries;
    IncidentEvent e{IncidentEventKind::recovery, open_ ? open_->fault : cause.kind, cause, open_ ? open_->first : cause.id, cause.id,
                    open_ ? now - open_->since : Duration{0}, {}, {}, {}, {}, {}, {}};
    e.mode = std::move(mode);
    e.epoch = epoch;
    e.issuer = issuer;
    e.restored = restored;
    e.by_hand = by_hand;
    e.note = std::move(note);
    events_.push_back(std::move(e));
}

void IncidentTracker::raise(Instant now, const Verdict& v) {
    open_ = Open{v.kind, v.id, v.id, now, std::nullopt, false};
    last_change_ = v.id;
    ++stats_.opened;
    ++(v.kind == VerdictKind::token_lost ? stats_.token_lost : stats_.token_duplicated);
    events_.push_back(IncidentEvent{IncidentEventKind::alarm, v.kind, v, v.id, v.id, Duration{0}, {}, {}, {}, {}, {}, {}});
}

void IncidentTracker::end(Instant now, const Verdict& v, std::string how) {
    events_.push_back(IncidentEvent{IncidentEventKind::resolved, open_->fault, v, open_->first, open_->last, now - open_->since, std::move(how), {}, {}, {}, {}, {}});
    ++stats_.resolved;
    open_.reset();
    last_change_ = v.id;
}

}  // namespace ringwatch
