// The ring's TOML config: [ring], [monitor] (the monitors' settings, and the address of the only
// one) or several [[monitors]] tables, and one [[nodes]] table per member, in ring order (the last
// one's successor is the first). Every problem is one ConfigError naming the file, the key and
// the value; the programs print it and exit 2.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <sys/socket.h>

#include "ring/config/key_file.h"
#include "ring/core/auth.h"
#include "ring/core/recovery_mode.h"
#include "ring/core/types.h"

namespace ringwatch {

// Control characters (a newline a TOML error echoes from the file, say) are escaped: the message
// stays one line.
std::string one_line(std::string_view text);
struct ConfigError : std::runtime_error {
    explicit ConfigError(std::string_view what) : std::runtime_error(one_line(what)) {}
};

struct NodeEntry {
    NodeId id;
    std::string address_text;
    sockaddr_storage address{};
};

// One monitor process ([monitor]'s address, or one [[monitors]] table each): its id follows its
// place in the list (types.h: the first is kMonitorId), and where it serves metrics and its
// dashboard, if anywhere.
struct MonitorEntry {
    NodeId id;
    std::string address_text;
    sockaddr_storage address{};
    std::optional<std::string> metrics_address;  // HOST:PORT
    std::optional<std::string> http_address;     // HOST:PORT
};

struct RingConfig {
    std::string path;
    std::string name = "ring";
    Duration hold{std::chrono::milliseconds(20)};
    std::optional<std::string> key_file;
    // Rollback: each node keeps its saved snapshots in <state_dir>/node-<id>, to restore after a crash.
    std::optional<std::string> state_dir;
    // Without key_file, addresses beyond loopback are refused unless this is set (then every
    // program warns at start).
    bool insecure = false;
    // Every monitor, in order: each takes snapshots and judges; one at a time leads (ring/core/term.h).
    std::vector<MonitorEntry> monitors;
    // The first monitor's address (the only one's, in most configs).
    std::string monitor_address_text;
    sockaddr_storage monitor_address{};
    Duration interval{std::chrono::milliseconds(100)};
    Duration timeout{std::chrono::milliseconds(1000)};
    Duration node_timeout{std::chrono::milliseconds(1000)};  // silent this long: node_down
    // A silent node is left out of the ring (a new view) after this much silence; a node whose port
    // is closed at once. Unset (evict_after_ms = 0): never; the ring waits for a dead node. Not
    // given: 5 s, or node_timeout when that is longer.
    std::optional<Duration> evict_after{std::chrono::milliseconds(5000)};
    std::optional<std::string> metrics_address;  // the first monitor serves /metrics here (HOST:PORT)
    std::optional<std::string> http_address;     // the first monitor serves its dashboard here (HOST:PORT)
    // DNS names the dashboard answers to besides its address and localhost (lowercase), e.g. the
    // name operators reach it by through a proxy; a Host naming anything else gets 403.
    std::vector<std::string> http_names;
    RecoveryMode recover = RecoveryMode::off;  // the monitor's recovery
    std::vector<NodeEntry> nodes;

    // Throws ConfigError when the id is not in the ring.
    std::size_t position_of(NodeId id) const;
    const NodeEntry& node(NodeId id) const { return nodes[position_of(id)]; }
    const NodeEntry& predecessor(NodeId id) const { return nodes[(position_of(id) + nodes.size() - 1) % nodes.size()]; }
    const NodeEntry& successor(NodeId id) const { return nodes[(position_of(id) + 1) % nodes.size()]; }
    std::vector<NodeId> ring() const;
    std::vector<NodeId> monitor_ids() const;
    // Throws ConfigError when the config names no monitor of that index.
    const MonitorEntry& monitor(std::size_t index) const;
    // insecure = true let through a config whose datagrams anyone on the network could forge.
    bool unauthenticated_beyond_loopback() const;
    // The warning every program prints at start for such a config (empty otherwise).
    std::string insecure_warning() const;
};

bool is_loopback(const sockaddr_storage& a);
RingConfig load_config(const std::string& path);
// A path the config names, relative to the config's directory unless absolute.
std::string config_relative(const RingConfig& config, const std::string& path);
// The ring's shared key when the config names a key_file (relative to the config's directory):
// 64 hex digits. Throws ConfigError naming the config, the key file and the problem.
std::optional<AuthKey> load_key(const RingConfig& config);
// The configured key_file resolved against the config's directory ("" without one).
std::string key_path(const RingConfig& config);
RingConfig parse_config(const std::string& text, const std::string& path);

}  // namespace ringwatch
