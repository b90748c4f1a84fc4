// Which nodes make up the ring, decided by the monitor and ordered in epochs (views, ring/core/
// view.h), sans I/O. A node whose port is closed (its process is gone) is evicted at once; a node
// that is only silent (it may be paused) after evict_after of silence. A node evicted and heard
// again rejoins. Each change is one new view: ordered to every member of it (ViewOrder), and once
// every one has acknowledged, the epoch's one token is ordered (IssueToken) from one of them; no
// token crosses from one view to the next (each adopted view purges the older epochs' tokens).
//
// Caller's contract (MonitorCore): on_node_event() for every node_down / node_up of the liveness
// tracker; heard() for anything heard from a node (an evicted node that speaks again rejoins, even
// one that never went down: it missed a view); on_ack() for every acknowledgement a node sends of a
// command this tracker gave; raise_floor() with every epoch the monitor learns of otherwise (a
// cut's, a recovery's); restarted() when a member's process is a new one; on_timer() once
// next_deadline() has passed. After each call send take_orders() to their nodes and publish
// take_events(). While changing() is true the ring has no token on purpose: no verdict about it.
// A tracker is made when its monitor starts to lead a term (it takes the ring over with a view of
// its own) and dropped when the monitor stops leading.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <vector>

#include "monitor/core/node_liveness.h"
#include "ring/core/messages.h"

namespace ringwatch {

struct MembershipConfig {
    std::vector<NodeId> ring;  // configured, in ring order
    // A silent node (no_answer) evicted after this much silence. Above the longest pause we ride out
    // (a node SIGSTOPped for 2 s comes back and carries on: no new view for it), and above the
    // monitor's own node_timeout, so that node_down comes first and says which kind of silence.
    Duration evict_after{std::chrono::seconds(5)};
    // The members of a new view that have not acknowledged it within this are left out of the next
    // one (they are down or cut off: a view waits for nobody forever).
    Duration ack_timeout{std::chrono::seconds(2)};
    // A node left out for not acknowledging is heard again: it rejoins no sooner than this after its
    // eviction and of the completion of the view without it (which may wait for its lease), doubled
    // each time it is left out again (up to max_rejoin_backoff), so a node that can send but not
    // receive costs the ring one stalled change per back-off, not one per ack_timeout.
    Duration rejoin_backoff{std::chrono::seconds(2)};
    Duration max_rejoin_backoff{std::chrono::seconds(64)};
    std::uint64_t first_command_id = std::uint64_t{1} << 61;  // apart from the monitor's other commands
    // The lease granted to members (LeaseRequest, ring/core/messages.h): a node passes tokens on
    // only while it holds one. A view that leaves a node out has its token made only once every
    // lease granted to that node is surely over; this well under evict_after, a node left out for
    // silence is past its lease by then and the ring waits for nothing.
    Duration lease{std::chrono::seconds(3)};
    // The term the monitor leads (leadership.h): every order carries it, and every epoch is one of
    // its own (term.h). A tracker lives as long as its monitor leads that term.
    Term term{1};
};

// The lease a view of `evict_after` grants: three fifths of it (3 s by default). A 2 s pause of
// the monitor or of a node passes under it (asked again every quarter of it), and with its margin
// for clock rates it is over before a silent node is evicted.
inline Duration lease_for(Duration evict_after) { return evict_after * 3 / 5; }
// How long after a grant the monitor counts the lease as surely over: an eighth more for clocks
// that run at other rates (a node's clock slower than the monitor's makes its lease last longer).
inline Duration lease_margin(Duration lease) { return lease + lease / 8; }

enum class MembershipEventKind : std::uint8_t { view, node_evicted, node_rejoined, link_fault };
struct MembershipEvent {
    MembershipEventKind kind = MembershipEventKind::view;
    Instant at;
    Epoch epoch{0};               // view: its epoch; evicted / rejoined: the view that did it
    std::vector<NodeId> members;  // view: its members, in ring order
    NodeId node{0};               // evicted / rejoined: that node; view: the member that issues its token; link_fault: the link's receiver
    NodeId from{0};               // link_fault: the link's sender
    NodeAddress address = NodeAddress::no_answer;  // evicted: what its silence was
    bool unacknowledged = false;                   // evicted: it did not acknowledge a view in time (rather than silent)
};
std::string_view to_string(MembershipEventKind k);

struct MembershipStats {
    std::uint64_t views = 0;  // views completed (every member acknowledged, the token ordered)
    std::uint64_t evicted = 0;
    std::uint64_t rejoined = 0;
    std::uint64_t refusals = 0;  // a member refused a view or its token order (its epoch had moved on): ordered anew
    std::uint64_t resent = 0;    // the current view sent again to a member's new process
};

class Membership {
public:
    // Takes the ring over at once: a view of the configured nodes but those `down` says are gone
    // (their node_down events: a closed port is left out at once, a silent node after evict_after).
    // `floor`: the newest epoch the monitor knows of (its first view's is above it).
    Membership(MembershipConfig config, Instant now, Epoch floor = Epoch{0}, const std::vector<NodeEvent>& down = {});

    void on_node_event(Instant now, const NodeEvent& e);
    void heard(Instant now, NodeId n, Instant at);
    void on_ack(Instant now, NodeId from, std::uint64_t command_id, bool ok);
    // A member's process is new (it restarted before anyone noticed it gone): it starts in the
    // configured ring, so it is told the current view (an order it acknowledges; nothing waits).
    void restarted(NodeId n);
    // The link from `from` to member `to` carries nothing while both are heard (a one-way fault):
    // said as a link_fault, and `to` is left out as if it had not acknowledged a view (it rejoins
    // after the back-off, and is left out again for longer if the link is still broken).
    void link_fault(Instant now, NodeId from, NodeId to);
    // Whether a command id is one of this tracker's (its acknowledgement belongs to on_ack()).
    bool owns(std::uint64_t command_id) const { return command_id >= config_.first_command_id; }
    void raise_floor(Epoch e) { floor_ = std::max(floor_, e); }
    // A node's answer to the RingQuery sent when it refused a view: its epoch. A view being
    // ordered at or below it is ordered again above it (a monitor that started while the ring was
    // in a later epoch than any it has seen learns it so).
    void on_epoch_heard(Instant now, NodeId from, Epoch e);
    void on_timer(Instant now);
    // A member asks for the lease: granted (and remembered, so that no view that leaves it out has
    // its token made before the lease is over) only to a node in the view being ordered that has
    // adopted it, or in the current view if this tracker ordered it. Nothing else is granted: a
    // monitor that has just started takes the ring over with a view of its own first (ordered at
    // once), since it cannot know what an earlier monitor granted or ordered.
    std::optional<LeaseGrant> grant(Instant now, NodeId n, const LeaseRequest& r);
    // The monitor did not run for `stall` (stopped, starved): an acknowledgement or a node's voice
    // may be waiting at its socket, so that time counts toward no timeout here.
    void excuse(Duration stall);
    std::optional<Instant> next_deadline() const;

    std::vector<std::pair<NodeId, Message>> take_orders() { return std::exchange(orders_, {}); }
    std::vector<MembershipEvent> take_events() { return std::exchange(events_, {}); }

    // The term has no epoch left above the ones known (term.h): nothing more is ordered in it; the
    // monitor claims the next term, and a new tracker takes over.
    bool term_spent() const { return term_spent_; }
    // The ring as it now is: the last view every member acknowledged (epoch 0: the configured ring).
    Epoch epoch() const { return epoch_; }
    const std::vector<NodeId>& members() const { return members_; }
    bool member(NodeId n) const;
    // A new view is being ordered: its members are purging old tokens and none is issued yet.
    bool changing() const { return change_.has_value(); }
    std::optional<Epoch> changing_to() const { return change_ ? std::optional<Epoch>(change_->epoch) : std::nullopt; }
    bool evicted(NodeId n) const { return evicted_.contains(n); }
    // The newest view whose token its issuer has said it made (0: none yet).
    Epoch born() const { return born_; }
    // The nodes left out now: said evicted and not yet back in a completed view.
    std::size_t left_out() const { return left_out_.size(); }
    const MembershipStats& stats() const { return stats_; }

private:
    struct Change {
        Epoch epoch;
        std::vector<NodeId> members;
        std::set<NodeId> awaiting;  // members that have not acknowledged yet
        std::map<NodeId, std::uint64_t> command_ids;
        Instant ordered_at;
    };
    // Every member acknowledged: the token may be ordered once the leases of the nodes left out are over.
    Instant token_due() const;
    void complete_when_due(Instant now);
    struct Silent {
        Instant since;  // last heard (node_down's at - silent_for)
    };
    struct Evicted {
        Instant at;
        Instant rejoin_from;  // heard after this, it rejoins
        Duration backoff{0};  // left out for not acknowledging: counted again from the view without it
        bool view_done = false;
    };
    struct Issue {  // the token order of the current view, until its issuer acknowledges it
        NodeId issuer;
        std::uint64_t command_id;
    };
    // The view the ring should have now: the configured nodes not evicted, in ring order; ordered
    // when it differs from the current one (or the one being ordered).
    void reconsider(Instant now);
    void order_view(Instant now, std::vector<NodeId> members);
    void complete(Instant now);
    void evict(Instant now, NodeId n, NodeAddress address, bool unacknowledged = false);
    void rejoin(NodeId n);
    bool may_rejoin(const Evicted& e, Instant now) const;

    MembershipConfig config_;
    Epoch epoch_{0};
    std::vector<NodeId> members_;
    Epoch floor_{0};  // the newest epoch known: a new view's is above it
    std::optional<Change> change_;
    std::map<NodeId, Evicted> evicted_;
    std::set<NodeId> left_out_;           // said evicted and not yet back in a completed view (node_rejoined then)
    std::map<NodeId, Duration> backoff_;  // of members left out for not acknowledging, until a view with them completes
    std::optional<Issue> issue_;
    std::map<NodeId, Silent> silent_;  // members reported down (no_answer), not yet evicted
    static constexpr int kMaxRefusals = 3;
    std::map<NodeId, int> refused_;  // refusals of the views being ordered, by member
    std::uint64_t next_command_id_;
    // By when each configured node's lease is surely over: from this monitor's start (an earlier
    // monitor's grants), from its latest grant here, or now when its process is gone.
    std::map<NodeId, Instant> lease_over_;
    bool ordered_a_view_ = false;  // this tracker completed a view: it may grant in it
    bool term_spent_ = false;
    Epoch born_{0};
    std::vector<std::pair<NodeId, Message>> orders_;
    std::vector<MembershipEvent> events_;
    MembershipStats stats_;
};

}  // namespace ringwatch
