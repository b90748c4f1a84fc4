// One ring member's process, sans I/O: its links (Endpoint), the FIFO in front of them
// (SendBacklog), the node core (token protocol, snapshots, kept states), which tools it lets in and
// what they and the monitor may ask of the runtime, and the token's rotation times. The libuv
// runtime (ring/io/node_driver) and the simulator (tests/sim/sim_cluster) drive this same object:
// the glue between links and node is written once, here.
//
// Caller's contract, in order:
//   1. Inputs: on_datagram(now, bytes) for every datagram that reaches the socket (then send
//      take_reply(), if any, straight back to where the datagram came from: a tool's challenge;
//      a tool named by take_admitted() is written to at that address from then on);
//      on_timer(now) once next_deadline() has passed; the local commands send_app() and inject().
//   2. After the inputs of a pass (a batch of datagrams is acknowledged together), call step(now)
//      and act on what it returns, in this order: write `saved`, `erased` and `deliveries` to disk;
//      send `datagrams` to their peers; hand `token_events` to the user (no delivery reaches the
//      user before its record is on disk); apply `impair`; answer each of `requests` with
//      answer() (a status needs the runtime's own figures, a rekey its files).
//   3. Call step() again while pending(); else sleep until next_deadline() or the next datagram.
#pragma once

#include <algorithm>
#include <optional>
#include <span>
#include <variant>
#include <vector>

#include <fmt/format.h>

#include "ring/core/check.h"
#include "ring/core/endpoint.h"
#include "ring/core/node.h"
#include "ring/core/rotation_times.h"
#include "ring/core/send_backlog.h"
#include "ring/core/wire.h"

namespace ringwatch {

struct NodeProcessConfig {
    NodeConfig node;  // node.incarnation is the process's (its links' too)
    LinkConfig link;
    std::size_t max_tool_links = 16;
};

// A question for the runtime, from a peer allowed to ask it: a status (the monitor or a tool) or a
// rekey step (a tool). Answered with answer(from, reply).
struct NodeRequest {
    NodeId from;
    std::variant<StatusQuery, RekeyCommand> what;
};

// What one step produced (etcd raft's Ready): the caller's to act on, in the contract's order.
struct NodeReady {
    std::vector<SavedSnapshot> saved;
    std::vector<SnapshotId> erased;
    std::optional<DeliveryRecord> deliveries;
    std::optional<PromisedTerm> promised;  // a term promised: on disk before the datagrams go, when the disk allows
    std::vector<Addressed> datagrams;
    std::vector<TokenEvent> token_events;
    std::vector<PeerEvent> link_events;  // window_open left out
    std::vector<ImpairCommand> impair;
    std::optional<NodeView> view;  // the view this process took, when it took one
    std::vector<NodeRequest> requests;
    std::uint64_t sends_dropped = 0;  // messages the backlog could not take (the peer's queue full)
};

// What the simulator's ground truth watches, in the order it happens (nothing in production).
class NodeProcessObserver {
public:
    virtual ~NodeProcessObserver() = default;
    virtual void handed(NodeId from, std::span<const std::uint8_t> message) = 0;            // a link delivered it to the node
    virtual void passed(NodeId to, std::span<const std::uint8_t> message, bool taken) = 0;  // the node sent it
    virtual void link_event(NodeId peer, const LinkEvent& e) = 0;
};

template <typename Core>
class BasicNodeProcess {
public:
    // `core` is made from config.node (the simulator's may be a mutant); `observer` (the simulator's
    // ground truth, not owned) sees everything from the first message the core sends at its start.
    BasicNodeProcess(NodeProcessConfig config, Core core, Instant now, NodeProcessObserver* observer = nullptr)
        : config_(std::move(config)),
          endpoint_(config_.link, config_.node.self, config_.node.incarnation),
          core_(std::move(core)),
          observer_(observer) {
        RW_ASSERT(config_.node.predecessor != config_.node.self && config_.node.successor != config_.node.self);
        for (NodeId peer : {config_.node.predecessor, config_.node.successor}) endpoint_.add_peer(peer, now);
        for (NodeId m : config_.node.monitors) endpoint_.add_peer(m, now);
        follow_view(now);
        endpoint_.accept_tools(config_.max_tool_links);
        drain_core(now);
    }

    // `arrived`: when it reached this host, if it waited to be read (a parked ack: Link::on_frame).
    std::optional<NodeId> on_datagram(Instant now, std::span<const std::uint8_t> datagram, std::optional<Instant> arrived = std::nullopt) {
        return endpoint_.on_datagram(now, datagram, arrived);
    }
    std::optional<Bytes> take_reply() { return endpoint_.take_reply(); }
    std::optional<NodeId> take_admitted() { return endpoint_.take_admitted(); }
    void on_timer(Instant now) {
        core_.on_timer(now);
        drain_core(now);
    }
    bool send_app(Instant now, NodeId to, Bytes payload) {
        const bool ok = core_.send_app(now, to, std::move(payload));
        drain_core(now);
        return ok;
    }
    void inject(Instant now, InjectKind kind) {
        core_.inject(now, kind);
        drain_core(now);
    }
    // The answer to a request (a StatusReply, or a CommandAck for a rekey step).
    void answer(NodeId to, const Message& reply) {
        if (!backlog_.send(endpoint_, to, encode_message(reply))) ++ready_.sends_dropped;
        pending_ = true;  // to be flushed by the next step
    }
    void set_keys(std::optional<AuthKey> send, std::optional<AuthKey> also_accept) { endpoint_.set_keys(std::move(send), std::move(also_accept)); }

    // Moves links and node to quiescence (bounded: pending() says when it stopped short), and hands
    // over everything produced since the last step.
    NodeReady step(Instant now);
    bool pending() const { return pending_; }
    std::optional<Instant> next_deadline() const {
        std::optional<Instant> d = endpoint_.next_deadline();
        if (const auto c = core_.next_deadline(); c && (!d || *c < *d)) d = c;
        return d;
    }

    // The node's own figures for `ring status` (the runtime adds its socket's and disk's).
    // The figures `ring status` shows; `now` dates the token's last arrival.
    StatusReply status(Instant now, std::uint64_t command_id) const;

    const NodeProcessConfig& config() const { return config_; }
    const Endpoint& endpoint() const { return endpoint_; }
    const Core& core() const { return core_; }
    const RotationTimes& rotations() const { return rotations_; }

private:
    // Rounds of flush-and-deliver per step: a peer that keeps sending cannot hold the caller forever.
    static constexpr int kMaxRounds = 64;
    void deliver(Instant now, NodeId from, Bytes message);
    void drain_core(Instant now);
    // Links to the view's neighbours; links are never let go (a ring's members are few).
    void follow_view(Instant now);

    NodeProcessConfig config_;
    Endpoint endpoint_;
    SendBacklog backlog_;
    Core core_;
    RotationTimes rotations_;
    NodeProcessObserver* observer_ = nullptr;
    EndpointOutput eout_;
    NodeOutput nout_;
    NodeReady ready_;
    bool pending_ = false;
};

template <typename Core>
NodeReady BasicNodeProcess<Core>::step(Instant now) {
    pending_ = true;
    for (int round = 0; round < kMaxRounds; ++round) {
        endpoint_.flush(now);
        eout_.clear();
        endpoint_.take_output(eout_);
        if (eout_.datagrams.empty() && eout_.delivered.empty() && eout_.events.empty()) {
            pending_ = false;
            break;
        }
        for (auto& d : eout_.datagrams) ready_.datagrams.push_back(std::move(d));
        for (const auto& e : eout_.events) {
            backlog_.on_link_event(endpoint_, e.peer, e.event);
            if (observer_) observer_->link_event(e.peer, e.event);
            if (e.event.kind != LinkEventKind::window_open) ready_.link_events.push_back(e);
        }
        for (auto& m : eout_.delivered) deliver(now, m.peer, std::move(m.bytes));
    }
    // Pure acknowledgements last: the ack of a token is made a round before the token goes on, and
    // sent first it would delay the token by a send (and, to a peer that reads acks at once, a
    // wake-up). Otherwise the order stays as made (a link copes with any order anyway).
    std::stable_partition(ready_.datagrams.begin(), ready_.datagrams.end(), [](const Addressed& d) { return !wire::may_wait(d.bytes); });
    return std::exchange(ready_, NodeReady{});
}

template <typename Core>
void BasicNodeProcess<Core>::deliver(Instant now, NodeId from, Bytes message) {
    if (observer_) observer_->handed(from, message);
    // Questions for the runtime: a status from a tool or the monitor (its metrics read the links'
    // counters), a rekey step from a tool only. Anything else goes to the node.
    if (is_driver_message(message) && (is_tool_id(from) || is_monitor_id(from))) {
        Message m;
        if (decode_message(message, m) != MessageError::none) return core_.on_message(now, from, message);  // counted there
        if (const auto* q = std::get_if<StatusQuery>(&m)) {
            ready_.requests.push_back({from, *q});
        } else if (const auto* r = std::get_if<RekeyCommand>(&m); r && is_tool_id(from)) {
            ready_.requests.push_back({from, *r});
        }
        return;
    }
    if (from == core_.predecessor() && is_token_message(message)) rotations_.on_arrival(now);
    core_.on_message(now, from, message);
    drain_core(now);
}

// Links to the neighbours, and to the nodes two places away on either side: when a neighbour is
// left out of the next view, the session with the node after it is already up (no handshake while
// the ring waits), and a node two places back is heard from before it becomes the predecessor.
template <typename Core>
void BasicNodeProcess<Core>::follow_view(Instant now) {
    const NodeView& v = core_.view();
    if (!v.neighbours) return;
    std::vector<NodeId> peers{v.neighbours->predecessor, v.neighbours->successor};
    const auto& m = v.members;
    if (const auto at = std::find(m.begin(), m.end(), config_.node.self); at != m.end() && m.size() > 2) {
        const std::size_t i = static_cast<std::size_t>(at - m.begin()), n = m.size();
        peers.push_back(m[(i + 2) % n]);
        peers.push_back(m[(i + n - 2) % n]);
    }
    for (NodeId peer : peers)
        if (peer != config_.node.self && !endpoint_.has_peer(peer)) endpoint_.add_peer(peer, now);
}

template <typename Core>
void BasicNodeProcess<Core>::drain_core(Instant now) {
    nout_.clear();
    core_.take_output(nout_);
    if (nout_.view_changed) {
        follow_view(now);  // before the messages: they may go to a new neighbour
        ready_.view = core_.view();
    }
    for (auto& m : nout_.messages) {
        const bool taken = backlog_.send(endpoint_, m.peer, m.bytes);
        if (observer_) observer_->passed(m.peer, m.bytes, taken);
        if (!taken) ++ready_.sends_dropped;
    }
    for (auto& s : nout_.saved) ready_.saved.push_back(std::move(s));
    for (SnapshotId id : nout_.erased) ready_.erased.push_back(id);  // the StateWriter knows one saved and gone in a step
    if (nout_.deliveries) ready_.deliveries = std::move(nout_.deliveries);
    if (nout_.promised) ready_.promised = nout_.promised;
    for (auto& e : nout_.token_events) ready_.token_events.push_back(std::move(e));
    for (const auto& im : nout_.impair) ready_.impair.push_back(im);
}

template <typename Core>
StatusReply BasicNodeProcess<Core>::status(Instant now, std::uint64_t command_id) const {
    StatusReply r{command_id, {}};
    auto add = [&r](std::string name, std::int64_t v) { r.values.emplace_back(std::move(name), v); };
    const TokenProtocol& t = core_.token();
    add("incarnation", static_cast<std::int64_t>(endpoint_.incarnation().value));
    add("epoch", t.epoch().value);
    add("tokens_passed", static_cast<std::int64_t>(t.stats().tokens_forwarded));
    add("held", static_cast<std::int64_t>(t.held()));
    add("queue", static_cast<std::int64_t>(t.queue_length()));
    add("messages_sent", static_cast<std::int64_t>(t.stats().messages_sent));
    add("messages_delivered", static_cast<std::int64_t>(t.stats().messages_delivered));
    add("messages_redelivered", static_cast<std::int64_t>(t.stats().redelivered));
    add("rotations", static_cast<std::int64_t>(rotations_.count()));
    if (const auto p50 = rotations_.quantile(0.5)) add("rotation_p50_us", p50->count());
    if (const auto p99 = rotations_.quantile(0.99)) add("rotation_p99_us", p99->count());
    // How long ago the token last came (a rotation median is stale once this is well past it).
    if (const auto last = rotations_.last_arrival()) add("token_seen_us_ago", (now - *last).count());
    const NodeView& view = core_.view();
    add("view_epoch", view.epoch.value);
    add("view_members", static_cast<std::int64_t>(view.members.size()));
    add("in_view", view.neighbours ? 1 : 0);  // 0: left out of the view it took
    const Neighbours n = view.neighbours.value_or(Neighbours{config_.node.predecessor, config_.node.successor});
    const PromisedTerm& promised = core_.promised();
    add("term", promised.term.value);
    const NodeId leader = promised.term == kNoTerm ? config_.node.monitors.front() : promised.monitor;
    const std::pair<const char*, NodeId> links[] = {{"pred", n.predecessor}, {"succ", n.successor}, {"mon", leader}};
    for (const auto& [prefix, peer] : links) {
        const Link* l = endpoint_.link(peer);
        RW_ASSERT(l != nullptr);  // made at the start, never let go
        // A node by its id, the monitor by its place in the config's list (its wire id means nothing to a reader).
        add(fmt::format("{}_{}", prefix, is_monitor_id(peer) ? "index" : "peer"), is_monitor_id(peer) ? monitor_index(peer) : peer.value);
        if (l->srtt()) add(fmt::format("{}_rtt_us", prefix), l->srtt()->count());  // none until measured
        add(fmt::format("{}_data_sent", prefix), static_cast<std::int64_t>(l->stats().data_frames_sent));
        add(fmt::format("{}_retransmits", prefix), static_cast<std::int64_t>(l->stats().retransmits));
        add(fmt::format("{}_heard", prefix), l->peer_incarnation() != kUnknownIncarnation && !l->silent() ? 1 : 0);
    }
    return r;
}

using NodeProcess = BasicNodeProcess<Node>;
extern template class BasicNodeProcess<Node>;  // instantiated once, in node_process.cpp

}  // namespace ringwatch
