// The `ring` program's subcommands; each returns the process exit code (0 ok, 1 runtime failure,
// 2 bad config or arguments) and prints its own one-line errors.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "ring/io/cli.h"

namespace ringwatch {

// json: events as JSON lines on stdout (ring/io/node_events.h), log lines on stderr.
// log: --log-format and --verbose (ring up passes --verbose on to its nodes, which log plain: it
// stamps their lines as it forwards them).
int run_node(const std::string& config_path, std::uint16_t id, bool json = false, const io::LogOptions& log = {});
// restart: a child that dies is started again, with a back-off (restart_backoff.h).
int run_up(const std::string& config_path, bool with_monitor, bool json = false, const io::LogOptions& log = {}, bool restart = false);

struct InjectOptions {
    std::string config_path;
    std::uint16_t node = 0;
    std::string fault;  // lose | duplicate | "" when only link impairment is asked
    std::optional<double> link_loss, link_dup;
    std::optional<std::uint32_t> link_delay_ms;
};
int run_inject(const InjectOptions& o);
int run_send(const std::string& config_path, std::uint16_t from, std::uint16_t to, const std::string& text);
struct DemoOptions {
    bool web = false;  // with the dashboard, running until Ctrl-C
    std::string http;  // where the dashboard listens (empty: 127.0.0.1:8080 or a free port)
};
int run_ring_demo(const DemoOptions& options);
int run_recover(const std::string& config_path, const std::string& mode);
int run_keygen(const std::string& path);
int run_rekey(const std::string& config_path, const std::string& new_key_path);
// `watch` > 0: again every that many seconds, until interrupted.
int run_status(const std::string& config_path, bool json, double watch = 0);

}  // namespace ringwatch
