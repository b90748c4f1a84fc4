// `ring demo`: a 5-node ring and its monitor as real processes on 127.0.0.1 (free ports, a config
// written to a temporary directory), and a script: let it run healthy, inject a token loss and wait
// for the monitor's token_lost alarm, reissue a token, inject a duplication and wait for the
// token_duplicated alarm. Exits 0 when every step was seen, 1 (naming the step) otherwise.
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

#include "ring/commands.h"
#include "ring/config/ring_config.h"
#include "ring/io/process_group.h"
#include "ring/io/tool_client.h"

namespace ringwatch {

namespace {

constexpr int kNodes = 5;
constexpr std::uint64_t kDemoTimeoutMs = 40'000;

int free_port() {
    io::UvLoop loop;
    io::UdpSocket s(loop.get(), *io::parse_address("127.0.0.1:0"), [](auto, auto) {});
    const sockaddr_storage a = s.local_address();
    return ntohs(reinterpret_cast<const sockaddr_in&>(a).sin_port);
}

std::string field(std::string_view json, std::string_view key) {
    const std::string k = fmt::format("\"{}\":", key);
    auto p = json.find(k);
    if (p == std::string_view::npos) return {};
    p += k.size();
    if (p >= json.size()) return {};
    // Arrays (holders, channels) hold no nested arrays: they end at the first ']'.
    auto e = json.find_first_of(",}", json[p] == '[' ? json.find(']', p) : p);
    std::string v(json.substr(p, e - p));
    if (v.size() >= 2 && v.front() == '"') v = v.substr(1, v.size() - 2);
    return v;
}

struct Demo {
    enum Step { healthy, losing, reissuing, duplicating, done };
    uv_loop_t* loop = nullptr;
    RingConfig config;
    io::ProcessGroup* group = nullptr;
    Step step = healthy;
    int ok_seen = 0;
    int ok_total = 0;
    std::unique_ptr<io::ToolClient> tool;
    bool failed = false;
    std::string failure;

    void command(NodeId node, Message m, const std::string& what) {
        fmt::print("[demo] {}\n", what);
        // The previous command's client is done (acknowledged); replacing it here is safe, we are
        // in the monitor's output callback, not in the client's.
        tool = std::make_unique<io::ToolClient>(loop, node, config.node(node).address);
        tool->unref();
        tool->command(std::move(m), std::chrono::seconds(3), [this, node](std::optional<bool> ack) {
            if (!ack || !*ack) fail(fmt::format("node {} did not acknowledge the command", node));
        });
    }
    void fail(const std::string& why) {
        if (failed || step == done) return;
        failed = true;
        failure = why;
        group->terminate(SIGTERM);
    }
    void on_verdict(std::string_view line) {
        const std::string verdict = field(line, "verdict");
        const std::string event = field(line, "event");
        if (event != "snapshot") return;  // alarm events repeat what the snapshot event says
        if (verdict == "token_lost" || verdict == "token_duplicated") {
            fmt::print("[monitor] ALARM {}: snapshot {} counted {} token(s); holders {}, channels {}\n", verdict, field(line, "id"),
                       field(line, "tokens"), field(line, "holders"), field(line, "channels"));
        }
        if (verdict == "ok") {
            ++ok_seen;
            if (++ok_total % 10 == 0) fmt::print("[monitor] {} snapshots ok so far (1 token)\n", ok_total);
        } else if (verdict == "inconclusive") {
            fmt::print("[monitor] snapshot {} inconclusive (missing {})\n", field(line, "id"), field(line, "missing"));
        }
        switch (step) {
            case healthy:
                if (ok_seen >= 15) {
                    step = losing;
                    command(NodeId{2}, InjectCommand{0, InjectKind::lose}, "injecting a token loss at node 2 (it drops the next token it gets)");
                }
                break;
            case losing:
                if (verdict == "token_lost") {
                    step = reissuing;
                    ok_seen = 0;
                    command(config.nodes[0].id, ReissueCommand{0, Epoch{2}}, "the monitor caught the loss; reissuing a token (epoch 2) at node 0");
                }
                break;
            case reissuing:
                if (ok_seen >= 10) {
                    step = duplicating;
                    command(NodeId{3}, InjectCommand{0, InjectKind::duplicate},
                            "ring healthy again; injecting a duplication at node 3 (it passes the next token on twice)");
                }
                break;
            case duplicating:
                if (verdict == "token_duplicated") {
                    step = done;
                    fmt::print("[demo] the monitor caught the duplication: every fault was seen. Stopping the ring.\n");
                    group->terminate(SIGTERM);
                }
                break;
            case done: break;
        }
    }
};

}  // namespace

int run_ring_demo() {
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
    fmt::print("[demo] the token is held {} ms per node; a snapshot starts every {} ms\n", config.hold.count() / 1000, config.interval.count() / 1000);

    io::UvLoop owner;
    uv_loop_t& loop = *owner.get();
    Demo demo;
    demo.loop = &loop;
    demo.config = config;
    int rc = 0;
    {
        const std::string bin = io::ProcessGroup::own_directory();
        io::ProcessGroup group(
            &loop,
            [&](const std::string& name, std::string_view line) {
                if (name == "monitor") {
                    if (line.starts_with("{")) {
                        demo.on_verdict(line);
                    } else {
                        fmt::print("[monitor] {}\n", line);
                    }
                    return;
                }
                // Node logs: show what matters to a newcomer, not every link event.
                if (line.find("fault injected") != std::string_view::npos || line.find("making its first token") != std::string_view::npos ||
                    line.find("error") != std::string_view::npos) {
                    fmt::print("{}\n", line);
                }
            },
            [&](const std::string& name, std::int64_t status, int signal) {
                if (demo.step != Demo::done && !demo.failed) demo.fail(fmt::format("{} stopped early (status {}, signal {})", name, status, signal));
            });
        demo.group = &group;
        for (const auto& n : config.nodes) group.spawn(fmt::format("node {}", n.id), {bin + "/ring", "node", config_path, "--id", std::to_string(n.id.value)});
        group.spawn("monitor", {bin + "/monitor", config_path, "--json"});
        io::UvHandle<uv_timer_t> guard(&loop, uv_timer_init);
        guard.get()->data = &demo;
        uv_timer_start(guard.get(), [](uv_timer_t* t) {
            auto* d = static_cast<Demo*>(t->data);
            if (d) d->fail(fmt::format("timed out after {} s waiting for step {}", kDemoTimeoutMs / 1000, static_cast<int>(d->step)));
        }, kDemoTimeoutMs, 0);
        uv_unref(guard.base());
        uv_run(&loop, UV_RUN_DEFAULT);
        demo.tool.reset();
        if (demo.failed) {
            fmt::print(stderr, "ring demo: {}\n", demo.failure);
            rc = 1;
        } else {
            fmt::print("[demo] done: ok snapshots, then a token_lost alarm, then a token_duplicated alarm, as injected.\n");
        }
    }
    std::remove(config_path.c_str());
    std::remove(dir);
    return rc;
}

}  // namespace ringwatch
