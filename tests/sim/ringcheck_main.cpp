// ringcheck: every interleaving of a small ring over the production process objects (explorer.h).
// Exit 0: the scope explored completely, every rule held; 1: a rule broken (its trace printed);
// 3: the state limit stopped the search first; 2: a usage error.
#include <charconv>
#include <chrono>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <CLI/CLI.hpp>

#include "ring/io/cli.h"
#include "tests/sim/explorer.h"
#include "tests/sim/scenarios.h"

using namespace ringwatch;
using namespace ringwatch::sim;

int main(int argc, char** argv) {
    CLI::App app{
        "ringcheck: explores every interleaving of a small ring (the production node and monitor processes) and checks the token rules in each "
        "state"};
    ExploreConfig c;
    std::string hold = format_duration(c.hold), interval = format_duration(c.interval), timeout = format_duration(c.timeout),
                node_timeout = format_duration(c.node_timeout), horizon = format_duration(c.horizon), settle = format_duration(c.settle),
                max_delay = format_duration(c.max_delay), inject;
    app.add_option("--nodes", c.nodes, "ring size")->capture_default_str()->check(CLI::Range(std::size_t{2}, std::size_t{5}));
    app.add_option("--monitors", c.monitors, "monitors: with 2, each judges and one leads (the leadership rules)")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{1}, std::size_t{2}));
    app.add_option("--hold", hold, "token hold")->capture_default_str();
    app.add_option("--interval", interval, "snapshot interval")->capture_default_str();
    app.add_option("--timeout", timeout, "snapshot timeout")->capture_default_str();
    app.add_option("--node-timeout", node_timeout,
                   "the monitors' node_timeout: silent this long, a node is down; a leader unheard of this long is replaced")
        ->capture_default_str();
    app.add_option("--settle", settle, "virtual time run on one schedule (every datagram at once) before the exploration")->capture_default_str();
    app.add_option("--horizon", horizon, "virtual time explored after --settle")->capture_default_str();
    app.add_option("--max-delay", max_delay, "a datagram arrives within this of its send")->capture_default_str();
    app.add_option("--drops", c.drops, "datagrams that may be lost, in all")->capture_default_str();
    app.add_option("--dups", c.duplicates, "datagrams that may be delivered twice, in all")->capture_default_str();
    app.add_option("--inject", inject, "token faults armed at any quiet moment at any node, each once: lose, duplicate or lose,duplicate");
    app.add_option("--crashes", c.crashes,
                   "node crashes at any step, in all (a crashed node restarts from its state directory at any later step, or not)")
        ->capture_default_str();
    app.add_option("--monitor-pauses", c.monitor_pauses, "times the monitor is stopped (SIGSTOP) at any step and resumed at any later one")
        ->capture_default_str();
    app.add_option("--messages", c.messages, "application messages offered at quiet moments, at any node, to its predecessor (the longest ride)")
        ->capture_default_str();
    // The scripted prefix (optional durations: empty when not given).
    std::string evict_after, kill_monitor_at, stop_monitor_at, resume_monitor_at, stop_node_at, resume_node_at, crash_node_at, walk_at;
    std::vector<std::string> lose_at;
    app.add_option("--evict-after", evict_after,
                   "views: a node silent this long is left out, and nodes pass tokens under the leader's lease (0: no views)")
        ->default_str("5s");
    app.add_option("--kill-monitor-at", kill_monitor_at,
                   "script: the first monitor killed at this moment of the settle phase (its single schedule), for good");
    app.add_option("--stop-monitor-at", stop_monitor_at,
                   "script: the first monitor stopped (SIGSTOP) at this moment of the settle phase; resumed at any quiet moment explored");
    app.add_option("--resume-monitor-at", resume_monitor_at,
                   "script: the stopped monitor resumed (SIGCONT) at this moment of the settle phase (its end at the latest)")
        ->needs("--stop-monitor-at");
    app.add_option("--stop-node-at", stop_node_at,
                   "script: node 1 (the mutants' node) stopped (SIGSTOP) at this moment of the settle phase; resumed at any quiet moment explored");
    app.add_option("--resume-node-at", resume_node_at,
                   "script: the stopped node resumed (SIGCONT) at this moment of the settle phase (its end at the latest), or after the horizon "
                   "(stopped throughout)")
        ->needs("--stop-node-at");
    app.add_option("--crash-node-at", crash_node_at, "script: the ring's last node crashed at this moment of the settle phase, for good");
    app.add_option("--walk-at", walk_at,
                   "script: `ring recover` walks a regenerate by hand (a tool process asks every node, then orders a new epoch) from this moment "
                   "of the settle phase (its end at the latest)");
    app.add_option("--lose-at", lose_at, "script: a token loss armed at node 0 at this moment of the settle phase (repeatable)");
    std::string mutant = "none", replay, recover = "off";
    bool first = false;
    app.add_flag("--first", first, "print the first trace found, not the shortest (no bisection: faster)");
    app.add_option("--recover", recover, "the monitor's repair of a token fault: off, regenerate or rollback")->capture_default_str();
    app.add_option("--replay", replay, "follow one path (a violation prints it) and trace its steps and verdicts");
    app.add_option("--mutant", mutant, "run a deliberately broken core (ringsim --help lists them)")->capture_default_str();
    app.add_option("--max-states", c.max_states, "stop (incomplete, exit 3) after this many states")->capture_default_str();
    if (auto rc = io::parse_command_line(app, argc, argv, "ringcheck")) return *rc;

    auto fail = [](const std::string& what) {
        fmt::print(stderr, "ringcheck: {}\n", what);
        return 2;
    };
    struct {
        const char* flag;
        const std::string& text;
        Duration& into;
    } durations[] = {{"--hold", hold, c.hold},
                     {"--interval", interval, c.interval},
                     {"--timeout", timeout, c.timeout},
                     {"--node-timeout", node_timeout, c.node_timeout},
                     {"--horizon", horizon, c.horizon},
                     {"--settle", settle, c.settle},
                     {"--max-delay", max_delay, c.max_delay}};
    for (auto& d : durations) {
        const auto v = parse_duration(d.text);
        if (!v) return fail(fmt::format("{} '{}': use 1ms, 500us", d.flag, d.text));
        d.into = *v;
    }
    struct {
        const char* flag;
        const std::string& text;
        std::optional<Duration>& into;
    } optional_durations[] = {{"--kill-monitor-at", kill_monitor_at, c.script.kill_monitor},
                              {"--stop-monitor-at", stop_monitor_at, c.script.stop_monitor},
                              {"--resume-monitor-at", resume_monitor_at, c.script.resume_monitor},
                              {"--stop-node-at", stop_node_at, c.script.stop_node},
                              {"--resume-node-at", resume_node_at, c.script.resume_node},
                              {"--crash-node-at", crash_node_at, c.script.crash_node},
                              {"--walk-at", walk_at, c.script.walk}};
    if (!evict_after.empty()) {
        const auto v = evict_after == "0" ? std::optional<Duration>(Duration{0}) : parse_duration(evict_after);
        if (!v) return fail(fmt::format("--evict-after '{}': use 1ms, 500us, or 0 for no views", evict_after));
        c.evict_after = v->count() == 0 ? std::nullopt : std::optional<Duration>(*v);
    }
    for (auto& d : optional_durations) {
        if (d.text.empty()) continue;
        const auto v = parse_duration(d.text);
        if (!v) return fail(fmt::format("{} '{}': use 1ms, 500us", d.flag, d.text));
        // (A node's resume may also come after the horizon: it stays stopped throughout.)
        const bool after_horizon = &d.into == &c.script.resume_node && *v >= c.settle + c.horizon;
        if (!after_horizon && (*v > c.settle || (*v == c.settle && &d.into != &c.script.resume_monitor && &d.into != &c.script.resume_node &&
                                                 &d.into != &c.script.walk)))
            return fail(fmt::format("{} {}: the script runs in the settle phase, before --settle {}", d.flag, d.text, format_duration(c.settle)));
        d.into = *v;
    }
    for (const std::string& text : lose_at) {
        const auto v = parse_duration(text);
        if (!v) return fail(fmt::format("--lose-at '{}': use 1ms, 500us", text));
        if (*v >= c.settle)
            return fail(fmt::format("--lose-at {}: the script runs in the settle phase, before --settle {}", text, format_duration(c.settle)));
        c.script.losses.push_back(*v);
    }
    std::sort(c.script.losses.begin(), c.script.losses.end());
    if (c.script.resume_monitor && (!c.script.stop_monitor || *c.script.resume_monitor <= *c.script.stop_monitor))
        return fail("--resume-monitor-at: after --stop-monitor-at");
    if (c.script.resume_node && *c.script.resume_node <= *c.script.stop_node) return fail("--resume-node-at: after --stop-node-at");
    if (c.script.stop_node && c.script.crash_node && c.nodes == 2)
        return fail("--stop-node-at and --crash-node-at: on 2 nodes both act on node 1; one or the other");
    if (c.script.kill_monitor && c.script.stop_monitor)
        return fail("--kill-monitor-at and --stop-monitor-at: one or the other (both act on the first monitor)");
    for (std::size_t at = 0; !inject.empty() && at <= inject.size();) {
        const std::size_t comma = std::min(inject.find(',', at), inject.size());
        const std::string kind = inject.substr(at, comma - at);
        if (kind == "lose") {
            c.injects.push_back(InjectKind::lose);
        } else if (kind == "duplicate") {
            c.injects.push_back(InjectKind::duplicate);
        } else {
            return fail(fmt::format("--inject '{}': lose, duplicate, or both separated by a comma", kind));
        }
        at = comma + 1;
    }

    if (!replay.empty()) {
        c.replay.emplace();
        for (std::size_t at = 0; at <= replay.size();) {
            const std::size_t dot = std::min(replay.find('.', at), replay.size());
            std::size_t v = 0;
            const auto [end, ec] = std::from_chars(replay.data() + at, replay.data() + dot, v);
            if (ec != std::errc{} || end != replay.data() + dot) return fail(fmt::format("--replay '{}': numbers separated by dots", replay));
            c.replay->push_back(v);
            at = dot + 1;
        }
    }
    c.shortest = !first;
    const auto mode = parse_recovery_mode(recover);
    if (!mode) return fail(fmt::format("--recover '{}': off, regenerate or rollback", recover));
    c.recover = *mode;
    const auto m = parse_mutant(mutant);
    if (!m) return fail(fmt::format("--mutant '{}': no such mutant", mutant));
    c.mutant = *m;
    std::string faults = fmt::format("{} drop(s), {} duplicate(s)", c.drops, c.duplicates);
    for (InjectKind k : c.injects) faults += fmt::format(", a {}", to_string(k));
    if (c.crashes > 0) faults += fmt::format(", {} crash(es) with restarts", c.crashes);
    if (c.monitor_pauses > 0) faults += fmt::format(", {} monitor pause(s)", c.monitor_pauses);
    if (c.evict_after) faults += fmt::format("; views (evict_after {})", format_duration(*c.evict_after));
    std::vector<std::string> script;
    if (c.script.kill_monitor) script.push_back(fmt::format("first monitor killed at {}", format_duration(*c.script.kill_monitor)));
    if (c.script.stop_monitor) script.push_back(fmt::format("first monitor stopped at {}", format_duration(*c.script.stop_monitor)));
    if (c.script.resume_monitor) script.push_back(fmt::format("resumed at {}", format_duration(*c.script.resume_monitor)));
    if (c.script.stop_node) script.push_back(fmt::format("node 1 stopped at {}", format_duration(*c.script.stop_node)));
    if (c.script.resume_node) script.push_back(fmt::format("resumed at {}", format_duration(*c.script.resume_node)));
    if (c.script.crash_node) script.push_back(fmt::format("node {} crashed at {}", c.nodes - 1, format_duration(*c.script.crash_node)));
    if (c.script.walk) script.push_back(fmt::format("a regenerate walked by hand from {}", format_duration(*c.script.walk)));
    for (Duration at : c.script.losses) script.push_back(fmt::format("a loss armed at node 0 at {}", format_duration(at)));
    if (!script.empty()) faults += fmt::format("; script: {}", fmt::join(script, ", "));
    if (c.messages > 0) faults += fmt::format("; {} message(s)", c.messages);
    fmt::print(
        "scope: {} nodes, {} monitor(s) (recovery {}), hold {}, interval {}, node timeout {}, settled {} then explored {}, max delay {}; faults: "
        "{}\n",
        c.nodes, c.monitors, recover, format_duration(c.hold), format_duration(c.interval), format_duration(c.node_timeout),
        format_duration(c.settle), format_duration(c.horizon), format_duration(c.max_delay), faults);
    const auto t0 = std::chrono::steady_clock::now();
    const ExploreResult r = explore(c);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (c.mutant != Mutant::none) fmt::print("mutant: {}\n", to_string(c.mutant));
    fmt::print("tokens when the exploration began: {}\n", r.settled_count);
    for (const auto& line : r.replayed) fmt::print("  {}\n", line);
    if (!c.replay)
        fmt::print("states {} transitions {} leaves {} depth {} wall {:.1f}s: {}\n", r.states, r.transitions, r.leaves, r.max_depth, wall,
                   r.violation  ? "RULE BROKEN"
                   : r.complete ? "complete, every rule holds"
                                : "INCOMPLETE (state limit)");
    if (r.violation) {
        fmt::print("{}: {}\n", r.violation->rule, r.violation->detail);
        if (c.replay) return 1;
        fmt::print("trace ({} steps after the settled start):\n", r.violation->trace.size());
        for (const auto& line : r.violation->trace) fmt::print("  {}\n", line);
        std::string args;
        for (int i = 1; i < argc; ++i) args += fmt::format(" {}", argv[i]);
        fmt::print("replay: ringcheck{} --replay {}\n", args, fmt::join(r.violation->choices, "."));
        return 1;
    }
    if (c.replay) {
        fmt::print("replayed {} step(s): no rule broken\n", r.transitions);
        return 0;
    }
    return r.complete ? 0 : 3;
}
