// Incidents, not alarm storms: the first bad verdict raises one alarm; while the same condition
// lasts, verdicts stay in the snapshot stream but raise nothing; the first ok verdict after it ends
// the incident with one `resolved` event. Pure: verdicts in, events out.
//
// Verdicts may be decided out of snapshot order (an older snapshot can time out after a newer one
// completes): only a verdict for a snapshot newer than the one that last changed the incident's
// state can change it again, so a late verdict about the past never opens or ends an incident.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "monitor/core/verdict.h"
#include "ring/core/messages.h"

namespace ringwatch {

enum class IncidentEventKind : std::uint8_t { alarm, resolved, recovery, recovered };
std::string_view to_string(IncidentEventKind k);
// What ended an incident: nothing we did, a recovery (its mode, and whether an operator asked for
// it), or a verdict of the other fault (the incident became another).
enum class IncidentEnd : std::uint8_t { by_itself, by_recovery, became_other };

struct IncidentEvent {
    IncidentEventKind kind;
    VerdictKind fault;                           // token_lost or token_duplicated
    Verdict verdict;                             // alarm: the verdict that raised it; resolved: the verdict that ended it
    SnapshotId first, last;                      // resolved: the first and the last bad snapshot of the incident
    Duration lasted{0};                          // resolved: from the alarm's verdict to the one that ended it
    IncidentEnd ended = IncidentEnd::by_itself;  // resolved: what ended it (became_other: `verdict.kind` is the new fault)
    // recovery / recovered / resolved by_recovery: the mode, the new epoch, the node that issues the
    // new token (none: the recovery cannot be done, and `note` says why). recovered: `lasted` is the
    // time from the alarm.
    RecoverMode mode = RecoverMode::regenerate;
    Epoch epoch{};
    std::optional<NodeId> issuer{};
    std::optional<SnapshotId> restored{};  // rollback: the snapshot every node restores
    std::string note{};                    // recovery: why it cannot be done (nothing ordered), or what was done instead
    bool by_hand = false;                  // recovery, recovered, resolved: asked for by an operator (`ring recover`)
    // The epoch of the verdict that opened the incident: with the ring and the fault it names the
    // incident the same on every monitor (incident_id()), so alerts from several are one.
    Epoch incident_epoch{0};
};
// "RING/EPOCH/KIND", e.g. "ring5/4097/token_lost".
std::string incident_id(std::string_view ring, const IncidentEvent& e);
// A resolved event's ending as its JSON and log name: "by_itself", "by_regenerate",
// "by_hand_rollback", "became_token_duplicated".
std::string how(const IncidentEvent& e);

struct IncidentStats {
    std::uint64_t opened = 0;
    std::uint64_t resolved = 0;
    std::uint64_t token_lost = 0;  // incidents opened, by kind
    std::uint64_t token_duplicated = 0;
    std::uint64_t recoveries = 0;  // recovery actions ordered
    std::uint64_t recovered = 0;   // incidents ended by a recovery
};

// The events of `events` that verdict `v` caused (each event names the verdict that caused it).
inline std::vector<IncidentEvent> caused_by(const Verdict& v, const std::vector<IncidentEvent>& events) {
    std::vector<IncidentEvent> out;
    for (const auto& e : events)
        if (e.verdict.id == v.id) out.push_back(e);
    return out;
}

class IncidentTracker {
public:
    // `now`: when the verdict was decided.
    void on_verdict(Instant now, const Verdict& v);
    // A recovery was ordered for the open incident (raised by `cause`): regenerate names its issuer,
    // rollback the snapshot restored. Neither: it cannot be done, and `note` says why (said once per
    // incident).
    void on_recovery(Instant now, const Verdict& cause, RecoverMode mode, Epoch epoch, std::optional<NodeId> issuer,
                     std::optional<SnapshotId> restored, std::string note = {}, bool by_hand = false);
    std::vector<IncidentEvent> take_events() { return std::exchange(events_, {}); }
    bool open() const { return open_.has_value(); }
    const IncidentStats& stats() const { return stats_; }

    // The incident open now, as `ring status` shows it.
    struct Open {
        VerdictKind fault;
        SnapshotId first, last;
        Epoch epoch;  // the alarm's
        Instant since;
        std::optional<std::pair<RecoverMode, Epoch>> recovering;
        bool by_hand = false;
        bool unrecoverable_said = false;
    };
    const std::optional<Open>& open_incident() const { return open_; }

private:
    void raise(Instant now, const Verdict& v);
    void end(Instant now, const Verdict& v, IncidentEnd ended);

    std::optional<Open> open_;
    std::optional<SnapshotId> last_change_;
    std::vector<IncidentEvent> events_;
    IncidentStats stats_;
};

}  // namespace ringwatch
