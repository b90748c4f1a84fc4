// The monitor's logic, pure: starts a snapshot every interval (by default every node is asked to
// start it at once; optionally the first node alone), gathers the nodes' reports, and decides
// each verdict: tokens = held + recorded in flight; 1 ok, 0 token_lost, 2+ token_duplicated; not
// complete within the timeout: inconclusive, naming the nodes that did not report. Bounded: at most
// max_in_flight snapshots at once (a start that would exceed it is skipped and counted).
//
// Caller's contract (monitor/core/monitor_process.h is its one caller in production and in the
// simulator): on_report(now, from, report) for every report a link delivers; on_link_event() for
// every event of the monitor's link to a node; on_heard() for what the links last heard of each
// node, then on_timer(now), once next_deadline() has passed; on_probe_refused() when the kernel
// refuses a probe. After each call, take_output() and act on it: send the starts, recovery orders
// and keep orders to their nodes, probe the nodes named, publish the events and verdicts.
#pragma once

#include <algorithm>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

#include "monitor/core/incidents.h"
#include "monitor/core/leadership.h"
#include "monitor/core/membership.h"
#include "monitor/core/node_liveness.h"
#include "monitor/core/verdict.h"
#include "ring/core/endpoint.h"
#include "ring/core/link.h"
#include "ring/core/messages.h"
#include "ring/core/recovery_mode.h"

namespace ringwatch {

struct MonitorConfig {
    std::vector<NodeId> ring;  // ring order; ring[i]'s successor is ring[i+1], the last's is ring[0]
    Duration interval{std::chrono::milliseconds(100)};
    Duration timeout{std::chrono::milliseconds(1000)};
    bool single_initiator = false;
    std::size_t max_in_flight = 32;
    // Drawn at random per monitor process (ring/core/messages.h): its snapshot ids never collide
    // with an earlier monitor's.
    std::uint32_t era = 0;
    // node_down / node_up (node_liveness.h); the probe timings follow the interval unless set.
    LivenessConfig liveness;
    RecoveryMode recover = RecoveryMode::off;
    // Views (membership.h): a node whose process is gone is left out of the ring at once, a silent
    // one after this much silence, and the ring goes on without it in a new epoch. Unset: the ring
    // is always the configured one (a dead node stops it until it is back).
    std::optional<Duration> evict_after{std::chrono::seconds(5)};
    // Which monitor this is among the configured ones (leadership.h): only the leader acts. Its
    // `ring` is the ring above; its leader_timeout follows the liveness's node_timeout and its
    // hellos the interval, unless set.
    LeadershipConfig leadership;
};

// How long a new view waits for its members' acknowledgements: a round trip on healthy links, as
// long as a snapshot may take (twice its timeout), and never under 2 s.
inline Duration view_ack_timeout(Duration snapshot_timeout) { return std::max<Duration>(2 * snapshot_timeout, std::chrono::seconds(2)); }

// What the core decided, one kind per field, each in decision order.
struct MonitorOutput {
    struct Start {
        NodeId node;
        SnapshotStart start;
    };
    std::vector<Start> starts;                                        // snapshot starts, to their nodes
    std::vector<std::pair<NodeId, RecoverCommand>> recover_commands;  // recovery orders, one per node
    // The newest snapshot a rollback would restore, named to every node.
    std::vector<std::pair<NodeId, KeepSnapshot>> keeps;
    std::vector<NodeId> probes;          // nodes to probe now (node_liveness.h)
    std::vector<NodeEvent> node_events;  // node_down / node_up
    std::vector<Verdict> verdicts;
    std::vector<IncidentEvent> incident_events;           // alarms and their resolution, one pair per incident (incidents.h)
    std::vector<std::pair<NodeId, Message>> view_orders;  // ViewOrder / IssueToken / LeaseGrant, to their nodes (membership.h)
    std::vector<MembershipEvent> membership_events;       // view, node_evicted, node_rejoined
    // Claims to nodes and hellos to the other monitors (leadership.h), and what came of them.
    std::vector<std::pair<NodeId, Message>> term_orders;
    std::vector<LeaderEvent> leader_events;
    void clear() { *this = MonitorOutput{}; }
    bool empty() const {
        return starts.empty() && recover_commands.empty() && keeps.empty() && probes.empty() && node_events.empty() && verdicts.empty() &&
               incident_events.empty() && view_orders.empty() && membership_events.empty() && term_orders.empty() && leader_events.empty();
    }
};

struct MonitorStats {
    std::uint64_t started = 0;
    std::uint64_t ok = 0;
    std::uint64_t token_lost = 0;
    std::uint64_t token_duplicated = 0;
    std::uint64_t inconclusive = 0;
    std::uint64_t skipped_in_flight_bound = 0;
    std::uint64_t late_reports = 0;          // for snapshots already decided
    std::uint64_t unexpected_reports = 0;    // from a node not in the ring, or twice
    std::uint64_t past_epoch_verdicts = 0;   // about an epoch a recovery has already replaced: no incident
    std::uint64_t catch_up_orders = 0;       // a node behind the ring's epoch told to adopt it
    std::uint64_t first_tokens_ordered = 0;  // a fresh ring's first token (again, if the first order came to nothing)
    std::uint64_t stalls = 0;                // this monitor ran late (stopped, starved): silence over it excused
    Duration stalled{0};                     // their total
    std::uint64_t abandoned_for_view = 0;    // snapshots under way when a new view was ordered: no verdict
    std::uint64_t skipped_view_change = 0;   // starts not made while a view was being ordered (the ring has no token on purpose)
    std::uint64_t leases_granted = 0;
    std::uint64_t leases_refused =
        0;                          // asked by a node left out or not in the ring, or in a view other than the monitor's, or of a monitor not leading
    std::uint64_t not_leading = 0;  // recoveries and first tokens left to the leader
};

class MonitorCore {
public:
    MonitorCore(MonitorConfig config, Instant now);

    // Every input first accounts for this monitor's own stall: called more than 10 ms later than
    // next_deadline() (the process was stopped or starved), it excuses the nodes' silence over that time.
    void on_report(Instant now, NodeId from, const SnapshotReport& report);
    void on_timer(Instant now);
    // From the monitor's link to each node: nothing heard for a while (true), or heard again.
    void set_node_silent(NodeId node, bool silent);
    // Every event of the monitor's link to `node`: silence, return, and the node's incarnation (a
    // connection or a session reset names the process the link now speaks to).
    void on_link_event(Instant now, NodeId node, const LinkEvent& e);
    // Anything at all heard from a node (its link to the monitor heard a datagram at `at`): a node
    // that cannot report (its predecessor is down, so markers never reach it) is still alive.
    void on_heard(NodeId node, Instant at) {
        if (!in_ring(node)) return;
        liveness_.heard(at, node, kUnknownIncarnation);
        if (membership_ && membership_->evicted(node)) heard_.emplace_back(node, at);  // may rejoin: settle() tells it
    }
    // The kernel refused a probe of `node`'s address (no process holds its port); or of another
    // monitor's.
    void on_probe_refused(Instant now, NodeId node) {
        account_stall(now);
        if (is_monitor_id(node)) {
            if (monitors_) monitors_->probe_refused(now, node);
        } else {
            liveness_.probe_refused(now, node);
        }
        settle(now);
    }
    // Every event of the monitor's link to another monitor: it is heard (or not).
    void on_monitor_link_event(Instant now, NodeId monitor, const LinkEvent& e);
    // A node's acknowledgement of a command this core gave (a view's, its token order's).
    void on_ack(Instant now, NodeId from, std::uint64_t command_id, bool ok);
    // A node asks for its lease (LeaseRequest): a LeaseGrant among the view orders when it may
    // have one (membership.h says when; every member when views are off), once a confirmation
    // round begun after the request has shown this monitor still leads (leadership.h).
    void on_lease_request(Instant now, NodeId from, const LeaseRequest& r);
    static constexpr std::uint32_t kLeaseWithoutViewsMs = 3000;
    // A node's answer to the monitor's RingQuery: its epoch (a node that refused a view says so).
    void on_epoch_heard(Instant now, NodeId from, Epoch e);
    // A node's answer to a claim of a term, or its refusal of an order of an older one.
    void on_promise(Instant now, NodeId from, const TermPromise& p);
    // Another monitor's hello: its term, and whether it leads.
    void on_hello(Instant now, NodeId from, const MonitorHello& h);
    // An operator asks for a recovery now (`ring recover`), whatever the configured mode; a
    // `recovery` event says what was done (or why it cannot be). False when it cannot be done.
    bool recover_by_hand(Instant now, RecoverMode mode);

    using Command = MonitorOutput::Start;
    // Everything decided since the last call, appended to `out` (the caller clears it).
    void take_output(MonitorOutput& out);
    // The newest epoch the monitor knows of (from the cuts, and its own recoveries).
    Epoch epoch() const { return epoch_; }
    // When the node's newest report arrived (nullopt: none yet).
    std::optional<Instant> last_report(NodeId n) const {
        const auto it = last_report_.find(n);
        return it == last_report_.end() ? std::nullopt : std::optional<Instant>(it->second);
    }
    const NodeLiveness& liveness() const { return liveness_; }
    // The ring's views, when the core orders them (MonitorConfig::evict_after).
    const Membership* membership() const { return membership_ ? &*membership_ : nullptr; }
    // The ring's members now: the current view's (this monitor's, or the leader's as its hellos
    // say), or the configured ring's, in ring order.
    const std::vector<NodeId>& ring_now() const {
        if (membership_) return membership_->members();
        return leader_view_.empty() ? config_.ring : leader_view_;
    }
    const IncidentStats& incident_stats() const { return incidents_.stats(); }
    const IncidentTracker& incidents() const { return incidents_; }
    const Leadership& leadership() const { return leadership_; }
    bool leading() const { return leadership_.leading(); }
    std::optional<Instant> next_deadline() const;

    const MonitorStats& stats() const { return stats_; }
    const MonitorConfig& config() const { return config_; }
    std::size_t in_flight() const { return pending_.size(); }

private:
    struct Pending {
        Instant started;
        std::vector<NodeId> members;  // the ring it was started in (ring order): who must report
        std::map<NodeId, SnapshotReport> reports;
        std::map<NodeId, Incarnation> incarnations;  // as the links knew them when it started
        std::vector<NodeId> restarted;               // reported from another incarnation
        std::optional<Epoch> born;                   // the newest epoch whose token was known born (born_at_start)
        bool outsider = false;                       // a ring node not among `members` reported it (stale_view)
        void mark_restarted(NodeId n) {
            if (std::find(restarted.begin(), restarted.end(), n) == restarted.end()) restarted.push_back(n);
        }
    };
    void start_snapshot(Instant now);
    std::optional<Epoch> born_at_start() const;
    void on_report_after_stall(Instant now, NodeId from, const SnapshotReport& report);
    void account_stall(Instant now);
    void note_due(Instant now);
    // After every input: node events go to the membership, its orders and events out, a new view's
    // effects on snapshots and recoveries applied; then when the caller is due next.
    void settle(Instant now);
    void view_ordered();
    // Lateness below this is the timer's own slop, not a stall.
    static constexpr Duration kStallMin{std::chrono::milliseconds(10)};
    void order_first_token(Instant now, Verdict& v);
    // A one-way fault: the snapshot timed out waiting for a member that is heard, whose predecessor
    // is heard and reported (so sent its marker). Every snapshot in a row that started over
    // kLinkFaultTimeouts snapshot timeouts did so: the link into it is said faulty, and the ring goes
    // round it (membership.h). A lossy link whose retransmissions back off can make a few snapshots
    // in a row time out together; not for seconds on end.
    void watch_links(Instant now, const Pending& p, const Verdict& v);
    static constexpr int kLinkFaultTimeouts = 3;
    void decide(Instant now, SnapshotId id, Pending& p, bool timed_out);
    void count_tokens(const Pending& p, Verdict& v) const;
    bool may_recover(Instant now, const Verdict& cause, RecoverMode mode, bool by_hand);
    bool regenerate(Instant now, const Verdict& cause, bool by_hand = false, std::string note = {});
    bool rollback(Instant now, const Verdict& cause, bool by_hand = false);
    std::optional<SnapshotId> restorable() const;
    // False (and the next term claimed) when this term has no epoch left.
    bool order_everyone(Instant now, RecoverMode mode, NodeId issuer, SnapshotId snapshot);
    // Leadership's orders and events out; a membership made when this monitor starts to lead, and
    // dropped when it stops (or claims the next term).
    void follow_leadership(Instant now);
    // The leases asked for whose confirmation round has succeeded: granted (or refused).
    void grant_confirmed_leases(Instant now);
    struct LeaseAsked {
        LeaseRequest request;
        std::uint64_t round;  // the confirmation round that must succeed first
    };
    std::map<NodeId, LeaseAsked> lease_asked_;
    std::optional<Epoch> next_epoch() const { return next_epoch_in(leadership_.term(), std::max(epoch_, leadership_.floor())); }
    void catch_up(NodeId node, const SnapshotReport& r);
    bool in_ring(NodeId n) const;

    MonitorConfig config_;
    std::vector<NodeId> members_;  // the ring, sorted: in_ring() without a pass over every node per report
    Instant next_start_;
    SnapshotId next_id_;
    std::map<SnapshotId, Pending> pending_;
    std::set<NodeId> silent_;
    std::map<NodeId, Incarnation> incarnations_;
    Epoch epoch_{0};
    std::map<NodeId, Instant> last_report_;
    std::map<NodeId, std::pair<Incarnation, Epoch>> told_epoch_;
    // Rollback: the snapshots each process says it keeps (its latest report), and the newest
    // snapshots judged ok with no stale token (what a rollback may restore), newest last.
    struct Kept {
        Incarnation incarnation;
        std::vector<SnapshotId> ids;
        SnapshotId pinned;
    };
    std::map<NodeId, Kept> kept_;
    std::deque<SnapshotId> restorable_ok_;
    static constexpr std::size_t kRestorableRemembered = 16;
    std::uint64_t next_command_id_ = 1;
    MonitorOutput out_;                   // probes, node and incident events stay with their trackers until taken
    std::optional<Verdict> last_judged_;  // the newest conclusive verdict: the cause a recovery by hand names
    // The ring has run (some report carried an epoch): this monitor never orders it a first token
    // again (nodes without an epoch are told the ring's). When it ordered one, if it did.
    bool ring_ran_ = false;
    std::optional<Instant> first_token_ordered_;
    // When the caller was due to call next (next_deadline() after the last input).
    std::optional<Instant> due_;
    Instant last_input_;  // when the last input was taken (the process ran then)
    IncidentTracker incidents_;
    NodeLiveness liveness_;
    Leadership leadership_;
    // The other monitors' liveness (with several configured), which a claim waits on; and what
    // the leader's hellos said of the ring (a standby's snapshots ask the view's members).
    std::optional<NodeLiveness> monitors_;
    std::vector<NodeId> leader_view_;
    Epoch leader_born_{0};
    Epoch born_{0};  // leading: the newest epoch whose token is known to exist
    std::pair<Epoch, Epoch> told_view_{Epoch{0}, Epoch{0}};
    void tell_hello_view();
    std::map<NodeId, NodeEvent> down_;  // each node's node_down while it is down: a new leader's first view leaves out the gone
    std::optional<Membership> membership_;
    std::optional<Epoch> changing_to_;               // the epoch of the view being ordered
    std::map<NodeId, Instant> stuck_since_;          // per member: the start of the first snapshot in a row that its inbound link failed
    std::vector<std::pair<NodeId, Instant>> heard_;  // on_heard() since the last settle()
    MonitorStats stats_;
};

}  // namespace ringwatch
