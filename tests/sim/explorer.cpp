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
#include "tests/sim/oracle_wire.h"
#include "tests/sim/sim_monitor_core.h"
#include "tests/sim/sim_node_core.h"
#include "tests/sim/token_oracle.h"

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
    std::set<Judged> judged;                  // what the rules at the horizon read: which verdicts came after which faults
    std::map<InjectKind, Instant> effect_at;  // the first time each fault took effect
    // The faults taken effect so far, a bit per InjectKind: ordered by steps, not by time (a start
    // and a fault at the same instant happen in some order, and the cut follows it).
    std::uint8_t effects() const;
};

// A process shared by the states that have not stepped it since they parted: a state's copy copies
// pointers, and a step copies only the process it hands an input to (most of a copy's cost was
// the processes its step left alone).
template <typename P>
class Shared {
public:
    template <typename... Args>
    explicit Shared(std::in_place_t, Args&&... args) : p_(std::make_shared<P>(std::forward<Args>(args)...)) {}
    const P& operator*() const { return *p_; }
    const P* operator->() const { return p_.get(); }
    P& mut() {
        if (p_.use_count() > 1) p_ = std::make_shared<P>(*p_);
        return *p_;
    }

private:
    std::shared_ptr<P> p_;
};

// Everything of a state but the rules' own objects: copied member by member.
struct Processes {
    Instant now{};
    std::vector<Shared<SimNodeProcess>> nodes;
    std::vector<Shared<SimMonitorProcess>> monitors;
    bool alarm_seen = false;  // a mutant's trigger (monitor_stops_after_alarm)
    std::map<ChannelKey, std::deque<InFlight>> channels;
    std::map<ChannelKey, std::deque<Bytes>> control;  // frames without messages, waiting for the next quiet moment or timer
    std::vector<std::uint64_t> history;               // per process (nodes, then monitors): its inputs so far, hashed
    unsigned drops_left = 0, duplicates_left = 0;
    std::vector<InjectKind> injects_left;
    Truth truth;
    std::optional<ExploreResult::Violation> violation;
};

// One state of the whole system, with the simulator's ground truth (token_oracle.h) and rules
// (invariants.h) of its own: a copy is a whole copy, its oracle and checker report to its own list.
struct World : Processes {
    World(std::vector<NodeId> ring, DetectionBound bound) : oracle(ring, violations), checker(std::move(ring), bound, oracle, violations) {}
    World(const World& o) : Processes(o), violations(o.violations), oracle(o.oracle), checker(o.checker) {
        oracle.rebind(violations);
        checker.rebind(oracle, violations);
    }
    World& operator=(const World&) = delete;

    Violations violations;
    TokenOracle oracle;
    InvariantChecker checker;
};

enum class Act : std::uint8_t { deliver, drop, duplicate, timer, inject };
struct Action {
    Act act;
    ChannelKey channel{};     // deliver, drop, duplicate
    std::size_t process = 0;  // timer, inject
    InjectKind kind = InjectKind::lose;
};

std::uint8_t bit(InjectKind k) { return static_cast<std::uint8_t>(1u << static_cast<unsigned>(k)); }

std::uint8_t Truth::effects() const {
    std::uint8_t b = 0;
    for (const auto& [k, at] : effect_at) b |= bit(k);
    return b;
}

// With `replay`: where the steps and verdicts are written.
thread_local std::vector<std::string>* g_log = nullptr;

// The world being stepped: the processes' observers report to it (they are shared by every copy).
thread_local World* g_world = nullptr;

void violate(World& w, std::string rule, std::string detail) {
    if (!w.violation) w.violation = ExploreResult::Violation{std::move(rule), std::move(detail), {}, {}};
}

// Every process of the ring is its first (generation 1): the explorer crashes none yet.
constexpr std::uint32_t kGen = 1;

// What the ground truth sees at a node process's boundary (as the simulator's NodeWatch).
struct NodeWatch : NodeProcessObserver {
    NodeId self;
    explicit NodeWatch(NodeId n) : self(n) {}
    void handed(NodeId from, std::span<const std::uint8_t> message) override {
        g_world->oracle.handed(g_world->now, self, from, kGen, oracle_wire::read(message));
    }
    void passed(NodeId to, std::span<const std::uint8_t> message, bool taken) override {
        g_world->oracle.passed(g_world->now, self, to, oracle_wire::read(message), taken);
    }
    void link_event(NodeId peer, const LinkEvent& e) override {
        if (is_monitor_id(peer) || is_tool_id(peer)) return;
        if (e.kind == LinkEventKind::connected) g_world->oracle.link_connected(self, peer);
        if (e.kind == LinkEventKind::session_reset) g_world->oracle.link_reset(g_world->now, self, peer);
    }
};

// The monitor's snapshot starts open the explorer's windows; its links' first sessions tell the checker.
struct MonitorWatch : MonitorProcessObserver {
    void passed(NodeId, std::span<const std::uint8_t> message, bool taken) override {
        Message m;
        if (!taken || decode_message(message, m) != MessageError::none) return;
        if (const auto* s = std::get_if<SnapshotStart>(&m))
            g_world->truth.windows.try_emplace(s->id.value, Truth::Window{g_world->truth.effects()}).first->second.saw(g_world->oracle.count());
    }
    void link_event(NodeId peer, const LinkEvent& e) override {
        if (e.kind == LinkEventKind::connected && !is_monitor_id(peer)) g_world->checker.monitor_connected(g_world->now, peer);
    }
};

class Explorer {
public:
    explicit Explorer(const ExploreConfig& c) : config_(c) {}
    ExploreResult run();

private:
    World initial();
    std::size_t index_of(NodeId id) const { return is_monitor_id(id) ? config_.nodes + monitor_index(id) : id.value; }
    NodeId id_at(std::size_t i) const { return i < config_.nodes ? NodeId{static_cast<std::uint16_t>(i)} : monitor_id(i - config_.nodes); }
    std::vector<Action> actions(const World& w) const;
    void apply(World& w, const Action& a);
    void pump(World& w, std::size_t process);
    void receive(World& w, ChannelKey channel, const Bytes& datagram);
    void deliver_control(World& w);
    void after_step(World& w);
    void at_horizon(World& w);
    std::uint64_t digest(const World& w) const;
    std::string describe(const World& before, const Action& a) const;
    std::optional<Instant> next_timer(const World& w) const;
    World settled();
    static constexpr std::size_t kUnlimited = ~std::size_t{0};
    void search(const World& start, std::size_t limit, ExploreResult& res);

    ExploreConfig config_;
    std::vector<std::unique_ptr<NodeWatch>> node_watches_;  // shared by every world (they report to g_world)
    MonitorWatch monitor_watch_;
};

World Explorer::initial() {
    std::vector<NodeId> ring;
    for (std::size_t i = 0; i < config_.nodes; ++i) ring.push_back(id_at(i));
    World w(ring, DetectionBound{config_.interval, config_.timeout, LinkConfig{}.rto_max});
    g_world = &w;
    w.checker.set_liveness(liveness_for(config_.interval, config_.node_timeout), true, config_.max_delay);
    w.checker.monitor_up(w.now);
    for (std::size_t i = 0; i < config_.nodes; ++i) {
        w.oracle.booted(ring[i], 0);
        w.checker.node_up(w.now, ring[i], w.oracle.generation(ring[i]));
        node_watches_.push_back(std::make_unique<NodeWatch>(ring[i]));
    }
    for (std::size_t i = 0; i < config_.nodes; ++i) {
        NodeConfig nc;
        nc.self = ring[i];
        nc.predecessor = ring[(i + config_.nodes - 1) % config_.nodes];
        nc.successor = ring[(i + 1) % config_.nodes];
        nc.ring = ring;
        nc.token.hold = config_.hold;
        nc.incarnation = Incarnation{(std::uint64_t{1} << 16) | (i + 1)};
        nc.monitors = {monitor_id(0)};
        w.nodes.emplace_back(std::in_place, NodeProcessConfig{nc, LinkConfig{}}, SimCoreHandle(make_node_core(config_.mutant, i, nc, w.now)), w.now,
                             node_watches_[i].get());
    }
    MonitorConfig mc;
    mc.era = 1;
    mc.ring = ring;
    mc.interval = config_.interval;
    mc.timeout = config_.timeout;
    mc.liveness = liveness_for(config_.interval, config_.node_timeout);
    mc.recover = config_.recover;
    mc.leadership.self = monitor_id(0);
    mc.leadership.monitors = {monitor_id(0)};
    mutate_monitor_config(config_.mutant, mc);
    // The ground truth checks each report as the core is handed it; a monitor mutant edits what the
    // core decided, and the checker judges what is left, as in the simulator.
    SimMonitorCore::Hooks hooks{
        .report =
            [](NodeId from, const SnapshotReport& r) {
                World& cur = *g_world;
                cur.checker.report_handed(r.id, from, kGen, cur.oracle.reported(from, kGen, r));
            },
        .decided =
            [this, mc](MonitorOutput& out) {
                World& cur = *g_world;
                const SimMonitorCore* core = cur.monitors.empty() ? nullptr : &cur.monitors[0]->core();
                mutate_decided(config_.mutant, mc, config_.nodes, cur.alarm_seen, core, out);
                for (const auto& e : out.node_events) cur.checker.node_event(e);
                for (const auto& v : out.verdicts) {
                    cur.checker.verdict(v, cur.now);
                    for (const auto& e : caused_by(v, out.incident_events)) cur.checker.incident(e);
                }
            },
    };
    w.monitors.emplace_back(std::in_place,
                            MonitorProcessConfig{.monitor = mc, .link = LinkConfig{}, .incarnation = Incarnation{(std::uint64_t{1} << 16) | 100}},
                            SimMonitorCore(mc, w.now, std::move(hooks)), w.now, &monitor_watch_);
    w.history.assign(config_.nodes + 1, 0);
    w.drops_left = config_.drops;
    w.duplicates_left = config_.duplicates;
    w.injects_left = config_.injects;
    for (std::size_t i = 0; i < config_.nodes + 1; ++i) pump(w, i);
    after_step(w);
    return w;
}

// Steps a process until it is quiet, putting what it sends on the channels and telling the
// ground truth what it made and what faults took effect.
void Explorer::pump(World& w, std::size_t i) {
    const NodeId self = id_at(i);
    auto send = [&](const std::vector<Addressed>& datagrams) {
        wire::Frame f;
        for (const auto& d : datagrams) {
            if (is_monitor_id(d.peer) ? monitor_index(d.peer) >= w.monitors.size() : d.peer.value >= config_.nodes) continue;
            if (wire::decode_frame(d.bytes, f) == wire::DecodeError::none && f.messages.empty()) {
                w.control[{self.value, d.peer.value}].push_back(d.bytes);
            } else {
                w.channels[{self.value, d.peer.value}].push_back({d.bytes, w.now});
            }
        }
    };
    if (i < config_.nodes) {
        SimNodeProcess& p = w.nodes[i].mut();
        do {
            NodeReady r = p.step(w.now);
            send(r.datagrams);
            for (const auto& e : r.token_events) {
                std::optional<InjectKind> fault;
                if (e.kind == TokenEventKind::lost_by_fault) fault = InjectKind::lose;
                if (e.kind == TokenEventKind::duplicated_by_fault) fault = InjectKind::duplicate;
                if (!fault) continue;
                w.truth.effect_at.try_emplace(*fault, w.now);
            }
        } while (p.pending());
        return;
    }
    SimMonitorProcess& m = w.monitors[i - config_.nodes].mut();
    do {
        MonitorReady r = m.step(w.now);
        send(r.datagrams);
        for (const auto& jv : r.verdicts) {
            const Verdict& v = jv.verdict;
            w.alarm_seen = w.alarm_seen || v.alarm();
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
    for (auto& [id, win] : w.truth.windows) win.saw(w.oracle.count());
    if (w.channels.empty() && !w.control.empty()) deliver_control(w);
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
    for (const auto& [kind, at] : w.truth.effect_at) {
        if (end - at < 2 * config_.interval) continue;
        const bool judged_after =
            std::any_of(w.truth.judged.begin(), w.truth.judged.end(), [&](const Truth::Judged& j) { return (j.effects_before & bit(kind)) != 0; });
        if (!judged_after)
            violate(w, "detection", fmt::format("the {} at {} us was followed by no judged snapshot begun after it", to_string(kind), to_us(at)));
    }
}

std::optional<Instant> Explorer::next_timer(const World& w) const {
    std::optional<Instant> t;
    auto take = [&](std::optional<Instant> d) {
        if (d && (!t || *d < *t)) t = d;
    };
    for (const auto& n : w.nodes) take(n->next_deadline());
    for (const auto& m : w.monitors) take(m->next_deadline());
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
        for (std::size_t i = 0; i < config_.nodes; ++i)
            if (w.nodes[i]->next_deadline() == t) out.push_back({Act::timer, {}, i});
        for (std::size_t k = 0; k < w.monitors.size(); ++k)
            if (w.monitors[k]->next_deadline() == t) out.push_back({Act::timer, {}, config_.nodes + k});
    }
    // Token faults are armed in quiet moments (nothing on the network): arming is local to a node
    // and takes effect on the next token it is handed, which no delivery then can race.
    if (!must_arrive)
        for (std::size_t f = 0; f < w.injects_left.size(); ++f)
            for (std::size_t i = 0; i < config_.nodes; ++i) out.push_back({Act::inject, {}, i, w.injects_left[f]});
    return out;
}

void Explorer::apply(World& w, const Action& a) {
    g_world = &w;
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
            receive(w, a.channel, d.bytes);
            break;
        }
        case Act::drop: {
            auto& q = w.channels[a.channel];
            q.pop_front();
            if (q.empty()) w.channels.erase(a.channel);
            --w.drops_left;
            break;
        }
        case Act::timer: {
            deliver_control(w);
            const std::optional<Instant> t = next_timer(w);
            if (!t) break;
            // The acknowledgements may have moved deadlines (a retransmission no longer due): the
            // process chosen fires if it is still among the first due, else the first of those.
            auto due = [&](std::size_t i) {
                return (i < config_.nodes ? w.nodes[i]->next_deadline() : w.monitors[i - config_.nodes]->next_deadline()) == t;
            };
            std::size_t fire = a.process;
            for (std::size_t i = 0; !due(fire) && i < config_.nodes + w.monitors.size(); ++i) fire = i;
            w.now = std::max(w.now, *t);
            w.history[fire] = mix(mix(w.history[fire], 2), static_cast<std::uint64_t>(to_us(w.now)));
            if (fire < config_.nodes) {
                w.nodes[fire].mut().on_timer(w.now);
            } else {
                w.monitors[fire - config_.nodes].mut().on_timer(w.now);
            }
            pump(w, fire);
            break;
        }
        case Act::inject: {
            w.oracle.armed(id_at(a.process), a.kind);
            w.injects_left.erase(std::find(w.injects_left.begin(), w.injects_left.end(), a.kind));
            w.history[a.process] =
                mix(mix(mix(w.history[a.process], 3), static_cast<std::uint64_t>(a.kind)), static_cast<std::uint64_t>(to_us(w.now)));
            w.nodes[a.process].mut().inject(w.now, a.kind);
            pump(w, a.process);
            break;
        }
    }
    after_step(w);
}

void Explorer::receive(World& w, ChannelKey channel, const Bytes& datagram) {
    const std::size_t to = index_of(NodeId{channel.second});
    w.history[to] = mix(mix(mix(w.history[to], 1), channel.first), mix(hash_bytes(datagram), static_cast<std::uint64_t>(to_us(w.now))));
    if (to < config_.nodes) {
        w.nodes[to].mut().on_datagram(w.now, datagram);
    } else {
        if (channel.first < config_.nodes) w.checker.reached_monitor(w.now, NodeId{channel.first});
        w.monitors[to - config_.nodes].mut().on_datagram(w.now, datagram);
    }
    pump(w, to);
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
        for (const auto& f : frames) h = mix(h, hash_bytes(f));
    }
    h = mix(mix(h, w.drops_left), w.duplicates_left);
    for (InjectKind k : w.injects_left) h = mix(h, static_cast<std::uint64_t>(k) + 17);
    // The ground truth's memory (what a rule checked later reads): in-flight counts follow from
    // the histories, but when a fault took effect and how each snapshot's count went do not.
    for (const auto& [id, win] : w.truth.windows) h = mix(mix(mix(h, id), win.was_one + 2 * win.was_zero + 4 * win.was_many), win.effects_before);
    for (const auto& [k, at] : w.truth.effect_at) h = mix(mix(h, static_cast<std::uint64_t>(k)), static_cast<std::uint64_t>(to_us(at)));
    for (const auto& j : w.truth.judged) h = mix(mix(h, j.effects_before), static_cast<std::uint64_t>(j.kind));
    return h;
}

std::string Explorer::describe(const World& before, const Action& a) const {
    auto name = [](std::uint16_t v) { return is_monitor_id(NodeId{v}) ? fmt::format("m{}", monitor_index(NodeId{v})) : fmt::format("{}", v); };
    auto pname = [&](std::size_t i) { return name(id_at(i).value); };
    switch (a.act) {
        case Act::deliver: return fmt::format("{:>8} us  deliver {} -> {}", to_us(before.now), name(a.channel.first), name(a.channel.second));
        case Act::drop: return fmt::format("{:>8} us  drop    {} -> {}", to_us(before.now), name(a.channel.first), name(a.channel.second));
        case Act::duplicate: return fmt::format("{:>8} us  dup     {} -> {}", to_us(before.now), name(a.channel.first), name(a.channel.second));
        case Act::timer: return fmt::format("{:>8} us  timer   {}", to_us(*next_timer(before)), pname(a.process));
        case Act::inject: return fmt::format("{:>8} us  inject  {} at {}", to_us(before.now), to_string(a.kind), pname(a.process));
    }
    return {};
}

World Explorer::settled() {
    World start = initial();
    // One schedule up to `settle`: the datagrams in flight delivered in channel order, then the
    // next timer.
    while (!start.violation) {
        const std::vector<Action> todo = actions(start);
        if (todo.empty() || start.now >= Instant{} + config_.settle) break;
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
