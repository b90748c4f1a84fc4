// `ring demo`: a 5-node ring and its monitor (recovering by purge and reissue) as real processes on
// 127.0.0.1 (free ports, a config written to a temporary directory), and a script: let it run
// healthy; send a message and make the token carrying it disappear; watch the monitor's alarm, its
// recovery (a new epoch, one new token) and the message arrive anyway; then inject a duplication
// and watch it repaired the same way. Exits 0 when every step was seen, 1 (naming the step) otherwise.
// With --web the monitor also serves its dashboard; the script runs the same, and then the ring keeps
// running (faults injected from the page) until Ctrl-C.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <utility>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ring/cli/commands.h"
#include "ring/config/ring_config.h"
#include "ring/io/process_group.h"
#include "ring/io/tool_client.h"

namespace ringwatch {

namespace {

constexpr int kNodes = 5;
constexpr std::uint64_t kDemoTimeoutMs = 40'000;

// A TCP port to offer the dashboard: 8080 when it is free, else one the kernel picks.
int dashboard_port() {
    for (int want : {8080, 0}) {
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) break;
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(static_cast<std::uint16_t>(want));
        socklen_t size = sizeof a;
        const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), size) == 0 && ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &size) == 0;
        ::close(fd);
        if (ok) return ntohs(a.sin_port);
    }
    return 8080;
}

int free_port() {
    io::UvLoop loop;
    io::UdpSocket s(loop.get(), *io::parse_address("127.0.0.1:0"), [](auto, auto) {});
    const sockaddr_storage a = s.local_address();
    return ntohs(reinterpret_cast<const sockaddr_in&>(a).sin_port);
}

// One key of a monitor event as text: a string as it is, anything else as its JSON ("" when absent).
std::string field(const nlohmann::json& event, const char* key) {
    const auto it = event.find(key);
    if (it == event.end()) return {};
    return it->is_string() ? it->get<std::string>() : it->dump();
}

struct Demo {
    enum Step { healthy, losing, recovering_loss, duplicating, recovering_duplicate, done };
    uv_loop_t* loop = nullptr;
    RingConfig config;
    io::ProcessGroup* group = nullptr;
    Step step = healthy;
    int ok_seen = 0;
    int ok_total = 0;
    std::unique_ptr<io::ToolClient> tool;
    bool failed = false;
    std::string failure;

    bool web = false;       // --web: the ring keeps running once the script is done
    bool stopping = false;  // Ctrl-C
    bool message_delivered = false;
    std::function<void()> after_ack;

    void command(NodeId node, Message m, const std::string& what, std::function<void()> then = {}) {
        fmt::print("[demo] {}\n", what);
        // The previous command's client is done (acknowledged); replacing it here is safe, we are
        // in the monitor's output callback, not in the client's.
        tool = std::make_unique<io::ToolClient>(loop, node, config.node(node).address);
        tool->unref();
        tool->command(std::move(m), std::chrono::seconds(3), [this, node, then = std::move(then)](std::optional<bool> ack) {
            if (!ack || !*ack) return fail(fmt::format("node {} did not acknowledge the command", node));
            // Not from inside the client's own callback (the next command replaces the client):
            // at the monitor's next line.
            after_ack = then;
        });
    }
    void fail(const std::string& why) {
        if (failed || step == done) return;
        failed = true;
        failure = why;
        group->terminate(SIGTERM);
    }
    void on_event(std::string_view raw) {
        if (after_ack) std::exchange(after_ack, {})();
        const nlohmann::json line = nlohmann::json::parse(raw, nullptr, /*allow_exceptions=*/false);
        if (!line.is_object()) return;  // not an event (a line the monitor did not mean as JSON)
        const std::string verdict = field(line, "verdict");
        const std::string event = field(line, "event");
        if (event == "alarm") {
            fmt::print("[monitor] ALARM {}: snapshot {} counted {} token(s); holders {}, channels {}\n", field(line, "kind"), field(line, "snapshot"),
                       field(line, "tokens"), field(line, "holders"), field(line, "channels"));
            return;
        }
        if (event == "recovery") {
            fmt::print("[monitor] RECOVERY {}: epoch {}, older tokens purged everywhere, node {} issues one new token\n", field(line, "mode"),
                       field(line, "epoch"), field(line, "issuer"));
            return;
        }
        if (event == "recovered") {
            fmt::print("[monitor] RECOVERED: epoch {} has exactly one token, {} ms after the alarm\n", field(line, "epoch"),
                       field(line, "since_alarm_ms"));
            on_recovered();
            return;
        }
        if (event == "resolved") {
            fmt::print("[monitor] RESOLVED {} ({})\n", field(line, "kind"), field(line, "how"));
            return;
        }
        if (event != "snapshot") return;
        if (verdict == "ok") {
            ++ok_seen;
            if (++ok_total % 10 == 0) fmt::print("[monitor] {} snapshots ok so far (1 token)\n", ok_total);
        } else if (verdict == "inconclusive" && line.contains("first_token")) {
            fmt::print("[monitor] snapshot {}: a fresh ring, no node has an epoch; the monitor orders its first token (epoch {}, at node {})\n",
                       field(line, "id"), field(line["first_token"], "epoch"), field(line["first_token"], "issuer"));
        } else if (verdict == "inconclusive" && !line.value("forming", false)) {
            fmt::print("[monitor] snapshot {} inconclusive (missing {})\n", field(line, "id"), field(line, "missing"));
        }
        if (step == healthy && ok_seen >= 15) {
            // A message sent while the token is being lost: it rides the doomed token (and goes round
            // again after the purge) or waits for the new one; either way it arrives once.
            step = losing;
            command(NodeId{2}, InjectCommand{0, InjectKind::lose}, "injecting a token loss at node 2 (it drops the next token it gets)", [this] {
                const std::string text = "hello from node 1, sent during the loss";
                command(NodeId{1}, SendCommand{0, NodeId{4}, Bytes(text.begin(), text.end())}, "sending a message from node 1 to node 4 meanwhile");
            });
        } else if (step == recovering_loss && ok_seen >= 10 && message_delivered) {
            step = duplicating;
            command(NodeId{3}, InjectCommand{0, InjectKind::duplicate}, "injecting a duplication at node 3 (it passes the next token on twice)");
        } else if (step == recovering_duplicate && ok_seen >= 10) {
            step = done;
            if (web) {
                fmt::print(
                    "[demo] both faults caught and repaired, the message delivered. The ring keeps running: inject faults from the "
                    "dashboard; Ctrl-C stops it.\n");
                return;
            }
            fmt::print("[demo] both faults caught and repaired, the message delivered. Stopping the ring.\n");
            group->terminate(SIGTERM);
        }
    }
    void on_recovered() {
        ok_seen = 0;
        if (step == losing) step = recovering_loss;
        if (step == duplicating) step = recovering_duplicate;
    }
    // A node's JSON event (ring node --json): the script waits for the message's delivery.
    void on_node_event(std::string_view line) {
        const auto e = nlohmann::json::parse(line, nullptr, false);
        if (!e.is_discarded() && field(e, "event") == "delivered") message_delivered = true;
    }
};

}  // namespace

int run_ring_demo(const DemoOptions& options) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);  // a story told line by line, also into a pipe or a file
    char dir_template[] = "/tmp/ringwatch-demo-XXXXXX";
    const char* dir = mkdtemp(dir_template);
    if (!dir) {
        fmt::print(stderr, "ring demo: mkdtemp /tmp/ringwatch-demo-XXXXXX: {}\n", std::strerror(errno));
        return 1;
    }
    const std::string config_path = fmt::format("{}/demo.toml", dir);
    {
        std::ofstream f(config_path);
        f << "# written by `ring demo`\n[ring]\nname = \"demo\"\nhold_ms = 20\n\n[monitor]\n"
          << fmt::format("address = \"127.0.0.1:{}\"\ninterval_ms = 100\ntimeout_ms = 1000\n", free_port());
        for (int i = 0; i < kNodes; ++i) f << fmt::format("\n[[nodes]]\nid = {}\naddress = \"127.0.0.1:{}\"\n", i, free_port());
    }
    const RingConfig config = load_config(config_path);
    fmt::print("[demo] a {}-node ring and its monitor on 127.0.0.1, as separate processes (config: {})\n", kNodes, config_path);
    fmt::print("[demo] the token is held {} ms per node; a snapshot starts every {} ms\n", config.hold.count() / 1000,
               config.interval.count() / 1000);

    io::UvLoop owner;
    uv_loop_t& loop = *owner.get();
    Demo demo;
    demo.loop = &loop;
    demo.config = config;
    demo.web = options.web;
    const std::string http = options.http.empty() ? fmt::format("127.0.0.1:{}", dashboard_port()) : options.http;
    int rc = 0;
    {
        const std::string bin = io::ProcessGroup::own_directory();
        io::ProcessGroup group(
            &loop,
            [&](const std::string& name, std::string_view line) {
                if (name == "monitor") {
                    if (line.starts_with("{")) {
                        demo.on_event(line);
                    } else if (line.starts_with("dashboard at ")) {
                        fmt::print("[demo] the dashboard: {}  (open it in a browser; the link carries the controls' secret)\n", line.substr(13));
                    } else {
                        fmt::print("[monitor] {}\n", line);
                    }
                    return;
                }
                if (line.starts_with("{")) return demo.on_node_event(line);
                // Node logs: show what matters to a newcomer, not every link event.
                for (std::string_view shown : {"fault injected", "made a new token", "queued again", "delivered message", "error"}) {
                    if (line.find(shown) != std::string_view::npos) {
                        fmt::print("{}\n", line);
                        break;
                    }
                }
            },
            [&](const std::string& name, std::int64_t status, int signal) {
                if (demo.step != Demo::done && !demo.failed && !demo.stopping)
                    demo.fail(fmt::format("{} stopped early (status {}, signal {})", name, status, signal));
            });
        demo.group = &group;
        for (const auto& n : config.nodes)
            group.spawn(fmt::format("node {}", n.id),
                        {bin + "/ring", "node", config_path, "--id", std::to_string(n.id.value), "--json", "--log-format", "plain"});
        std::vector<std::string> monitor_args{
            io::ProcessGroup::monitor_program(), config_path, "--json", "--recover", "regenerate", "--log-format", "plain"};
        if (options.web) monitor_args.insert(monitor_args.end(), {"--http", http});
        group.spawn("monitor", monitor_args);
        // --web runs until Ctrl-C: the ring is stopped, and its processes ending is no failure.
        io::UvHandle<uv_signal_t> sigint(&loop, uv_signal_init), sigterm(&loop, uv_signal_init);
        sigint.get()->data = sigterm.get()->data = &demo;
        if (options.web) {
            auto stop = [](uv_signal_t* s, int) {
                auto* d = static_cast<Demo*>(s->data);
                if (d->stopping) return;
                d->stopping = true;
                fmt::print("[demo] stopping the ring\n");
                d->group->terminate(SIGTERM);
            };
            uv_signal_start(sigint.get(), stop, SIGINT);
            uv_signal_start(sigterm.get(), stop, SIGTERM);
            uv_unref(reinterpret_cast<uv_handle_t*>(sigint.get()));
            uv_unref(reinterpret_cast<uv_handle_t*>(sigterm.get()));
        }
        io::UvHandle<uv_timer_t> guard(&loop, uv_timer_init);
        guard.get()->data = &demo;
        uv_timer_start(
            guard.get(),
            [](uv_timer_t* t) {
                auto* d = static_cast<Demo*>(t->data);
                if (d) d->fail(fmt::format("timed out after {} s waiting for step {}", kDemoTimeoutMs / 1000, static_cast<int>(d->step)));
            },
            kDemoTimeoutMs, 0);
        uv_unref(guard.base());
        uv_run(&loop, UV_RUN_DEFAULT);
        demo.tool.reset();
        if (demo.failed) {
            fmt::print(stderr, "ring demo: {}\n", demo.failure);
            rc = 1;
        } else if (demo.step != Demo::done) {
            fmt::print("[demo] stopped before the script was done\n");
        } else {
            fmt::print(
                "[demo] done: a loss and a duplication, each caught by one alarm and repaired by one recovery (a new epoch, one new "
                "token); the message sent during the loss arrived.\n");
        }
    }
    std::remove(config_path.c_str());
    std::remove(dir);
    return rc;
}

}  // namespace ringwatch
