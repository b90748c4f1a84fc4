// The monitor's process, sans I/O: its links to every node and to tools (Endpoint), the FIFO in
// front of them (SendBacklog), the monitor core (snapshots, verdicts, liveness, incidents,
// recovery), which tools it lets in and what they may ask (a recovery, a status, a rekey step), and
// which acknowledgements of the commands it gave nodes for a person (the dashboard's inject and
// send) are still awaited. The libuv runtime (monitor/io/monitor_driver) and the simulator
// (tests/sim/sim_cluster) drive this same object.
//
// Caller's contract, in order:
//   1. Inputs: on_datagram(now, bytes) for every datagram that reaches the socket (then send
//      take_reply(), if any, straight back to where the datagram came from: a tool's challenge;
//      a tool named by take_admitted() is written to at that address from then on);
//      on_timer(now) once next_deadline() has passed; on_probe_refused(now, node) when the kernel
//      refuses a probe of a node's address; the local commands recover(), inject(),
//      send_message() and poll_status().
//   2. After the inputs of a pass (a batch of datagrams is acknowledged together), call step(now)
//      and act on what it returns, in this order: send `datagrams` to their peers; probe each node
//      of `probes`; publish `node_events`, then `verdicts` (each with the incident events it
//      caused), then `other_incidents`; hand each of `answers` to whoever gave that command;
//      publish `leader_events`; hand `figures` to the metrics; answer each of `requests` with answer() (a status needs the
//      runtime's own figures, a rekey its files); forget the addresses of `tools_gone`.
//   3. Call step() again while pending(); else sleep until next_deadline() or the next datagram.
#pragma once

#include <algorithm>
#include <deque>
#include <optional>
#include <span>
#include <variant>
#include <vector>

#include "monitor/core/monitor_core.h"
#include "ring/core/check.h"
#include "ring/core/endpoint.h"
#include "ring/core/send_backlog.h"

namespace ringwatch {

struct MonitorProcessConfig {
    MonitorConfig monitor;
    LinkConfig link;
    Incarnation incarnation;
    std::size_t max_tool_links = 8;  // `ring recover`, `ring status`, `ring rekey` at once
    // Commands given for a person whose acknowledgement is still awaited: a node that never
    // answers cannot make the list grow.
    std::size_t max_awaited = 64;
};

// A question for the runtime from a tool: a status or a rekey step. Answered with answer().
struct MonitorRequest {
    NodeId from;
    std::variant<StatusQuery, RekeyCommand> what;
};

// A node's acknowledgement of a command given with inject() or send_message(); `ok` is empty when
// it was given up (never answered, and more commands came since than the process keeps awaiting).
struct CommandAnswer {
    std::uint64_t id = 0;
    std::optional<bool> ok;
};

// A verdict with the incident events it caused (an alarm, a resolution; usually none).
struct JudgedVerdict {
    Verdict verdict;
    std::vector<IncidentEvent> incidents;
};

// What one step produced (etcd raft's Ready): the caller's to act on, in the contract's order.
struct MonitorReady {
    std::vector<Addressed> datagrams;
    std::vector<NodeId> probes;
    std::vector<NodeEvent> node_events;
    std::vector<MembershipEvent> membership_events;  // view, node_evicted, node_rejoined
    std::vector<LeaderEvent> leader_events;          // claimed, leading, claim_failed, stepped_down
    std::vector<JudgedVerdict> verdicts;
    std::vector<IncidentEvent> other_incidents;  // no verdict of this step caused them: a recovery asked for by hand
    std::vector<CommandAnswer> answers;
    std::vector<std::pair<NodeId, StatusReply>> figures;  // the nodes' answers to poll_status()
    std::vector<MonitorRequest> requests;
    std::vector<NodeId> tools_gone;   // tools the process let go (silent): forget their addresses
    std::uint64_t sends_dropped = 0;  // messages the backlog could not take (a node's queue full)
};

struct MonitorProcessStats {
    std::uint64_t undecodable = 0;  // delivered by a link but not a message (a peer of another version)
    std::uint64_t refused = 0;      // a message this sender may not send (a tool's report, a node's recovery request)
};

// What the simulator's ground truth watches (nothing in production).
class MonitorProcessObserver {
public:
    virtual ~MonitorProcessObserver() = default;
    virtual void passed(NodeId to, std::span<const std::uint8_t> message, bool taken) = 0;  // the core's order, sent
    virtual void link_event(NodeId, const LinkEvent&) {}                                    // of the monitor's link to a peer
};

template <typename Core>
class BasicMonitorProcess {
public:
    // `core` is made from config.monitor (the simulator's may be a mutant).
    BasicMonitorProcess(MonitorProcessConfig config, Core core, Instant now, MonitorProcessObserver* observer = nullptr)
        : config_(std::move(config)),
          endpoint_(config_.link, config_.monitor.leadership.self, config_.incarnation),
          core_(std::move(core)),
          observer_(observer) {
        for (NodeId n : core_.config().ring) endpoint_.add_peer(n, now);
        for (NodeId m : config_.monitor.leadership.monitors)
            if (m != config_.monitor.leadership.self) endpoint_.add_peer(m, now);
        endpoint_.accept_tools(config_.max_tool_links);
        drain_core();
    }

    std::optional<NodeId> on_datagram(Instant now, std::span<const std::uint8_t> datagram) { return endpoint_.on_datagram(now, datagram); }
    std::optional<Bytes> take_reply() { return endpoint_.take_reply(); }
    std::optional<NodeId> take_admitted() { return endpoint_.take_admitted(); }
    // The links' deadlines are met by the next step; the core's work runs only when its own
    // deadline has come (a wake-up for a link alone costs nothing per node), after it has been told
    // what the links last heard of each node.
    void on_timer(Instant now) {
        const auto due = core_.next_deadline();
        if (!due || *due > now) return;
        for (NodeId n : core_.config().ring)
            if (const Link* l = endpoint_.link(n); l && l->last_heard()) core_.on_heard(n, *l->last_heard());
        core_.on_timer(now);
        drain_core();
    }
    void on_probe_refused(Instant now, NodeId node) {
        core_.on_probe_refused(now, node);
        drain_core();
    }
    // A recovery now, whatever the configured mode (`ring recover`, the dashboard); false when
    // nothing was ordered (a `recovery` event says why).
    bool recover(Instant now, RecoverMode mode) {
        const bool ordered = core_.recover_by_hand(now, mode);
        drain_core();
        return ordered;
    }
    // Commands a person gives (the dashboard), carried by the monitor's authenticated links: the
    // id their answer will carry.
    std::uint64_t inject(NodeId node, InjectKind kind) {
        const std::uint64_t id = next_command_id_++;
        command(node, id, InjectCommand{id, kind});
        return id;
    }
    std::uint64_t send_message(NodeId from, NodeId to, Bytes payload) {
        const std::uint64_t id = next_command_id_++;
        command(from, id, SendCommand{id, to, std::move(payload)});
        return id;
    }
    // Asks every node for its figures (they come back as `figures`).
    void poll_status() {
        for (NodeId n : core_.config().ring) send(n, StatusQuery{0});
    }
    // The answer to a request (a StatusReply, or a CommandAck for a rekey step).
    void answer(NodeId to, const Message& reply) { send(to, reply); }
    void set_keys(std::optional<AuthKey> send_key, std::optional<AuthKey> also_accept) {
        endpoint_.set_keys(std::move(send_key), std::move(also_accept));
    }

    // Moves links and core to quiescence (bounded: pending() says when it stopped short), and
    // hands over everything produced since the last step.
    MonitorReady step(Instant now);
    bool pending() const { return pending_; }
    std::optional<Instant> next_deadline() const {
        std::optional<Instant> d = endpoint_.next_deadline();
        if (const auto c = core_.next_deadline(); c && (!d || *c < *d)) d = c;
        return d;
    }

    // The monitor's own figures for `ring status` (the runtime adds its socket's).
    StatusReply status(std::uint64_t command_id) const;

    const MonitorProcessConfig& config() const { return config_; }
    const Endpoint& endpoint() const { return endpoint_; }
    const Core& core() const { return core_; }
    const MonitorProcessStats& stats() const { return stats_; }

private:
    static constexpr int kMaxRounds = 64;  // as the node's process: a chatty peer cannot hold the caller
    // Apart from the core's recovery command ids (which count up from 1).
    static constexpr std::uint64_t kFirstCommandId = std::uint64_t{1} << 62;

    void send(NodeId to, const Message& m) {
        const Bytes b = encode_message(m);
        if (!backlog_.send(endpoint_, to, b)) ++ready_.sends_dropped;
        pending_ = true;  // to be flushed by the next step
    }
    void command(NodeId node, std::uint64_t id, const Message& m);
    void deliver(Instant now, NodeId from, const Bytes& message);
    void drain_core();

    MonitorProcessConfig config_;
    Endpoint endpoint_;
    SendBacklog backlog_;
    Core core_;
    MonitorProcessObserver* observer_ = nullptr;
    std::uint64_t next_command_id_ = kFirstCommandId;
    std::deque<std::uint64_t> awaited_;  // oldest first
    EndpointOutput eout_;
    MonitorOutput cout_;
    MonitorReady ready_;
    MonitorProcessStats stats_;
    bool pending_ = false;
};

template <typename Core>
MonitorReady BasicMonitorProcess<Core>::step(Instant now) {
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
        for (auto& m : eout_.delivered) deliver(now, m.peer, m.bytes);
        for (const auto& e : eout_.events) {
            backlog_.on_link_event(endpoint_, e.peer, e.event);
            if (observer_) observer_->link_event(e.peer, e.event);
            if (is_tool_id(e.peer)) {
                if (!endpoint_.has_peer(e.peer)) ready_.tools_gone.push_back(e.peer);
                continue;  // a tool's session is no node's liveness
            }
            if (is_monitor_id(e.peer)) {
                core_.on_monitor_link_event(now, e.peer, e.event);
                drain_core();
                continue;
            }
            core_.on_link_event(now, e.peer, e.event);
            drain_core();
        }
    }
    return std::exchange(ready_, MonitorReady{});
}

template <typename Core>
void BasicMonitorProcess<Core>::command(NodeId node, std::uint64_t id, const Message& m) {
    awaited_.push_back(id);
    if (awaited_.size() > config_.max_awaited) {
        ready_.answers.push_back({awaited_.front(), std::nullopt});
        awaited_.pop_front();
    }
    send(node, m);
}

template <typename Core>
void BasicMonitorProcess<Core>::deliver(Instant now, NodeId from, const Bytes& message) {
    Message m;
    if (decode_message(message, m) != MessageError::none) {
        ++stats_.undecodable;
        return;
    }
    const bool tool = is_tool_id(from);
    if (const auto* r = std::get_if<SnapshotReport>(&m); r && !tool) {
        core_.on_report(now, from, *r);  // from a node not in the ring: counted there
        drain_core();
    } else if (const auto* a = std::get_if<CommandAck>(&m); a && !tool) {
        if (const auto it = std::find(awaited_.begin(), awaited_.end(), a->command_id); it != awaited_.end()) {
            awaited_.erase(it);
            ready_.answers.push_back({a->command_id, a->ok});
        } else {
            core_.on_ack(now, from, a->command_id, a->ok);  // the core's own orders (a view's)
            drain_core();
        }
    } else if (const auto* lr = std::get_if<LeaseRequest>(&m); lr && !tool) {
        core_.on_lease_request(now, from, *lr);
        drain_core();
    } else if (const auto* tp = std::get_if<TermPromise>(&m); tp && !tool) {
        core_.on_promise(now, from, *tp);
        drain_core();
    } else if (const auto* h = std::get_if<MonitorHello>(&m); h && is_monitor_id(from)) {
        core_.on_hello(now, from, *h);
        drain_core();
    } else if (const auto* rs = std::get_if<RingState>(&m); rs && !tool) {
        core_.on_epoch_heard(now, from, rs->epoch);
        drain_core();
    } else if (const auto* f = std::get_if<StatusReply>(&m); f && !tool) {
        ready_.figures.emplace_back(from, *f);
    } else if (const auto* q = std::get_if<RecoverRequest>(&m); q && tool) {
        const bool ordered = core_.recover_by_hand(now, q->mode);
        drain_core();
        send(from, CommandAck{q->command_id, ordered});
    } else if (const auto* s = std::get_if<StatusQuery>(&m); s && tool) {
        ready_.requests.push_back({from, *s});
    } else if (const auto* k = std::get_if<RekeyCommand>(&m); k && tool) {
        ready_.requests.push_back({from, *k});
    } else {
        ++stats_.refused;
    }
}

// After every call into the core: its orders go out, the rest waits for the step's end, verdicts
// grouped with the incident events they caused.
template <typename Core>
void BasicMonitorProcess<Core>::drain_core() {
    cout_.clear();
    core_.take_output(cout_);
    auto order = [this](NodeId to, const Message& m) {
        const Bytes b = encode_message(m);
        const bool taken = backlog_.send(endpoint_, to, b);
        if (observer_) observer_->passed(to, b, taken);
        if (!taken) ++ready_.sends_dropped;
        pending_ = true;
    };
    for (const auto& s : cout_.starts) order(s.node, s.start);
    for (const auto& [n, rc] : cout_.recover_commands) order(n, rc);
    for (const auto& [n, k] : cout_.keeps) order(n, k);
    for (const auto& [n, o] : cout_.term_orders) order(n, o);
    for (const auto& [n, o] : cout_.view_orders) order(n, o);
    for (auto& e : cout_.leader_events) ready_.leader_events.push_back(std::move(e));
    for (auto& e : cout_.membership_events) ready_.membership_events.push_back(std::move(e));
    for (NodeId n : cout_.probes) ready_.probes.push_back(n);
    for (auto& e : cout_.node_events) ready_.node_events.push_back(std::move(e));
    for (auto& v : cout_.verdicts) ready_.verdicts.push_back({v, caused_by(v, cout_.incident_events)});
    for (auto& e : cout_.incident_events)
        if (std::none_of(cout_.verdicts.begin(), cout_.verdicts.end(), [&](const Verdict& v) { return v.id == e.verdict.id; }))
            ready_.other_incidents.push_back(std::move(e));
}

template <typename Core>
StatusReply BasicMonitorProcess<Core>::status(std::uint64_t command_id) const {
    StatusReply r{command_id, {}};
    auto add = [&r](std::string name, std::uint64_t v) { r.values.emplace_back(std::move(name), static_cast<std::int64_t>(v)); };
    const MonitorStats& s = core_.stats();
    const IncidentStats& inc = core_.incident_stats();
    const LivenessStats& nodes = core_.liveness().stats();
    add("incarnation", endpoint_.incarnation().value);
    add("epoch", core_.epoch().value);
    add("term", core_.leadership().term().value);
    add("leading", core_.leading() ? 1 : 0);
    if (const auto leader = core_.leadership().leader()) add("leader", monitor_index(*leader));  // its place in the config's list
    add("snapshots_ok", s.ok);
    add("snapshots_token_lost", s.token_lost);
    add("snapshots_token_duplicated", s.token_duplicated);
    add("snapshots_inconclusive", s.inconclusive);
    add("incidents", inc.opened);
    add("incidents_open", inc.opened - inc.resolved);
    add("recoveries", inc.recoveries);
    // The open incident, only while one is (no sentinel when none): its fault (1 token_lost,
    // 2 token_duplicated, as VerdictKind), the snapshot that raised it, its epoch, a repair under way.
    if (const auto& open = core_.incidents().open_incident()) {
        add("open_incident_fault", static_cast<std::uint64_t>(open->fault));
        add("open_incident_snapshot", snapshot_number(open->first));  // as events print it
        add("open_incident_epoch", open->epoch.value);
        add("open_incident_recovering", open->recovering ? 1 : 0);
    }
    add("nodes_down", nodes.node_down - nodes.node_up);
    if (const Membership* m = core_.membership()) {
        add("view_epoch", m->epoch().value);
        add("view_members", m->members().size());
        add("views", m->stats().views);
        add("nodes_evicted", m->left_out());
    }
    add("late_reports", s.late_reports);
    return r;
}

using MonitorProcess = BasicMonitorProcess<MonitorCore>;
extern template class BasicMonitorProcess<MonitorCore>;  // instantiated once, in monitor_process.cpp

}  // namespace ringwatch
