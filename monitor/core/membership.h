// Which nodes make up the ring, decided by the monitor and ordered in epochs (views, ring/core/
// view.h), sans I/O. A node whose port is closed (its process is gone) is evicted at once; a node
// that is only silent (it may be paused) after evict_after of silence. A node evicted and heard
// again rejoins. Each change is one new view: ordered to every member of it (ViewOrder), and once
// every one has acknowledged, the epoch's one token is ordered (IssueToken) from one of them; no
// token crosses from one view to the next (each adopted view purges the older epochs' tokens).
//
// Caller's contract (MonitorCore): on_node_event() for every node_down / node_up of the liveness
// tracker; on_ack() for every acknowledgement a node sends of a command this tracker gave;
// raise_floor() with every epoch the monitor learns of otherwise (a cut's, a recovery's); on_timer()
// once next_deadline() has passed. After each call send take_orders() to their nodes and publish
// take_events(). While changing() is true the ring has no token on purpose: no verdict about it.
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
    std::uint64_t first_command_id = std::uint64_t{1} << 61;  // apart from the monitor's other commands
};

enum class MembershipEventKind : std::uint8_t { view, node_evicted, node_rejoined };
struct MembershipEvent {
    MembershipEventKind kind = MembershipEventKind::view;
    Instant at;
    Epoch epoch{0};                                // view: its epoch; evicted / rejoined: the view that did it
    std::vector<NodeId> members;                   // view: its members, in ring order
    NodeId node{0};                                // evicted / rejoined: that node; view: the member that issues its token
    NodeAddress address = NodeAddress::no_answer;  // evicted: what its silence was
};
std::string_view to_string(MembershipEventKind k);

struct MembershipStats {
    std::uint64_t views = 0;  // views completed (every member acknowledged, the token ordered)
    std::uint64_t evicted = 0;
    std::uint64_t rejoined = 0;
    std::uint64_t refusals = 0;  // a member refused a view (its epoch had moved on): ordered anew
};

class Membership {
public:
    Membership(MembershipConfig config, Instant now);

    void on_node_event(Instant now, const NodeEvent& e);
    void on_ack(Instant now, NodeId from, std::uint64_t command_id, bool ok);
    void raise_floor(Epoch e) { floor_ = std::max(floor_, e); }
    void on_timer(Instant now);
    std::optional<Instant> next_deadline() const;

    std::vector<std::pair<NodeId, Message>> take_orders() { return std::exchange(orders_, {}); }
    std::vector<MembershipEvent> take_events() { return std::exchange(events_, {}); }

    // The ring as it now is: the last view every member acknowledged (epoch 0: the configured ring).
    Epoch epoch() const { return epoch_; }
    const std::vector<NodeId>& members() const { return members_; }
    bool member(NodeId n) const;
    // A new view is being ordered: its members are purging old tokens and none is issued yet.
    bool changing() const { return change_.has_value(); }
    const MembershipStats& stats() const { return stats_; }

private:
    struct Change {
        Epoch epoch;
        std::vector<NodeId> members;
        std::set<NodeId> awaiting;  // members that have not acknowledged yet
        std::map<NodeId, std::uint64_t> command_ids;
        Instant ordered_at;
    };
    struct Silent {
        Instant since;  // last heard (node_down's at - silent_for)
    };
    // The view the ring should have now: the configured nodes not evicted, in ring order; ordered
    // when it differs from the current one (or the one being ordered).
    void reconsider(Instant now);
    void order_view(Instant now, std::vector<NodeId> members);
    void complete(Instant now);
    void evict(Instant now, NodeId n, NodeAddress address);

    MembershipConfig config_;
    Epoch epoch_{0};
    std::vector<NodeId> members_;
    Epoch floor_{0};  // the newest epoch known: a new view's is above it
    std::optional<Change> change_;
    std::set<NodeId> evicted_;
    std::map<NodeId, Silent> silent_;  // members reported down (no_answer), not yet evicted
    static constexpr int kMaxRefusals = 3;
    std::map<NodeId, int> refused_;  // refusals of the views being ordered, by member
    std::uint64_t next_command_id_;
    std::vector<std::pair<NodeId, Message>> orders_;
    std::vector<MembershipEvent> events_;
    MembershipStats stats_;
};

}  // namespace ringwatch
