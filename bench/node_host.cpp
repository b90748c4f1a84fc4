// Many ring members in one process, for the 64-node analysis (bench/snapshot_scale_bench.py): the
// same NodeDriver `ring node` runs, several per event loop, one loop per thread. 64 members on 2
// loops make 2 runnable threads instead of 64 processes, so what the snapshot costs apart from the
// scheduler can be seen. Not a way to run a ring: a member's failure here takes its neighbours.
//
// Usage: node_host CONFIG --ids FIRST-LAST [--loops L]     (stops on SIGINT or SIGTERM)
#include <csignal>
#include <memory>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "ring/config/ring_config.h"
#include "ring/io/log.h"
#include "ring/io/node_driver.h"

using namespace ringwatch;

namespace {

// One event loop and its members; stopped from another thread by an async handle.
class Host {
public:
    Host(const RingConfig& config, const std::vector<NodeId>& ids, const LinkConfig& link) : stop_(loop_.get(), uv_async_init, on_stop) {
        for (NodeId id : ids) nodes_.push_back(std::make_unique<io::NodeDriver>(loop_.get(), config, id, link));
    }
    void run() { uv_run(loop_.get(), UV_RUN_DEFAULT); }
    void stop() { uv_async_send(stop_.get()); }
    ~Host() {
        nodes_.clear();
        stop_.reset();
    }

private:
    static void on_stop(uv_async_t* h) { uv_stop(h->loop); }
    io::UvLoop loop_;
    io::UvHandle<uv_async_t> stop_;
    std::vector<std::unique_ptr<io::NodeDriver>> nodes_;
};

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"node_host: several ring members in one process, one event loop per thread (a benchmark's tool)"};
    std::string config_path, range;
    unsigned loops = 1;
    app.add_option("config", config_path, "the ring's TOML config")->required()->check(CLI::ExistingFile);
    app.add_option("--ids", range, "the members to run, FIRST-LAST (inclusive)")->required();
    app.add_option("--loops", loops, "event loops (threads) to spread them over")->check(CLI::Range(1u, 1024u));
    CLI11_PARSE(app, argc, argv);
    try {
        const RingConfig config = load_config(config_path);
        unsigned first = 0, last = 0;
        if (std::sscanf(range.c_str(), "%u-%u", &first, &last) != 2 || first > last)
            throw std::runtime_error(fmt::format("--ids {}: not FIRST-LAST", range));
        LinkConfig link;
        link.key = load_key(config);
        io::configure_log(io::LogFormat::plain, false);
        // Block the stop signals in every thread; the main thread waits for them below.
        sigset_t stop_signals;
        sigemptyset(&stop_signals);
        sigaddset(&stop_signals, SIGINT);
        sigaddset(&stop_signals, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
        std::vector<std::vector<NodeId>> shares(loops);
        for (unsigned id = first; id <= last; ++id) shares[(id - first) % loops].push_back(NodeId{static_cast<std::uint16_t>(id)});
        std::vector<std::unique_ptr<Host>> hosts;
        for (const auto& share : shares) hosts.push_back(std::make_unique<Host>(config, share, link));
        std::vector<std::thread> threads;
        for (auto& h : hosts) threads.emplace_back([&h] { h->run(); });
        int sig = 0;
        sigwait(&stop_signals, &sig);
        for (auto& h : hosts) h->stop();
        for (auto& t : threads) t.join();
        hosts.clear();
    } catch (const std::exception& e) {
        fmt::print(stderr, "node_host: {}\n", e.what());
        return 2;
    }
    return 0;
}
