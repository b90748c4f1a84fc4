// ringsim: the whole system in the deterministic simulator. Prints the monitor's events (JSON with
// --json) and a summary with every rule's result; exits 1 when a rule breaks, printing the command
// that replays the run.
#include <CLI/CLI.hpp>

#include "ring/io/cli.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "monitor/core/verdict_json.h"

#include <nlohmann/json.hpp>
#include "tests/sim/scenarios.h"
#include "tests/sim/space_time.h"

#include <sys/resource.h>

#include <chrono>
#include <optional>
#include <set>

using namespace ringwatch;
using namespace ringwatch::sim;

namespace {

// The ring sizes ringsim accepts. Node ids are 16 bits and may go up to 0xEFFF, so the bound is
// the simulator's cost, which grows with the ring: every node records and reports every snapshot
// (6 to 8 datagrams per node per snapshot), and the node cores and the oracle keep bounded histories
// per node. Measured on one core: 1000 nodes run about 130,000 events per virtual second, a minute
// of faults in under a minute of wall time and about 200 MB (bench/sim_scale.sh); 4096 nodes about
// 3.5 s of wall time and 50 MB per virtual second, so a minute of faults is minutes and gigabytes.
// Beyond that a run outgrows the machines that run the tests.
constexpr std::size_t kMaxRingNodes = 4096;

// What the run cost the machine: not part of the simulation (which never reads a clock), reported
// for benchmarks (events per second of wall time).
struct RunCost {
    double wall_s = 0;
    long max_rss_kb = 0;  // of the whole ringsim process so far
};

void print_summary(const SimSummary& s, const RunCost& cost, bool json) {
    const MessageTally& m = s.messages;
    if (json) {
        nlohmann::ordered_json counts = nlohmann::ordered_json::object(), violations = nlohmann::ordered_json::array();
        for (const auto& [rule, n] : s.violation_counts) counts[rule] = n;
        for (const auto& v : s.violations) violations.push_back({{"rule", v.rule}, {"what", v.what}});
        // Seconds to the millisecond, as numbers.
        const auto seconds = [](Duration d) { return static_cast<double>(d.count() / 1000) / 1000.0; };
        const nlohmann::ordered_json j{{"event", "summary"},
                                       {"seed", s.seed},
                                       {"snapshots", s.snapshots},
                                       {"ok", s.ok},
                                       {"token_lost", s.token_lost},
                                       {"token_duplicated", s.token_duplicated},
                                       {"inconclusive", s.inconclusive},
                                       {"incidents", s.incidents},
                                       {"incidents_resolved", s.incidents_resolved},
                                       {"faults_taken_effect", s.faults_taken_effect},
                                       {"faults_detected", s.faults_detected},
                                       {"app_sent", m.sent},
                                       {"app_delivered", m.delivered},
                                       {"app_queued", m.queued},
                                       {"app_lost_to_faults", m.lost_to_faults},
                                       {"tokens_at_end", s.tokens_at_end.certain},
                                       {"tokens_undecided_at_end", s.tokens_at_end.open},
                                       {"link_retransmits", s.link_retransmits},
                                       {"datagrams_lost", s.datagrams_lost},
                                       {"datagrams_duplicated", s.datagrams_duplicated},
                                       {"datagrams_reordered", s.datagrams_reordered},
                                       {"virtual_s", seconds(s.virtual_time)},
                                       {"settle_bound_s", seconds(s.settle_bound)},
                                       {"events", s.events},
                                       {"datagrams", s.datagrams},
                                       {"wall_s", static_cast<double>(static_cast<std::int64_t>(cost.wall_s * 1000)) / 1000.0},
                                       {"max_rss_kb", cost.max_rss_kb},
                                       {"by_hand_regenerates", s.walks},
                                       {"by_hand_regenerated", s.walks_regenerated},
                                       {"views", s.views},
                                       {"evictions", s.evictions},
                                       {"rejoins", s.rejoins},
                                       {"link_faults", s.link_faults},
                                       {"invariants_hold", s.ok_run()},
                                       {"violation_counts", std::move(counts)},
                                       {"violations", std::move(violations)}};
        fmt::print("{}\n", j.dump());
    } else {
        fmt::print(
            "seed {}: {} snapshots ({} ok, {} token_lost, {} token_duplicated, {} inconclusive); {} incident(s), {} resolved; "
            "faults {} caught {}; "
            "app messages: {} sent, {} delivered, {} queued, {} lost to faults; network lost {} duplicated {} reordered {}; "
            "{}{} events in {:.3f} s virtual, {:.3f} s wall; {}\n",
            s.seed, s.snapshots, s.ok, s.token_lost, s.token_duplicated, s.inconclusive, s.incidents, s.incidents_resolved, s.faults_taken_effect,
            s.faults_detected, m.sent, m.delivered, m.queued, m.lost_to_faults, s.datagrams_lost, s.datagrams_duplicated, s.datagrams_reordered,
            (s.walks == 0 ? std::string() : fmt::format("by-hand regenerates {} ({} done); ", s.walks, s.walks_regenerated)) +
                (s.views + s.evictions == 0
                     ? std::string()
                     : fmt::format("views {}, evictions {}, rejoins {}, link faults {}; ", s.views, s.evictions, s.rejoins, s.link_faults)),
            s.events, std::chrono::duration<double>(s.virtual_time).count(), cost.wall_s, s.ok_run() ? "all invariants hold" : "INVARIANTS BROKEN");
        for (const auto& v : s.violations) fmt::print("  violation [{}]: {}\n", v.rule, v.what);
        for (const auto& [rule, n] : s.violation_counts)
            if (n > 10) fmt::print("  ... {} [{}] violations in all\n", n, rule);
    }
    std::fflush(stdout);
}

// Draws the run, and says what the oracle recorded in the window (the diagram shows the same).
void write_diagram(const std::string& file, const SpaceTimeRecorder& recorder, const SimConfig& run, bool json) {
    diagram::write_svg(
        file, recorder.diagram(run.nodes, fmt::format("ringsim: seed {}, {} nodes, hold {}", run.seed, run.nodes, format_duration(run.hold))));
    const auto window = recorder.window();
    std::set<SnapshotId> snapshots;
    std::uint32_t in_flight = 0;
    for (const auto& c : recorder.oracle_cuts()) {
        snapshots.insert(c.snapshot);
        in_flight += c.in_flight;
    }
    if (json) {
        nlohmann::ordered_json cuts = nlohmann::ordered_json::array();
        for (const auto& c : recorder.oracle_cuts())
            cuts.push_back({{"snapshot", snapshot_number(c.snapshot)},
                            {"node", c.node.value},
                            {"recorded_us", to_us(c.recorded_at)},
                            {"closed_us", to_us(c.closed_at)},
                            {"held", c.held},
                            {"in_flight", c.in_flight}});
        const nlohmann::ordered_json j{
            {"event", "diagram"},
            {"file", file},
            {"window_us", window ? nlohmann::ordered_json{to_us(window->start), to_us(window->end)} : nlohmann::ordered_json(nullptr)},
            {"cuts", std::move(cuts)}};
        fmt::print("{}\n", j.dump());
    } else if (window) {
        fmt::print("diagram {}: {} to {}, {} snapshot(s) recorded, {} token(s) recorded in flight\n", file,
                   format_duration(window->start.time_since_epoch()), format_duration(window->end.time_since_epoch()), snapshots.size(), in_flight);
    } else {
        fmt::print("diagram {}: no snapshot started, nothing drawn\n", file);
    }
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"ringsim: a ring of nodes and the monitor in the deterministic simulator (virtual time, seeded faults)"};
    SimConfig c;
    std::uint64_t seed = 1, sweep = 0;
    std::string duration = "20s", inject, crash, monitor_restart, monitor_pause, monitor_kill, by_hand, hold = "20ms", interval = "100ms",
                timeout = "1000ms", mutant = "none", recover = "off", diagram_file, window, evict_after, node_pause, partition;
    bool json = false, random_faults = false;
    app.add_option("--nodes", c.nodes, "ring size")->capture_default_str()->check(CLI::Range(std::size_t{2}, kMaxRingNodes));
    app.add_option("--seed", seed, "the seed that decides every choice")->capture_default_str();
    app.add_option("--duration", duration, "virtual time with faults, e.g. 60s")->capture_default_str();
    app.add_option("--loss", c.net.loss, "chance a datagram is lost")->check(CLI::Range(0.0, 0.9));
    app.add_option("--dup", c.net.duplicate, "chance a datagram is duplicated")->check(CLI::Range(0.0, 0.9));
    app.add_option("--reorder", c.net.reorder, "chance a datagram is delayed past later ones")->check(CLI::Range(0.0, 0.9));
    app.add_option("--inject", inject, "token faults, e.g. lose@10s,duplicate:3@30s (node 1 unless :N)");
    app.add_option("--crash", crash, "crashes, e.g. 2@5s+3s (node 2 at 5 s, restarted 3 s later)");
    app.add_option("--monitors", c.monitors, "monitors configured: each judges, one leads a term (also with --sweep)")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{1}, kMaxMonitors));
    app.add_option("--monitor-restart", monitor_restart,
                   "monitor restarts, e.g. 5s+200ms (stops at 5 s, a new one 200 ms later; 1:5s+200ms: monitor 1)");
    app.add_option("--monitor-pause", monitor_pause, "monitor pauses, e.g. 5s+2s (stopped at 5 s, continues 2 s later; 1:5s+2s: monitor 1)");
    app.add_option("--monitor-kill", monitor_kill, "monitors killed for good, e.g. 0@5s (monitor 0 at 5 s)");
    app.add_option(
        "--regenerate-by-hand", by_hand,
        "`ring recover` with no monitor answering: a regenerate walked by hand by a tool, e.g. 3s,5s (stop or pause the monitor meanwhile)");
    app.add_option("--hold", hold, "token hold per node")->capture_default_str();
    app.add_option("--interval", interval, "snapshot interval")->capture_default_str();
    app.add_option("--timeout", timeout, "snapshot timeout")->capture_default_str();
    app.add_flag("--single-initiator", c.single_initiator, "only the first node starts each snapshot");
    app.add_option("--app-rate", c.app_messages_per_s, "application messages per second (whole ring)")->capture_default_str();
    app.add_flag("--random-faults", random_faults, "derive ring size and all faults from the seed (as the CI sweep does)");
    app.add_option("--sweep", sweep, "run this many seeds from --seed on, with --random-faults; print one summary each");
    app.add_option(
           "--mutant", mutant,
           "run a deliberately broken core, to see the rules catch it (none, or one of: " +
               [] {
                   std::string names;
                   for (Mutant m : all_mutants()) names += (names.empty() ? "" : ", ") + std::string(to_string(m));
                   return names;
               }() +
               ")")
        ->capture_default_str();
    app.add_option("--recover", recover, "the monitor's recovery: off, regenerate or rollback (also with --sweep)")
        ->capture_default_str()
        ->check(CLI::IsMember({"off", "regenerate", "rollback"}));
    app.add_option("--evict-after", evict_after,
                   "the monitor orders views: a dead node is left out of the ring (at once if its port is closed, else after this "
                   "silence, e.g. 5s), or off: the ring is always the configured one. Default: off; with --random-faults or "
                   "--sweep, the seed decides");
    app.add_option("--node-pause", node_pause, "node processes stopped (SIGSTOP), e.g. 2@5s+2s (node 2 at 5 s, for 2 s)");
    app.add_option("--partition", partition,
                   "network partitions, e.g. 0.1@5s+2s (nodes 0 and 1 cut from the rest and the monitor for 2 s), m.3@4s+1s (the monitor "
                   "on node 3's side), >2@6s+3s (one-way: nothing reaches node 2)");
    app.add_flag("--json", json, "one JSON object per line");
    app.add_option("--diagram", diagram_file, "draw the run as a space-time diagram (SVG) in this file");
    app.add_option("--window", window, "the diagram's stretch of virtual time, e.g. 2s..2.5s (default: 500 ms from the first snapshot's start)")
        ->needs("--diagram");
    if (auto rc = ringwatch::io::parse_command_line(app, argc, argv, "ringsim")) return *rc;

    auto fail = [](const std::string& what) {
        fmt::print(stderr, "ringsim: {}\n", what);
        return 2;
    };
    auto dur = parse_duration(duration), h = parse_duration(hold), iv = parse_duration(interval), to = parse_duration(timeout);
    if (!dur) return fail(fmt::format("--duration '{}': use 60s, 500ms", duration));
    if (!h) return fail(fmt::format("--hold '{}': use 20ms", hold));
    if (!iv || iv->count() == 0) return fail(fmt::format("--interval '{}': use 100ms", interval));
    if (!to || to->count() == 0) return fail(fmt::format("--timeout '{}': use 1000ms", timeout));
    if (auto e = parse_injects(inject, c.injects); !inject.empty() && !e.empty()) return fail("--inject " + e);
    if (auto e = parse_crashes(crash, c.crashes); !crash.empty() && !e.empty()) return fail("--crash " + e);
    if (auto e = parse_monitor_restarts(monitor_restart, c.monitor_restarts); !monitor_restart.empty() && !e.empty())
        return fail("--monitor-restart " + e);
    if (auto e = parse_monitor_pauses(monitor_pause, c.monitor_pauses); !monitor_pause.empty() && !e.empty()) return fail("--monitor-pause " + e);
    if (auto e = parse_monitor_kills(monitor_kill, c.monitor_kills); !monitor_kill.empty() && !e.empty()) return fail("--monitor-kill " + e);
    for (const auto& r : c.monitor_restarts)
        if (r.monitor >= c.monitors) return fail(fmt::format("--monitor-restart: monitor {} of {}", r.monitor, c.monitors));
    for (const auto& p : c.monitor_pauses)
        if (p.monitor >= c.monitors) return fail(fmt::format("--monitor-pause: monitor {} of {}", p.monitor, c.monitors));
    for (const auto& k : c.monitor_kills)
        if (k.monitor >= c.monitors) return fail(fmt::format("--monitor-kill: monitor {} of {}", k.monitor, c.monitors));
    if (auto e = parse_times(by_hand, c.regenerates_by_hand); !by_hand.empty() && !e.empty()) return fail("--regenerate-by-hand " + e);
    const auto win = parse_window(window);
    if (!window.empty() && !win) return fail(fmt::format("--window '{}': use START..END with START before END, e.g. 2s..2.5s", window));
    if (!diagram_file.empty() && sweep > 0) return fail("--diagram draws one run: not with --sweep");
    auto mut = parse_mutant(mutant);
    if (!mut) return fail(fmt::format("--mutant '{}': not a mutant (see --help)", mutant));
    for (auto& i : c.injects) i.node %= c.nodes;
    for (auto& cr : c.crashes) cr.node %= c.nodes;
    c.duration = *dur;
    c.hold = *h;
    c.interval = *iv;
    c.timeout = *to;
    c.mutant = *mut;
    c.recover = *parse_recovery_mode(recover);
    if (!evict_after.empty() && evict_after != "off") {
        const auto ea = parse_duration(evict_after);
        if (!ea || ea->count() == 0) return fail(fmt::format("--evict-after '{}': use 5s, 500ms or off", evict_after));
        c.evict_after = *ea;
    }
    if (auto e = parse_node_pauses(node_pause, c.node_pauses); !node_pause.empty() && !e.empty()) return fail("--node-pause " + e);
    if (auto e = parse_partitions(partition, c.partitions); !partition.empty() && !e.empty()) return fail("--partition " + e);
    for (const auto& p : c.partitions)
        for (std::size_t n : p.side)
            if (n >= c.nodes) return fail(fmt::format("--partition {}: node {} is not in a ring of {}", format_partition(p), n, c.nodes));

    const bool random = random_faults || sweep > 0;
    const std::uint64_t runs = sweep > 0 ? sweep : 1;
    int failures = 0;
    for (std::uint64_t i = 0; i < runs; ++i) {
        SimConfig run = random ? random_scenario(seed + i, c.duration, c.monitors) : c;
        run.seed = seed + i;
        run.mutant = c.mutant;
        run.recover = c.recover;
        if (!evict_after.empty()) run.evict_after = c.evict_after;  // else the seed decides (random), or off
        auto printer = [&](const Verdict& v) {
            if (sweep > 0) return;
            if (json) {
                fmt::print("{}\n", snapshot_event_json(v));
            } else if (v.kind != VerdictKind::ok) {
                fmt::print("snapshot {} at {:.3f}s: {} (tokens {})\n", v.id, std::chrono::duration<double>(v.started.time_since_epoch()).count(),
                           to_string(v.kind), v.tokens);
            }
        };
        if (!json && sweep == 0) {
            std::string faults;
            for (const auto& inj : run.injects)
                faults += fmt::format(" {}:{}@{}", to_string(inj.kind), inj.node % run.nodes, format_duration(inj.at));
            for (const auto& cr : run.crashes)
                faults += fmt::format(" crash:{}@{}{}", cr.node % run.nodes, format_duration(cr.at),
                                      cr.restart_after ? "+" + format_duration(*cr.restart_after) : std::string());
            for (const auto& r : run.monitor_restarts)
                faults += fmt::format(" monitor-restart:{}@{}+{}", r.monitor, format_duration(r.at), format_duration(r.down));
            for (const auto& p : run.monitor_pauses)
                faults += fmt::format(" monitor-pause:{}@{}+{}", p.monitor, format_duration(p.at), format_duration(p.length));
            for (const auto& k : run.monitor_kills) faults += fmt::format(" monitor-kill:{}@{}", k.monitor, format_duration(k.at));
            for (Duration at : run.regenerates_by_hand) faults += fmt::format(" regenerate-by-hand@{}", format_duration(at));
            for (const auto& p : run.node_pauses)
                faults += fmt::format(" node-pause:{}@{}+{}", p.node % run.nodes, format_duration(p.at), format_duration(p.length));
            for (const auto& p : run.partitions) faults += " partition:" + format_partition(p);
            if (run.evict_after) faults += fmt::format(" (views: evict after {})", format_duration(*run.evict_after));
            if (run.monitors > 1) faults += fmt::format(" ({} monitors)", run.monitors);
            fmt::print("scenario: seed {}, {} nodes, hold {}, network loss {:.2f} dup {:.2f} reorder {:.2f}, {} initiator(s), faults:{}{}\n",
                       run.seed, run.nodes, format_duration(run.hold), run.net.loss, run.net.duplicate, run.net.reorder,
                       run.single_initiator ? "one" : "all", faults.empty() ? " none" : faults,
                       run.mutant == Mutant::none ? "" : fmt::format("; mutant: {}", to_string(run.mutant)));
        }
        auto incident_printer = [&](const IncidentEvent& e) {
            if (sweep > 0) return;
            if (json) {
                fmt::print("{}\n", incident_event_json(e, "ringsim"));
            } else if (e.kind == IncidentEventKind::alarm) {
                fmt::print("ALARM {} at snapshot {}\n", to_string(e.fault), e.verdict.id);
            } else if (e.kind == IncidentEventKind::recovery) {
                fmt::print("RECOVERY {} of {}: epoch {}, {}{}\n", to_string(e.mode), to_string(e.fault), e.epoch,
                           e.restored ? fmt::format("snapshot {} restored", *e.restored)
                                      : fmt::format("issuer {}", e.issuer ? fmt::format("node {}", *e.issuer) : "none"),
                           e.note.empty() ? "" : " (" + e.note + ")");
            } else if (e.kind == IncidentEventKind::recovered) {
                fmt::print("RECOVERED {} by {}: epoch {}, {:.3f} s after the alarm\n", to_string(e.fault), to_string(e.mode), e.epoch,
                           std::chrono::duration<double>(e.lasted).count());
            } else {
                fmt::print("RESOLVED {}: snapshots {} to {}, {:.3f} s, {}\n", to_string(e.fault), e.first, e.last,
                           std::chrono::duration<double>(e.lasted).count(), how(e));
            }
        };
        auto node_printer = [&](const NodeEvent& e) {
            if (sweep > 0) return;
            if (json) {
                fmt::print("{}\n", node_event_json(e));
            } else if (e.kind == NodeEventKind::node_down) {
                fmt::print("NODE DOWN {} at {:.3f}s: silent {} ms, {}\n", e.node, std::chrono::duration<double>(e.at.time_since_epoch()).count(),
                           e.silent_for.count() / 1000, to_string(e.address));
            } else {
                fmt::print("NODE UP {} at {:.3f}s after {} ms{}\n", e.node, std::chrono::duration<double>(e.at.time_since_epoch()).count(),
                           e.down_for.count() / 1000, e.restarted ? ", a new process" : "");
            }
        };
        auto membership_printer = [&](const MembershipEvent& e) {
            if (sweep > 0) return;
            if (json) {
                fmt::print("{}\n", membership_event_json(e));
                return;
            }
            const double at = std::chrono::duration<double>(e.at.time_since_epoch()).count();
            if (e.kind == MembershipEventKind::link_fault) {
                fmt::print("LINK FAULT {} -> {} at {:.3f}s\n", e.from, e.node, at);
            } else if (e.kind == MembershipEventKind::view) {
                fmt::print("VIEW epoch {} at {:.3f}s: {} (token from node {})\n", e.epoch, at, fmt::join(e.members, " "), e.node);
            } else {
                fmt::print("{} {} at {:.3f}s{}\n", e.kind == MembershipEventKind::node_evicted ? "EVICTED" : "REJOINED", e.node, at,
                           e.kind == MembershipEventKind::node_evicted ? fmt::format(": {}", to_string(e.address)) : std::string());
            }
        };
        std::optional<SpaceTimeRecorder> recorder;
        if (!diagram_file.empty()) run.space_time = &recorder.emplace(win);
        const auto wall_start = std::chrono::steady_clock::now();
        const SimSummary s = run_simulation(run, printer, incident_printer, node_printer, membership_printer);
        RunCost cost;
        cost.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
        if (rusage ru{}; getrusage(RUSAGE_SELF, &ru) == 0) cost.max_rss_kb = ru.ru_maxrss;
        if (recorder) {
            try {
                write_diagram(diagram_file, *recorder, run, json);
            } catch (const std::exception& e) {
                return fail(e.what());
            }
        }
        print_summary(s, cost, json);
        if (!s.ok_run()) {
            ++failures;
            fmt::print(stderr, "replay: {} {}\n", argv[0], replay_flags(run, random));
        }
    }
    return failures == 0 ? 0 : 1;
}
