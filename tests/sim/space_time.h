// What a space-time diagram of a simulated run needs, recorded while it runs: every token, marker
// and snapshot start, from the moment a core passed it to its link to the moment the receiver's link
// handed it to the receiver's core (SimCluster reports both); where each node recorded its state,
// which tokens its channel brought before the marker, and the faults where they took effect (the
// oracle decides these and says so as a CutObserver). Only what touches the window is kept.
//
// Off unless a diagram is asked for: SimCluster calls it only when SimConfig::space_time is set. It
// reads nothing the run depends on and draws no random numbers, so a run is the same with it or
// without it.
#pragma once

#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tests/sim/diagram_svg.h"
#include "tests/sim/token_oracle.h"

namespace ringwatch::sim {

struct TimeWindow {
    Instant start, end;
};
// "2s..2.5s", "1500ms..1600ms"; an empty or reversed window is an error (nullopt).
std::optional<TimeWindow> parse_window(std::string_view text);
// Without --window: this long, from the monitor's first snapshot start.
inline constexpr Duration kDefaultWindow = std::chrono::milliseconds(500);

class SpaceTimeRecorder final : public CutObserver {
public:
    // The oracle's record of one node's cut, as it stood when its channel's marker arrived.
    struct OracleCut {
        NodeId node;
        SnapshotId snapshot;
        Instant recorded_at, closed_at;
        std::uint32_t held = 0, in_flight = 0;
    };

    // No window: kDefaultWindow from the first snapshot start the monitor sends.
    explicit SpaceTimeRecorder(std::optional<TimeWindow> window = std::nullopt);

    // SimCluster: a core passed `m` to its link (`from_gen`: the sending process's generation) ...
    void sent(Instant now, NodeId from, std::uint32_t from_gen, NodeId to, const oracle_wire::Read& m);
    // ... a link handed `m` to its core (before the oracle hears of it) ...
    void handed(Instant now, NodeId to, NodeId from, std::uint32_t from_gen, const oracle_wire::Read& m);
    // ... a link dropped what it held for `to` (it met a new process there).
    void link_reset(NodeId from, NodeId to);

    void recorded(Instant now, NodeId node, SnapshotId snapshot, std::uint32_t held, bool by_marker) override;
    void recorded_in_flight(Instant now, NodeId node, SnapshotId snapshot) override;
    void cut_closed(Instant now, NodeId node, SnapshotId snapshot, std::uint32_t held, std::uint32_t in_flight) override;
    void fault_took_effect(const FaultEffect& e) override;

    // After the run. Nothing if the run never reached a window (no snapshot started).
    std::optional<TimeWindow> window() const;
    const std::vector<OracleCut>& oracle_cuts() const { return cuts_; }
    diagram::Diagram diagram(std::size_t nodes, std::string title) const;

private:
    struct Message {
        oracle_wire::Read what;
        NodeId from, to;
        std::uint32_t from_gen = 0;
        Instant sent;
        std::uint64_t sent_seq = 0;
        std::optional<Instant> received;
        std::uint64_t received_seq = 0;
        std::vector<SnapshotId> recorded_by;
        bool lost = false, copy = false;
    };
    struct Point {
        NodeId node;
        Instant at;
        std::uint64_t seq;
        SnapshotId snapshot;
        std::uint32_t held;
        bool by_marker;
    };
    struct FaultAt {
        FaultEffect effect;
        std::uint64_t seq;
    };

    bool started() const { return start_.has_value(); }
    bool in_window(Instant t) const { return start_ && t >= *start_ && t <= *end_; }
    bool tracked(const oracle_wire::Read& m) const;
    void keep(Message m, std::optional<NodeId> handed_to);

    std::optional<Instant> start_, end_;
    std::uint64_t seq_ = 0;
    std::map<std::pair<NodeId, NodeId>, std::deque<Message>> links_;  // passed on, not yet handed over
    std::vector<Message> messages_;                                   // touching the window
    std::map<NodeId, std::optional<std::size_t>> last_handed_;        // per node, in messages_
    std::map<NodeId, bool> copy_next_;                                // a duplicate fault's copy is the next token passed
    std::vector<Point> points_;
    std::vector<FaultAt> faults_;
    std::map<std::pair<NodeId, SnapshotId>, Instant> open_cuts_;
    std::vector<OracleCut> cuts_;
};

}  // namespace ringwatch::sim
