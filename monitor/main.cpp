// The `monitor` program: periodic Chandy-Lamport snapshots of a ring, verdicts and alarms. main()
// reads the command line, resolves it against the config, then runs the monitor until Ctrl-C (or
// --snapshots verdicts) and prints its totals; each step is a function below.
#include <CLI/CLI.hpp>

#include "ring/io/cli.h"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>

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
#include "ring/io/hangup.h"
#include "ring/io/log.h"
#include "ring/io/service_notify.h"

using namespace ringwatch;

namespace {

// The command line as given (unset: the config decides).
struct Options {
    std::string config_path;
    bool json = false, single = false, verbose = false;
    std::optional<std::uint32_t> interval_ms, timeout_ms, node_timeout_ms, evict_after_ms;
    std::uint64_t stop_after = 0;
    std::uint32_t summary_every_s = 10;
    std::optional<std::string> metrics_at, http_at;
    std::optional<std::string> recover;
    std::size_t monitor = 0;
    io::LogOptions log;
};

std::optional<int> parse_options(int argc, char** argv, Options& o) {
    CLI::App app{"monitor: periodic Chandy-Lamport snapshots of a token ring; alarms when tokens held + in flight != 1"};
    app.add_option("config", o.config_path, "ring config (TOML)")->required();
    app.add_option("--monitor", o.monitor,
                   "which of the config's [[monitors]] this is, from 0 (default: 0, the first; a config's [monitor] names only one)")
        ->check(CLI::Range(0, static_cast<int>(kMaxMonitors) - 1));
    app.add_flag("--json", o.json, "one JSON object per line on stdout (every snapshot and every event)");
    app.add_flag("--verbose", o.verbose, "a line per snapshot too (default: incident events only, and on a terminal a status line)");
    app.add_option("--interval", o.interval_ms, "ms between snapshot starts (default: the config's monitor.interval_ms)")
        ->check(CLI::Range(1, 3'600'000));
    app.add_option("--timeout", o.timeout_ms, "ms before a snapshot is inconclusive (default: monitor.timeout_ms)")->check(CLI::Range(1, 3'600'000));
    app.add_option("--node-timeout", o.node_timeout_ms, "ms of silence before a node is reported down (default: monitor.node_timeout_ms)")
        ->check(CLI::Range(1, 3'600'000));
    app.add_option("--evict-after", o.evict_after_ms,
                   "ms of silence before a node is left out of the ring (a new view; a node whose port is closed at once); 0: never "
                   "(default: monitor.evict_after_ms)")
        ->check(CLI::Range(0, 3'600'000));
    app.add_option("--recover", o.recover,
                   "on a token fault: off (alarm only), regenerate (purge and reissue) or rollback (restore the newest snapshot judged ok); default: "
                   "monitor.recover")
        ->check(CLI::IsMember({"off", "regenerate", "rollback"}));
    app.add_flag("--single-initiator", o.single, "ask only the first node to start each snapshot (default: every node at once)");
    app.add_option("--summary-every", o.summary_every_s, "seconds between summary lines when stdout is not a terminal")
        ->capture_default_str()
        ->check(CLI::Range(1, 86'400));
    app.add_option("--metrics", o.metrics_at,
                   "serve Prometheus metrics at http://HOST:PORT/metrics (a PORT alone: 127.0.0.1:PORT; default: monitor.metrics)");
    app.add_option("--http", o.http_at,
                   "serve the live dashboard at http://HOST:PORT/ (a PORT alone: 127.0.0.1:PORT; default: monitor.http); the URL printed "
                   "at start carries this run's secret, which the page's controls need");
    app.add_option("--snapshots", o.stop_after, "exit after this many verdicts (0: run until Ctrl-C)");
    io::add_log_options(app, o.log, false);
    return io::parse_command_line(app, argc, argv, "monitor");
}

// The command line resolved against the config: what this run does.
struct Setup {
    RingConfig ring;
    LinkConfig link;
    MonitorConfig mc;
    std::optional<std::string> metrics_at, http_at;  // HOST:PORT
};

// A port alone listens on 127.0.0.1 (loopback unless told otherwise).
std::optional<std::string> listen_address(std::optional<std::string> given, const std::optional<std::string>& configured) {
    if (!given) given = configured;
    if (given && given->find(':') == std::string::npos) given = "127.0.0.1:" + *given;
    return given;
}

// Throws ConfigError (a bad config, key or address).
Setup resolve(const Options& o) {
    Setup s;
    s.ring = load_config(o.config_path);
    s.link.key = load_key(s.ring);
    const MonitorEntry& me = s.ring.monitor(o.monitor);
    s.http_at = listen_address(o.http_at, me.http_address);
    if (s.http_at && !io::parse_address(*s.http_at))
        throw ConfigError(fmt::format("--http {}: not an IPv4 HOST:PORT (e.g. 127.0.0.1:8080)", *s.http_at));
    s.metrics_at = listen_address(o.metrics_at, me.metrics_address);
    MonitorConfig& mc = s.mc;
    mc.ring = s.ring.ring();
    mc.interval = o.interval_ms ? std::chrono::milliseconds(*o.interval_ms) : s.ring.interval;
    mc.timeout = o.timeout_ms ? std::chrono::milliseconds(*o.timeout_ms) : s.ring.timeout;
    mc.single_initiator = o.single;
    mc.recover = o.recover ? *parse_recovery_mode(*o.recover) : s.ring.recover;
    mc.liveness = liveness_for(mc.interval, o.node_timeout_ms ? std::chrono::milliseconds(*o.node_timeout_ms) : s.ring.node_timeout);
    mc.era = static_cast<std::uint32_t>(io::random_u64()) & kSnapshotEraMask;
    mc.leadership.self = me.id;
    mc.leadership.monitors = s.ring.monitor_ids();
    mc.evict_after = s.ring.evict_after;
    if (o.evict_after_ms)
        mc.evict_after = *o.evict_after_ms == 0 ? std::nullopt : std::optional<Duration>(std::chrono::milliseconds(*o.evict_after_ms));
    if (!o.evict_after_ms && mc.evict_after && *mc.evict_after < mc.liveness.node_timeout)
        mc.evict_after = mc.liveness.node_timeout;  // --node-timeout raised above the config's: a node is reported down first
    if (mc.evict_after && *mc.evict_after < mc.liveness.node_timeout)
        throw ConfigError(fmt::format("--evict-after {} is below the node timeout ({} ms): a silent node is reported down before it is left out",
                                      mc.evict_after->count() / 1000, mc.liveness.node_timeout.count() / 1000));
    return s;
}

// Where verdicts and events go: metrics, the dashboard, and either JSON lines or the human view.
class Outputs {
public:
    Outputs(bool json, HumanView& view, std::string ring) : json_(json), view_(view), ring_(std::move(ring)) {}
    std::unique_ptr<io::MetricsServer> metrics;
    std::unique_ptr<io::Dashboard> dashboard;

    void on_verdict(const Verdict& v, const std::vector<IncidentEvent>& incidents) {
        if (metrics) {
            metrics->on_verdict(v);
            for (const auto& e : incidents) metrics->on_incident_event(e);
        }
        if (dashboard) dashboard->on_verdict(v, incidents);
        if (!json_) return view_.on_verdict(io::monotonic_now(), v, incidents);
        fmt::print("{}\n", snapshot_event_json(v));
        for (const auto& e : incidents) fmt::print("{}\n", incident_event_json(e, ring_));
        std::fflush(stdout);
    }
    void on_node_event(const NodeEvent& e) {
        if (metrics) metrics->on_node_event(e);
        if (dashboard) dashboard->on_node_event(e);
        if (!json_) return view_.on_node_event(io::monotonic_now(), e);
        fmt::print("{}\n", node_event_json(e));
        std::fflush(stdout);
    }
    void on_membership_event(const MembershipEvent& e) {
        if (metrics) metrics->on_membership_event(e);
        if (dashboard) dashboard->on_membership_event(e);
        if (!json_) return view_.on_membership_event(io::monotonic_now(), e);
        fmt::print("{}\n", membership_event_json(e));
        std::fflush(stdout);
    }
    // On a terminal, a lone monitor's first term goes unsaid (it always leads it); what goes wrong
    // with a claim is always said.
    void on_leader_event(const LeaderEvent& e, bool lone_monitor) {
        if (metrics) metrics->on_leader_event(e);
        if (!json_) {
            if (lone_monitor && e.kind == LeaderEventKind::leading && e.term == Term{1}) return;
            return view_.on_leader_event(io::monotonic_now(), e);
        }
        fmt::print("{}\n", leader_event_json(e));
        std::fflush(stdout);
    }
    // Incidents no verdict caused (a recovery asked for by hand).
    void on_other_incidents(const std::vector<IncidentEvent>& events) {
        if (metrics)
            for (const auto& e : events) metrics->on_incident_event(e);
        if (dashboard) dashboard->on_incidents(events);
        if (!json_) return view_.on_incidents(io::monotonic_now(), events);
        for (const auto& e : events) fmt::print("{}\n", incident_event_json(e, ring_));
        std::fflush(stdout);
    }
    // Lines about the run itself: stdout, or stderr when stdout carries JSON.
    std::FILE* notes() const { return json_ ? stderr : stdout; }
    // One such line: a log line, with its time where log lines have one (not on a terminal).
    template <typename... Args>
    void note(fmt::format_string<Args...> f, Args&&... args) const {
        const bool stamp = io::stamps(notes()) && !isatty(fileno(notes()));
        fmt::print(notes(), "{}{}\n", stamp ? io::iso_time_now() + " " : std::string(), fmt::format(f, std::forward<Args>(args)...));
    }

private:
    bool json_;
    HumanView& view_;
    std::string ring_;  // its name, in incident ids
};

void print_settings(const Setup& s, const Options& o, const Outputs& out) {
    const MonitorConfig& mc = s.mc;
    out.note(
        "monitor of ring '{}' at {}: {} nodes, a snapshot every {} ms, timeout {} ms, node timeout {} ms, {}, recovery {}, {}{}", s.ring.name,
        s.ring.monitor(monitor_index(mc.leadership.self)).address_text, s.ring.nodes.size(), mc.interval.count() / 1000, mc.timeout.count() / 1000,
        mc.liveness.node_timeout.count() / 1000,
        mc.evict_after ? fmt::format("a silent node left out after {} ms", mc.evict_after->count() / 1000) : std::string("no node ever left out"),
        to_string(mc.recover), o.single ? "first node initiates" : "every node initiates",
        s.link.key ? ", datagrams authenticated" : ", datagrams not authenticated (no key_file)");
    if (const std::size_t n = mc.leadership.monitors.size(); n > 1)
        out.note("monitor {} of {}: every monitor judges the ring; the one a majority of the nodes promised a term leads",
                 monitor_index(mc.leadership.self), n);
    if (const std::string w = s.ring.insecure_warning(); !w.empty()) fmt::print(stderr, "monitor: {}\n", w);
    if (out.dashboard) out.note("dashboard at {}", out.dashboard->url());
    if (out.metrics) out.note("metrics at http://{}:{}/metrics", s.metrics_at->substr(0, s.metrics_at->rfind(':')), out.metrics->port());
    std::fflush(out.notes());
}

void print_totals(const io::MonitorDriver& monitor, const Outputs& out) {
    const MonitorStats& s = monitor.core().stats();
    const Endpoint& endpoint = monitor.process().endpoint();
    const LinkStats l = endpoint.total_link_stats();
    // The same totals as the dashboard's (one definition of what an incident is).
    const DashboardTotals t = totals_of(s, monitor.core().incident_stats(), monitor.core().liveness().stats());
    out.note(
        "totals: {} snapshots: {} ok, {} token_lost, {} token_duplicated, {} inconclusive; "
        "{} incident(s) ({} token_lost, {} token_duplicated, {} node_down), {} resolved; "
        "{} late reports; link retransmits {}",
        t.ok + t.token_lost + t.token_duplicated + t.inconclusive, t.ok, t.token_lost, t.token_duplicated, t.inconclusive, t.incidents,
        t.token_lost_incidents, t.token_duplicated_incidents, t.node_down, t.resolved, s.late_reports, l.retransmits);
    out.note("datagrams received {}, {}", monitor.socket().stats().received, io::drop_report(monitor.socket().stats(), endpoint.stats(), l));
}

// Runs the monitor on `loop` until Ctrl-C, SIGTERM or --snapshots verdicts. Throws on a failure to
// start (a port in use).
void run(uv_loop_t& loop, const Setup& s, const Options& o, HumanView& view) {
    if (o.json) io::log_to_stderr();                  // stdout carries JSON only
    io::CarryOnAfterHangup hangup(&loop, "monitor");  // first: a hangup while it starts cannot stop it
    Outputs out(o.json, view, s.ring.name);
    std::uint64_t seen = 0;
    if (s.metrics_at) out.metrics = std::make_unique<io::MetricsServer>(*s.metrics_at, s.mc.ring, s.ring.name);
    io::MonitorDriver monitor(
        &loop, s.ring, s.mc,
        [&](const Verdict& v, const std::vector<IncidentEvent>& incidents) {
            out.on_verdict(v, incidents);
            if (o.stop_after > 0 && ++seen >= o.stop_after) uv_stop(&loop);
        },
        [&](const NodeEvent& e) { out.on_node_event(e); }, s.link);
    monitor.on_other_incidents([&](const std::vector<IncidentEvent>& events) { out.on_other_incidents(events); });
    monitor.on_membership_event([&](const MembershipEvent& e) { out.on_membership_event(e); });
    monitor.on_leader_event([&](const LeaderEvent& e) { out.on_leader_event(e, s.mc.leadership.monitors.size() == 1); });
    if (s.http_at) out.dashboard = std::make_unique<io::Dashboard>(&loop, *s.http_at, s.ring, s.mc, monitor);  // before a word is said: it may fail

    io::UvHandle<uv_signal_t> sigint(&loop, uv_signal_init), sigterm(&loop, uv_signal_init);
    auto stop = [](uv_signal_t* sig, int) { uv_stop(sig->loop); };
    uv_signal_start(sigint.get(), stop, SIGINT);
    uv_signal_start(sigterm.get(), stop, SIGTERM);
    // Not on a terminal (piped, or under `ring up`): a summary line every --summary-every s. On a
    // terminal: the status line drawn again every second (the token's age moves with no event).
    io::UvHandle<uv_timer_t> summary(&loop, uv_timer_init);
    summary.get()->data = &view;
    if (!o.json && !view.on_terminal()) {
        uv_timer_start(
            summary.get(), [](uv_timer_t* t) { static_cast<HumanView*>(t->data)->on_summary_tick(io::monotonic_now()); }, o.summary_every_s * 1000ull,
            o.summary_every_s * 1000ull);
        uv_unref(reinterpret_cast<uv_handle_t*>(summary.get()));
    } else if (!o.json) {
        uv_timer_start(
            summary.get(), [](uv_timer_t* t) { static_cast<HumanView*>(t->data)->on_refresh(io::monotonic_now()); }, 1000, 1000);
        uv_unref(reinterpret_cast<uv_handle_t*>(summary.get()));
    }
    // Metrics: the nodes' link counters every 5 s, each node's report age every second.
    io::UvHandle<uv_timer_t> ages(&loop, uv_timer_init);
    std::function<void()> refresh_ages = [&] {
        const Instant now = io::monotonic_now();
        for (NodeId n : s.mc.ring) {
            const auto at = monitor.core().last_report(n);
            out.metrics->set_report_age(n, at ? std::optional<double>(std::chrono::duration<double>(now - *at).count()) : std::nullopt);
        }
        out.metrics->set_late_reports(monitor.core().stats().late_reports);
    };
    if (out.metrics) {
        monitor.poll_nodes(std::chrono::seconds(5), [&](NodeId n, const StatusReply& r) { out.metrics->on_node_figures(n, r.values); });
        ages.get()->data = &refresh_ages;
        uv_timer_start(
            ages.get(), [](uv_timer_t* t) { (*static_cast<std::function<void()>*>(t->data))(); }, 1000, 1000);
        uv_unref(reinterpret_cast<uv_handle_t*>(ages.get()));
    }
    print_settings(s, o, out);
    io::notify_ready(fmt::format("monitor of ring '{}' at {}", s.ring.name, s.ring.monitor(monitor_index(s.mc.leadership.self)).address_text));
    uv_run(&loop, UV_RUN_DEFAULT);
    io::notify_stopping("monitor stopping");
    view.finish();
    print_totals(monitor, out);
}

}  // namespace

int main(int argc, char** argv) {
    Options options;
    if (auto rc = parse_options(argc, argv, options)) return *rc;
    io::configure_log(io::parse_log_format(options.log.format).value_or(io::LogFormat::automatic), false);
    Setup setup;
    try {
        setup = resolve(options);
    } catch (const ConfigError& e) {
        fmt::print(stderr, "monitor: {}\n", e.what());
        return 2;
    }
    const bool terminal = !options.json && isatty(STDOUT_FILENO);
    const char* no_colour = std::getenv("NO_COLOR");  // https://no-color.org: set and not empty
    HumanView view(
        {terminal, terminal && !(no_colour && *no_colour), options.verbose, TokenFreshness::stale_after_for(setup.mc.interval, setup.mc.timeout),
         io::stamps(stdout) ? std::function<std::string()>(io::iso_time_now) : std::function<std::string()>()},
        stdout);
    io::UvLoop owner;
    try {
        run(*owner.get(), setup, options, view);
    } catch (const std::exception& e) {
        fmt::print(stderr, "monitor: {}\n", e.what());
        return 1;
    }
    return 0;
}
