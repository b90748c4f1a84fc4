// The `ring` program: one command line, one subcommand per job.
#include <CLI/CLI.hpp>

#include <functional>
#include <utility>

#include <fmt/format.h>

#include "ring/cli/commands.h"
#include "ring/cli/link_demo.h"
#include "ring/config/ring_config.h"
#include "ring/io/cli.h"

int main(int argc, char** argv) {
    using namespace ringwatch;
    CLI::App app{"ring: a token ring over UDP-backed sequenced FIFO links, with fault injection"};
    app.require_subcommand(1);

    std::string config;
    std::uint16_t id = 0;
    bool json = false;
    auto* node = app.add_subcommand("node", "run one ring member (what `ring up` starts)");
    node->add_option("config", config, "ring config (TOML)")->required();
    node->add_option("--id", id, "this node's id in the config")->required();
    node->add_flag("--json", json,
                   "events as JSON lines on stdout (delivered, fault taken effect, token made, epoch, links, stopped); log lines on stderr");
    io::LogOptions log;
    io::add_log_options(*node, log);

    bool with_monitor = false;
    auto* up = app.add_subcommand("up", "start every node of the ring whose address is on this host, and supervise them");
    up->add_option("config", config, "ring config (TOML)")->required();
    up->add_flag("--with-monitor", with_monitor, "also start the monitor");
    up->add_flag("--json", json, "every node's (and the monitor's) events as JSON lines on stdout; log lines on stderr");
    io::add_log_options(*up, log);
    bool restart = false;
    up->add_flag("--restart", restart,
                 "start a child that dies again, after 1 s, doubling up to 30 s while it keeps dying soon after its start (back to 1 s once "
                 "it has run a minute); exit 1 at the end still says one died");

    InjectOptions inj;
    auto* inject = app.add_subcommand("inject", "inject a token fault at a node, or impair its outgoing datagrams");
    inject->add_option("config", inj.config_path, "ring config (TOML)")->required();
    inject->add_option("--node", inj.node, "the node")->required();
    inject->add_option("fault", inj.fault, "lose (drop the next token) or duplicate (pass the next token on twice)")
        ->check(CLI::IsMember({"lose", "duplicate"}));
    inject->add_option("--link-loss", inj.link_loss, "drop this share of the node's outgoing datagrams (0..0.9)")->check(CLI::Range(0.0, 0.9));
    inject->add_option("--link-dup", inj.link_dup, "duplicate this share of them (0..0.9)")->check(CLI::Range(0.0, 0.9));
    inject->add_option("--link-delay", inj.link_delay_ms, "delay each by this many ms")->check(CLI::Range(0, 10'000));

    std::uint16_t from = 0, to = 0;
    std::string text;
    auto* send = app.add_subcommand("send", "queue an application message at a node; a busy token carries it");
    send->add_option("config", config, "ring config (TOML)")->required();
    send->add_option("--from", from, "sending node")->required();
    send->add_option("--to", to, "destination node")->required();
    send->add_option("text", text, "the message (up to 1024 bytes)")->required();

    std::string recover_mode = "regenerate";
    auto* recover = app.add_subcommand("recover", "recover the ring now: ask the running monitor, or with none running, regenerate by hand");
    recover->add_option("config", config, "ring config (TOML)")->required();
    recover
        ->add_option("--mode", recover_mode,
                     "regenerate (purge, one new token) or rollback (restore the newest snapshot judged ok; needs the monitor)")
        ->capture_default_str()
        ->check(CLI::IsMember({"regenerate", "rollback"}));

    DemoOptions demo;
    auto* demo_cmd = app.add_subcommand("demo", "a 5-node ring and its monitor on 127.0.0.1 with scripted faults; ends by itself");
    demo_cmd->add_flag("--web", demo.web, "with the live dashboard: print its URL and keep the ring running until Ctrl-C");
    demo_cmd->add_option("--http", demo.http, "--web: where the dashboard listens (default: 127.0.0.1:8080, or a free port if that is taken)");

    std::string key_path;
    auto* keygen = app.add_subcommand("keygen", "write a new shared key that authenticates the ring's datagrams");
    keygen->add_option("file", key_path, "where to write it (never overwritten)")->required();

    std::string new_key;
    auto* rekey = app.add_subcommand("rekey", "rotate the running ring's key: every node and the monitor switch to NEWKEY, with no stop");
    rekey->add_option("config", config, "ring config (TOML) whose key_file is rewritten with the new key")->required();
    rekey->add_option("newkey", new_key, "the new key (ring keygen NEWKEY), readable by every node at the same absolute path")->required();

    bool status_json = false;
    double status_watch = 0;
    auto* status =
        app.add_subcommand("status",
                           "ask every node and the monitor how they are doing (one table); exit 0: all well, 1: a node or monitor does not answer, "
                           "3: a token incident is open");
    status->add_option("config", config, "ring config (TOML)")->required();
    status->add_flag("--json", status_json, "one JSON object instead of the table");
    status->add_option("--watch", status_watch, "ask again every this many seconds, until Ctrl-C (--watch alone: every 2 s)")
        ->expected(0, 1)
        ->default_str("2")
        ->check(CLI::Range(1.0, 3600.0));  // each round's tool links hold a slot for 1 s: no faster than that

    LinkDemoOptions link_demo;
    auto* ld = app.add_subcommand("link-demo", "two links streaming over a lossy 127.0.0.1 network, repaired");
    ld->add_option("--messages", link_demo.messages, "messages to send")->capture_default_str()->check(CLI::Range(1, 100'000'000));
    ld->add_option("--loss", link_demo.loss, "chance each datagram is dropped")->capture_default_str()->check(CLI::Range(0.0, 0.9));
    ld->add_option("--dup", link_demo.duplicate, "chance each datagram is duplicated")->capture_default_str()->check(CLI::Range(0.0, 0.9));
    ld->add_option("--reorder", link_demo.reorder, "chance each datagram is delayed past later ones")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 0.9));

    if (auto rc = io::parse_command_line(app, argc, argv, "ring")) return *rc;
    if (*inject && inj.fault.empty() && !inj.link_loss && !inj.link_dup && !inj.link_delay_ms) {
        fmt::print(stderr, "ring inject: name a fault (lose, duplicate) or a link impairment (--link-loss, --link-dup, --link-delay)\n");
        return 2;
    }
    if (*demo_cmd && !demo.web && !demo.http.empty()) {
        fmt::print(stderr, "ring demo: --http needs --web\n");
        return 2;
    }
    // Exactly one subcommand was given (parse_command_line checked): run it.
    const std::pair<const CLI::App*, std::function<int()>> commands[] = {
        {node, [&] { return run_node(config, id, json, log); }},
        {up, [&] { return run_up(config, with_monitor, json, log, restart); }},
        {inject, [&] { return run_inject(inj); }},
        {send, [&] { return run_send(config, from, to, text); }},
        {recover, [&] { return run_recover(config, recover_mode); }},
        {demo_cmd, [&] { return run_ring_demo(demo); }},
        {keygen, [&] { return run_keygen(key_path); }},
        {rekey, [&] { return run_rekey(config, new_key); }},
        {status, [&] { return run_status(config, status_json, status->count("--watch") > 0 ? std::max(status_watch, 1.0) : 0.0); }},
        {ld, [&] { return run_link_demo(link_demo); }},
    };
    try {
        for (const auto& [command, run] : commands)
            if (command->parsed()) return run();
        fmt::print(stderr, "ring: no command to run\n");  // a subcommand added without its entry above
        return 2;
    } catch (const ConfigError& e) {
        fmt::print(stderr, "ring: {}\n", e.what());
        return 2;
    } catch (const std::exception& e) {
        fmt::print(stderr, "ring: {}\n", e.what());
        return 1;
    }
}
