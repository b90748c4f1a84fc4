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
                horizon = format_duration(c.horizon), settle = format_duration(c.settle), max_delay = format_duration(c.max_delay), inject;
    app.add_option("--nodes", c.nodes, "ring size")->capture_default_str()->check(CLI::Range(std::size_t{2}, std::size_t{5}));
    app.add_option("--monitors", c.monitors, "monitors: with 2, each judges and one leads (the leadership rules)")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{1}, std::size_t{2}));
    app.add_option("--hold", hold, "token hold")->capture_default_str();
    app.add_option("--interval", interval, "snapshot interval")->capture_default_str();
    app.add_option("--timeout", timeout, "snapshot timeout")->capture_default_str();
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
    } durations[] = {{"--hold", hold, c.hold},          {"--interval", interval, c.interval}, {"--timeout", timeout, c.timeout},
                     {"--horizon", horizon, c.horizon}, {"--settle", settle, c.settle},       {"--max-delay", max_delay, c.max_delay}};
    for (auto& d : durations) {
        const auto v = parse_duration(d.text);
        if (!v) return fail(fmt::format("{} '{}': use 1ms, 500us", d.flag, d.text));
        d.into = *v;
    }
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
    if (c.messages > 0) faults += fmt::format("; {} message(s)", c.messages);
    fmt::print("scope: {} nodes, {} monitor(s) (recovery {}), hold {}, interval {}, settled {} then explored {}, max delay {}; faults: {}\n", c.nodes,
               c.monitors, recover, format_duration(c.hold), format_duration(c.interval), format_duration(c.settle), format_duration(c.horizon),
               format_duration(c.max_delay), faults);
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
