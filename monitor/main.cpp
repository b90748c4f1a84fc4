// The `monitor` program: periodic Chandy-Lamport snapshots of a ring, verdicts and alarms.
#include <CLI/CLI.hpp>

#include "ring/io/cli.h"

#include <csignal>
#include <cstdio>

#include <unistd.h>

#include <fmt/color.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "monitor/core/verdict_json.h"
#include "monitor/io/monitor_driver.h"
#include "ring/io/clock.h"
#include "ring/io/drop_report.h"

using namespace ringwatch;

namespace {

std::string where_tokens(const Verdict& v) {
    std::vector<std::string> parts;
    for (auto h : v.holders) parts.push_back(fmt::format("held by node {}", h));
    for (auto& c : v.channels) parts.push_back(fmt::format("{} in flight {}->{}", c.tokens, c.from, c.to));
    return parts.empty() ? "nowhere" : fmt::format("{}", fmt::join(parts, ", "));
}

void print_line(const std::string& text, bool colour, fmt::text_style style) {
    if (colour) {
        fmt::print(style, "{}\n", text);
    } else {
        fmt::print("{}\n", text);
    }
}

void print_recovery(const IncidentEvent& e, bool colour) {
    const std::string who = e.by_hand ? " (asked for by hand)" : "";
    const std::string instead = e.note.empty() ? "" : fmt::format(" ({})", e.note);
    if (e.restored) {
        print_line(fmt::format("RECOVERY {} of {}{}: epoch {}, every node restores snapshot {} (tokens of older epochs purged)", e.mode,
                               to_string(e.fault), who, e.epoch, *e.restored),
                   colour, fmt::emphasis::bold | fg(fmt::color::yellow));
    } else if (e.issuer) {
        print_line(fmt::format("RECOVERY {} of {}{}: epoch {}, tokens of older epochs purged, node {} issues the new token{}", e.mode,
                               to_string(e.fault), who, e.epoch, *e.issuer, instead),
                   colour, fmt::emphasis::bold | fg(fmt::color::yellow));
    } else {
        print_line(fmt::format("RECOVERY {} of {}{} impossible: {}; the ring is left to the operator", e.mode, to_string(e.fault), who, e.note),
                   colour, fmt::emphasis::bold | fg(fmt::color::red));
    }
}

// One line per verdict; an incident's alarm and its resolution stand out (bold on a terminal).
void print_human(const Verdict& v, const std::vector<IncidentEvent>& incidents, bool colour) {
    const double ms = std::chrono::duration<double, std::milli>(v.duration).count();
    for (const auto& e : incidents) {
        if (e.kind == IncidentEventKind::recovered) {
            print_line(fmt::format("RECOVERED {} by {}: epoch {} is healthy, {:.1f} s after the alarm", to_string(e.fault), e.mode, e.epoch,
                                   std::chrono::duration<double>(e.lasted).count()),
                       colour, fmt::emphasis::bold | fg(fmt::color::green));
        }
        if (e.kind != IncidentEventKind::resolved) continue;
        print_line(fmt::format("RESOLVED {}: snapshots {} to {}, {:.1f} s, {}", to_string(e.fault), e.first, e.last,
                               std::chrono::duration<double>(e.lasted).count(), e.how == "by_itself" ? "by itself" : e.how),
                   colour, fmt::emphasis::bold | fg(fmt::color::green));
    }
    bool raised = false;
    for (const auto& e : incidents) raised |= e.kind == IncidentEventKind::alarm;
    if (raised) {
        print_line(fmt::format("ALARM {} at snapshot {}: {} token(s), {} ({:.1f} ms)", to_string(v.kind), v.id, v.tokens, where_tokens(v), ms),
                   colour, fmt::emphasis::bold | fg(fmt::color::red));
    }
    for (const auto& e : incidents)
        if (e.kind == IncidentEventKind::recovery) print_recovery(e, colour);
    if (raised) {
        // (printed above)
    } else if (v.alarm()) {
        fmt::print("snapshot {}: {} (incident open), {} token(s), {} ({:.1f} ms)\n", v.id, to_string(v.kind), v.tokens, where_tokens(v), ms);
    } else if (v.kind == VerdictKind::inconclusive) {
        std::vector<std::uint16_t> missing, silent, restarted;
        for (auto m : v.missing) missing.push_back(m.value);
        for (auto m : v.silent) silent.push_back(m.value);
        for (auto m : v.restarted) restarted.push_back(m.value);
        std::string why;
        if (!missing.empty()) why = fmt::format("no report from node(s) {}", fmt::join(missing, ", "));
        if (!silent.empty()) why += fmt::format(" (silent: {})", fmt::join(silent, ", "));
        if (v.forming) why += "the ring has no token yet (it is starting)";
        if (!restarted.empty())
            why += fmt::format("{}node(s) {} restarted during it", why.empty() ? "" : "; ", fmt::join(restarted, ", "));
        fmt::print("snapshot {}: inconclusive, {}\n", v.id, why);
    } else {
        fmt::print("snapshot {}: ok, 1 token {} ({:.1f} ms)\n", v.id, where_tokens(v), ms);
    }
    std::fflush(stdout);
}

void print_node_event(const NodeEvent& e, bool colour) {
    if (e.kind == NodeEventKind::node_down) {
        const std::string silent = e.ever_heard ? fmt::format("silent for {} ms", e.silent_for.count() / 1000)
                                                : fmt::format("never heard from in {} ms", e.silent_for.count() / 1000);
        const std::string address = e.address == NodeAddress::port_closed ? "its port is closed (no process holds it)"
                                                                           : "its address does not refuse (paused, busy, or unreachable)";
        print_line(fmt::format("NODE DOWN {}: {}; {}", e.node, silent, address), colour, fmt::emphasis::bold | fg(fmt::color::red));
    } else {
        print_line(fmt::format("NODE UP {}: back after {:.1f} s{}", e.node, std::chrono::duration<double>(e.down_for).count(),
                               e.restarted ? ", as a new process" : ", the same process"),
                   colour, fmt::emphasis::bold | fg(fmt::color::green));
    }
    std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"monitor: periodic Chandy-Lamport snapshots of a token ring; alarms when tokens held + in flight != 1"};
    std::string config_path;
    bool json = false, single = false;
    std::optional<std::uint32_t> interval_ms, timeout_ms, node_timeout_ms;
    std::uint64_t stop_after = 0;
    std::optional<std::string> recover;
    app.add_option("config", config_path, "ring config (TOML)")->required();
    app.add_flag("--json", json, "one JSON object per line on stdout");
    app.add_option("--interval", interval_ms, "ms between snapshot starts (default: the config's monitor.interval_ms)")->check(CLI::Range(1, 3'600'000));
    app.add_option("--timeout", timeout_ms, "ms before a snapshot is inconclusive (default: monitor.timeout_ms)")->check(CLI::Range(1, 3'600'000));
    app.add_option("--node-timeout", node_timeout_ms, "ms of silence before a node is reported down (default: monitor.node_timeout_ms)")
        ->check(CLI::Range(1, 3'600'000));
    app.add_option("--recover", recover, "on a token fault: off (alarm only), regenerate (purge and reissue) or rollback (restore the newest snapshot judged ok); default: monitor.recover")
        ->check(CLI::IsMember({"off", "regenerate", "rollback"}));
    app.add_flag("--single-initiator", single, "ask only the first node to start each snapshot (default: every node at once)");
    app.add_option("--snapshots", stop_after, "exit after this many verdicts (0: run until Ctrl-C)");
    if (auto rc = ringwatch::io::parse_command_line(app, argc, argv, "monitor")) return *rc;

    RingConfig ring;
    LinkConfig link;
    try {
        ring = load_config(config_path);
        link.key = load_key(ring);
    } catch (const ConfigError& e) {
        fmt::print(stderr, "monitor: {}\n", e.what());
        return 2;
    }
    MonitorConfig mc;
    mc.ring = ring.ring();
    mc.interval = interval_ms ? std::chrono::milliseconds(*interval_ms) : ring.interval;
    mc.timeout = timeout_ms ? std::chrono::milliseconds(*timeout_ms) : ring.timeout;
    mc.single_initiator = single;
    mc.recover = *parse_recovery_mode(recover.value_or(ring.recover));
    mc.liveness = liveness_for(mc.interval, node_timeout_ms ? std::chrono::milliseconds(*node_timeout_ms) : ring.node_timeout);
    mc.era = static_cast<std::uint32_t>(io::random_u64()) & kSnapshotEraMask;
    const bool colour = !json && isatty(STDOUT_FILENO);

    io::UvLoop owner;
    uv_loop_t& loop = *owner.get();
    int rc = 0;
    try {
        std::uint64_t seen = 0;
        io::MonitorDriver monitor(&loop, ring, mc, [&](const Verdict& v, const std::vector<IncidentEvent>& incidents) {
            if (json) {
                fmt::print("{}\n", snapshot_event_json(v));
                for (const auto& e : incidents) fmt::print("{}\n", incident_event_json(e));
                std::fflush(stdout);
            } else {
                print_human(v, incidents, colour);
            }
            if (stop_after > 0 && ++seen >= stop_after) uv_stop(&loop);
        }, [&](const NodeEvent& e) {
            if (json) {
                fmt::print("{}\n", node_event_json(e));
                std::fflush(stdout);
            } else {
                print_node_event(e, colour);
            }
        }, link);
        monitor.on_other_incidents([&](const std::vector<IncidentEvent>& events) {
            for (const auto& e : events) {
                if (json) {
                    fmt::print("{}\n", incident_event_json(e));
                } else if (e.kind == IncidentEventKind::recovery) {
                    print_recovery(e, colour);
                }
            }
            std::fflush(stdout);
        });
        const std::string settings = fmt::format("monitor of ring '{}' at {}: {} nodes, a snapshot every {} ms, timeout {} ms, node timeout {} ms, recovery {}, {}", ring.name,
                                                 ring.monitor_address_text, ring.nodes.size(), mc.interval.count() / 1000, mc.timeout.count() / 1000,
                                                 mc.liveness.node_timeout.count() / 1000, to_string(mc.recover),
                                                 single ? "first node initiates" : "every node initiates") +
                                     (link.key ? ", datagrams authenticated" : ", datagrams not authenticated (no key_file)");
        if (json) {
            fmt::print(stderr, "{}\n", settings);
        } else {
            fmt::print("{}\n", settings);
        }
        if (const std::string w = ring.insecure_warning(); !w.empty()) fmt::print(stderr, "monitor: {}\n", w);
        io::UvHandle<uv_signal_t> sigint(&loop, uv_signal_init), sigterm(&loop, uv_signal_init);
        auto stop = [](uv_signal_t* s, int) { uv_stop(s->loop); };
        uv_signal_start(sigint.get(), stop, SIGINT);
        uv_signal_start(sigterm.get(), stop, SIGTERM);
        uv_run(&loop, UV_RUN_DEFAULT);
        const MonitorStats& s = monitor.core().stats();
        const LinkStats l = monitor.link().endpoint().total_link_stats();
        const IncidentStats& inc = monitor.core().incident_stats();
        const LivenessStats& nodes = monitor.core().liveness().stats();
        const std::string totals = fmt::format("totals: {} snapshots: {} ok, {} token_lost, {} token_duplicated, {} inconclusive; "
                                               "{} incident(s) ({} token_lost, {} token_duplicated, {} node_down), {} resolved; "
                                               "{} late reports; link retransmits {}",
                                               s.ok + s.token_lost + s.token_duplicated + s.inconclusive, s.ok, s.token_lost, s.token_duplicated,
                                               s.inconclusive, inc.opened + nodes.node_down, inc.token_lost, inc.token_duplicated, nodes.node_down,
                                               inc.resolved + nodes.node_up, s.late_reports,
                                               l.retransmits);
        fmt::print(json ? stderr : stdout, "{}\n", totals);
        const io::EndpointDriver& driver = monitor.link();
        fmt::print(json ? stderr : stdout, "datagrams received {}, {}\n", driver.socket().stats().received,
                   io::drop_report(driver.socket().stats(), driver.endpoint().stats(), l));
    } catch (const std::exception& e) {
        fmt::print(stderr, "monitor: {}\n", e.what());
        rc = 1;
    }
    return rc;
}
