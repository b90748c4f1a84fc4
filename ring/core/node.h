// A ring member: the token protocol plus a Chandy-Lamport participant, as one pure state machine.
// It speaks in whole messages to peers by id; the links (and their sockets) are the caller's.
//
// Caller's contract, in order:
//   1. Feed inputs: on_message(now, from, bytes) for every message a link delivers (predecessor:
//      tokens and markers; monitor: snapshot starts and commands; tools: commands), in order.
//   2. Call on_timer(now) whenever next_deadline() has passed.
//   3. After every call, drain take_output() and hand each message to the link of its peer *in
//      order*: markers must follow exactly the tokens passed on before the state was recorded.
//      A message the link cannot take yet (window full) waits in a FIFO per peer (SendBacklog);
//      if the peer's session resets, that backlog is dropped with the link's queue.
//   4. Sleep until next_deadline() or the next input.
// Snapshot reports go to the monitor (kMonitorId) as soon as the participant completes.
#pragma once

#include <deque>
#include <map>
#include <optional>
#include <vector>

#include "ring/core/kept_snapshots.h"
#include "ring/core/messages.h"
#include "ring/core/send_backlog.h"
#include "ring/core/snapshot.h"
#include "ring/core/token.h"
#include "ring/core/view.h"

namespace ringwatch {

struct NodeConfig {
    NodeId self;
    // The neighbours a process starts with (the configured ring's); a view changes them.
    NodeId predecessor;
    NodeId successor;
    // The configured ring, in order: what a view's bitmap names (ring/core/view.h). Empty: this
    // node takes no view (a test of the token alone).
    std::vector<NodeId> ring;
    TokenConfig token;
    SnapshotLimits snapshots;
    Incarnation incarnation;  // this process's (its links' incarnation), stamped on every report
    // A node never makes a token on its own: the ring's first token, like every later one, is born
    // only by the monitor's order, in a new epoch. A new process starts with no epoch (0) unless an
    // earlier one kept the ring's epoch on disk; a token or an order brings the current one.
    Epoch initial_epoch{0};
    // Rollback: how many of its last completed snapshots the node keeps the saved state of (the
    // one the monitor asks it to keep comes on top), and those an earlier process left on disk.
    std::size_t keep_snapshots = kMaxKeptSnapshots - 1;
    std::vector<SavedSnapshot> saved_at_start;
    // What earlier processes of this node delivered (their record on disk), if kept; and whether
    // the caller keeps the record (a state directory): only then does every change come out in
    // NodeOutput::deliveries (a copy of the record per delivery is not free).
    std::optional<DeliveryRecord> deliveries_at_start;
    bool keep_delivery_record = false;
    // Views on (the monitor may leave nodes out): tokens are passed on only under the monitor's
    // lease (LeaseRequest in messages.h). A node cut off from the monitor, or paused past its
    // lease, holds what it has until a grant comes: by then the monitor may have replaced that
    // token in a view without this node, and its successor (or a minority cut off with it) must not
    // be handed a second usable one.
    bool lease_required = false;
    // The monitors (the configured list's ids, types.h): each starts its own snapshots, which
    // are reported to it; orders are obeyed from the one whose term this node promised last.
    std::vector<NodeId> monitors{kMonitorId};
    // What an earlier process of this node promised (its state directory), if kept.
    PromisedTerm promised_at_start;
};

struct NodeStats {
    std::uint64_t malformed = 0;   // undecodable messages
    std::uint64_t unexpected = 0;  // a message type from a sender that may not send it
    std::uint64_t snapshots_reported = 0;
    std::uint64_t commands = 0;
    std::uint64_t monitor_restarts = 0;   // a start from a new monitor era: the old one's snapshots dropped
    std::uint64_t other_era_markers = 0;  // markers of a replaced monitor process's snapshots, ignored
    std::uint64_t rollbacks_refused = 0;  // a rollback to a snapshot not kept (or an epoch not newer)
    std::uint64_t views_adopted = 0;
    std::uint64_t views_refused = 0;   // an older epoch, a bitmap not of our ring, a ring of one
    std::uint64_t passed_outside = 0;  // tokens to pass while in no view's ring: dropped
    std::uint64_t lease_requests = 0;
    std::uint64_t lease_grants = 0;
    std::uint64_t lease_waits = 0;        // times a token was due to go on and waited for a lease
    std::uint64_t promises = 0;           // terms promised (TermClaim)
    std::uint64_t claims_refused = 0;     // a claim of a term not above the one promised
    std::uint64_t stale_term_orders = 0;  // orders of a term below the one promised: not obeyed
};

// The ring as this node now takes it: the view it adopted last (epoch 0: the configured ring, as
// it started) and its neighbours in it (none: left out of the view).
struct NodeView {
    Epoch epoch{0};
    std::vector<NodeId> members;
    std::optional<Neighbours> neighbours;
};

struct NodeOutput {
    std::vector<Addressed> messages;
    std::vector<TokenEvent> token_events;
    std::vector<ImpairCommand> impair;  // for the runtime: impair our outgoing datagrams
    // For the state directory: saved states to write, and ones no longer kept.
    std::vector<SavedSnapshot> saved;
    std::vector<SnapshotId> erased;
    // The delivery record, when it changed: to be on disk before token_events are handed to the
    // user, so that no restart delivers again what the user has seen.
    std::optional<DeliveryRecord> deliveries;
    // A view was adopted: the process's links follow it (links to the new neighbours, and to the
    // successor's successor, opened before they are needed).
    bool view_changed = false;
    // A term promised: for the state directory, before the promise is sent when the disk allows.
    std::optional<PromisedTerm> promised;
    void clear() {
        view_changed = false;
        promised.reset();
        deliveries.reset();
        saved.clear();
        erased.clear();
        messages.clear();
        token_events.clear();
        impair.clear();
    }
};

// What a node records for a snapshot: the summary its report carries, and the whole state a
// rollback puts back. On its channel it records whole tokens (a rollback receives them again).
struct RecordedState {
    NodeState summary;
    TokenSavedState saved;
};

// The participant is a parameter so that the simulator's checker self-tests can run a node with a
// deliberately broken one (tests/sim/mutants.h); the ring always uses DefaultParticipant.
using DefaultParticipant = SnapshotParticipant<RecordedState, Token, NodeId>;

template <typename Participant>
class BasicNode {
public:
    BasicNode(NodeConfig config, Instant now);

    void on_message(Instant now, NodeId from, std::span<const std::uint8_t> bytes);
    void on_timer(Instant now);
    // Local versions of the monitor's commands (tests, the simulator, the node's own CLI).
    bool send_app(Instant now, NodeId to, Bytes payload);
    void inject(Instant now, InjectKind kind);

    // Appends everything produced since the last call.
    void take_output(NodeOutput& out);
    std::optional<Instant> next_deadline() const;

    const NodeConfig& config() const { return config_; }
    const TokenProtocol& token() const { return token_; }
    const Participant& snapshots() const { return participant_; }
    const NodeStats& stats() const { return stats_; }
    const KeptSnapshots& kept() const { return kept_; }
    const NodeView& view() const { return view_; }
    // Whether tokens may go on now: no lease is required, or the monitor's holds (LeaseRequest).
    bool leased(Instant now) const { return !config_.lease_required || (lease_until_ && now < *lease_until_); }
    std::optional<Instant> lease_until() const { return lease_until_; }
    // The term this node promised last, and to which monitor: the one whose orders it obeys.
    const PromisedTerm& promised() const { return promised_; }
    // Whom tokens and markers come from now (none: out of the ring).
    std::optional<NodeId> predecessor() const { return view_.neighbours ? std::optional<NodeId>(view_.neighbours->predecessor) : std::nullopt; }

private:
    void handle_ring(Instant now, Message& m);
    void handle_control(Instant now, NodeId from, Message& m);
    void collect(Instant now);
    // The whole state is copied only for a start or marker that begins a recording.
    RecordedState state_if_begins(SnapshotId id) const {
        if (participant_.recording(id) || participant_.finished(id)) return {};
        return RecordedState{token_.state(), token_.save()};
    }
    void rollback(Instant now, NodeId from, const RecoverCommand& rc);
    bool adopt_view(const ViewOrder& v);
    bool issue_token(Instant now, const IssueToken& c);
    void send(NodeId to, const Message& m) { out_.messages.push_back({to, encode_message(m)}); }
    void on_grant(NodeId from, Instant now, const LeaseGrant& g);
    void ask_lease(Instant now);
    bool is_monitor(NodeId n) const;
    void on_claim(NodeId from, const TermClaim& c);
    // An order of `term` from monitor `from`: false (and the monitor told the term to beat) when
    // this node promised a later term, or this one to another monitor; a later term than the one
    // promised is taken as promised (a majority promised it to that leader).
    bool obeys(NodeId from, Term term);
    void promise(NodeId to, Term term);
    // The leader of the term this node promised. (Term 0 is no term: a test's order, taken from any
    // monitor while no term is promised.)
    bool from_leader(NodeId from, Term term) const { return term == promised_.term && (from == promised_.monitor || term == kNoTerm); }
    // Where a completed snapshot's report goes: the monitor whose era it is; all of them when no
    // start of it came here (single initiator: only the first member gets starts).
    std::vector<NodeId> report_to(SnapshotId id) const;
    // A lease is asked for again after a quarter of the last one granted; without one, this often.
    static constexpr Duration kLeaseRetry{std::chrono::milliseconds(100)};

    NodeConfig config_;
    NodeView view_;
    std::optional<Epoch> issued_in_;  // the view epoch this process made the token of, on order
    TokenProtocol token_;
    Participant participant_;
    std::map<NodeId, std::uint32_t> eras_;    // per monitor: the era of the snapshots we take part in
    std::deque<std::uint32_t> retired_eras_;  // eras of monitor processes since replaced: their markers are ignored
    static constexpr std::size_t kRetiredEras = 64;
    KeptSnapshots kept_;
    PromisedTerm promised_;
    NodeOutput out_;
    NodeStats stats_;
    std::optional<Instant> lease_until_;
    Duration granted_{0};       // the last lease's length
    Instant next_lease_ask_{};  // when to ask again (a view adopted: at once)
    bool waiting_lease_ = false;
};

using Node = BasicNode<DefaultParticipant>;
extern template class BasicNode<DefaultParticipant>;  // instantiated once, in node.cpp

}  // namespace ringwatch
