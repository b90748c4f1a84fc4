// The rules every simulated run must keep, checked against the oracle's truth (token_oracle.h):
// each verdict as it is decided, and at the end the rules that need the whole run. Every rule is
// scoped in time, so it applies on every run, faults or none (the README lists them).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <vector>

#include "monitor/core/monitor_core.h"
#include "tests/sim/token_oracle.h"

namespace ringwatch::sim {

struct DetectionBound {
    Duration interval, timeout, rto_max;
    // After a fault (or the healing of the network), a snapshot starts within one interval and is
    // decided within `timeout`. Under loss a link may have backed off to rto_max and need two of
    // its retransmissions; four attempts cover snapshots that time out meanwhile.
    Duration value() const { return 4 * interval + timeout + 2 * rto_max; }
};

class InvariantChecker {
public:
    InvariantChecker(std::vector<NodeId> ring, DetectionBound bound, const TokenOracle& oracle, Violations& violations);

    // A copy checks against its own oracle and reports to its own list (ringcheck copies the
    // whole simulated world).
    void rebind(const TokenOracle& oracle, Violations& violations) {
        oracle_ = &oracle;
        violations_ = &violations;
    }
    void node_down(Instant now, NodeId n);
    // The monitor process stopped / a new one started: no verdict can come while it is down.
    // A new monitor process knows nothing of its predecessor's incident: it reports what it finds.
    void monitor_down(Instant now) {
        monitor_outages_.push_back({now, std::nullopt});
        open_incident_.reset();
    }
    void monitor_up(Instant now) {
        if (!monitor_outages_.empty() && !monitor_outages_.back().second) monitor_outages_.back().second = now;
        monitor_starts_.push_back(now);
        first_connected_.clear();
    }
    // The monitor's link to node n connected: the first time since the monitor started, the
    // monitor knows its process from then on (a snapshot begun before may name it restarted).
    void monitor_connected(Instant now, NodeId n) { first_connected_.try_emplace(n, now); }
    // The monitor process was stopped (SIGSTOP) from `from` to `to`: the same process, so its
    // incident stays open, but no verdict or node event can come meanwhile.
    void monitor_paused(Instant from, Instant to) { monitor_pauses_.push_back({from, to}); }
    // A monitor started to lead (any monitor's, with several): its take-over view purges the ring's
    // token and makes the next one a lease later, a disturbance of the ring of its own.
    void took_over(Instant at) { takeovers_.push_back(at); }
    // Node n could not be heard by the monitor from `from` to `to` (its process stopped, or a
    // partition between them): silence then is no lie, and no conclusive verdict is due meanwhile.
    // (`to` unset: until reachable_again()).
    void unreachable(NodeId n, Instant from, std::optional<Instant> to) { unreachable_[n].push_back({from, to}); }
    void reachable_again(NodeId n, Instant at) {
        for (auto& [from, to] : unreachable_[n])
            if (!to) to = at;
    }
    // A datagram from node n's current process reached the monitor's socket (processed at once, or
    // when a pause ends).
    void reached_monitor(Instant now, NodeId n) { reached_monitor_[n] = now; }
    // A process of node n started (generation `gen`: 1 at the ring's start, then one per restart).
    void node_up(Instant now, NodeId n, std::uint32_t gen);
    // A report from generation `gen` of `node` reached the monitor core, with the count the oracle
    // says it must carry.
    void report_handed(SnapshotId id, NodeId node, std::uint32_t gen, std::optional<TokenOracle::Cut> cut);
    // The monitor sent snapshot `id`'s first start: which process of each node was the latest then,
    // and whether it was up, is taken from the order of events, not from their times (ringcheck
    // runs many steps in one instant; without this, times alone say).
    void snapshot_started(SnapshotId id);
    // Checks a verdict at the moment the monitor decided it.
    void verdict(const Verdict& v, Instant now);
    // Checks an incident event (after the verdict that caused it).
    void incident(const IncidentEvent& e);
    // node_down / node_up as the monitor raised them.
    void node_event(const NodeEvent& e);
    // Views (the monitor leaves dead and long-silent nodes out): unset, it never does.
    void set_views(std::optional<Duration> evict_after, Duration ack_timeout) {
        evict_after_ = evict_after;
        ack_timeout_ = ack_timeout;
    }
    // node_evicted / view / node_rejoined as the monitor decided them (the eviction rule).
    void membership_event(const MembershipEvent& e);
    // With views: after a node's crash that lasts, a conclusive ok verdict of a ring without it comes
    // within the healing bound (nothing else disturbing the ring meanwhile).
    void finish_healing(Instant end, bool lossy);
    // Every crash that outlasted the monitor's node timeout (while the monitor ran) was reported.
    void finish_liveness(Instant end);
    // With recovery on: after every token fault and every restart, the ring holds exactly one token
    // again within two detection bounds (the fault's alarm, then the new epoch's first verdict),
    // unless another fault or crash came first; and at the end, with every node up, exactly one.
    void finish_recovery(Instant end, Instant healed_at, bool lossy, bool all_up);
    // A crash (of any node) after t: with recovery on, an excuse for a lost message (see also below).
    bool crashed_since(Instant t) const;
    // A token fault took effect at or after `t` and no alarm was decided after it: faults that
    // cancel out between two snapshots (a duplicate, then a loss) are invisible to a count, so no
    // recovery can save the messages on the token that went.
    bool unseen_fault_since(Instant t) const;
    // `jitter`: how much later than another copy a datagram can arrive (the network's delay spread).
    void set_liveness(LivenessConfig c, bool lossless, Duration jitter = Duration{0}) {
        liveness_ = c;
        lossless_ = lossless;
        jitter_ = jitter;
    }

    // From when, after an event at `t`, a conclusive verdict is due within the bound (nodes must be
    // up; above 30% loss, the network healed first). Nothing when a node stays down.
    std::optional<Instant> ready_after(Instant t, Instant healed_at, bool lossy) const;
    // End of run: every fault that took effect, and the healing itself, was followed in time by a
    // conclusive verdict that saw it.
    void finish(Instant end, Instant healed_at, bool lossy);
    // True when a token fault, a crash, or a count other than exactly one came at or after `t`.
    bool disturbed_since(Instant t) const;
    // When the last checkpoint's verdict is due (for the settle phase).
    std::optional<Instant> last_deadline(Instant healed_at, bool lossy) const;

    std::uint64_t faults_detected() const { return faults_detected_; }
    const DetectionBound& bound() const { return bound_; }

private:
    struct Decided {
        SnapshotId id;
        VerdictKind kind;
        Instant started, decided;
        std::vector<NodeId> members;
    };
    std::optional<Duration> evict_after_;
    Duration ack_timeout_{0};
    // Cut off (down or unreachable) for `length` in one stretch that ended at `ended_by` or later.
    bool silenced(NodeId n, Duration length, Instant ended_by, Instant at) const;
    std::optional<TokenCount> constant_over(Instant a, Instant b) const;
    bool exactly_one_at_some_point(Instant a, Instant b) const;
    bool down_throughout(NodeId n, Instant a, Instant b) const;
    void forming_verdict(const Verdict& v, Instant from, Instant now);
    std::uint32_t generation_at(NodeId n, Instant t) const;
    bool restarted_within(NodeId n, Instant a, Instant b) const;
    void check_checkpoint(Instant t, std::string_view what, Instant end, Instant healed_at, bool lossy);

    std::vector<NodeId> ring_;
    DetectionBound bound_;
    const TokenOracle* oracle_;
    Violations* violations_;
    std::map<NodeId, std::vector<std::pair<Instant, std::optional<Instant>>>> outages_;
    std::map<NodeId, std::vector<std::pair<Instant, std::optional<Instant>>>> unreachable_;
    bool unreachable_at_some_point(NodeId n, Instant a, Instant b) const;
    std::vector<std::pair<Instant, std::optional<Instant>>> monitor_outages_;
    std::vector<Instant> monitor_starts_;
    std::map<NodeId, Instant> first_connected_;  // since the monitor's latest start
    std::vector<std::pair<Instant, std::optional<Instant>>> monitor_pauses_;
    std::vector<Instant> takeovers_;  // took_over()
    std::map<NodeId, Instant> reached_monitor_;
    Duration jitter_{0};
    Duration paused_within(Instant a, Instant b) const;
    std::vector<NodeEvent> node_events_;
    std::vector<IncidentEvent> recoveries_;
    LivenessConfig liveness_;
    bool lossless_ = false;  // no datagram is lost: a live node is never silent for a node timeout
    bool down_at_some_point(NodeId n, Instant a, Instant b) const;
    struct HandedReport {
        std::uint32_t gen;
        std::optional<TokenOracle::Cut> cut;
    };
    // What the recorded cuts say: the newest epoch in them, its tokens, and whether some node
    // recorded before adopting it (none when a cut is unknown).
    struct CutCount {
        std::uint32_t epoch = 0, tokens = 0;
        bool straddles = false;
    };
    static std::optional<CutCount> count_cut(const std::map<NodeId, HandedReport>& reports);
    std::map<SnapshotId, std::map<NodeId, HandedReport>> reports_;
    struct AtStart {
        std::uint32_t gen = 0;  // the latest process started (0: none yet)
        bool up = false;
        std::size_t boots = 0;  // processes started so far
    };
    std::map<SnapshotId, std::map<NodeId, AtStart>> at_start_;
    std::map<NodeId, std::vector<std::pair<Instant, std::uint32_t>>> boots_;
    std::vector<Decided> decided_;
    std::uint64_t faults_detected_ = 0;
    std::optional<IncidentEvent> open_incident_;
};

}  // namespace ringwatch::sim
