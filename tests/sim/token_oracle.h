// The simulator's ground truth about tokens, independent of the code under test. It follows every
// token by an identity of its own from birth to death, from what the simulator sees at the
// boundary of each process: what a link handed to a node core, what a node core passed to a link,
// the faults the simulator armed and the crashes it caused. It never reads a node's state, and it
// reads messages with its own parser (oracle_wire.h). What cannot have happened (a token passed on
// that was not held, a token delivered that was never sent) is reported, never clamped.
//
// From the same observations it knows the cut each node recorded for each snapshot (a node records
// on the first start or marker it is handed, and records its inbound channel until that channel's
// marker), so it can say what each report must contain.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string_view>
#include <vector>

#include "ring/core/messages.h"
#include "tests/sim/oracle_wire.h"
#include "tests/sim/violations.h"

namespace ringwatch::sim {

// The true number of tokens of the current epoch (the newest any node has adopted; older ones are
// stale, discarded wherever they arrive): `certain` exist for sure; up to `open` more were sent by a process
// that crashed and may still arrive from the network (their fate is decided when they arrive or
// when the network cannot hold them any more).
struct TokenCount {
    std::uint32_t certain = 0;
    std::uint32_t open = 0;
    bool exactly(std::uint32_t c) const { return open == 0 && certain == c; }
    bool operator==(const TokenCount&) const = default;
};

struct FaultEffect {
    Instant at;
    NodeId node;
    InjectKind kind;
};

// Told what the oracle decides, as it decides it (a space-time diagram listens; by default nothing
// does, and the oracle pays one null test per decision).
class CutObserver {
public:
    virtual ~CutObserver() = default;
    // `node` recorded its state for `snapshot`, holding `held` tokens: on the monitor's start, or on
    // the first marker from its predecessor.
    virtual void recorded(Instant now, NodeId node, SnapshotId snapshot, std::uint32_t held, bool by_marker) = 0;
    // The token just handed to `node` arrived while `snapshot` was recording its channel: recorded in flight.
    virtual void recorded_in_flight(Instant now, NodeId node, SnapshotId snapshot) = 0;
    // The channel's marker for `snapshot` reached `node`: what it recorded is final.
    virtual void cut_closed(Instant now, NodeId node, SnapshotId snapshot, std::uint32_t held, std::uint32_t in_flight) = 0;
    virtual void fault_took_effect(const FaultEffect& e) = 0;
};

class TokenOracle {
public:
    TokenOracle(std::vector<NodeId> ring, Violations& violations);
    void set_observer(CutObserver* o) { observer_ = o; }
    // A copy reports to its own list (ringcheck copies the whole simulated world).
    void rebind(Violations& violations) { violations_ = &violations; }
    // Told when a node records its state for a snapshot, and when it restores one (the message
    // ledger re-bases its order there); unset by default.
    std::function<void(NodeId, SnapshotId)> on_recorded, on_restored;
    // Whether the cuts nodes reported are kept for rollbacks (by default; up to 4096 per node). A
    // run without rollback recovery can do without: a restore it did not expect is still reported.
    void keep_cuts_for_rollback(bool keep) { keep_reported_cuts_ = keep; }

    // Process life, as the simulator runs it. A boot starts a new generation of the node, at
    // `epoch`: 0, or the newest one its state directory kept.
    void booted(NodeId n, std::uint32_t epoch);
    void crashed(Instant now, NodeId n);
    // Every datagram the crashed generation `gen` of `n` sent has left the network by now: tokens
    // it passed on that have not arrived never will.
    void sender_gone(Instant now, NodeId n, std::uint32_t gen);
    // The sender's link reset its session with `to` (it met a new process there): what it held for
    // `to` was dropped, as the link's contract says, and it now speaks to to's current process.
    void link_reset(Instant now, NodeId from, NodeId to);
    // The sender's link made its first session with `to`'s process (none before: the sender's
    // process is new): what it queued before goes to that process, whichever generation the
    // boot assumed (the process it met at its start may have died before answering).
    void link_connected(NodeId from, NodeId to);
    std::uint32_t generation(NodeId n) const { return nodes_.at(n).gen; }
    bool up(NodeId n) const { return nodes_.at(n).up; }

    // The simulator's own acts on a node.
    void armed(NodeId n, InjectKind kind);
    void made(Instant now, NodeId n);  // a brand-new token handed to n

    // Boundary observations, in the order they happen.
    void handed(Instant now, NodeId to, NodeId from, std::uint32_t from_gen, const oracle_wire::Read& m);
    void passed(Instant now, NodeId from, NodeId to, const oracle_wire::Read& m, bool taken);

    // What a node recorded for a snapshot: its epoch then, what it held (all of that epoch), and
    // what arrived on its channel before the marker, by epoch.
    struct Cut {
        std::uint32_t epoch = 1, held = 0;
        std::map<std::uint32_t, std::uint32_t> in_flight;
    };
    // A report from generation `gen` of `node` reached the monitor core: checked against the cut the
    // node recorded. Returns that cut, or nothing when the node never recorded that snapshot.
    std::optional<Cut> reported(NodeId node, std::uint32_t gen, const SnapshotReport& r);
    // With several monitors a node may send one report to each (it does not know whose snapshot it
    // was): a recording is kept after its first report (the bound on recordings still holds).
    void expect_several_reports() { several_reports_ = true; }
    std::uint32_t current_epoch() const { return current_; }
    // An order made the token of `epoch` (at most one does).
    bool born_by_order(std::uint32_t epoch) const { return ordered_births_.contains(epoch); }
    // When an order made the token of `epoch`, if one has.
    std::optional<Instant> born_at(std::uint32_t epoch) const {
        const auto it = birth_at_.find(epoch);
        return it == birth_at_.end() ? std::nullopt : std::optional(it->second);
    }

    TokenCount count() const { return count_; }
    // (since, count) each time the count changed.
    const std::vector<std::pair<Instant, TokenCount>>& timeline() const { return timeline_; }
    const std::vector<FaultEffect>& fault_effects() const { return effects_; }

private:
    using Uid = std::uint64_t;
    struct Entry {  // a token on a link
        Uid uid;
        std::uint32_t from_gen, to_gen;
        bool open;  // its sender crashed: it may or may not still arrive
    };
    // The first token on the link from `from`'s generation `from_gen` to `to` (any before it from an
    // older, crashed generation never arrived and never will: they die).
    std::optional<Entry> arrived(Instant now, NodeId from, NodeId to, std::uint32_t from_gen);
    struct Recording {
        std::uint32_t held = 0, in_flight = 0;
        std::uint32_t epoch = 1;  // the node's when it recorded
        std::map<std::uint32_t, std::uint32_t> in_flight_by_epoch;
        bool channel_open = true;
    };
    struct NodeTruth {
        NodeId pred;
        bool in_view = true;  // a member of the view it adopted last (of the configured ring, at first)
        std::uint32_t view_epoch = 0;
        std::vector<NodeId> members;
        std::optional<std::uint32_t> issued_in;  // the view epoch this process made a token of
        std::uint32_t gen = 0;
        bool up = false;
        std::deque<Uid> held;  // in the order they will be passed on
        unsigned armed_lose = 0, armed_duplicate = 0;
        bool copy_next = false;  // a duplicate fault has passed the original; the copy comes next
        std::uint32_t epoch = 0;
    };

    Uid born(Instant now, std::uint32_t epoch);
    void died(Instant now, Uid uid, bool open_before);
    bool counted(Uid uid) const { return epoch_of_.at(uid) == current_; }
    // A node adopts a newer epoch: the tokens it holds are discarded.
    void adopt(Instant now, NodeTruth& n, std::uint32_t epoch);
    void recount(Instant now);
    void note(Instant now);
    void record(Instant now, NodeTruth& n, NodeId id, SnapshotId snap, bool by_marker);
    void took_effect(const FaultEffect& e);
    // A view ordered to a node (ViewOrder), and its token ordered (IssueToken): what the node does
    // with each is known from its acknowledgement (ok: taken; not ok: refused), which it sends
    // before anything the order made it do reaches a link.
    void view_ordered(NodeId monitor, NodeId id, const oracle_wire::Read& m);
    void view_taken(Instant now, NodeTruth& t, NodeId id, const std::vector<NodeId>& members, std::uint32_t epoch);
    void issue_taken(Instant now, NodeTruth& t, NodeId id, std::uint32_t epoch);
    void born_in_view_of(const NodeTruth& issuer);
    // An order whose effect the node's acknowledgement tells (a node obeys no order of a term
    // below the one it promised, and says so by refusing it).
    struct PendingOrder {
        enum class Kind : std::uint8_t { view, issue, regenerate } kind = Kind::view;
        std::uint32_t epoch = 0;
        std::optional<std::vector<NodeId>> members;  // a view's (none: not a list of our ring)
        std::uint16_t issuer = 0;                    // a regenerate's
        std::uint32_t term = 0;                      // a monitor's order's (0: a tool's)
    };
    // The newest term whose order each node obeyed (its promise is kept on disk, so across its
    // processes): an order of an older one obeyed breaks the fencing (rule old-term).
    std::map<NodeId, std::uint32_t> obeyed_term_;
    bool several_reports_ = false;
    void obeyed(Instant now, NodeId node, NodeId monitor, std::uint32_t term, std::string_view what);
    // Per node, by who gave the order and its command id (a tool's ids and the monitor's may meet).
    std::map<NodeId, std::map<std::pair<NodeId, std::uint64_t>, PendingOrder>> pending_orders_;
    void regenerated(Instant now, NodeTruth& t, NodeId id, const PendingOrder& o);

    std::vector<NodeId> ring_;  // configured, in order: what a view's bitmap names
    std::map<NodeId, NodeTruth> nodes_;
    std::map<std::pair<NodeId, NodeId>, std::deque<Entry>> links_;
    // Per link, the receiver's generation the sender's link has a session with (1 from the start;
    // a restart counts once the sender's link has reset). A token passed to a newer generation
    // before that is undecided: queued for the old process, it is dropped at the reset.
    std::map<std::pair<NodeId, NodeId>, std::uint32_t> session_gen_;
    // Per link, the receiver's generation the sender's current process has actually met (its
    // link connected or reset with it); none: no handshake completed yet.
    std::map<std::pair<NodeId, NodeId>, std::uint32_t> connected_;
    std::map<std::pair<NodeId, std::uint32_t>, std::map<SnapshotId, Recording>> recordings_;
    // Rollback. Per node (any process of it: a restarted one restores what an earlier one saved),
    // the cuts it reported; and the rollback ordered to it, decided by its acknowledgement.
    std::map<NodeId, std::map<SnapshotId, Recording>> reported_cuts_;
    bool keep_reported_cuts_ = true;
    struct PendingRollback {
        std::uint64_t command;
        SnapshotId snapshot;
        std::uint32_t epoch;
    };
    std::map<NodeId, std::vector<PendingRollback>> pending_rollbacks_;
    void restored(Instant now, NodeId id, const PendingRollback& p);
    Uid next_uid_ = 1;
    std::map<Uid, std::uint32_t> epoch_of_;
    std::uint32_t current_ = 0;
    std::set<std::uint32_t> ordered_births_;     // epochs whose token an order has made
    std::map<std::uint32_t, Instant> birth_at_;  // and when
    // The newest view whose token was born: a node it left out passes no token from then on (its
    // lease is over: a minority or a paused node cannot use the token that view replaced).
    std::uint32_t born_view_epoch_ = 0;
    std::vector<NodeId> born_view_members_;
    TokenCount count_;
    std::vector<std::pair<Instant, TokenCount>> timeline_;
    std::vector<FaultEffect> effects_;
    Violations* violations_;
    CutObserver* observer_ = nullptr;
};

}  // namespace ringwatch::sim
