// The `monitor` program: periodic Chandy-Lamport snapshots of a ring, verdicts and alarms.
#include <CLI/CLI.hpp>

#include "ring/io/cli.h"

#include <csignal>
#include <cstdio>
#include <functional>
#include <memory>
#include <cstdlib>

#include <unistd.h>

#include <fmt/format.h>

#include "monitor/core/verdict_json.h"
#include "monitor/human_view.h"
#include "monitor/io/dashboard.h"
#include "monitor/io/metrics_server.h"
#include "monitor/io/monitor_driver.h"
#include "ring/io/address.h"
#include "ring/io/clock.h"
#include "ring/io/drop_report.h"

using namespace ringwatch;

int main(int argc, char** argv) {
    CLI::App app{"monitor: periodic Chandy-Lamport snapshots of a token ring; alarms when tokens held + in flight != 1"};
    std::string config_path;
    bool json = false, single = false, verbose = false;
    std::optional<std::uint32_t> interval_ms, timeout_ms, node_timeout_ms;
    std::uint64_t stop_after = 0;
    std::uint32_t summary_every_s = 10;
    std::optional<std::string> metrics_at, http_at;
    std::optional<std::string> recover;
    app.add_option("config", config_path, "ring config (TOML)")->required();
    app.add_flag("--json", json, "one JSON object per line on stdout (every snapshot and every event)");
    app.add_flag("--verbose", verbose, "a line per snapshot too (default: incident events only, and on a terminal a status line)");
    app.add_option("--interval", interval_ms, "ms between snapshot starts (default: the config's monitor.interval_ms)")->check(CLI::Range(1, 3'600'000));
    app.add_option("--timeout", timeout_ms, "ms before a snapshot is inconclusive (default: monitor.timeout_ms)")->check(CLI::Range(1, 3'600'000));
    app.add_option("--node-timeout", node_timeout_ms, "ms of silence before a node is reported down (default: monitor.node_timeout_ms)")
        ->check(CLI::Range(1, 3'600'000));
    app.add_option("--recover", recover, "on a token fault: off (alarm only), regenerate (purge and reissue) or rollback (restore the newest snapshot judged ok); default: monitor.recover")
        ->check(CLI::IsMember({"off", "regenerate", "rollback"}));
    app.add_flag("--single-initiator", single, "ask only the first node to start each snapshot (default: every node at once)");
    app.add_option("--summary-every", summary_every_s, "seconds between summary lines when stdout is not a terminal")
        ->capture_default_str()
        ->check(CLI::Range(1, 86'400));
    app.add_option("--metrics", metrics_at, "serve Prometheus metrics at http://HOST:PORT/metrics (a PORT alone: 127.0.0.1:PORT; default: monitor.metrics)");
    app.add_option("--http", http_at,
                   "serve the live dashboard at http://HOST:PORT/ (a PORT alone: 127.0.0.1:PORT; default: monitor.http); the URL printed "
                   "at start carries this run's secret, which the page's controls need");
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
    // A port alone listens on 127.0.0.1 (loopback unless told otherwise).
    if (!http_at) http_at = ring.http_address;
    if (http_at && http_at->find(':') == std::string::npos) http_at = "127.0.0.1:" + *http_at;
    if (http_at && !io::parse_address(*http_at)) {
        fmt::print(stderr, "monitor: --http {}: not an IPv4 HOST:PORT (e.g. 127.0.0.1:8080)\n", *http_at);
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
    const bool terminal = !json && isatty(STDOUT_FILENO);
    const char* no_colour = std::getenv("NO_COLOR");  // https://no-color.org: set and not empty
    HumanView view({terminal, terminal && !(no_colour && *no_colour), verbose}, stdout);

    io::UvLoop owner;
    uv_loop_t& loop = *owner.get();
    int rc = 0;
    try {
        std::uint64_t seen = 0;
        // Loopback unless told otherwise: a port alone listens on 127.0.0.1.
        if (!metrics_at) metrics_at = ring.metrics_address;
        if (metrics_at && metrics_at->find(':') == std::string::npos) metrics_at = "127.0.0.1:" + *metrics_at;
        std::unique_ptr<io::MetricsServer> metrics;
        if (metrics_at) metrics = std::make_unique<io::MetricsServer>(*metrics_at, mc.ring);
        std::unique_ptr<io::Dashboard> dashboard;  // made once the monitor's driver is
        io::MonitorDriver monitor(&loop, ring, mc, [&](const Verdict& v, const std::vector<IncidentEvent>& incidents) {
            if (metrics) {
                metrics->on_verdict(v);
                for (const auto& e : incidents) metrics->on_incident_event(e);
            }
            if (dashboard) dashboard->on_verdict(v, incidents);
            if (json) {
                fmt::print("{}\n", snapshot_event_json(v));
                for (const auto& e : incidents) fmt::print("{}\n", incident_event_json(e));
                std::fflush(stdout);
            } else {
                view.on_verdict(v, incidents);
            }
            if (stop_after > 0 && ++seen >= stop_after) uv_stop(&loop);
        }, [&](const NodeEvent& e) {
            if (metrics) metrics->on_node_event(e);
            if (dashboard) dashboard->on_node_event(e);
            if (json) {
                fmt::print("{}\n", node_event_json(e));
                std::fflush(stdout);
            } else {
                view.on_node_event(e);
            }
        }, link);
        monitor.on_other_incidents([&](const std::vector<IncidentEvent>& events) {
            if (metrics)
                for (const auto& e : events) metrics->on_incident_event(e);
            if (dashboard) dashboard->on_incidents(events);
            if (!json) return view.on_incidents(events);
            for (const auto& e : events) fmt::print("{}\n", incident_event_json(e));
            std::fflush(stdout);
        });
        if (http_at) dashboard = std::make_unique<io::Dashboard>(&loop, *http_at, ring, mc, monitor);  // before a word is said: it may fail
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
        if (dashboard) {
            fmt::print(json ? stderr : stdout, "dashboard at {}\n", dashboard->url());
            std::fflush(json ? stderr : stdout);
        }
        io::UvHandle<uv_signal_t> sigint(&loop, uv_signal_init), sigterm(&loop, uv_signal_init);
        auto stop = [](uv_signal_t* s, int) { uv_stop(s->loop); };
        uv_signal_start(sigint.get(), stop, SIGINT);
        uv_signal_start(sigterm.get(), stop, SIGTERM);
        // Not on a terminal (piped, or under `ring up`): a summary line every --summary-every s.
        io::UvHandle<uv_timer_t> summary(&loop, uv_timer_init);
        summary.get()->data = &view;
        if (!json && !terminal) {
            uv_timer_start(summary.get(), [](uv_timer_t* t) { static_cast<HumanView*>(t->data)->on_summary_tick(); }, summary_every_s * 1000ull,
                           summary_every_s * 1000ull);
            uv_unref(reinterpret_cast<uv_handle_t*>(summary.get()));
        }
        // Metrics: the nodes' link counters every 5 s, each node's report age every second.
        io::UvHandle<uv_timer_t> ages(&loop, uv_timer_init);
        std::function<void()> refresh_ages = [&] {
            const Instant now = io::monotonic_now();
            for (NodeId n : mc.ring) {
                const auto at = monitor.core().last_report(n);
                metrics->set_report_age(n, at ? std::optional<double>(std::chrono::duration<double>(now - *at).count()) : std::nullopt);
            }
            metrics->set_late_reports(monitor.core().stats().late_reports);
        };
        if (metrics) {
            monitor.poll_nodes(std::chrono::seconds(5), [&](NodeId n, const StatusReply& r) { metrics->on_node_figures(n, r.values); });
            ages.get()->data = &refresh_ages;
            uv_timer_start(ages.get(), [](uv_timer_t* t) { (*static_cast<std::function<void()>*>(t->data))(); }, 1000, 1000);
            uv_unref(reinterpret_cast<uv_handle_t*>(ages.get()));
            fmt::print(json ? stderr : stdout, "metrics at http://{}:{}/metrics\n", metrics_at->substr(0, metrics_at->rfind(':')), metrics->port());
        }
        uv_run(&loop, UV_RUN_DEFAULT);
        view.finish();
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
