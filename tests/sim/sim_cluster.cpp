// The cluster simulator: hosts for nodes and monitor (the simulator's stand-ins for the libuv
// drivers, with the same caller's contracts), feeding the oracle what crosses each process's
// boundary, and the rules' checks.
#include "tests/sim/sim_cluster.h"

#include "ring/core/wire.h"
#include "tests/sim/sim_state_dir.h"
#include "tests/sim/sim_wakeup.h"

#include <cstring>

#include <fmt/format.h>

namespace ringwatch::sim {

// What the ground truth sees of a node's process, as it happens: each message a link hands to the
// node (with the generation of the process that sent it: links deliver only while taking a
// datagram, and only that datagram's sender's messages), each message the node sends, each link
// reset.
struct SimCluster::NodeWatch : NodeProcessObserver {
    SimCluster* cluster = nullptr;
    std::size_t pos = 0;
    std::optional<Source> source;  // the datagram being taken, if any
    void handed(NodeId from, std::span<const std::uint8_t> message) override;
    void passed(NodeId to, std::span<const std::uint8_t> message, bool taken) override;
    void link_event(NodeId peer, const LinkEvent& e) override;
};

struct SimCluster::SimNode {
    NodeId id;
    bool up = false;
    std::uint32_t gen = 0;
    std::unique_ptr<SimNodeProcess> process;
    NodeWatch watch;
    SimWakeup wakeup;
    SimStateDir state_dir;
    // Stopped (SIGSTOP): what reaches its socket waits, in arrival order.
    bool paused = false;
    std::vector<std::tuple<NodeId, std::uint32_t, Bytes>> waiting;
};

// What the ground truth sees of the monitor's process: the snapshot starts it sends (for the
// space-time diagram).
struct SimCluster::MonitorWatch : MonitorProcessObserver {
    SimCluster* cluster = nullptr;
    std::size_t index = 0;
    void passed(NodeId to, std::span<const std::uint8_t> message, bool taken) override;
    void link_event(NodeId peer, const LinkEvent& e) override {
        if (e.kind == LinkEventKind::connected && !is_monitor_id(peer)) cluster->checkers_[index]->monitor_connected(cluster->events_.now(), peer);
    }
};

struct SimCluster::SimMonitor {
    std::size_t index = 0;
    NodeId id = kMonitorId;
    bool up = false;
    // Stopped (SIGSTOP): what reaches its socket meanwhile waits, in arrival order, as does the
    // kernel's refusal of a probe it sent.
    bool paused = false;
    struct Waiting {
        NodeId from;
        std::uint32_t gen;
        Bytes datagram;
        std::optional<NodeId> refused_probe;
    };
    std::vector<Waiting> waiting;
    MonitorConfig config;
    std::unique_ptr<SimMonitorProcess> process;
    MonitorWatch watch;
    std::optional<Source> source;  // the datagram being taken, if any
    SimWakeup wakeup;
};

namespace {
std::vector<NodeId> ring_ids(std::size_t n) {
    std::vector<NodeId> v;
    for (std::size_t i = 0; i < n; ++i) v.push_back(NodeId{static_cast<std::uint16_t>(i)});
    return v;
}
}  // namespace

SimCluster::SimCluster(SimConfig config)
    : config_(std::move(config)),
      prng_(config_.seed),
      net_(events_, prng_, config_.net),
      oracle_(ring_ids(config_.nodes), violations_),
      leadership_rules_(violations_),
      ledger_(violations_) {
    RW_ASSERT(config_.monitors >= 1 && config_.monitors <= kMaxMonitors);
    if (config_.monitors > 1) oracle_.expect_several_reports();
    for (std::size_t k = 0; k < config_.monitors; ++k) {
        checkers_.push_back(std::make_unique<InvariantChecker>(
            ring_ids(config_.nodes), DetectionBound{config_.interval, config_.timeout, LinkConfig{}.rto_max}, oracle_, violations_));
        checkers_.back()->set_liveness(liveness_for(config_.interval, config_.node_timeout), config_.net.loss == 0.0, net_.max_delay());
        checkers_.back()->set_views(config_.evict_after, view_ack_timeout(config_.timeout));
        monitors_.push_back(std::make_unique<SimMonitor>());
        monitors_.back()->index = k;
        monitors_.back()->id = monitor_id(k);
    }
    oracle_.set_observer(config_.space_time);
    // Only a rollback restores a reported cut (at 1000 nodes, keeping them all costs 100 MB a minute).
    oracle_.keep_cuts_for_rollback(config_.recover == RecoveryMode::rollback);
    if (config_.recover == RecoveryMode::rollback) {
        oracle_.on_recorded = [this](NodeId n, SnapshotId s) { ledger_.recorded(n, s); };
        oracle_.on_restored = [this](NodeId n, SnapshotId s) { ledger_.restored(n, s); };
    }
    for (std::size_t i = 0; i < config_.nodes; ++i) {
        nodes_.push_back(std::make_unique<SimNode>());
        nodes_.back()->id = id_of(i);
    }
}

SimCluster::~SimCluster() = default;

std::vector<NodeId> SimCluster::monitor_ids() const {
    std::vector<NodeId> ids;
    for (std::size_t k = 0; k < config_.monitors; ++k) ids.push_back(monitor_id(k));
    return ids;
}

void SimCluster::boot_node(std::size_t pos) {
    SimNode& n = *nodes_[pos];
    const Instant now = events_.now();
    const std::size_t count = config_.nodes;
    const NodeId pred = id_of((pos + count - 1) % count), succ = id_of((pos + 1) % count);
    n.up = true;
    // A new process starts at the epoch its state directory kept (the node reads it from its files).
    oracle_.booted(n.id, n.state_dir.kept_epoch());
    n.gen = oracle_.generation(n.id);
    each_checker([&](InvariantChecker& c) { c.node_up(now, n.id, n.gen); });
    NodeConfig nc;
    nc.self = n.id;
    nc.predecessor = pred;
    nc.successor = succ;
    nc.ring = ring_ids(count);
    nc.token.hold = config_.hold;
    nc.incarnation = start_incarnation(now);
    n.state_dir.read_into(nc);
    nc.keep_delivery_record = true;
    nc.lease_required = config_.evict_after.has_value();
    nc.monitors = monitor_ids();
    SimCoreHandle core(make_node_core(config_.mutant, pos, nc, now));
    nc.saved_at_start.clear();  // the core has them
    nc.deliveries_at_start.reset();
    n.watch.cluster = this;
    n.watch.pos = pos;
    n.watch.source.reset();
    n.process = std::make_unique<SimNodeProcess>(NodeProcessConfig{nc, LinkConfig{}}, std::move(core), now, &n.watch);
    net_.attach(n.id, [this, pos](NodeId from, std::uint32_t from_gen, Bytes d) {
        SimNode& nn = *nodes_[pos];
        if (!nn.up) return;
        if (nn.paused) {
            nn.waiting.emplace_back(from, from_gen, std::move(d));
            return;
        }
        nn.process->on_datagram(events_.now(), d);
        if (auto reply = nn.process->take_reply()) net_.send(nn.id, nn.gen, from, std::move(*reply));  // a tool's challenge
        pump_node(pos, Source{from, from_gen});
    });
    pump_node(pos);
}

void SimCluster::sender_gone_later(Instant at, NodeId id, std::uint32_t gen) {
    events_.at(at, [this, id, gen] {
        for (const auto& n : nodes_)
            for (const auto& [from, from_gen, d] : n->waiting)
                if (from == id && from_gen == gen) return sender_gone_later(events_.now() + std::chrono::milliseconds(10), id, gen);
        oracle_.sender_gone(events_.now(), id, gen);
    });
}

void SimCluster::pause_node(std::size_t pos) {
    SimNode& n = *nodes_[pos];
    if (!n.up || n.paused) return;
    n.paused = true;
    n.wakeup.cancel();
}

// As the monitor's resume: overdue timers first, then the socket's backlog.
void SimCluster::resume_node(std::size_t pos) {
    SimNode& n = *nodes_[pos];
    if (!n.up || !n.paused) return;
    n.paused = false;
    n.process->on_timer(events_.now());
    pump_node(pos);
    for (auto& [from, gen, d] : std::exchange(n.waiting, {})) {
        if (!n.up || n.paused) break;
        n.process->on_datagram(events_.now(), d);
        if (auto reply = n.process->take_reply()) net_.send(n.id, n.gen, from, std::move(*reply));
        pump_node(pos, Source{from, gen});
    }
}

void SimCluster::cut(const SimConfig::Partition& p, bool on) {
    std::vector<NodeId> side, rest;
    for (std::size_t i = 0; i < config_.nodes; ++i) (std::find(p.side.begin(), p.side.end(), i) != p.side.end() ? side : rest).push_back(id_of(i));
    for (std::size_t k = 0; k < config_.monitors; ++k) (k == 0 && p.monitor_on_side ? side : rest).push_back(monitor_id(k));
    for (NodeId a : side) {
        for (NodeId b : rest) {
            if (p.one_way) {
                on ? net_.partition_one_way(b, a) : net_.heal_one_way(b, a);
            } else {
                on ? net_.partition(a, b) : net_.heal(a, b);
            }
        }
    }
}

void SimCluster::crash_node(std::size_t pos) {
    SimNode& n = *nodes_[pos];
    if (!n.up) return;
    const Instant now = events_.now();
    n.up = false;
    n.paused = false;
    n.waiting.clear();
    net_.detach(n.id);
    n.process.reset();
    n.wakeup.cancel();
    oracle_.crashed(now, n.id);
    each_checker([&](InvariantChecker& c) { c.node_down(now, n.id); });
    // Once the network cannot hold its datagrams any more, what it sent and was not delivered is gone
    // (a paused receiver's socket still holds what reached it: that waits for its resume).
    sender_gone_later(now + net_.max_delay() + Duration{1}, n.id, n.gen);
}

void SimCluster::NodeWatch::handed(NodeId from, std::span<const std::uint8_t> message) {
    SimCluster& c = *cluster;
    const SimNode& n = *c.nodes_[pos];
    const std::uint32_t gen = source && source->from == from ? source->gen : 0;
    const oracle_wire::Read read = oracle_wire::read(message);
    if (c.config_.space_time) c.config_.space_time->handed(c.events_.now(), n.id, from, gen, read);
    c.oracle_.handed(c.events_.now(), n.id, from, gen, read);
}

void SimCluster::NodeWatch::passed(NodeId to, std::span<const std::uint8_t> message, bool taken) {
    SimCluster& c = *cluster;
    const SimNode& n = *c.nodes_[pos];
    const Instant now = c.events_.now();
    const oracle_wire::Read read = oracle_wire::read(message);
    c.oracle_.passed(now, n.id, to, read, taken);
    if (c.config_.space_time && taken) c.config_.space_time->sent(now, n.id, n.gen, to, read);
    if (read.kind == oracle_wire::Kind::token && read.app_seq) c.ledger_.departed(NodeId{read.src}, NodeId{read.dst}, *read.app_seq);
}

void SimCluster::NodeWatch::link_event(NodeId peer, const LinkEvent& e) {
    SimCluster& c = *cluster;
    if (peer.value >= c.config_.nodes) return;
    if (e.kind == LinkEventKind::connected) c.oracle_.link_connected(c.nodes_[pos]->id, peer);
    if (e.kind != LinkEventKind::session_reset) return;
    c.oracle_.link_reset(c.events_.now(), c.nodes_[pos]->id, peer);
    if (c.config_.space_time) c.config_.space_time->link_reset(c.nodes_[pos]->id, peer);
}

// One step of the node's process, and its Ready acted on in the contract's order (node_process.h).
void SimCluster::pump_node(std::size_t pos, std::optional<Source> source) {
    SimNode& n = *nodes_[pos];
    if (!n.up || n.paused) return;
    const Instant now = events_.now();
    n.watch.source = source;
    NodeReady ready = n.process->step(now);
    n.watch.source.reset();
    n.state_dir.write(ready);  // before the node's output goes anywhere
    for (auto& d : ready.datagrams) net_.send(n.id, n.gen, d.peer, std::move(d.bytes));
    for (const auto& e : ready.token_events) {
        if (e.kind == TokenEventKind::rolled_back) ledger_.rolled_back();
        if (e.kind == TokenEventKind::delivered || e.kind == TokenEventKind::redelivered)
            ledger_.delivered(now, e.src, n.id, app_payload_seq(e.payload), e.kind == TokenEventKind::redelivered);
    }
    // A process that stopped short of quiescence goes on at once, not at its next deadline.
    const std::optional<Instant> next = n.process->pending() ? std::optional<Instant>(now) : n.process->next_deadline();
    n.wakeup.arm(events_, next, [this, pos] {
        nodes_[pos]->process->on_timer(events_.now());
        pump_node(pos);
    });
}

void SimCluster::start_monitor(std::size_t k) {
    SimMonitor& m = *monitors_[k];
    const Instant start = events_.now();
    m.up = true;
    m.config = MonitorConfig{};
    const Incarnation incarnation = start_incarnation(events_.now());
    m.config.era = static_cast<std::uint32_t>(prng_.next()) & kSnapshotEraMask;
    for (std::size_t i = 0; i < config_.nodes; ++i) m.config.ring.push_back(id_of(i));
    m.config.interval = config_.interval;
    m.config.timeout = config_.timeout;
    m.config.single_initiator = config_.single_initiator;
    m.config.liveness = liveness_for(config_.interval, config_.node_timeout);
    m.config.recover = config_.recover;
    m.config.evict_after = config_.evict_after;
    m.config.leadership.self = m.id;
    m.config.leadership.monitors = monitor_ids();
    mutate_monitor_config(config_.mutant, m.config);
    // The ground truth learns of each report as the core is handed it, and of each decision as it
    // is made; a mutant edits the decisions before the process acts on them.
    SimMonitorCore::Hooks hooks{
        .report =
            [this, k](NodeId from, const SnapshotReport& r) {
                const std::optional<Source>& source = monitors_[k]->source;
                const std::uint32_t gen = source && source->from == from ? source->gen : 0;
                checkers_[k]->report_handed(r.id, from, gen, oracle_.reported(from, gen, r));
            },
        .decided = [this, k](MonitorOutput& out) { decided(k, out); },
    };
    m.watch.cluster = this;
    m.watch.index = k;
    m.process = std::make_unique<SimMonitorProcess>(MonitorProcessConfig{.monitor = m.config, .link = LinkConfig{}, .incarnation = incarnation},
                                                    SimMonitorCore(m.config, start, std::move(hooks)), start, &m.watch);
    net_.attach(m.id, [this, k](NodeId from, std::uint32_t from_gen, Bytes d) { monitor_datagram(k, from, from_gen, std::move(d)); });
    checkers_[k]->monitor_up(start);
    pump_monitor(k);
}

void SimCluster::MonitorWatch::passed(NodeId to, std::span<const std::uint8_t> message, bool taken) {
    if (!taken) return;
    Message m;
    if (decode_message(message, m) != MessageError::none) return;
    const auto* start = std::get_if<SnapshotStart>(&m);
    if (!start) return;
    cluster->checkers_[index]->snapshot_started(start->id);
    if (SpaceTimeRecorder* diagram = cluster->config_.space_time)
        diagram->sent(cluster->events_.now(), monitor_id(index), 1, to, oracle_wire::read(message));
}

// What a monitor core decided, as it decides it: a mutant's edits (none unless a mutant runs),
// then the rules' checks at once, in the order things happen (a report handed to the core a moment
// after a verdict is not part of it), and the run's counts.
void SimCluster::decided(std::size_t k, MonitorOutput& out) {
    const NodeId self = monitor_id(k);
    InvariantChecker& checker = *checkers_[k];
    // (The process is not there yet while its core is being made.)
    const SimMonitorCore* core = monitors_[k]->process ? &monitors_[k]->process->core() : nullptr;
    mutate_decided(config_.mutant, monitors_[k]->config, config_.nodes, alarm_seen_, core, out);
    const Instant now = events_.now();
    // (A crash since the latest fault may call for a repair of its own.)
    std::optional<Instant> repairable_fault;
    if (const auto& effects = oracle_.fault_effects(); !effects.empty() && !checker.crashed_since(effects.back().at))
        repairable_fault = effects.back().at;
    if (leadership_rules_.decided(now, self, out, repairable_fault) && config_.monitors > 1)
        each_checker([now](InvariantChecker& c) { c.took_over(now); });
    for (const auto& e : out.node_events) {
        checker.node_event(e);
        if (on_node_event) on_node_event(e);
    }
    for (const auto& v : out.verdicts) {
        checker.verdict(v, now);
        alarm_seen_ |= v.alarm();
        ++counts_.snapshots;
        switch (v.kind) {
            case VerdictKind::ok: ++counts_.ok; break;
            case VerdictKind::token_lost: ++counts_.token_lost; break;
            case VerdictKind::token_duplicated: ++counts_.token_duplicated; break;
            case VerdictKind::inconclusive: ++counts_.inconclusive; break;
        }
        if (on_verdict) on_verdict(v);
        for (const auto& e : caused_by(v, out.incident_events)) {
            checker.incident(e);
            if (e.kind == IncidentEventKind::alarm) ++counts_.incidents;
            if (e.kind == IncidentEventKind::resolved) ++counts_.incidents_resolved;
            if (on_incident) on_incident(e);
        }
    }
}

void SimCluster::monitor_datagram(std::size_t k, NodeId from, std::uint32_t from_gen, Bytes d) {
    SimMonitor& m = *monitors_[k];
    if (!m.up) return;
    // What proves a node alive to the monitor's link: a datagram of its current process made for
    // this monitor process (addressed to its incarnation; a hello or a replay proves nothing).
    if (wire::Frame f; from.value < config_.nodes && nodes_[from.value]->up && nodes_[from.value]->gen == from_gen &&
                       wire::decode_frame(d, f) == wire::DecodeError::none && f.header.dst_incarnation == m.process->endpoint().incarnation())
        checkers_[k]->reached_monitor(events_.now(), from);
    if (m.paused) {
        m.waiting.push_back({from, from_gen, std::move(d), std::nullopt});
        return;
    }
    m.process->on_datagram(events_.now(), d);
    pump_monitor(k, Source{from, from_gen});
}

// SIGSTOP: nothing of the monitor runs, not even its timers.
void SimCluster::pause_monitor(std::size_t k) {
    SimMonitor& m = *monitors_[k];
    if (!m.up || m.paused) return;
    m.paused = true;
    m.wakeup.cancel();
}

// SIGCONT: the poll the process was stopped in fails with EINTR (Linux does that to epoll_wait after
// a stop signal), so the loop runs its overdue timers first, late, and only then reads the socket's
// backlog.
void SimCluster::resume_monitor(std::size_t k) {
    SimMonitor& m = *monitors_[k];
    if (!m.up || !m.paused) return;
    m.paused = false;
    m.process->on_timer(events_.now());
    for (auto& w : std::exchange(m.waiting, {})) {
        if (!m.up) break;
        if (w.refused_probe) {
            m.process->on_probe_refused(events_.now(), *w.refused_probe);
            continue;
        }
        m.process->on_datagram(events_.now(), w.datagram);
        pump_monitor(k, Source{w.from, w.gen});
    }
    pump_monitor(k);
}

// The monitor process dies: its snapshots in flight are never decided.
void SimCluster::stop_monitor(std::size_t k) {
    SimMonitor& m = *monitors_[k];
    if (!m.up) return;
    m.up = false;
    m.paused = false;
    m.waiting.clear();
    net_.detach(m.id);
    m.wakeup.cancel();
    m.process.reset();
    checkers_[k]->monitor_down(events_.now());
}

// One step of the monitor's process: its datagrams and probes go out (its verdicts and events were
// checked as the core decided them).
void SimCluster::pump_monitor(std::size_t k, std::optional<Source> source) {
    SimMonitor& m = *monitors_[k];
    if (!m.up || m.paused) return;
    const Instant now = events_.now();
    m.source = source;
    MonitorReady ready = m.process->step(now);
    m.source.reset();
    for (auto& d : ready.datagrams) net_.send(m.id, 1, d.peer, std::move(d.bytes));
    for (const auto& e : ready.membership_events) {
        checkers_[k]->membership_event(e);
        if (e.kind == MembershipEventKind::view) ++counts_.views;
        if (e.kind == MembershipEventKind::node_evicted) ++counts_.evictions;
        if (e.kind == MembershipEventKind::node_rejoined) ++counts_.rejoins;
        if (e.kind == MembershipEventKind::link_fault) ++counts_.link_faults;
        if (on_membership_event) on_membership_event(e);
    }
    // A probe crosses the network; the peer's host refuses it if no process of it is up (a node's,
    // or another monitor's).
    for (NodeId n : ready.probes) {
        events_.at(now + net_.max_delay() / 4, [this, k, n, era = m.config.era] {
            SimMonitor& mon = *monitors_[k];
            if (!mon.up || mon.config.era != era) return;
            if (is_monitor_id(n) ? monitors_[monitor_index(n)]->up : nodes_[n.value]->up) return;
            if (mon.paused) {
                mon.waiting.push_back({n, 0, {}, n});
                return;
            }
            mon.process->on_probe_refused(events_.now(), n);
            pump_monitor(k);
        });
    }
    // One wake-up for the links' deadlines and the core's (the process runs the core's timer work
    // only when its deadline has come); at once when the step stopped short.
    const std::optional<Instant> next = m.process->pending() ? std::optional<Instant>(now) : m.process->next_deadline();
    m.wakeup.arm(events_, next, [this, k] {
        monitors_[k]->process->on_timer(events_.now());
        pump_monitor(k);
    });
}

void SimCluster::send_app_message() {
    const Instant now = events_.now();
    if (healed_ || config_.app_messages_per_s <= 0) return;
    const std::size_t src = prng_.below(config_.nodes);
    std::size_t dst = prng_.below(config_.nodes - 1);
    if (dst >= src) ++dst;
    SimNode& n = *nodes_[src];
    if (n.up && !n.paused) {
        auto& sent = app_sent_[{n.id, id_of(dst)}];
        if (n.process->send_app(now, id_of(dst), app_payload(sent + 1))) {
            ++sent;
            ledger_.sent(now, n.id, n.gen, id_of(dst), sent);
        }
        pump_node(src);
    }
    const auto mean_us = static_cast<std::int64_t>(1e6 / config_.app_messages_per_s);
    events_.after(Duration{prng_.between(1, 2 * mean_us)}, [this] { send_app_message(); });
}

// How long the run may settle after healing: every message not yet delivered must get its ride
// (one message per rotation of the single token; a source cannot catch the token it just freed, so
// at worst two rotations each; messages excused by a fault still queue ahead of later ones), and
// every fault's (and the healing's) verdict must be due.
Instant SimCluster::settle_deadline(Instant healed_at, bool lossy) const {
    const std::uint64_t waiting = ledger_.undelivered();
    const Duration hop = config_.hold + net_.max_delay() + std::chrono::milliseconds(1);
    const Duration rotation = static_cast<std::int64_t>(config_.nodes) * hop;
    const Duration bound = checkers_.front()->bound().value();
    Instant until = healed_at + static_cast<std::int64_t>(2 * waiting + 2) * rotation + bound;
    for (const auto& c : checkers_)
        if (auto d = c->last_deadline(healed_at, lossy)) until = std::max(until, *d);
    // A restart scheduled after the healing opens its own window.
    for (const auto& r : config_.monitor_restarts) until = std::max(until, Instant{} + r.at + r.down + bound);
    for (const auto& p : config_.monitor_pauses) until = std::max(until, Instant{} + p.at + p.length + bound);
    for (const auto& p : config_.node_pauses) until = std::max(until, Instant{} + p.at + p.length + bound + 2 * rotation);
    for (const auto& c : config_.crashes)
        if (c.restart_after) until = std::max(until, Instant{} + c.at + *c.restart_after + bound + 2 * rotation);
    // A walk: a timeout for the queries and one per round of orders.
    for (Duration at : config_.regenerates_by_hand)
        until = std::max(until, Instant{} + at + (1 + RegenerateWalk::kMaxOrderRounds) * SimRegenerateTool::kAnswerTimeout + 2 * rotation);
    return until;
}

SimSummary SimCluster::run() {
    const Instant start = events_.now();
    // The monitor and every node start at time 0; the monitor orders the ring's first token.
    for (std::size_t k = 0; k < config_.monitors; ++k) start_monitor(k);
    for (std::size_t i = 0; i < config_.nodes; ++i) boot_node(i);
    for (const auto& inj : config_.injects) {
        events_.at(start + inj.at, [this, inj] {
            const std::size_t pos = inj.node % config_.nodes;
            SimNode& n = *nodes_[pos];
            if (!n.up || n.paused) return;
            oracle_.armed(n.id, inj.kind);
            n.process->inject(events_.now(), inj.kind);
            pump_node(pos);
        });
    }
    for (const auto& c : config_.crashes) {
        events_.at(start + c.at, [this, c] { crash_node(c.node % config_.nodes); });
        if (c.restart_after) {
            events_.at(start + c.at + *c.restart_after, [this, c] {
                const std::size_t pos = c.node % config_.nodes;
                if (!nodes_[pos]->up) boot_node(pos);
            });
        }
    }
    for (const auto& r : config_.monitor_restarts) {
        const std::size_t k = r.monitor % config_.monitors;
        events_.at(start + r.at, [this, k] { stop_monitor(k); });
        events_.at(start + r.at + r.down, [this, k] {
            if (!monitors_[k]->up && !killed_.contains(k)) start_monitor(k);
        });
    }
    for (const auto& kill : config_.monitor_kills) {
        const std::size_t k = kill.monitor % config_.monitors;
        events_.at(start + kill.at, [this, k] {
            killed_.insert(k);
            stop_monitor(k);
        });
    }
    for (const auto& p : config_.monitor_pauses) {
        const std::size_t k = p.monitor % config_.monitors;
        events_.at(start + p.at, [this, p, k] {
            if (!monitors_[k]->up || monitors_[k]->paused) return;
            const Instant from = events_.now();
            pause_monitor(k);
            events_.at(from + p.length, [this, from, k] {
                checkers_[k]->monitor_paused(from, events_.now());
                resume_monitor(k);
            });
        });
    }
    for (const auto& p : config_.node_pauses) {
        events_.at(start + p.at, [this, p] {
            const std::size_t pos = p.node % config_.nodes;
            if (!nodes_[pos]->up || nodes_[pos]->paused) return;
            const Instant from = events_.now();
            pause_node(pos);
            each_checker([&](InvariantChecker& c) { c.unreachable(nodes_[pos]->id, from, std::nullopt); });
            events_.at(from + p.length, [this, pos] {
                each_checker([&](InvariantChecker& c) { c.reachable_again(nodes_[pos]->id, events_.now()); });
                resume_node(pos);  // unless it crashed meanwhile
            });
        });
    }
    for (const auto& p : config_.partitions) {
        events_.at(start + p.at, [this, p] { cut(p, true); });
        events_.at(start + p.at + p.length, [this, p] {
            if (healed_) return;  // the healing lifted it already
            cut(p, false);
        });
        // Nodes that cannot reach a monitor (both ways cut, or the side cannot hear it) are silent
        // to it; with the first monitor on the side, the others are to it.
        for (std::size_t k = 0; k < config_.monitors; ++k) {
            const bool monitor_on_side = k == 0 && p.monitor_on_side;
            for (std::size_t i = 0; i < config_.nodes; ++i) {
                const bool on_side = std::find(p.side.begin(), p.side.end(), i) != p.side.end();
                if (on_side != monitor_on_side) checkers_[k]->unreachable(id_of(i), start + p.at, start + p.at + p.length);
            }
        }
    }
    for (Duration at : config_.regenerates_by_hand) events_.at(start + at, [this] { regenerate_by_hand(); });
    events_.after(Duration{1000}, [this] { send_app_message(); });

    events_.run_until(start + config_.duration);
    // Heal: no more network faults, no more new messages; the system must settle.
    healed_ = true;
    const Instant healed_at = events_.now();
    // Beyond these, snapshots can time out again and again while the faults last, and the detection
    // bound counts from the healing: above 30% loss; or, with a single initiator, when the marker's
    // trip around the ring expects to lose a datagram (loss x ring size > 1).
    const bool lossy = config_.net.loss > 0.3 || (config_.single_initiator && config_.net.loss * static_cast<double>(config_.nodes) > 1.0);
    net_.set_faults(NetworkFaults{});
    net_.clear_link_faults();
    net_.heal_all();
    const Instant settle_until = settle_deadline(healed_at, lossy);
    // With recovery on, only a crash can take a message (with its sender's queue, or its receiver's
    // memory); token faults cannot.
    const bool recovering = config_.recover != RecoveryMode::off;
    const auto disturbed = [this, recovering](Instant t) {
        // A fault is unseen when no monitor alarmed after it.
        const bool unseen = std::all_of(checkers_.begin(), checkers_.end(), [t](const auto& c) { return c->unseen_fault_since(t); });
        return recovering ? checkers_.front()->crashed_since(t) || unseen : checkers_.front()->disturbed_since(t);
    };
    // Stop early once every due verdict has had its chance and nothing is waiting any more.
    Instant next_look = healed_at;
    while (events_.now() < settle_until) {
        if (events_.now() >= next_look) {
            next_look = events_.now() + config_.interval;
            std::optional<Instant> due;
            for (const auto& c : checkers_)
                if (const auto d = c->last_deadline(healed_at, lossy)) due = due ? std::max(*due, *d) : *d;
            if (due && events_.now() >= *due && ledger_.waiting(disturbed) == 0) break;
        }
        if (!events_.step()) break;
    }

    const Instant end = events_.now();
    bool all_up = true;
    for (const auto& n : nodes_) all_up &= n->up;
    for (std::size_t k = 0; k < checkers_.size(); ++k) {
        InvariantChecker& c = *checkers_[k];
        c.finish(end, healed_at, lossy);
        c.finish_liveness(end);
        c.finish_healing(end, lossy);
        // The ring whole again after every fault: asked of each monitor that is up at the end (one
        // of them leads, and repairs), and of a lone monitor whatever became of it (its outages
        // excuse what they must).
        if (recovering && (config_.monitors == 1 || monitors_[k]->up)) c.finish_recovery(end, healed_at, lossy, all_up);
    }
    SimSummary s = counts_;
    s.seed = config_.seed;
    s.messages = ledger_.finish(disturbed, all_up && oracle_.count().exactly(1), settle_until - healed_at);
    s.faults_taken_effect = oracle_.fault_effects().size();
    for (const auto& c : checkers_) s.faults_detected = std::max(s.faults_detected, c->faults_detected());
    s.tokens_at_end = oracle_.count();
    for (const auto& n : nodes_)
        if (n->up) s.link_retransmits += n->process->endpoint().total_link_stats().retransmits;
    s.datagrams_lost = net_.stats().lost;
    s.datagrams_duplicated = net_.stats().duplicated;
    s.datagrams_reordered = net_.stats().reordered;
    s.events = events_.executed();
    s.datagrams = net_.stats().sent;
    s.virtual_time = end - start;
    s.settle_bound = settle_until - healed_at;
    s.violations = violations_.kept();
    s.violation_counts = violations_.counts();
    return s;
}

SimSummary run_simulation(const SimConfig& config, const std::function<void(const Verdict&)>& on_verdict,
                          const std::function<void(const IncidentEvent&)>& on_incident, const std::function<void(const NodeEvent&)>& on_node_event,
                          const std::function<void(const MembershipEvent&)>& on_membership_event) {
    SimCluster c(config);
    c.on_verdict = on_verdict;
    c.on_incident = on_incident;
    c.on_node_event = on_node_event;
    c.on_membership_event = on_membership_event;
    return c.run();
}

}  // namespace ringwatch::sim
