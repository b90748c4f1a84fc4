// `ring node` (one member) and `ring up` (every local member as a child process).
#include <algorithm>
#include <csignal>
#include <cstring>
#include <map>
#include <memory>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "ring/cli/commands.h"
#include "ring/io/clock.h"
#include "ring/io/deadline_timer.h"
#include "ring/io/drop_report.h"
#include "ring/io/hangup.h"
#include "ring/io/node_driver.h"
#include "ring/io/node_events.h"
#include "ring/io/process_group.h"
#include "ring/io/restart_backoff.h"
#include "ring/io/service_notify.h"

namespace ringwatch {

namespace {

// Stops the loop on SIGINT and SIGTERM.
struct StopOnSignals {
    io::UvHandle<uv_signal_t> sigint, sigterm;
    explicit StopOnSignals(
        uv_loop_t* loop, void (*on_signal)(uv_signal_t*, int) = [](uv_signal_t* s, int) { uv_stop(s->loop); })
        : sigint(loop, uv_signal_init), sigterm(loop, uv_signal_init) {
        uv_signal_start(sigint.get(), on_signal, SIGINT);
        uv_signal_start(sigterm.get(), on_signal, SIGTERM);
        uv_unref(sigint.base());
        uv_unref(sigterm.base());
    }
};

bool is_local(const sockaddr_storage& a) {
    if (a.ss_family == AF_INET) {
        const auto& in = reinterpret_cast<const sockaddr_in&>(a);
        if ((ntohl(in.sin_addr.s_addr) >> 24) == 127) return true;
    } else if (a.ss_family == AF_INET6) {
        const auto& in6 = reinterpret_cast<const sockaddr_in6&>(a);
        if (IN6_IS_ADDR_LOOPBACK(&in6.sin6_addr)) return true;
    }
    uv_interface_address_t* ifs = nullptr;
    int count = 0;
    if (uv_interface_addresses(&ifs, &count) != 0) return false;
    bool found = false;
    for (int i = 0; i < count && !found; ++i) {
        if (a.ss_family == AF_INET && ifs[i].address.address4.sin_family == AF_INET) {
            found = ifs[i].address.address4.sin_addr.s_addr == reinterpret_cast<const sockaddr_in&>(a).sin_addr.s_addr;
        } else if (a.ss_family == AF_INET6 && ifs[i].address.address6.sin6_family == AF_INET6) {
            found = std::memcmp(&ifs[i].address.address6.sin6_addr, &reinterpret_cast<const sockaddr_in6&>(a).sin6_addr, 16) == 0;
        }
    }
    uv_free_interface_addresses(ifs, count);
    return found;
}

// This host's addresses, as an operator reads them (loopback first, as the kernel lists them).
std::string host_addresses() {
    uv_interface_address_t* ifs = nullptr;
    int count = 0;
    if (uv_interface_addresses(&ifs, &count) != 0) return "none found";
    std::vector<std::string> names;
    for (int i = 0; i < count; ++i) {
        char text[INET6_ADDRSTRLEN] = {};
        if (ifs[i].address.address4.sin_family == AF_INET) {
            uv_ip4_name(&ifs[i].address.address4, text, sizeof text);
        } else if (ifs[i].address.address6.sin6_family == AF_INET6) {
            uv_ip6_name(&ifs[i].address.address6, text, sizeof text);
        } else {
            continue;
        }
        names.emplace_back(text);
    }
    uv_free_interface_addresses(ifs, count);
    return names.empty() ? "none found" : fmt::format("{}", fmt::join(names, ", "));
}

}  // namespace

int run_node(const std::string& config_path, std::uint16_t id, bool json, const io::LogOptions& log_options) {
    io::configure_log(io::parse_log_format(log_options.format).value_or(io::LogFormat::automatic), log_options.verbose);
    const RingConfig config = load_config(config_path);
    config.position_of(NodeId{id});  // throws ConfigError naming the ids when absent
    load_key(config);                // a bad key file is a config error, before anything starts
    if (json) io::log_to_stderr();
    io::UvLoop owner;
    uv_loop_t& loop = *owner.get();
    {
        // First, so that a hangup while the node starts (one `ring up` passes on) cannot stop it.
        io::CarryOnAfterHangup hangup(&loop, fmt::format("node {}", id));
        LinkConfig link_config;
        link_config.key = load_key(config);
        io::NodeDriver node(&loop, config, NodeId{id}, link_config, json);
        StopOnSignals stop(&loop);
        io::notify_ready(fmt::format("node {} of ring '{}' at {}", id, config.name, config.node(NodeId{id}).address_text));
        uv_run(&loop, UV_RUN_DEFAULT);
        io::notify_stopping(fmt::format("node {} stopping", id));
        const auto& t = node.node().token().stats();
        const Endpoint& endpoint = node.process().endpoint();
        const LinkStats l = endpoint.total_link_stats();
        io::Logger log(fmt::format("node {}", id));
        log.log("stopping: {} tokens passed on, {} messages sent, {} delivered; link: {} retransmits, {} duplicates dropped", t.tokens_forwarded,
                t.messages_sent, t.messages_delivered, l.retransmits, l.duplicates_dropped);
        log.log("datagrams received {}, {}", node.socket().stats().received, io::drop_report(node.socket().stats(), endpoint.stats(), l));
        if (json)
            io::write_event_line(io::node_stopped_json(NodeId{id}, io::monotonic_now(),
                                                       io::NodeStopped{.token = t,
                                                                       .links = l,
                                                                       .datagrams_received = node.socket().stats().received,
                                                                       .dropped = io::drop_counts(node.socket().stats(), endpoint.stats(), l),
                                                                       .hellos_answered = l.hellos_answered + endpoint.stats().tool_challenges,
                                                                       .probes = node.socket().stats().empty}));
    }
    return 0;
}

int run_up(const std::string& config_path, bool with_monitor, bool json, const io::LogOptions& log_options, bool restart) {
    io::configure_log(io::parse_log_format(log_options.format).value_or(io::LogFormat::automatic), log_options.verbose);
    const RingConfig config = load_config(config_path);
    load_key(config);  // a bad key file is a config error, before anything starts (each node reads it again)
    // Nothing to start here is a mistake (the wrong host, or a config written with other addresses),
    // not a ring of zero nodes. (With --with-monitor on the monitor's host, the monitor alone.)
    const bool monitor_here = with_monitor && !config.monitors.empty() && is_local(config.monitors.front().address);
    if (!monitor_here && std::none_of(config.nodes.begin(), config.nodes.end(), [](const auto& n) { return is_local(n.address); }))
        throw ConfigError(
            fmt::format("{}: none of the {} node addresses of ring '{}' is on this host (its addresses: {}); "
                        "`ring up` starts the nodes whose address is this host's",
                        config_path, config.nodes.size(), config.name, host_addresses()));
    if (json) io::log_to_stderr();  // stdout: the children's JSON events only
    const std::string dir = io::ProcessGroup::own_directory();
    io::UvLoop owner;
    uv_loop_t& loop = *owner.get();
    int rc = 0;
    {
        io::Logger log("ring up");
        static bool stop_requested = false;
        // --restart: each child's command line, back-off and pending restart.
        struct Supervised {
            std::vector<std::string> argv;
            io::RestartBackoff backoff;
            std::unique_ptr<io::DeadlineTimer> timer;
        };
        std::map<std::string, Supervised> supervised;
        io::ProcessGroup* spawner = nullptr;
        io::ProcessGroup group(
            &loop,
            [json](const std::string& name, std::string_view line) {
                if (json && line.starts_with("{")) {
                    io::write_event_line(line);  // a child's JSON event, as it is
                } else if (line.starts_with("[")) {
                    io::write_log_line(name, line.substr(line.find("] ") == std::string_view::npos ? 0 : line.find("] ") + 2));
                } else {
                    io::write_log_line(name, line);
                }
            },
            [&](const std::string& name, std::int64_t status, int signal) {
                auto said = [&](std::string_view how) {
                    if (json) io::write_event_line(io::child_exited_json(name, how, signal, status));
                };
                if (stop_requested && status == 0 && (signal == 0 || signal == SIGTERM || signal == SIGINT)) {
                    log.log("{} stopped", name);  // as asked (Ctrl-C or SIGTERM to ring up)
                    said("stopped");
                    return;
                }
                if (stop_requested && signal == SIGKILL) {
                    log.log("{} did not stop within 3 s: killed", name);
                    said("forced");
                    return;
                }
                if (signal != 0) {
                    log.log("{} was killed by signal {} ({})", name, signal, strsignal(signal));
                    said("killed");
                } else {
                    log.log("{} exited with status {}", name, status);
                    said("exited");
                }
                if (status != 0 || signal != 0) rc = 1;  // a node died on its own: say so in the exit code (restarted or not)
                if (!restart || stop_requested || !spawner) return;
                Supervised& child = supervised.at(name);
                const Duration wait = child.backoff.died(io::monotonic_now());
                log.log("{}: starting it again in {} s (restart {})", name, wait.count() / 1'000'000.0, child.backoff.restarts());
                if (json) io::write_event_line(io::child_restarting_json(name, wait, child.backoff.restarts()));
                if (!child.timer)
                    child.timer = std::make_unique<io::DeadlineTimer>(&loop, [&child, &log, name, spawner] {
                        if (stop_requested) return;
                        child.backoff.started(io::monotonic_now());
                        try {
                            spawner->spawn(name, child.argv);
                        } catch (const std::exception& e) {  // its program gone (an upgrade under way?): try again later
                            const Duration again = child.backoff.died(io::monotonic_now());
                            log.log("{}: cannot start it ({}); trying again in {} s", name, e.what(), again.count() / 1'000'000.0);
                            child.timer->arm(io::monotonic_now() + again);
                        }
                    });
                child.timer->arm(io::monotonic_now() + wait);
            });
        spawner = &group;
        auto start = [&](const std::string& name, std::vector<std::string> argv) {
            Supervised& child = supervised[name];
            child.argv = argv;
            child.backoff.started(io::monotonic_now());
            group.spawn(name, argv);
        };
        int started = 0;
        for (const auto& n : config.nodes) {
            if (!is_local(n.address)) {
                log.log("node {} at {} is not on this host: not starting it", n.id, n.address_text);
                continue;
            }
            // Plain: ring up stamps each line as it forwards it.
            std::vector<std::string> args{dir + "/ring", "node", config_path, "--id", std::to_string(n.id.value), "--log-format", "plain"};
            if (json) args.emplace_back("--json");
            if (log_options.verbose) args.emplace_back("--verbose");
            start(fmt::format("node {}", n.id), args);
            ++started;
        }
        if (with_monitor) {
            std::vector<std::string> args{io::ProcessGroup::monitor_program(), config_path, "--log-format", "plain"};
            if (json) args.emplace_back("--json");
            start("monitor", args);
        }
        log.log("started {} node(s){} of ring '{}'; {}Ctrl-C stops them all", started, with_monitor ? " and the monitor" : "", config.name,
                restart ? "one that dies is started again (after 1 s, doubling up to 30 s while it keeps dying); " : "");
        // Ctrl-C: SIGTERM to every child; any still running 3 s later gets SIGKILL.
        static io::ProcessGroup* stopping = nullptr;
        static uv_timer_t* kill_timer = nullptr;
        io::UvHandle<uv_timer_t> force(&loop, uv_timer_init);
        stopping = &group;
        kill_timer = force.get();
        static std::map<std::string, Supervised>* pending = nullptr;
        pending = &supervised;
        StopOnSignals stop(&loop, [](uv_signal_t*, int) {
            if (!stopping) return;
            stop_requested = true;
            for (auto& [name, child] : *pending)
                if (child.timer) child.timer->arm(std::nullopt);  // no restart pending keeps the loop alive
            stopping->terminate(SIGTERM);
            uv_timer_start(
                kill_timer,
                [](uv_timer_t*) {
                    if (stopping) stopping->terminate(SIGKILL);
                },
                3000, 0);
            uv_unref(reinterpret_cast<uv_handle_t*>(kill_timer));
        });
        // A hangup reaches the children too, which say so and carry on (`systemctl reload` signals ring up alone).
        io::CarryOnAfterHangup hangup(&loop, "ring up", [&group] { group.terminate(SIGHUP); });
        uv_run(&loop, UV_RUN_DEFAULT);  // ends when every child has exited and its pipes closed
        stopping = nullptr;
        kill_timer = nullptr;
        pending = nullptr;
        log.log("all stopped");
    }
    return rc;
}

}  // namespace ringwatch
