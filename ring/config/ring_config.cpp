// Reads and validates ring configs with toml++.
#include "ring/config/ring_config.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>

#include <fcntl.h>
#include <unistd.h>
#include <uv.h>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <toml++/toml.h>

#include "ring/core/messages.h"
#include "ring/io/address.h"
#include "ring/io/small_file.h"

namespace ringwatch {

std::string one_line(std::string_view text) {
    std::string out;
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (ch == '\n')
            out += "\\n";
        else if (c < 0x20 || c == 0x7f)
            out += fmt::format("\\x{:02x}", c);
        else
            out += ch;
    }
    return out;
}

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) { throw ConfigError(fmt::format("{}: {}", path, what)); }

std::string where(const toml::node& n) { return fmt::format("line {}", n.source().begin.line); }

void reject_unknown(const std::string& path, const toml::table& t, const std::string& table, std::initializer_list<std::string_view> known) {
    for (auto&& [k, v] : t) {
        bool ok = false;
        for (auto name : known) ok |= k.str() == name;
        if (!ok) fail(path, fmt::format("{}: unknown key '{}{}' ({})", where(v), table.empty() ? "" : table + ".", k.str(), fmt::join(known, ", ")));
    }
}

std::int64_t integer(const std::string& path, const toml::table& t, const std::string& table, std::string_view key, std::int64_t lo, std::int64_t hi,
                     std::optional<std::int64_t> fallback) {
    const toml::node* n = t.get(key);
    if (!n) {
        if (fallback) return *fallback;
        fail(path, fmt::format("missing key '{}.{}'", table, key));
    }
    // Ask is_integer() first: toml++'s value<int64_t>() on a float casts it, which is undefined
    // for a float beyond int64's range (fuzz_config found `interval_ms = 2.2e123`).
    if (!n->is_integer()) fail(path, fmt::format("{}: '{}.{}' must be an integer", where(*n), table, key));
    const std::int64_t* v = &n->as_integer()->get();
    if (*v < lo || *v > hi) fail(path, fmt::format("{}: '{}.{}' = {} is out of range ({}..{})", where(*n), table, key, *v, lo, hi));
    return *v;
}

std::string string(const std::string& path, const toml::table& t, const std::string& table, std::string_view key, bool required) {
    const toml::node* n = t.get(key);
    if (!n) {
        if (required) fail(path, fmt::format("missing key '{}.{}'", table, key));
        return {};
    }
    if (!n->is_string()) fail(path, fmt::format("{}: '{}.{}' must be a string", where(*n), table, key));
    return std::string(*n->value<std::string>());
}

sockaddr_storage address(const std::string& path, const std::string& key, const std::string& text, const toml::node& n) {
    auto a = io::parse_address(text);
    if (!a) fail(path, fmt::format("{}: '{}' = \"{}\" is not an address (host:port, e.g. 127.0.0.1:7101 or [::1]:7101)", where(n), key, text));
    // Port 0 binds wherever the kernel likes: no peer, scraper or browser could find it.
    if (io::port_of(*a) == 0) fail(path, fmt::format("{}: '{}' = \"{}\" has port 0; name the port it must listen on", where(n), key, text));
    return *a;
}

}  // namespace

bool is_loopback(const sockaddr_storage& a) {
    if (a.ss_family == AF_INET) return (ntohl(reinterpret_cast<const sockaddr_in&>(a).sin_addr.s_addr) >> 24) == 127;
    if (a.ss_family == AF_INET6) return IN6_IS_ADDR_LOOPBACK(&reinterpret_cast<const sockaddr_in6&>(a).sin6_addr);
    return false;
}

bool RingConfig::unauthenticated_beyond_loopback() const {
    if (key_file) return false;
    if (std::any_of(monitors.begin(), monitors.end(), [](const MonitorEntry& m) { return !is_loopback(m.address); })) return true;
    return std::any_of(nodes.begin(), nodes.end(), [](const NodeEntry& n) { return !is_loopback(n.address); });
}

std::vector<NodeId> RingConfig::monitor_ids() const {
    std::vector<NodeId> ids;
    for (const auto& m : monitors) ids.push_back(m.id);
    return ids;
}

const MonitorEntry& RingConfig::monitor(std::size_t index) const {
    if (index >= monitors.size())
        throw ConfigError(
            fmt::format("{}: there is no monitor {} (the config names {}: 0 to {})", path, index, monitors.size(), monitors.size() - 1));
    return monitors[index];
}

std::string RingConfig::insecure_warning() const {
    if (!unauthenticated_beyond_loopback()) return {};
    return fmt::format(
        "WARNING: ring '{}' has no key_file and addresses beyond loopback (ring.insecure = true): anyone who can reach "
        "them can forge its datagrams and command it",
        name);
}

std::size_t RingConfig::position_of(NodeId id) const {
    for (std::size_t i = 0; i < nodes.size(); ++i)
        if (nodes[i].id == id) return i;
    std::vector<std::uint16_t> ids;
    for (const auto& n : nodes) ids.push_back(n.id.value);
    throw ConfigError(fmt::format("{}: node id {} is not in the ring (ids: {})", path, id, fmt::join(ids, ", ")));
}

std::vector<NodeId> RingConfig::ring() const {
    std::vector<NodeId> r;
    for (const auto& n : nodes) r.push_back(n.id);
    return r;
}

RingConfig parse_config(const std::string& text, const std::string& path) {
    toml::table root;
    try {
        root = toml::parse(text, path);
    } catch (const toml::parse_error& e) {
        fail(path, fmt::format("line {}: {}", e.source().begin.line, e.description()));
    }
    RingConfig c;
    c.path = path;
    reject_unknown(path, root, "", {"ring", "monitor", "monitors", "nodes"});

    if (const toml::table* ring = root["ring"].as_table()) {
        reject_unknown(path, *ring, "ring", {"name", "hold_ms", "key_file", "state_dir", "insecure"});
        if (ring->contains("name")) c.name = string(path, *ring, "ring", "name", true);
        c.hold = std::chrono::milliseconds(integer(path, *ring, "ring", "hold_ms", 0, 60'000, 20));
        if (ring->contains("key_file")) c.key_file = string(path, *ring, "ring", "key_file", true);
        if (ring->contains("state_dir")) c.state_dir = string(path, *ring, "ring", "state_dir", true);
        if (const toml::node* n = ring->get("insecure")) {
            if (!n->is_boolean()) fail(path, fmt::format("{}: 'ring.insecure' must be true or false", where(*n)));
            c.insecure = *n->value<bool>();
        }
    } else if (root.contains("ring")) {
        fail(path, "'ring' must be a table: [ring]");
    }

    // The monitors: [monitor]'s address (one), or one [[monitors]] table each (its own metrics and
    // dashboard addresses); [monitor] holds the settings they share, and may be left out then.
    const toml::array* many = root["monitors"].as_array();
    if (root.contains("monitors") && !many) fail(path, "'monitors' must be tables: [[monitors]] with an address each");
    static const toml::table kNoSettings;
    const toml::table* mon = root["monitor"].as_table();
    if (root.contains("monitor") && !mon) fail(path, "'monitor' must be a table: [monitor]");
    if (!mon && !many) fail(path, "missing table [monitor] (address, interval_ms, timeout_ms)");
    if (!mon) mon = &kNoSettings;
    reject_unknown(path, *mon, "monitor",
                   {"address", "interval_ms", "timeout_ms", "node_timeout_ms", "evict_after_ms", "recover", "metrics", "http", "http_names"});
    if (many) {
        if (const toml::node* a = mon->get("address"))
            fail(path, fmt::format("{}: 'monitor.address' and [[monitors]] both name monitors: name them all in [[monitors]]", where(*a)));
        for (const char* key : {"metrics", "http"})
            if (const toml::node* a = mon->get(key))
                fail(path, fmt::format("{}: 'monitor.{}' with [[monitors]]: give each monitor its own in its [[monitors]] table", where(*a), key));
        if (many->empty() || many->size() > kMaxMonitors)
            fail(path, fmt::format("[[monitors]] names {} monitors: 1 to {} may be configured", many->size(), kMaxMonitors));
        std::size_t i = 0;
        for (const toml::node& n : *many) {
            const toml::table* t = n.as_table();
            const std::string table = fmt::format("monitors[{}]", i + 1);
            if (!t) fail(path, fmt::format("{}: [[monitors]] entry {} must be a table", where(n), i + 1));
            reject_unknown(path, *t, table, {"address", "metrics", "http"});
            MonitorEntry e;
            e.id = monitor_id(i++);
            e.address_text = string(path, *t, table, "address", true);
            e.address = address(path, table + ".address", e.address_text, *t->get("address"));
            if (t->contains("metrics")) {
                e.metrics_address = string(path, *t, table, "metrics", true);
                address(path, table + ".metrics", *e.metrics_address, *t->get("metrics"));
            }
            if (t->contains("http")) {
                e.http_address = string(path, *t, table, "http", true);
                address(path, table + ".http", *e.http_address, *t->get("http"));
            }
            c.monitors.push_back(std::move(e));
        }
    } else {
        MonitorEntry e;
        e.id = kMonitorId;
        e.address_text = string(path, *mon, "monitor", "address", true);
        e.address = address(path, "monitor.address", e.address_text, *mon->get("address"));
        c.monitors.push_back(std::move(e));
    }
    c.monitor_address_text = c.monitors.front().address_text;
    c.monitor_address = c.monitors.front().address;
    c.interval = std::chrono::milliseconds(integer(path, *mon, "monitor", "interval_ms", 1, 3'600'000, 100));
    c.timeout = std::chrono::milliseconds(integer(path, *mon, "monitor", "timeout_ms", 1, 3'600'000, 1000));
    c.node_timeout = std::chrono::milliseconds(integer(path, *mon, "monitor", "node_timeout_ms", 1, 3'600'000, 1000));
    // Unset: 5 s, or the node timeout when that is longer (a node is reported down before it is left out).
    const std::int64_t node_timeout_ms = c.node_timeout.count() / 1000;
    const auto evict_ms = integer(path, *mon, "monitor", "evict_after_ms", 0, 3'600'000, std::max<std::int64_t>(5000, node_timeout_ms));
    c.evict_after = evict_ms == 0 ? std::nullopt : std::optional<Duration>(std::chrono::milliseconds(evict_ms));
    if (c.evict_after && *c.evict_after < c.node_timeout && mon->contains("evict_after_ms"))
        fail(path, fmt::format("{}: 'monitor.evict_after_ms' = {} is below node_timeout_ms = {}: a silent node is reported down before it is "
                               "left out (or set 0: never)",
                               where(*mon->get("evict_after_ms")), evict_ms, c.node_timeout.count() / 1000));
    if (mon->contains("recover")) {
        const std::string recover = string(path, *mon, "monitor", "recover", true);
        const auto mode = parse_recovery_mode(recover);
        if (!mode)
            fail(path, fmt::format("{}: 'monitor.recover' = \"{}\" is not one of: off, regenerate, rollback", where(*mon->get("recover")), recover));
        c.recover = *mode;
    }
    if (mon->contains("metrics")) {
        const std::string metrics = string(path, *mon, "monitor", "metrics", true);
        address(path, "monitor.metrics", metrics, *mon->get("metrics"));  // HOST:PORT, checked here
        c.monitors.front().metrics_address = metrics;
    }
    if (mon->contains("http")) {
        const std::string http = string(path, *mon, "monitor", "http", true);
        address(path, "monitor.http", http, *mon->get("http"));  // HOST:PORT, checked here
        c.monitors.front().http_address = http;
    }
    c.metrics_address = c.monitors.front().metrics_address;
    c.http_address = c.monitors.front().http_address;
    if (const toml::node* names = mon->get("http_names")) {
        const toml::array* list = names->as_array();
        if (!list) fail(path, fmt::format("{}: 'monitor.http_names' must be a list of DNS names, e.g. [\"ringwatch.example.org\"]", where(*names)));
        for (const toml::node& n : *list) {
            const std::optional<std::string> name = n.value<std::string>();
            const bool dns = name && !name->empty() && name->size() <= 253 && name->front() != '.' && name->front() != '-' &&
                             std::all_of(name->begin(), name->end(),
                                         [](char ch) { return std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-'; });
            if (!dns)
                fail(path, fmt::format("{}: 'monitor.http_names' entry {} is not a DNS name (letters, digits, '.' and '-')", where(n),
                                       name ? fmt::format("\"{}\"", *name) : std::string("that is not a string")));
            std::string lower = *name;
            std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
            c.http_names.push_back(std::move(lower));
        }
    }

    const toml::array* nodes = root["nodes"].as_array();
    if (!nodes) fail(path, "missing [[nodes]] tables (a ring needs at least 2)");
    std::set<std::uint16_t> ids;
    // Compared as parsed (printed back canonically): "127.0.0.1:07001" is "127.0.0.1:7001".
    std::set<std::string> addresses;
    for (const auto& m : c.monitors)
        if (!addresses.insert(io::format_address(m.address)).second)
            fail(path, fmt::format("monitor {}'s address \"{}\" is used twice (each monitor needs its own)", monitor_index(m.id), m.address_text));
    std::size_t i = 0;
    for (const toml::node& n : *nodes) {
        ++i;
        const toml::table* t = n.as_table();
        if (!t) fail(path, fmt::format("{}: [[nodes]] entry {} must be a table", where(n), i));
        const std::string table = fmt::format("nodes[{}]", i);
        reject_unknown(path, *t, table, {"id", "address"});
        NodeEntry e;
        e.id = NodeId{static_cast<std::uint16_t>(integer(path, *t, table, "id", 0, kMaxNodeId, std::nullopt))};
        e.address_text = string(path, *t, table, "address", true);
        e.address = address(path, table + ".address", e.address_text, *t->get("address"));
        if (!ids.insert(e.id.value).second) fail(path, fmt::format("{}: '{}.id' = {} is a duplicate id", where(*t->get("id")), table, e.id));
        if (!addresses.insert(io::format_address(e.address)).second)
            fail(path, fmt::format("{}: '{}.address' = \"{}\" is used twice (nodes and monitor need their own)", where(*t->get("address")), table,
                                   e.address_text));
        c.nodes.push_back(std::move(e));
    }
    if (c.nodes.size() < 2) fail(path, fmt::format("a ring needs at least 2 [[nodes]], this one has {}", c.nodes.size()));
    // Without a key anyone who can reach an address can command the ring: fine on loopback, a
    // mistake elsewhere unless the operator says so.
    if (!c.key_file && !c.insecure) {
        for (const auto& m : c.monitors)
            if (!is_loopback(m.address))
                fail(path, fmt::format("no 'ring.key_file', and '{}' = \"{}\" is not loopback: anyone who can reach it could command the "
                                       "ring; make a key (ring keygen ring.key) and set key_file, or set 'ring.insecure = true' to run "
                                       "unauthenticated anyway",
                                       many ? fmt::format("monitors[{}].address", monitor_index(m.id) + 1) : std::string("monitor.address"),
                                       m.address_text));
        for (const auto& n : c.nodes)
            if (!is_loopback(n.address))
                fail(path, fmt::format("no 'ring.key_file', and node {}'s address \"{}\" is not loopback: anyone who can reach it could "
                                       "command the ring; make a key (ring keygen ring.key) and set key_file, or set 'ring.insecure = true' "
                                       "to run unauthenticated anyway",
                                       n.id, n.address_text));
    }
    return c;
}

RingConfig load_config(const std::string& path) {
    // A config is a few kilobytes (a 4096-node ring about 200 KB): a FIFO or a device at the path,
    // or a file of gigabytes, is refused with one line, never waited on or read whole.
    constexpr std::size_t kMaxConfigBytes = 4 << 20;
    const io::SmallFile f = io::read_small_file(path, kMaxConfigBytes);
    if (f.problem != io::SmallFile::Problem::none)
        throw ConfigError(fmt::format("{}: cannot read the config file: {}", path, io::reason(f, kMaxConfigBytes)));
    return parse_config(f.bytes, path);
}

}  // namespace ringwatch

namespace ringwatch {

std::string config_relative(const RingConfig& c, const std::string& p) {
    if (p.starts_with('/')) return p;
    const auto slash = c.path.rfind('/');
    return slash == std::string::npos ? p : c.path.substr(0, slash + 1) + p;
}

}  // namespace ringwatch
