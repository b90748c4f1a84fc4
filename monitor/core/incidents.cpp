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

std::string how(const IncidentEvent& e) {
    switch (e.ended) {
        case IncidentEnd::by_itself: return "by_itself";
        case IncidentEnd::by_recovery: return fmt::format("{}{}", e.by_hand ? "by_hand_" : "by_", to_string(e.mode));
        case IncidentEnd::became_other: return fmt::format("became_{}", to_string(e.verdict.kind));
    }
    return "unknown";
}

std::string incident_id(std::string_view ring, const IncidentEvent& e) {
    return fmt::format("{}/{}/{}", ring, e.incident_epoch.value, to_string(e.fault));
}

void IncidentTracker::on_verdict(Instant now, const Verdict& v) {
    if (v.kind == VerdictKind::inconclusive) return;
    if (last_change_ && v.id <= *last_change_) return;  // about an earlier moment than the last change
    if (!v.alarm()) {
        if (open_ && open_->recovering && v.epoch >= open_->recovering->second) {
            events_.push_back(IncidentEvent{.kind = IncidentEventKind::recovered,
                                            .fault = open_->fault,
                                            .verdict = v,
                                            .first = open_->first,
                                            .last = v.id,
                                            .lasted = now - open_->since,
                                            .mode = open_->recovering->first,
                                            .epoch = open_->recovering->second,
                                            .by_hand = open_->by_hand,
                                            .incident_epoch = open_->epoch});
            ++stats_.recovered;
            end(now, v, IncidentEnd::by_recovery);
        } else if (open_) {
            end(now, v, IncidentEnd::by_itself);
        }
        return;
    }
    if (open_ && open_->fault == v.kind) {
        open_->last = v.id;  // the same condition lasts: no new alarm
        return;
    }
    if (open_) end(now, v, IncidentEnd::became_other);
    raise(now, v);
}

void IncidentTracker::on_recovery(Instant now, const Verdict& cause, RecoverMode mode, Epoch epoch, std::optional<NodeId> issuer,
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
    events_.push_back(IncidentEvent{.kind = IncidentEventKind::recovery,
                                    .fault = open_ ? open_->fault : cause.kind,
                                    .verdict = cause,
                                    .first = open_ ? open_->first : cause.id,
                                    .last = cause.id,
                                    .lasted = open_ ? now - open_->since : Duration{0},
                                    .mode = mode,
                                    .epoch = epoch,
                                    .issuer = issuer,
                                    .restored = restored,
                                    .note = std::move(note),
                                    .by_hand = by_hand,
                                    .incident_epoch = open_ ? open_->epoch : cause.epoch});
}

void IncidentTracker::raise(Instant now, const Verdict& v) {
    open_ = Open{v.kind, v.id, v.id, v.epoch, now, std::nullopt, false};
    last_change_ = v.id;
    ++stats_.opened;
    ++(v.kind == VerdictKind::token_lost ? stats_.token_lost : stats_.token_duplicated);
    events_.push_back(
        IncidentEvent{.kind = IncidentEventKind::alarm, .fault = v.kind, .verdict = v, .first = v.id, .last = v.id, .incident_epoch = v.epoch});
}

void IncidentTracker::end(Instant now, const Verdict& v, IncidentEnd ended) {
    events_.push_back(IncidentEvent{.kind = IncidentEventKind::resolved,
                                    .fault = open_->fault,
                                    .verdict = v,
                                    .first = open_->first,
                                    .last = open_->last,
                                    .lasted = now - open_->since,
                                    .ended = ended,
                                    .mode = open_->recovering ? open_->recovering->first : RecoverMode::regenerate,
                                    .by_hand = open_->by_hand,
                                    .incident_epoch = open_->epoch});
    ++stats_.resolved;
    open_.reset();
    last_change_ = v.id;
}

}  // namespace ringwatch
