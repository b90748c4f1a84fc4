// A regenerate walked by hand (`ring recover` when no monitor answers), sans I/O: which epoch, who
// issues the new token, which nodes are told, what to do when a node does not answer, and what the
// operator is told. The CLI (ring/cli/tool_commands.cpp) drives it over real tool links; the
// simulator (tests/sim/sim_tool.h) over its faulty network, to the same node processes.
//
// The walk: every node of the ring is asked its state (RingQuery, all at once); once every answer
// or its absence is in, the epoch is chosen after the newest any node answered, and every node
// that answered is ordered to adopt it (RecoverCommand regenerate), one of them named to issue the
// epoch's one token. A node that did not answer adopts the epoch from the first token it gets.
//
// The issuer is a function of the epoch: the ring member at position epoch mod ring size, the
// epoch moved on (newest + 1, + 2, ...) until that member is one that answered. So two walks at
// once (or a walk run again) that choose the same epoch name the same issuer, and a node issues an
// epoch's token once (only the order that makes it adopt the epoch makes it issue): never two
// tokens of one epoch. Walks that choose different epochs fence each other like any two epochs.
//
// An issuer that refuses its order or does not acknowledge it may or may not have made the token.
// Naming another issuer for the same epoch could make two; so the walk orders a newer epoch (which
// purges whatever the first order made) with an issuer that acknowledged, to every node that
// answered, up to kMaxOrderRounds times.
//
// Caller's contract, in order:
//   1. Make the walk with the ring's node ids in ring order (unique, at least one).
//   2. Call step() and act on what it returns: send each of `sends` to its node (a RingQuery, to be
//      answered by a RingState; a RecoverCommand, whose command_id the caller sets, to be answered
//      by a CommandAck); tell the user each of `notes`, in order; when `outcome` is set the walk is
//      over (nothing more to send, step() returns nothing more).
//   3. For every message sent, report exactly once what came of it: on_state() or on_ack() with
//      the node's answer, or on_no_answer() when none came within the caller's timeout. Then call
//      step() again (it returns nothing new until every answer of the phase is in).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "ring/core/messages.h"

namespace ringwatch {

// What the operator is told about one node, in ring order within each phase.
enum class WalkNoteKind : std::uint8_t {
    silent,          // did not answer the query (down?): it adopts the new epoch from the first token it gets
    acknowledged,    // acknowledged the order of `epoch`
    refused,         // refused the order of `epoch`
    unacknowledged,  // did not acknowledge the order of `epoch` in time
    reissued,        // `node`, the issuer of the previous order, did not acknowledge it: `epoch` ordered instead, `issuer` issuing
};
struct WalkNote {
    WalkNoteKind kind = WalkNoteKind::silent;
    NodeId node{0};
    Epoch epoch{0};    // the order's (none for silent)
    NodeId issuer{0};  // the order's issuer (none for silent)
    bool operator==(const WalkNote&) const = default;
};

enum class WalkOutcome : std::uint8_t {
    regenerated,         // every node ordered acknowledged, the issuer included
    regenerated_partly,  // the issuer acknowledged; some other node refused or did not answer
    no_token,            // no issuer acknowledged its order (after kMaxOrderRounds, or nobody to take over)
    nobody_answered,     // no node answered the query: nothing done
    epochs_exhausted,    // the newest epoch is the largest there is: nothing done
};
std::string_view to_string(WalkOutcome o);

struct WalkSend {
    NodeId to;
    Message what;  // RingQuery or RecoverCommand
};

// What one step produced, for the caller to act on (etcd raft's Ready).
struct WalkReady {
    std::vector<WalkSend> sends;
    std::vector<WalkNote> notes;
    std::optional<WalkOutcome> outcome;
};

class RegenerateWalk {
public:
    static constexpr int kMaxOrderRounds = 3;

    explicit RegenerateWalk(std::vector<NodeId> ring);

    void on_state(NodeId node, const RingState& state);  // the answer to the query
    void on_ack(NodeId node, bool ok);                   // the answer to the order
    void on_no_answer(NodeId node);                      // no answer in time, to whichever was asked

    WalkReady step();
    bool over() const { return phase_ == Phase::over; }

    // The order in force (the last one sent), if any.
    std::optional<Epoch> epoch() const { return order_ ? std::optional(order_->epoch) : std::nullopt; }
    std::optional<NodeId> issuer() const { return order_ ? std::optional(order_->issuer) : std::nullopt; }

private:
    enum class Phase : std::uint8_t { start, querying, ordering, over };
    enum class Reply : std::uint8_t { not_asked, waiting, ok, refused, none };
    struct Member {
        NodeId id;
        Reply query = Reply::not_asked;
        Epoch epoch{0};  // answered with the query
        Reply order = Reply::not_asked;
    };
    struct Order {
        Epoch epoch;
        NodeId issuer;
    };

    Member& member(NodeId id);
    bool waiting(Reply Member::*which) const;
    // The first epoch after `after` whose issuer (the member at epoch mod ring size) answered `which`
    // with ok; none when the epochs run out first.
    std::optional<Order> choose(Epoch after, Reply Member::*which) const;
    void order(Order o, WalkReady& r);
    void decide_queries(WalkReady& r);
    void decide_orders(WalkReady& r);
    void finish(WalkOutcome o, WalkReady& r);

    std::vector<Member> members_;  // ring order
    Phase phase_ = Phase::start;
    std::optional<Order> order_;
    int rounds_ = 0;
};

}  // namespace ringwatch
