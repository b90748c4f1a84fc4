#include "tests/sim/explorer.h"

#include <deque>
#include <map>
#include <memory>
#include <set>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>

#include "ring/core/wire.h"
#include "tests/sim/invariants.h"
#include "tests/sim/leadership_rules.h"
#include "tests/sim/message_ledger.h"
#include "tests/sim/oracle_wire.h"
#include "tests/sim/sim_monitor_core.h"
#include "tests/sim/sim_node_core.h"
#include "tests/sim/sim_state_dir.h"
#include "tests/sim/token_oracle.h"
#include "tests/sim/tool_process.h"

namespace ringwatch::sim {
namespace {

// 64-bit mixing (splitmix64's finaliser) and FNV-1a over bytes: a state's digest.
std::uint64_t mix(std::uint64_t h, std::uint64_t v) {
    std::uint64_t z = h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
std::uint64_t hash_bytes(std::span<const std::uint8_t> b) {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (std::uint8_t c : b) h = (h ^ c) * 0x100000001b3ULL;
    return h;
}

struct InFlight {
    Bytes bytes;
    Instant sent;
    std::uint32_t gen = 1;  // of the sender's process
};
using ChannelKey = std::pair<std::uint16_t, std::uint16_t>;  // from, to

// What the explorer's own rules remember (the simulator's oracle and checker hold the rest).
struct Truth {
    struct Window {
        std::uint8_t effects_before = 0;  // faults taken effect before it started
        // The true count in some state since the start: exactly 1, 0, 2 or more (the cut is one of
        // those states).
        bool was_one = false, was_zero = false, was_many = false;
        void saw(TokenCount c) {
            was_one = was_one || c.exactly(1);
            was_zero = was_zero || c.exactly(0);
            was_many = was_many || c.certain >= 2;
        }
    };
    std::map<std::uint64_t, Window> windows;  // snapshots started and not yet judged, by id
    struct Judged {
        std::uint8_t effects_before;
        VerdictKind kind;
        bool operator<(const Judged& o) const { return std::pair(effects_before, kind) < std::pair(o.effects_before, o.kind); }
    };
    std::set<Judged> judged;  // what the rules at the horizon read: which verdicts came after which faults
    struct Effect {
        Instant at;              // the latest time this kind of fault took effect
        std::uint8_t times = 0;  // how many times it has (a scripted one, then an explored one)
    };
    std::map<InjectKind, Effect> effect_at;
    std::optional<Instant> alarmed_at;       // the latest alarm (a verdict token_lost or token_duplicated)
    std::optional<Instant> crashed_at;       // the latest node crash
    std::optional<Instant> walk_started_at;  // the by-hand regenerate's tool started
    std::optional<Instant> walked_at;        // and said it regenerated
    std::optional<Instant> killed_at;        // the first monitor killed (the script)
    // How many faults of each kind have taken effect so far, a nibble per InjectKind: ordered by
    // steps, not by time (a start and a fault at the same instant happen in some order, and the cut
    // follows it).
    std::uint8_t effects() const;
};

// A process shared by the states that have not stepped it since they parted: a state's copy copies
// pointers, and a step copies only the process it hands an input to (most of a copy's cost was
// the processes its step left alone).
template <typename P>
class Shared {
public:
    Shared() = default;  // no process
    template <typename... Args>
    explicit Shared(std::in_place_t, Args&&... args) : p_(std::make_shared<P>(std::forward<Args>(args)...)) {}
    const P& operator*() const { return *p_; }
    const P* operator->() const { return p_.get(); }
    P& mut() {
        if (p_.use_count() > 1) p_ = std::make_shared<P>(*p_);
        return *p_;
    }
    bool alive() const { return p_ != nullptr; }
    void reset() { p_.reset(); }

private:
    std::shared_ptr<P> p_;
};

// A node's life outside its process: whether one runs, which generation, and its state directory.
struct NodeLife {
    bool up = true;
    bool for_good = false;  // crashed by the script: never restarted
    // Stopped (SIGSTOP) since then, by the script: what reaches its socket waits there, in order.
    std::optional<Instant> stopped_since;
    std::vector<std::pair<ChannelKey, InFlight>> socket;
    std::uint32_t gen = 1;
    SimStateDir state_dir;
};

// Everything of a state but the rules' own objects: copied member by member.
struct Processes {
    Instant now{};
    std::vector<NodeLife> life;
    std::vector<Shared<SimNodeProcess>> nodes;
    std::vector<Shared<SimMonitorProcess>> monitors;
    Shared<RegenerateToolProcess> tool;  // `ring recover` walking a regenerate by hand (--walk-at), once started
    bool alarm_seen = false;             // a mutant's trigger (monitor_stops_after_alarm)
    std::map<ChannelKey, std::deque<InFlight>> channels;
    std::map<ChannelKey, std::deque<InFlight>> control;  // frames without messages, waiting for the next quiet moment or timer
    std::vector<std::uint64_t> history;                  // per process (nodes, monitors, then the tool): its inputs so far, hashed
    unsigned drops_left = 0, duplicates_left = 0;
    std::vector<InjectKind> injects_left;
    unsigned crashes_left = 0, pauses_left = 0, messages_left = 0;
    std::vector<std::uint64_t> messages_sent;  // per source node
    // Crashed processes (node, generation) whose datagrams may still be on the network.
    std::vector<std::pair<std::uint16_t, std::uint32_t>> departed;
    // The monitor stopped (SIGSTOP) since `paused_at`: what reaches its socket waits there, in order.
    std::optional<Instant> paused_at;
    std::vector<std::pair<ChannelKey, InFlight>> monitor_socket;
    // The last datagram fault, crash or token fault: a message sent before it is excused from the
    // delivery rule at the horizon.
    std::optional<Instant> disturbed_at;
    // The process the last step handed an input to (none: a drop, or a datagram for no process).
    std::optional<std::size_t> stepped;
    // The sender of the datagram being handed over, and its generation.
    std::optional<std::pair<std::uint16_t, std::uint32_t>> source;
    Truth truth;
    std::optional<ExploreResult::Violation> violation;
};

// One state of the whole system, with the simulator's ground truth (token_oracle.h) and rules
// (invariants.h) of its own: a copy is a whole copy, its oracle and checker report to its own list.
struct World : Processes {
    World(std::vector<NodeId> ring, DetectionBound bound, std::size_t monitor_count)
        : oracle(ring, violations), ledger(violations), leadership(violations) {
        for (std::size_t k = 0; k < monitor_count; ++k) checkers.emplace_back(ring, bound, oracle, violations);
    }
    World(const World& o)
        : Processes(o), violations(o.violations), oracle(o.oracle), checkers(o.checkers), ledger(o.ledger), leadership(o.leadership) {
        oracle.rebind(violations);
        for (auto& c : checkers) c.rebind(oracle, violations);
        ledger.rebind(violations);
        leadership.rebind(violations);
    }
    template <typename F>
    void each_checker(F&& f) {
        for (auto& c : checkers) f(c);
    }
    World& operator=(const World&) = delete;

    Violations violations;
    TokenOracle oracle;
    std::vector<InvariantChecker> checkers;  // one per monitor: its verdicts, incidents and node events
    MessageLedger ledger;
    LeadershipRules leadership;
};

enum class Act : std::uint8_t { deliver, drop, duplicate, timer, inject, crash, restart, pause, resume, send };
struct Action {
    Act act;
    ChannelKey channel{};     // deliver, drop, duplicate
    std::size_t process = 0;  // timer, inject
    InjectKind kind = InjectKind::lose;
};

unsigned shift(InjectKind k) { return 4 * (static_cast<unsigned>(k) - 1); }  // lose: the low nibble, duplicate: the high
unsigned times(std::uint8_t effects, InjectKind k) { return (effects >> shift(k)) & 0xf; }

std::uint8_t Truth::effects() const {
    unsigned b = 0;
    for (const auto& [k, e] : effect_at) b |= std::min<unsigned>(e.times, 0xf) << shift(k);
    return static_cast<std::uint8_t>(b);
}

// With `replay`: where the steps and verdicts are written.
thread_local std::vector<std::string>* g_log = nullptr;

// The world being stepped: the processes' observers report to it (they are shared by every copy).
thread_local World* g_world = nullptr;

void violate(World& w, std::string rule, std::string detail) {
    if (!w.violation) w.violation = ExploreResult::Violation{std::move(rule), std::move(detail), {}, {}};
}

// The generation of the datagram's sender being handed over to `self` from `from` (0: unknown).
std::uint32_t source_gen(const World& w, NodeId from) { return w.source && w.source->first == from.value ? w.source->second : 0; }

// What the ground truth sees at a node process's boundary (as the simulator's NodeWatch).
struct NodeWatch : NodeProcessObserver {
    NodeId self;
    explicit NodeWatch(NodeId n) : self(n) {}
    void handed(NodeId from, std::span<const std::uint8_t> message) override {
        g_world->oracle.handed(g_world->now, self, from, source_gen(*g_world, from), oracle_wire::read(message));
    }
    void passed(NodeId to, std::span<const std::uint8_t> message, bool taken) override {
        const oracle_wire::Read read = oracle_wire::read(message);
        g_world->oracle.passed(g_world->now, self, to, read, taken);
        if (read.kind == oracle_wire::Kind::token && read.app_seq) g_world->ledger.departed(NodeId{read.src}, NodeId{read.dst}, *read.app_seq);
    }
    void link_event(NodeId peer, const LinkEvent& e) override {
        if (is_monitor_id(peer) || is_tool_id(peer)) return;
        if (e.kind == LinkEventKind::connected) g_world->oracle.link_connected(self, peer);
        if (e.kind == LinkEventKind::session_reset) g_world->oracle.link_reset(g_world->now, self, peer);
    }
};

// The monitor's snapshot starts open the explorer's windows; its links' first sessions tell the checker.
struct MonitorWatch : MonitorProcessObserver {
    std::size_t k;
    explicit MonitorWatch(std::size_t index) : k(index) {}
    void passed(NodeId, std::span<const std::uint8_t> message, bool taken) override {
        Message m;
        if (!taken || decode_message(message, m) != MessageError::none) return;
        if (const auto* s = std::get_if<SnapshotStart>(&m)) {
            g_world->checkers[k].snapshot_started(s->id);
            g_world->truth.windows.try_emplace(s->id.value, Truth::Window{g_world->truth.effects()}).first->second.saw(g_world->oracle.count());
        }
    }
    void link_event(NodeId peer, const LinkEvent& e) override {
        if (e.kind == LinkEventKind::connected && !is_monitor_id(peer)) g_world->checkers[k].monitor_connected(g_world->now, peer);
    }
};

class Explorer {
public:
    explicit Explorer(const ExploreConfig& c) : config_(c) {}
    ExploreResult run();

private:
    World initial();
    // Starts node i's process (again) from its state directory, as `ring node` starts.
    void boot(World& w, std::size_t i);
    void crash(World& w, std::size_t i);
    void resume_monitor(World& w);
    // Node i's next application message, to its predecessor (the longest ride), if it takes it.
    NodeId destination(std::size_t i) const { return id_at((i + config_.nodes - 1) % config_.nodes); }
    void send_message(World& w, std::size_t i);
    std::vector<NodeId> ring() const {
        std::vector<NodeId> r;
        for (std::size_t i = 0; i < config_.nodes; ++i) r.push_back(id_at(i));
        return r;
    }
    // Processes by index: the nodes, the monitors, then the tool.
    std::size_t tool_index() const { return config_.nodes + config_.monitors; }
    std::size_t index_of(NodeId id) const { return is_tool_id(id) ? tool_index() : is_monitor_id(id) ? config_.nodes + monitor_index(id) : id.value; }
    NodeId id_at(std::size_t i) const {
        return i < config_.nodes ? NodeId{static_cast<std::uint16_t>(i)} : i == tool_index() ? NodeId{kToolIdFirst} : monitor_id(i - config_.nodes);
    }
    std::vector<Action> actions(const World& w) const;
    void apply(World& w, const Action& a);
    void pump(World& w, std::size_t process);
    void route(World& w, std::size_t from, NodeId to, const Bytes& bytes);
    void receive(World& w, ChannelKey channel, const InFlight& datagram);
    void hand_over(World& w, std::size_t to, ChannelKey channel, const InFlight& datagram);
    void arm(World& w, std::size_t i, InjectKind kind);
    void deliver_control(World& w);
    void after_step(World& w);
    void at_horizon(World& w);
    // How long a repair may take after its alarm: the monitor's view to every node and their
    // acknowledgements, then the order that makes the token (three crossings of the network), a
    // token hold, and a millisecond's slack for each.
    Duration repair_time() const { return 3 * (config_.max_delay + std::chrono::milliseconds(1)) + config_.hold + std::chrono::milliseconds(1); }
    std::uint64_t digest(const World& w) const;
    std::string describe(const World& before, const Action& a) const;
    std::optional<Instant> next_timer(const World& w) const;
    World settled();
    static constexpr std::size_t kUnlimited = ~std::size_t{0};
    void search(const World& start, std::size_t limit, ExploreResult& res);

    ExploreConfig config_;
    std::vector<std::unique_ptr<NodeWatch>> node_watches_;        // shared by every world (they report to g_world)
    std::vector<std::unique_ptr<MonitorWatch>> monitor_watches_;  // likewise
    std::vector<NodeId> monitor_ids() const {
        std::vector<NodeId> ids;
        for (std::size_t k = 0; k < config_.monitors; ++k) ids.push_back(monitor_id(k));
        return ids;
    }
    // The first monitor may be stopped (--monitor-pauses).
    bool stopped(const World& w, std::size_t process) const { return process == config_.nodes && w.paused_at.has_value(); }
    // A monitor process that takes inputs: neither killed (--script) nor stopped.
    bool runs(const World& w, std::size_t process) const { return w.monitors[process - config_.nodes].alive() && !stopped(w, process); }
    // A node process that takes inputs: up, and not stopped by the script.
    static bool node_runs(const World& w, std::size_t i) { return w.life[i].up && !w.life[i].stopped_since; }
    // The tool process takes inputs from its start to the end of its walk.
    static bool tool_runs(const World& w) { return w.tool.alive() && !w.tool->over(); }
    // Any process that takes inputs, and its next deadline.
    bool takes_inputs(const World& w, std::size_t i) const {
        return i < config_.nodes ? node_runs(w, i) : i == tool_index() ? tool_runs(w) : i - config_.nodes < w.monitors.size() && runs(w, i);
    }
    std::optional<Instant> deadline_of(const World& w, std::size_t i) const {
        return i < config_.nodes   ? w.nodes[i]->next_deadline()
               : i == tool_index() ? w.tool->next_deadline()
                                   : w.monitors[i - config_.nodes]->next_deadline();
    }
    void start_tool(World& w);
    void resume_node(World& w, std::size_t i);
    void kill_monitor(World& w);
    void run_script(World& w);
    ExploreConfig::Script script_;  // the settle phase's events not yet run
    void start_monitor(World& w, std::size_t k);
};

void Explorer::boot(World& w, std::size_t i) {
    const std::vector<NodeId> ids = ring();
    NodeLife& life = w.life[i];
    // A new process starts at the epoch its state directory kept (the node reads it from its files).
    w.oracle.booted(ids[i], life.state_dir.kept_epoch());
    life.up = true;
    life.gen = w.oracle.generation(ids[i]);
    w.each_checker([&](InvariantChecker& c) { c.node_up(w.now, ids[i], life.gen); });
    NodeConfig nc;
    nc.self = ids[i];
    nc.predecessor = ids[(i + config_.nodes - 1) % config_.nodes];
    nc.successor = ids[(i + 1) % config_.nodes];
    nc.ring = ids;
    nc.token.hold = config_.hold;
    // Above every earlier process's (as a node's start time makes it), and distinct per node.
    nc.incarnation = Incarnation{(static_cast<std::uint64_t>(to_us(w.now) + 1) << 16) | (life.gen << 8) | (i + 1)};
    nc.monitors = monitor_ids();
    life.state_dir.read_into(nc);
    nc.keep_delivery_record = true;
    nc.lease_required = config_.evict_after.has_value();
    SimCoreHandle core(make_node_core(config_.mutant, i, nc, w.now));
    nc.saved_at_start.clear();  // the core has them
    nc.deliveries_at_start.reset();
    Shared<SimNodeProcess> process(std::in_place, NodeProcessConfig{nc, LinkConfig{}}, std::move(core), w.now, node_watches_[i].get());
    if (i < w.nodes.size()) {
        w.nodes[i] = std::move(process);
    } else {
        w.nodes.push_back(std::move(process));
    }
}

void Explorer::crash(World& w, std::size_t i) {
    NodeLife& life = w.life[i];
    life.up = false;
    w.nodes[i].reset();
    w.oracle.crashed(w.now, id_at(i));
    w.each_checker([&](InvariantChecker& c) { c.node_down(w.now, id_at(i)); });
    w.departed.emplace_back(id_at(i).value, life.gen);
    w.truth.crashed_at = w.now;
}

// SIGKILL of the first monitor: what reaches its port is gone, and its checker knows it is down.
void Explorer::kill_monitor(World& w) {
    w.monitors[0].reset();
    w.paused_at.reset();
    w.monitor_socket.clear();
    w.checkers[0].monitor_down(w.now);
    w.history[config_.nodes] = mix(mix(w.history[config_.nodes], 9), static_cast<std::uint64_t>(to_us(w.now)));
    w.truth.killed_at = w.now;
}

// The settle phase's scripted events whose moment has come, earliest first: each before the
// schedule's next timer moves time past it, or once time is there (never past `settle`).
void Explorer::run_script(World& w) {
    g_world = &w;
    enum class Ev { kill_monitor, stop_monitor, resume_monitor, stop_node, resume_node, crash_node, lose, walk };
    for (;;) {
        std::optional<std::pair<Duration, Ev>> next;
        auto consider = [&](const std::optional<Duration>& at, Ev e) {
            if (at && (!next || *at < next->first)) next = std::pair(*at, e);
        };
        consider(script_.kill_monitor, Ev::kill_monitor);
        consider(script_.stop_monitor, Ev::stop_monitor);
        consider(script_.resume_monitor, Ev::resume_monitor);
        consider(script_.stop_node, Ev::stop_node);
        consider(script_.resume_node, Ev::resume_node);
        consider(script_.crash_node, Ev::crash_node);
        consider(script_.walk, Ev::walk);
        consider(script_.losses.empty() ? std::nullopt : std::optional(script_.losses.front()), Ev::lose);
        if (!next || next->first > config_.settle) return;
        const Instant t = Instant{} + next->first;
        const std::optional<Instant> timer = next_timer(w);
        if (!(w.now >= t || (w.channels.empty() && (!timer || *timer >= t)))) return;
        w.now = std::max(w.now, t);
        switch (next->second) {
            case Ev::kill_monitor:
                script_.kill_monitor.reset();
                kill_monitor(w);
                break;
            case Ev::stop_monitor:
                script_.stop_monitor.reset();
                w.paused_at = w.now;
                break;
            case Ev::resume_monitor:
                script_.resume_monitor.reset();
                if (w.paused_at) resume_monitor(w);
                break;
            case Ev::stop_node:
                script_.stop_node.reset();
                w.life[kMutatedNode].stopped_since = w.now;
                w.each_checker([&](InvariantChecker& c) { c.unreachable(id_at(kMutatedNode), w.now, std::nullopt); });
                w.history[kMutatedNode] = mix(mix(w.history[kMutatedNode], 11), static_cast<std::uint64_t>(to_us(w.now)));
                break;
            case Ev::resume_node:
                script_.resume_node.reset();
                if (w.life[kMutatedNode].stopped_since) resume_node(w, kMutatedNode);
                break;
            case Ev::crash_node:
                script_.crash_node.reset();
                crash(w, config_.nodes - 1);
                w.life[config_.nodes - 1].for_good = true;
                break;
            case Ev::lose:
                script_.losses.erase(script_.losses.begin());
                arm(w, 0, InjectKind::lose);
                break;
            case Ev::walk:
                script_.walk.reset();
                start_tool(w);
                break;
        }
        after_step(w);
    }
}

// SIGCONT, as the simulator's: the overdue timers first, then the socket's backlog in order.
void Explorer::resume_monitor(World& w) {
    const std::size_t m = config_.nodes;
    w.checkers[0].monitor_paused(*w.paused_at, w.now);
    w.paused_at.reset();
    w.history[m] = mix(mix(w.history[m], 6), static_cast<std::uint64_t>(to_us(w.now)));
    w.monitors[0].mut().on_timer(w.now);
    for (auto& [key, d] : std::exchange(w.monitor_socket, {})) hand_over(w, m, key, d);
    pump(w, m);
}

// SIGCONT of a node, as the simulator's: overdue timers first, then its socket's backlog in order.
void Explorer::resume_node(World& w, std::size_t i) {
    NodeLife& life = w.life[i];
    life.stopped_since.reset();
    w.each_checker([&](InvariantChecker& c) { c.reachable_again(id_at(i), w.now); });
    w.history[i] = mix(mix(w.history[i], 10), static_cast<std::uint64_t>(to_us(w.now)));
    w.nodes[i].mut().on_timer(w.now);
    pump(w, i);
    for (auto& [key, d] : std::exchange(life.socket, {})) hand_over(w, i, key, d);
}

// A token fault armed at node i (`ring inject`): it acts on the next token the node is handed.
void Explorer::arm(World& w, std::size_t i, InjectKind kind) {
    w.oracle.armed(id_at(i), kind);
    w.history[i] = mix(mix(mix(w.history[i], 3), static_cast<std::uint64_t>(kind)), static_cast<std::uint64_t>(to_us(w.now)));
    w.nodes[i].mut().inject(w.now, kind);
    pump(w, i);
}

// `ring recover` with no monitor to ask: a tool process walks a regenerate by hand. What it says
// it did is checked as the simulator checks it: a walk done in epoch E made the token of E.
void Explorer::start_tool(World& w) {
    const std::size_t t = tool_index();
    w.tool = Shared<RegenerateToolProcess>(std::in_place, id_at(t), Incarnation{(static_cast<std::uint64_t>(to_us(w.now) + 1) << 16) | 0xff}, ring(),
                                           config_.mutant, w.now);
    w.history[t] = mix(mix(w.history[t], 12), static_cast<std::uint64_t>(to_us(w.now)));
    w.truth.walk_started_at = w.now;
    pump(w, t);
}

void Explorer::send_message(World& w, std::size_t i) {
    --w.messages_left;
    w.history[i] = mix(mix(w.history[i], 7), static_cast<std::uint64_t>(to_us(w.now)));
    if (w.nodes[i].mut().send_app(w.now, destination(i), app_payload(w.messages_sent[i] + 1))) {
        ++w.messages_sent[i];
        w.ledger.sent(w.now, id_at(i), w.life[i].gen, destination(i), w.messages_sent[i]);
    }
    pump(w, i);
}

void Explorer::start_monitor(World& w, std::size_t k) {
    MonitorConfig mc;
    mc.era = static_cast<std::uint32_t>(k + 1);
    mc.ring = ring();
    mc.interval = config_.interval;
    mc.timeout = config_.timeout;
    mc.liveness = liveness_for(config_.interval, config_.node_timeout);
    mc.recover = config_.recover;
    mc.evict_after = config_.evict_after;
    mc.leadership.self = monitor_id(k);
    mc.leadership.monitors = monitor_ids();
    mutate_monitor_config(config_.mutant, mc);
    // The ground truth checks each report as the core is handed it; a monitor mutant edits what the
    // core decided, and the rules judge what is left, as in the simulator.
    SimMonitorCore::Hooks hooks{
        .report =
            [k](NodeId from, const SnapshotReport& r) {
                World& cur = *g_world;
                const std::uint32_t gen = source_gen(cur, from);
                cur.checkers[k].report_handed(r.id, from, gen, cur.oracle.reported(from, gen, r));
            },
        .decided =
            [this, k, mc](MonitorOutput& out) {
                World& cur = *g_world;
                InvariantChecker& checker = cur.checkers[k];
                const SimMonitorCore* core = k < cur.monitors.size() ? &cur.monitors[k]->core() : nullptr;
                mutate_decided(config_.mutant, mc, config_.nodes, cur.alarm_seen, core, out);
                // (A crash since the latest fault may call for a repair of its own.)
                std::optional<Instant> repairable_fault;
                if (const auto& effects = cur.oracle.fault_effects(); !effects.empty() && !checker.crashed_since(effects.back().at))
                    repairable_fault = effects.back().at;
                if (cur.leadership.decided(cur.now, monitor_id(k), out, repairable_fault) && config_.monitors > 1)
                    cur.each_checker([&](InvariantChecker& c) { c.took_over(cur.now); });
                for (const auto& e : out.node_events) checker.node_event(e);
                for (const auto& v : out.verdicts) {
                    checker.verdict(v, cur.now);
                    for (const auto& e : caused_by(v, out.incident_events)) checker.incident(e);
                }
            },
    };
    w.checkers[k].monitor_up(w.now);
    w.monitors.emplace_back(
        std::in_place, MonitorProcessConfig{.monitor = mc, .link = LinkConfig{}, .incarnation = Incarnation{(std::uint64_t{1} << 16) | (100 + k)}},
        SimMonitorCore(mc, w.now, std::move(hooks)), w.now, monitor_watches_[k].get());
}

World Explorer::initial() {
    const std::vector<NodeId> ids = ring();
    World w(ids, DetectionBound{config_.interval, config_.timeout, LinkConfig{}.rto_max}, config_.monitors);
    g_world = &w;
    if (config_.monitors > 1) w.oracle.expect_several_reports();
    w.each_checker([&](InvariantChecker& c) {
        c.set_liveness(liveness_for(config_.interval, config_.node_timeout), true, config_.max_delay);
        c.set_views(config_.evict_after, view_ack_timeout(config_.timeout));
    });
    if (config_.recover == RecoveryMode::rollback) {
        // The ledger re-bases its order where a node recorded, and restored, a cut.
        w.oracle.on_recorded = [](NodeId n, SnapshotId s) { g_world->ledger.recorded(n, s); };
        w.oracle.on_restored = [](NodeId n, SnapshotId s) { g_world->ledger.restored(n, s); };
    }
    w.life.assign(config_.nodes, NodeLife{});
    for (std::size_t i = 0; i < config_.nodes; ++i) node_watches_.push_back(std::make_unique<NodeWatch>(ids[i]));
    for (std::size_t k = 0; k < config_.monitors; ++k) monitor_watches_.push_back(std::make_unique<MonitorWatch>(k));
    for (std::size_t i = 0; i < config_.nodes; ++i) boot(w, i);
    start_monitor(w, 0);  // a second one starts during the settle phase (settled())
    w.history.assign(config_.nodes + config_.monitors + 1, 0);
    w.drops_left = config_.drops;
    w.duplicates_left = config_.duplicates;
    w.injects_left = config_.injects;
    w.crashes_left = config_.crashes;
    w.pauses_left = config_.monitor_pauses;
    w.messages_left = config_.messages;
    w.messages_sent.assign(config_.nodes, 0);
    for (std::size_t i = 0; i < config_.nodes + 1; ++i) pump(w, i);
    after_step(w);
    return w;
}

// A datagram process i sent to `to`, on its way: on the channel between them, or with the frames
// that carry no message.
void Explorer::route(World& w, std::size_t i, NodeId to, const Bytes& bytes) {
    if (is_tool_id(to) ? !tool_runs(w) : is_monitor_id(to) ? monitor_index(to) >= w.monitors.size() : to.value >= config_.nodes) return;
    // (To a monitor killed for good: gone, wherever it would be dropped.)
    if (is_monitor_id(to) && !w.monitors[monitor_index(to)].alive()) return;
    const ChannelKey key{id_at(i).value, to.value};
    const InFlight d{bytes, w.now, i < config_.nodes ? w.life[i].gen : 1};
    wire::Frame f;
    if (wire::decode_frame(bytes, f) == wire::DecodeError::none && f.messages.empty()) {
        w.control[key].push_back(d);
    } else {
        w.channels[key].push_back(d);
    }
}

// Steps a process until it is quiet, putting what it sends on the channels and telling the
// ground truth what it made and what faults took effect.
void Explorer::pump(World& w, std::size_t i) {
    auto send = [&](const std::vector<Addressed>& datagrams) {
        for (const auto& d : datagrams) route(w, i, d.peer, d.bytes);
    };
    if (i < config_.nodes) {
        if (!node_runs(w, i)) return;
        SimNodeProcess& p = w.nodes[i].mut();
        NodeLife& life = w.life[i];
        do {
            NodeReady r = p.step(w.now);
            life.state_dir.write(r);
            send(r.datagrams);
            for (const auto& e : r.token_events) {
                if (e.kind == TokenEventKind::rolled_back) w.ledger.rolled_back();
                if (e.kind == TokenEventKind::delivered || e.kind == TokenEventKind::redelivered)
                    w.ledger.delivered(w.now, e.src, id_at(i), app_payload_seq(e.payload), e.kind == TokenEventKind::redelivered);
                std::optional<InjectKind> fault;
                if (e.kind == TokenEventKind::lost_by_fault) fault = InjectKind::lose;
                if (e.kind == TokenEventKind::duplicated_by_fault) fault = InjectKind::duplicate;
                if (!fault) continue;
                Truth::Effect& effect = w.truth.effect_at[*fault];
                effect.at = w.now;
                ++effect.times;
                w.disturbed_at = w.now;  // (a loss of one of two tokens leaves the count at 1)
            }
        } while (p.pending());
        return;
    }
    if (i == tool_index()) {
        if (!tool_runs(w)) return;
        ToolReady r = w.tool.mut().step(w.now);
        send(r.datagrams);
        if (g_log)
            for (const auto& n : r.notes)
                g_log->push_back(fmt::format("{:>8} us    tool: node {} {} (epoch {}, issuer {})", to_us(w.now), n.node.value,
                                             static_cast<int>(n.kind), n.epoch.value, n.issuer.value));
        if (r.outcome && (*r.outcome == WalkOutcome::regenerated || *r.outcome == WalkOutcome::regenerated_partly)) {
            w.truth.walked_at = w.now;
            const RegenerateWalk& walk = w.tool->walk();
            if (!w.oracle.born_by_order(walk.epoch()->value))
                violate(w, std::string(rule::recovery),
                        fmt::format("the by-hand regenerate said {} in epoch {} (node {} issuing), but no token of epoch {} was born",
                                    to_string(*r.outcome), *walk.epoch(), *walk.issuer(), *walk.epoch()));
        }
        return;
    }
    if (!runs(w, i)) return;
    SimMonitorProcess& m = w.monitors[i - config_.nodes].mut();
    do {
        MonitorReady r = m.step(w.now);
        send(r.datagrams);
        for (const auto& e : r.membership_events) w.checkers[i - config_.nodes].membership_event(e);
        for (const auto& jv : r.verdicts) {
            const Verdict& v = jv.verdict;
            w.alarm_seen = w.alarm_seen || v.alarm();
            if (v.alarm()) w.truth.alarmed_at = w.now;
            if (g_log)
                g_log->push_back(
                    fmt::format("{:>8} us    verdict: snapshot {} {} ({} token(s))", to_us(w.now), v.id.value, to_string(v.kind), v.tokens));
            const auto it = w.truth.windows.find(v.id.value);
            // (A snapshot whose start was never seen is judged by the checker alone.)
            const Truth::Window win = it != w.truth.windows.end() ? it->second : Truth::Window{0, true, true, true};
            if (it != w.truth.windows.end()) w.truth.windows.erase(it);
            w.truth.judged.insert({win.effects_before, v.kind});
            // The cut is one of the states between the start and the verdict: what it says was true then.
            if ((v.kind == VerdictKind::ok && !win.was_one) || (v.kind == VerdictKind::token_lost && !win.was_zero) ||
                (v.kind == VerdictKind::token_duplicated && !win.was_many))
                violate(w, "cut-truth",
                        fmt::format("snapshot {} says {}, but no state between its start and its verdict held that count", v.id.value,
                                    to_string(v.kind)));
        }
    } while (m.pending());
}

// After every step: the snapshots under way learn whether the count left 1; once nothing with a
// message is on the network, the frames without one are delivered.
void Explorer::after_step(World& w) {
    // A crashed process's datagrams have all left the network (delivered, dropped, or waiting in a
    // stopped receiver's socket no more): the tokens it passed on that did not arrive never will.
    std::erase_if(w.departed, [&](const std::pair<std::uint16_t, std::uint32_t>& d) {
        auto from_it = [&](const ChannelKey& key, const InFlight& f) { return key.first == d.first && f.gen == d.second; };
        for (const auto& [key, q] : w.channels)
            for (const auto& f : q)
                if (from_it(key, f)) return false;
        for (const auto& [key, f] : w.monitor_socket)
            if (from_it(key, f)) return false;
        for (const NodeLife& l : w.life)
            for (const auto& [key, f] : l.socket)
                if (from_it(key, f)) return false;
        w.oracle.sender_gone(w.now, NodeId{d.first}, d.second);
        return true;
    });
    for (auto& [id, win] : w.truth.windows) win.saw(w.oracle.count());
    if (w.channels.empty() && !w.control.empty()) deliver_control(w);
    // A ring without exactly one token or with a node down (a crashed one included) owes no
    // message its delivery (token faults and lost datagrams mark it where they happen).
    if (!w.oracle.count().exactly(1) || std::any_of(w.life.begin(), w.life.end(), [](const NodeLife& l) { return !l.up || l.stopped_since; }))
        w.disturbed_at = w.now;
    // The checker's `truth` and `false-alarm` rules read the count over a stretch of virtual time;
    // here many steps share one instant, and the windows above judge the same by states instead.
    for (const Violation& v : w.violations.kept())
        if (v.rule != rule::truth && v.rule != rule::false_alarm) {
            violate(w, v.rule, v.what);
            break;
        }
}

// Acknowledgements and keep-alives (frames that carry no message) move no token and no marker;
// their own races are the link's (its property test's). They wait for a quiet network or the next
// timer and are then delivered in one fixed order, so the order in which the messages they
// acknowledge arrived does not make distinct states of them.
void Explorer::deliver_control(World& w) {
    while (!w.control.empty()) {
        auto batch = std::exchange(w.control, {});
        for (const auto& [key, frames] : batch)
            for (const auto& f : frames) receive(w, key, f);
    }
    for (auto& [id, win] : w.truth.windows) win.saw(w.oracle.count());
}

// At the horizon: a fault that took effect early enough was followed by a judged snapshot that
// began after it (on a network that delivers within max_delay, one starts within an interval and
// is decided a few deliveries later); what that verdict says is the checker's to judge.
void Explorer::at_horizon(World& w) {
    const Instant end = Instant{} + config_.settle + config_.horizon;
    // Exactly once: a message offered long enough before the end (two rotations of the token, as
    // the simulator bounds a message's wait; a datagram's delay and a millisecond's slack per hop),
    // with no datagram fault, crash or token fault since, every node up and one token in every
    // state, was delivered (twice is the ledger's at once).
    const Duration rotation = static_cast<std::int64_t>(config_.nodes) * (config_.hold + config_.max_delay + std::chrono::milliseconds(1));
    const auto excused = [&](Instant sent) { return end - sent < 2 * rotation || (w.disturbed_at && *w.disturbed_at >= sent); };
    if (const std::uint64_t waiting = w.ledger.waiting(excused); waiting > 0)
        violate(w, std::string(rule::messages),
                fmt::format("{} message(s) offered more than {} us before the end, with no fault since, not delivered", waiting,
                            to_us(Instant{} + 2 * rotation)));
    // Repair: with recovery on, an alarm decided long enough before the end (the monitor's orders and
    // the nodes' answers, a few datagrams each way), with no fault or crash after it, left the ring
    // with exactly one token.
    if (config_.recover != RecoveryMode::off && w.truth.alarmed_at && end - *w.truth.alarmed_at >= repair_time()) {
        const Instant a = *w.truth.alarmed_at;
        const bool disturbed_after = (w.truth.crashed_at && *w.truth.crashed_at >= a) ||
                                     std::any_of(w.truth.effect_at.begin(), w.truth.effect_at.end(), [a](const auto& e) { return e.second.at >= a; });
        if (!disturbed_after && !w.oracle.count().exactly(1))
            violate(w, "recovery",
                    fmt::format("the alarm at {} us was not repaired: {} token(s) (and {} maybe) {} us later, with no fault since", to_us(a),
                                w.oracle.count().certain, w.oracle.count().open, to_us(Instant{} + (end - a))));
    }
    // A by-hand regenerate that said it regenerated, with no fault or crash since it started, left
    // the ring with exactly one token (its issuer made it before acknowledging; the others purged
    // theirs). (A fault while it ran may take the new token before the walk's end.)
    if (const auto done = w.truth.walked_at) {
        const Instant from = *w.truth.walk_started_at;
        const bool disturbed_after =
            (w.truth.crashed_at && *w.truth.crashed_at >= from) ||
            std::any_of(w.truth.effect_at.begin(), w.truth.effect_at.end(), [&](const auto& e) { return e.second.at >= from; });
        if (!disturbed_after && !w.oracle.count().exactly(1))
            violate(w, std::string(rule::recovery),
                    fmt::format(
                        "the by-hand regenerate said done at {} us, but the ring holds {} token(s) (and {} maybe) at the end, with no fault since",
                        to_us(*done), w.oracle.count().certain, w.oracle.count().open));
    }
    // The checker's rules over long stretches (a scripted prefix reaches them): a node down for
    // node_timeout was reported; with views, one crashed for good was left out in time.
    if (w.paused_at) w.checkers[0].monitor_paused(*w.paused_at, end);  // (a leaf: never stepped again)
    w.each_checker([&](InvariantChecker& c) {
        c.finish_liveness(end);
        c.finish_healing(end, false);
    });
    for (const Violation& v : w.violations.kept())
        if (v.rule == rule::node_events || v.rule == rule::healing) {
            violate(w, v.rule, v.what);
            break;
        }
    // (Every monitor killed before it could judge a snapshot begun after the fault: nothing left to
    // detect it; `ring recover` is the operator's.)
    const bool monitored = std::any_of(w.monitors.begin(), w.monitors.end(), [](const auto& m) { return m.alive(); });
    for (const auto& [kind, effect] : w.truth.effect_at) {
        const Instant at = effect.at;
        if (end - at < 2 * config_.interval) continue;
        if (!monitored && w.truth.killed_at && *w.truth.killed_at - at < 2 * config_.interval) continue;
        const bool judged_after = std::any_of(w.truth.judged.begin(), w.truth.judged.end(),
                                              [&](const Truth::Judged& j) { return times(j.effects_before, kind) >= effect.times; });
        if (!judged_after)
            violate(w, "detection", fmt::format("the {} at {} us was followed by no judged snapshot begun after it", to_string(kind), to_us(at)));
    }
}

std::optional<Instant> Explorer::next_timer(const World& w) const {
    std::optional<Instant> t;
    auto take = [&](std::optional<Instant> d) {
        if (d && (!t || *d < *t)) t = d;
    };
    for (std::size_t i = 0; i <= tool_index(); ++i)
        if (takes_inputs(w, i)) take(deadline_of(w, i));
    return t;
}

std::vector<Action> Explorer::actions(const World& w) const {
    std::vector<Action> out;
    std::optional<Instant> must_arrive;  // the earliest moment a datagram on the network must have arrived
    for (const auto& [key, q] : w.channels) {
        if (q.empty()) continue;
        out.push_back({Act::deliver, key});
        if (w.drops_left > 0) out.push_back({Act::drop, key});
        if (w.duplicates_left > 0) out.push_back({Act::duplicate, key});
        const Instant by = q.front().sent + config_.max_delay;
        if (!must_arrive || by < *must_arrive) must_arrive = by;
    }
    const Instant end = Instant{} + config_.settle + config_.horizon;
    if (const auto t = next_timer(w); t && *t <= end && (!must_arrive || *t <= *must_arrive)) {
        for (std::size_t i = 0; i <= tool_index(); ++i)
            if (takes_inputs(w, i) && deadline_of(w, i) == t) out.push_back({Act::timer, {}, i});
    }
    // A process's life: a node crashes (within the budget) right after any step of its own, or in
    // any quiet moment, and restarts the same way (at once, or in any later quiet moment). Between
    // two inputs a process does nothing, so a crash later in that stretch differs only in how it
    // interleaves with the others' steps, which the quiet moments sample; the state space stays
    // in reach (a crash at every step: over 5 M states for 8 ms).
    const bool quiet = !must_arrive;
    for (std::size_t i = 0; i < config_.nodes; ++i) {
        const bool now_or_quiet = quiet || w.stepped == i;
        if (node_runs(w, i) && w.crashes_left > 0 && now_or_quiet) out.push_back({Act::crash, {}, i});
        // A node the script stopped goes on in any quiet moment (or when the script says).
        if (w.life[i].stopped_since && !config_.script.resume_node && quiet) out.push_back({Act::resume, {}, i});
        if (!w.life[i].up && !w.life[i].for_good && now_or_quiet) out.push_back({Act::restart, {}, i});
    }
    // The monitor stops the same way; it goes on in any later quiet moment (a datagram's arrival
    // meanwhile waits in its socket either way).
    if (!w.paused_at && w.pauses_left > 0 && w.monitors[0].alive() && (quiet || w.stepped == config_.nodes))
        out.push_back({Act::pause, {}, config_.nodes});
    if (w.paused_at && quiet) out.push_back({Act::resume, {}, config_.nodes});
    // An application message, offered at any node in a quiet moment (as a token fault is armed).
    if (!must_arrive && w.messages_left > 0)
        for (std::size_t i = 0; i < config_.nodes; ++i)
            if (node_runs(w, i)) out.push_back({Act::send, {}, i});
    // Token faults are armed in quiet moments (nothing on the network): arming is local to a node
    // and takes effect on the next token it is handed, which no delivery then can race.
    if (!must_arrive)
        for (std::size_t f = 0; f < w.injects_left.size(); ++f)
            for (std::size_t i = 0; i < config_.nodes; ++i)
                if (node_runs(w, i)) out.push_back({Act::inject, {}, i, w.injects_left[f]});
    return out;
}

void Explorer::apply(World& w, const Action& a) {
    g_world = &w;
    w.stepped.reset();
    switch (a.act) {
        case Act::deliver:
        case Act::duplicate: {
            auto& q = w.channels[a.channel];
            InFlight d = q.front();
            if (a.act == Act::deliver) {
                q.pop_front();
                if (q.empty()) w.channels.erase(a.channel);
            } else {
                --w.duplicates_left;
            }
            receive(w, a.channel, d);
            if (const std::size_t to = index_of(NodeId{a.channel.second}); takes_inputs(w, to)) w.stepped = to;
            break;
        }
        case Act::drop: {
            auto& q = w.channels[a.channel];
            q.pop_front();
            if (q.empty()) w.channels.erase(a.channel);
            --w.drops_left;
            w.disturbed_at = w.now;
            break;
        }
        case Act::timer: {
            deliver_control(w);
            const std::optional<Instant> t = next_timer(w);
            if (!t) break;
            // The acknowledgements may have moved deadlines (a retransmission no longer due): the
            // process chosen fires if it is still among the first due, else the first of those.
            auto due = [&](std::size_t i) { return takes_inputs(w, i) && deadline_of(w, i) == t; };
            std::size_t fire = a.process;
            for (std::size_t i = 0; !due(fire) && i <= tool_index(); ++i) fire = i;
            if (!due(fire)) break;
            w.now = std::max(w.now, *t);
            w.history[fire] = mix(mix(w.history[fire], 2), static_cast<std::uint64_t>(to_us(w.now)));
            w.stepped = fire;
            if (fire < config_.nodes) {
                w.nodes[fire].mut().on_timer(w.now);
            } else if (fire == tool_index()) {
                w.tool.mut().on_timer(w.now);
            } else {
                w.monitors[fire - config_.nodes].mut().on_timer(w.now);
            }
            pump(w, fire);
            break;
        }
        case Act::inject: {
            w.injects_left.erase(std::find(w.injects_left.begin(), w.injects_left.end(), a.kind));
            arm(w, a.process, a.kind);
            w.stepped = a.process;
            break;
        }
        case Act::crash: {
            --w.crashes_left;
            w.history[a.process] = mix(mix(w.history[a.process], 4), static_cast<std::uint64_t>(to_us(w.now)));
            crash(w, a.process);
            w.stepped = a.process;
            break;
        }
        case Act::restart: {
            w.history[a.process] = mix(mix(w.history[a.process], 5), static_cast<std::uint64_t>(to_us(w.now)));
            boot(w, a.process);
            w.stepped = a.process;
            pump(w, a.process);
            break;
        }
        case Act::pause: {
            --w.pauses_left;
            w.paused_at = w.now;
            w.history[a.process] = mix(mix(w.history[a.process], 8), static_cast<std::uint64_t>(to_us(w.now)));
            break;
        }
        case Act::resume:
            if (a.process < config_.nodes) {
                resume_node(w, a.process);
            } else {
                resume_monitor(w);
            }
            w.stepped = a.process;
            break;
        case Act::send:
            send_message(w, a.process);
            w.stepped = a.process;
            break;
    }
    after_step(w);
}

void Explorer::receive(World& w, ChannelKey channel, const InFlight& datagram) {
    const std::size_t to = index_of(NodeId{channel.second});
    // No process there (or the tool exited): the datagram is gone.
    if (to < config_.nodes ? !w.life[to].up : to == tool_index() ? !tool_runs(w) : !w.monitors[to - config_.nodes].alive()) return;
    if (stopped(w, to)) {
        w.monitor_socket.emplace_back(channel, datagram);  // it waits in the stopped monitor's socket
        return;
    }
    if (to < config_.nodes && w.life[to].stopped_since) {
        w.life[to].socket.emplace_back(channel, datagram);  // likewise a stopped node's
        return;
    }
    // (What proves a node alive to the monitor: a datagram of its current process.)
    if (to >= config_.nodes && to != tool_index() && channel.first < config_.nodes && w.life[channel.first].up &&
        w.life[channel.first].gen == datagram.gen)
        w.checkers[to - config_.nodes].reached_monitor(w.now, NodeId{channel.first});
    hand_over(w, to, channel, datagram);
}

// A datagram handed to a running process: recorded in its inputs, its sender told to the ground
// truth for the step, and the process stepped until quiet.
void Explorer::hand_over(World& w, std::size_t to, ChannelKey channel, const InFlight& datagram) {
    w.history[to] = mix(mix(mix(w.history[to], 1), channel.first), mix(hash_bytes(datagram.bytes), static_cast<std::uint64_t>(to_us(w.now))));
    w.source = std::pair(channel.first, datagram.gen);
    // (A reply goes straight back to where the datagram came from: a tool's challenge.)
    std::optional<Bytes> reply;
    if (to < config_.nodes) {
        w.nodes[to].mut().on_datagram(w.now, datagram.bytes);
        reply = w.nodes[to].mut().take_reply();
    } else if (to == tool_index()) {
        w.tool.mut().on_datagram(w.now, datagram.bytes);
    } else {
        w.monitors[to - config_.nodes].mut().on_datagram(w.now, datagram.bytes);
        reply = w.monitors[to - config_.nodes].mut().take_reply();
    }
    if (reply) route(w, to, NodeId{channel.first}, *reply);
    pump(w, to);
    w.source.reset();
}

std::uint64_t Explorer::digest(const World& w) const {
    std::uint64_t h = mix(0, static_cast<std::uint64_t>(to_us(w.now)));
    for (std::uint64_t p : w.history) h = mix(h, p);
    for (const auto& [key, q] : w.channels) {
        h = mix(mix(h, key.first), key.second);
        for (const auto& d : q) h = mix(mix(h, hash_bytes(d.bytes)), static_cast<std::uint64_t>(to_us(d.sent)));
    }
    for (const auto& [key, frames] : w.control) {
        h = mix(mix(h, key.first + 0x10000), key.second);
        for (const auto& f : frames) h = mix(mix(h, hash_bytes(f.bytes)), f.gen);
    }
    h = mix(mix(h, w.drops_left), w.duplicates_left);
    h = mix(mix(mix(mix(h, w.crashes_left), w.pauses_left), w.messages_left), w.paused_at ? to_us(*w.paused_at) + 1 : 0);
    for (const auto& [key, d] : w.monitor_socket) h = mix(mix(h, key.first + 0x20000), mix(hash_bytes(d.bytes), d.gen));
    for (const auto& [node, gen] : w.departed) h = mix(mix(h, node + 0x30000), gen);
    for (const NodeLife& l : w.life) {
        if (!l.stopped_since) continue;
        h = mix(h, to_us(*l.stopped_since) + 0x40000);
        for (const auto& [key, d] : l.socket) h = mix(mix(h, key.first + 0x50000), mix(hash_bytes(d.bytes), d.gen));
    }
    h = mix(h, w.disturbed_at ? to_us(*w.disturbed_at) + 1 : 0);
    // The last step's process decides where a crash or restart may come next (nowhere else).
    const bool lives_open =
        w.crashes_left > 0 || w.pauses_left > 0 || std::any_of(w.life.begin(), w.life.end(), [](const NodeLife& l) { return !l.up && !l.for_good; });
    if (lives_open) h = mix(h, w.stepped ? *w.stepped + 1 : 0);
    for (InjectKind k : w.injects_left) h = mix(h, static_cast<std::uint64_t>(k) + 17);
    // The ground truth's memory (what a rule checked later reads): in-flight counts follow from
    // the histories, but when a fault took effect and how each snapshot's count went do not.
    for (const auto& [id, win] : w.truth.windows) h = mix(mix(mix(h, id), win.was_one + 2 * win.was_zero + 4 * win.was_many), win.effects_before);
    for (const auto& [k, e] : w.truth.effect_at)
        h = mix(mix(mix(h, static_cast<std::uint64_t>(k)), static_cast<std::uint64_t>(to_us(e.at))), e.times);
    h = mix(mix(h, w.truth.alarmed_at ? to_us(*w.truth.alarmed_at) + 1 : 0), w.truth.crashed_at ? to_us(*w.truth.crashed_at) + 1 : 0);
    h = mix(mix(h, w.truth.walked_at ? to_us(*w.truth.walked_at) + 1 : 0), w.truth.walk_started_at ? to_us(*w.truth.walk_started_at) + 1 : 0);
    h = mix(h, w.truth.killed_at ? to_us(*w.truth.killed_at) + 1 : 0);
    for (const auto& j : w.truth.judged) h = mix(mix(h, j.effects_before), static_cast<std::uint64_t>(j.kind));
    return h;
}

std::string Explorer::describe(const World& before, const Action& a) const {
    auto name = [](std::uint16_t v) {
        return is_tool_id(NodeId{v})      ? std::string("tool")
               : is_monitor_id(NodeId{v}) ? fmt::format("m{}", monitor_index(NodeId{v}))
                                          : fmt::format("{}", v);
    };
    auto pname = [&](std::size_t i) { return name(id_at(i).value); };
    switch (a.act) {
        case Act::deliver: return fmt::format("{:>8} us  deliver {} -> {}", to_us(before.now), name(a.channel.first), name(a.channel.second));
        case Act::drop: return fmt::format("{:>8} us  drop    {} -> {}", to_us(before.now), name(a.channel.first), name(a.channel.second));
        case Act::duplicate: return fmt::format("{:>8} us  dup     {} -> {}", to_us(before.now), name(a.channel.first), name(a.channel.second));
        case Act::timer: return fmt::format("{:>8} us  timer   {}", to_us(*next_timer(before)), pname(a.process));
        case Act::inject: return fmt::format("{:>8} us  inject  {} at {}", to_us(before.now), to_string(a.kind), pname(a.process));
        case Act::crash: return fmt::format("{:>8} us  crash   {}", to_us(before.now), pname(a.process));
        case Act::restart: return fmt::format("{:>8} us  restart {}", to_us(before.now), pname(a.process));
        case Act::pause: return fmt::format("{:>8} us  stop    {} (SIGSTOP)", to_us(before.now), pname(a.process));
        case Act::resume: return fmt::format("{:>8} us  resume  {} (SIGCONT)", to_us(before.now), pname(a.process));
        case Act::send:
            return fmt::format("{:>8} us  send    message {} from {} to {}", to_us(before.now), before.messages_sent[a.process] + 1, pname(a.process),
                               destination(a.process).value);
    }
    return {};
}

World Explorer::settled() {
    World start = initial();
    // One schedule up to `settle`: the datagrams in flight delivered in channel order, then the
    // next timer. A second monitor starts half an interval after the first, as monitors started
    // by hand do at some moment of their own: their snapshots take turns instead of overlapping
    // (two at once are every order of both at every node: over 3 M states on 2 nodes).
    script_ = config_.script;
    while (!start.violation) {
        run_script(start);
        const Instant second_start = Instant{} + config_.interval / 2;
        const bool quiet = start.channels.empty();
        if (start.monitors.size() < config_.monitors && (start.now >= second_start || (quiet && next_timer(start) >= second_start))) {
            g_world = &start;
            start.now = std::max(start.now, second_start);
            start_monitor(start, start.monitors.size());
            pump(start, config_.nodes + start.monitors.size() - 1);
            after_step(start);
        }
        const std::vector<Action> todo = actions(start);
        if (start.violation || todo.empty() || start.now >= Instant{} + config_.settle) break;
        const auto pick = std::find_if(todo.begin(), todo.end(), [](const Action& a) { return a.act == Act::deliver; });
        const auto timer = std::find_if(todo.begin(), todo.end(), [](const Action& a) { return a.act == Act::timer; });
        if (pick != todo.end()) {
            apply(start, *pick);
        } else if (timer != todo.end()) {
            apply(start, *timer);
        } else {
            break;
        }
    }
    return start;
}

// Depth-first from `start`, at most `limit` steps deep. Unlimited, a state is explored once;
// limited, again when reached in fewer steps than before (so that nothing within the limit is
// missed). Stops at the first broken rule, or (`res.complete` false) at the state limit.
void Explorer::search(const World& start, std::size_t limit, ExploreResult& res) {
    const bool limited = limit != kUnlimited;
    std::unordered_map<std::uint64_t, std::size_t> seen;  // a state's digest, and the fewest steps it was reached in
    struct Frame {
        World world;
        std::vector<Action> todo;
        std::size_t next = 0;
    };
    std::vector<Frame> stack;
    auto push = [&](World w) {
        std::vector<Action> todo = actions(w);
        if (todo.empty()) {
            ++res.leaves;
            g_world = &w;
            at_horizon(w);
        }
        if (stack.size() == limit) todo.clear();  // at the limit: checked, not expanded
        stack.push_back({std::move(w), std::move(todo), 0});
        res.max_depth = std::max(res.max_depth, stack.size() - 1);
    };
    auto fail = [&](const World& w) {
        res.violation = *w.violation;
        for (std::size_t d = 0; d + 1 < stack.size(); ++d) {
            res.violation->trace.push_back(describe(stack[d].world, stack[d].todo[stack[d].next - 1]));
            res.violation->choices.push_back(stack[d].next - 1);
        }
    };
    seen.emplace(digest(start), 0);
    res.states = 1;
    push(start);
    if (stack.back().world.violation) return fail(stack.back().world);
    while (!stack.empty()) {
        Frame& top = stack.back();
        if (top.next == top.todo.size()) {
            stack.pop_back();
            continue;
        }
        if (res.states >= config_.max_states) return;  // incomplete
        const Action a = top.todo[top.next++];
        World w = top.world;
        apply(w, a);
        ++res.transitions;
        const auto [it, fresh] = seen.emplace(digest(w), stack.size());
        if (!fresh) {
            if (!limited || it->second <= stack.size()) continue;
            it->second = stack.size();
        }
        ++res.states;
        push(std::move(w));
        if (stack.back().world.violation) return fail(stack.back().world);
    }
    res.complete = true;
}

ExploreResult Explorer::run() {
    ExploreResult res;
    const World start = settled();
    res.settled_count = start.oracle.count().certain;
    if (config_.replay) {
        g_log = &res.replayed;
        World w = start;
        for (std::size_t d = 0; d < config_.replay->size() && !w.violation; ++d) {
            const std::vector<Action> todo = actions(w);
            const std::size_t pick = (*config_.replay)[d];
            if (pick >= todo.size()) {
                res.replayed.push_back(fmt::format("step {}: only {} step(s) possible here, not choice {}", d + 1, todo.size(), pick));
                break;
            }
            res.replayed.push_back(describe(w, todo[pick]));
            apply(w, todo[pick]);
            ++res.transitions;
        }
        g_log = nullptr;
        if (w.violation) res.violation = *w.violation;
        return res;
    }
    search(start, kUnlimited, res);
    if (!res.violation || !config_.shortest) return res;
    // The shortest trace: the fewest steps within which some rule breaks, by bisection over
    // depth-limited searches (a rule broken within n steps is broken within n + 1).
    std::size_t lo = 0, hi = res.violation->trace.size();  // none within lo; one within hi
    while (hi - lo > 1) {
        const std::size_t mid = lo + (hi - lo) / 2;
        ExploreResult probe;
        search(start, mid, probe);
        if (probe.violation) {
            hi = probe.violation->trace.size();
            res.violation = probe.violation;
        } else if (probe.complete) {
            lo = mid;
        } else {
            break;  // the state limit: keep the trace found
        }
    }
    return res;
}

}  // namespace

ExploreResult explore(const ExploreConfig& config) { return Explorer(config).run(); }

}  // namespace ringwatch::sim
