// The ring config: a valid file, and every error naming the file, the key and the value.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <cstdio>
#include <fstream>

#include "ring/config/ring_config.h"

using namespace ringwatch;

namespace {

const std::string kValid = R"(
[ring]
name = "t"
hold_ms = 5

[monitor]
address = "127.0.0.1:7000"
interval_ms = 50
timeout_ms = 500

[[nodes]]
id = 3
address = "127.0.0.1:7001"

[[nodes]]
id = 1
address = "[::1]:7002"

[[nodes]]
id = 2
address = "127.0.0.1:7003"
)";

std::string error_of(const std::string& text) {
    try {
        parse_config(text, "c.toml");
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "no error";
}

std::string replaced(std::string s, const std::string& from, const std::string& to) {
    const auto p = s.find(from);
    REQUIRE(p != std::string::npos);
    return s.replace(p, from.size(), to);
}

}  // namespace

TEST_CASE("config: a valid ring keeps its order and its settings", "[config]") {
    const RingConfig c = parse_config(kValid, "c.toml");
    CHECK(c.name == "t");
    CHECK(c.hold == std::chrono::milliseconds(5));
    CHECK(c.interval == std::chrono::milliseconds(50));
    CHECK(c.timeout == std::chrono::milliseconds(500));
    REQUIRE(c.nodes.size() == 3);
    CHECK(c.ring() == std::vector<NodeId>{NodeId{3}, NodeId{1}, NodeId{2}});
    CHECK(c.successor(NodeId{2}).id == NodeId{3});  // the last one's successor is the first
    CHECK(c.predecessor(NodeId{3}).id == NodeId{2});
    CHECK(c.node(NodeId{1}).address.ss_family == AF_INET6);
    CHECK_FALSE(c.key_file);
}

TEST_CASE("config: defaults for the optional keys", "[config]") {
    const RingConfig c = parse_config(R"(
[monitor]
address = "127.0.0.1:7000"
[[nodes]]
id = 0
address = "127.0.0.1:7001"
[[nodes]]
id = 1
address = "127.0.0.1:7002"
)",
                                      "c.toml");
    CHECK(c.hold == std::chrono::milliseconds(20));
    CHECK(c.interval == std::chrono::milliseconds(100));
    CHECK(c.timeout == std::chrono::milliseconds(1000));
    CHECK_FALSE(c.http_address);  // no dashboard unless asked for
    CHECK_FALSE(c.metrics_address);
    CHECK(c.evict_after == std::optional<Duration>(std::chrono::milliseconds(5000)));
}

TEST_CASE("config: evict_after_ms leaves silent nodes out after it, 0 never, never below the node timeout", "[config]") {
    CHECK(parse_config(replaced(kValid, "timeout_ms = 500", "timeout_ms = 500\nevict_after_ms = 8000"), "c.toml").evict_after ==
          std::optional<Duration>(std::chrono::milliseconds(8000)));
    CHECK_FALSE(parse_config(replaced(kValid, "timeout_ms = 500", "timeout_ms = 500\nevict_after_ms = 0"), "c.toml").evict_after);
    CHECK(error_of(replaced(kValid, "timeout_ms = 500", "timeout_ms = 500\nnode_timeout_ms = 3000\nevict_after_ms = 2000")) ==
          "c.toml: line 11: 'monitor.evict_after_ms' = 2000 is below node_timeout_ms = 3000: a silent node is reported down before it is left "
          "out (or set 0: never)");
    // Not given: 5 s, or the node timeout when that is longer (found by fuzz_config: the check named a
    // key the file did not have).
    CHECK(parse_config(replaced(kValid, "timeout_ms = 500", "timeout_ms = 500\nnode_timeout_ms = 7000"), "c.toml").evict_after ==
          std::optional<Duration>(std::chrono::milliseconds(7000)));
    CHECK(error_of(replaced(kValid, "timeout_ms = 500", "timeout_ms = 500\nevict_after_ms = -5")) ==
          "c.toml: line 10: 'monitor.evict_after_ms' = -5 is out of range (0..3600000)");
}

TEST_CASE("config: the dashboard's address is checked like every address", "[config]") {
    const std::string with_http = replaced(kValid, "timeout_ms = 500", "timeout_ms = 500\nhttp = \"127.0.0.1:8080\"");
    CHECK(parse_config(with_http, "c.toml").http_address == std::optional<std::string>("127.0.0.1:8080"));
    CHECK(error_of(replaced(with_http, "127.0.0.1:8080", "localhost")).find("'monitor.http' = \"localhost\" is not an address") != std::string::npos);
}

TEST_CASE("config: the dashboard's names are DNS names, kept in lowercase", "[config]") {
    const std::string with_names = replaced(kValid, "timeout_ms = 500", "timeout_ms = 500\nhttp_names = [\"Dash.Example.org\", \"ringwatch\"]");
    CHECK(parse_config(with_names, "c.toml").http_names == std::vector<std::string>{"dash.example.org", "ringwatch"});
    CHECK(parse_config(kValid, "c.toml").http_names.empty());
    CHECK(error_of(replaced(kValid, "timeout_ms = 500", "timeout_ms = 500\nhttp_names = \"dash.example.org\"")) ==
          "c.toml: line 10: 'monitor.http_names' must be a list of DNS names, e.g. [\"ringwatch.example.org\"]");
    CHECK(error_of(replaced(kValid, "timeout_ms = 500", "timeout_ms = 500\nhttp_names = [\"evil.org:80\"]")) ==
          "c.toml: line 10: 'monitor.http_names' entry \"evil.org:80\" is not a DNS name (letters, digits, '.' and '-')");
    CHECK(error_of(replaced(kValid, "timeout_ms = 500", "timeout_ms = 500\nhttp_names = [3]")).find("entry that is not a string is not a DNS name") !=
          std::string::npos);
}

TEST_CASE("config: several monitors in [[monitors]], each with its own address, metrics and dashboard", "[config][monitors]") {
    const std::string two = replaced(kValid, "[monitor]\naddress = \"127.0.0.1:7000\"\n",
                                     "[monitor]\n"
                                     "[[monitors]]\naddress = \"127.0.0.1:7000\"\nmetrics = \"127.0.0.1:9100\"\n"
                                     "[[monitors]]\naddress = \"127.0.0.1:7010\"\nhttp = \"127.0.0.1:8081\"\n"
                                     "[monitor]\n");
    // (the settings come after the list: a second [monitor] header would be a TOML error)
    const std::string text = replaced(two, "[monitor]\n[[monitors]]", "[[monitors]]");
    const RingConfig c = parse_config(text, "c.toml");
    REQUIRE(c.monitors.size() == 2);
    CHECK(c.monitor_ids() == std::vector<NodeId>{kMonitorId, NodeId{0xFFFE}});
    CHECK(c.monitors[0].address_text == "127.0.0.1:7000");
    CHECK(c.monitors[0].metrics_address == std::optional<std::string>("127.0.0.1:9100"));
    CHECK_FALSE(c.monitors[0].http_address);
    CHECK(c.monitors[1].address_text == "127.0.0.1:7010");
    CHECK(c.monitors[1].http_address == std::optional<std::string>("127.0.0.1:8081"));
    CHECK(c.interval == std::chrono::milliseconds(50));  // the shared settings
    CHECK(c.monitor(1).id == NodeId{0xFFFE});
    CHECK_THROWS_WITH(c.monitor(2), "c.toml: there is no monitor 2 (the config names 2: 0 to 1)");
    // One [monitor] with an address is one monitor, the first id.
    const RingConfig one = parse_config(kValid, "c.toml");
    REQUIRE(one.monitors.size() == 1);
    CHECK(one.monitors[0].id == kMonitorId);
    // [[monitors]] alone, without [monitor]: the default settings.
    const std::string bare = "[[monitors]]\naddress = \"127.0.0.1:7000\"\n" + text.substr(text.find("[[nodes]]"));
    CHECK(parse_config(bare, "c.toml").interval == std::chrono::milliseconds(100));
}

TEST_CASE("config: monitors named twice, or wrongly, are refused naming the key", "[config][monitors]") {
    const std::string list = "[[monitors]]\naddress = \"127.0.0.1:7000\"\n";
    CHECK(error_of(list + kValid) == "c.toml: line 9: 'monitor.address' and [[monitors]] both name monitors: name them all in [[monitors]]");
    const std::string with_metrics =
        replaced(replaced(kValid, "address = \"127.0.0.1:7000\"\n", "metrics = \"127.0.0.1:9100\"\n"), "[ring]", list + "[ring]");
    CHECK(error_of(with_metrics) == "c.toml: line 9: 'monitor.metrics' with [[monitors]]: give each monitor its own in its [[monitors]] table");
    const std::string nodes = kValid.substr(kValid.find("[[nodes]]"));
    CHECK(error_of("[[monitors]]\naddress = \"127.0.0.1:7000\"\n[[monitors]]\naddress = \"127.0.0.1:7000\"\n" + nodes) ==
          "c.toml: monitor 1's address \"127.0.0.1:7000\" is used twice (each monitor needs its own)");
    CHECK(error_of("[[monitors]]\naddress = \"127.0.0.1:7001\"\n" + nodes) ==
          "c.toml: line 5: 'nodes[1].address' = \"127.0.0.1:7001\" is used twice (nodes and monitor need their own)");
    CHECK(error_of("[[monitors]]\nadress = \"127.0.0.1:7000\"\n" + nodes) ==
          "c.toml: line 2: unknown key 'monitors[1].adress' (address, metrics, http)");
    std::string seventeen;
    for (int i = 0; i < 17; ++i) seventeen += fmt::format("[[monitors]]\naddress = \"127.0.0.1:{}\"\n", 7100 + i);
    CHECK(error_of(seventeen + nodes) == "c.toml: [[monitors]] names 17 monitors: 1 to 16 may be configured");
    CHECK(error_of("monitors = 3\n" + nodes) == "c.toml: 'monitors' must be tables: [[monitors]] with an address each");
}

TEST_CASE("config: an error stays one line whatever the file holds", "[config]") {
    // toml++ echoes the character it choked on; here a newline (found by fuzz_config).
    const std::string e = error_of("[ring]\nname = \"x\"\nhold_ms = n\n\n");
    CHECK(e.find('\n') == std::string::npos);
    CHECK_THAT(e, Catch::StartsWith("c.toml: line 3: "));
    CHECK(one_line("a\nb\x01") == "a\\nb\\x01");
}

TEST_CASE("config: every error names the file, the key and the value", "[config]") {
    CHECK(error_of(replaced(kValid, "hold_ms = 5", "hold_ms = 5\nspeed = 3")) ==
          "c.toml: line 5: unknown key 'ring.speed' (name, hold_ms, key_file, state_dir, insecure)");
    CHECK(error_of(replaced(kValid, "[ring]", "[rings]")).find("unknown key 'rings'") != std::string::npos);
    CHECK(error_of(replaced(kValid, "address = \"127.0.0.1:7000\"\n", "")) == "c.toml: missing key 'monitor.address'");
    CHECK(error_of(replaced(kValid, "id = 1", "id = 3")) == "c.toml: line 16: 'nodes[2].id' = 3 is a duplicate id");
    CHECK(error_of(replaced(kValid, "127.0.0.1:7003", "127.0.0.1:7001")).find("'nodes[3].address' = \"127.0.0.1:7001\" is used twice") !=
          std::string::npos);
    CHECK(error_of(replaced(kValid, "127.0.0.1:7003", "127.0.0.1:7000")).find("is used twice") != std::string::npos);  // the monitor's
    CHECK(error_of(replaced(kValid, "127.0.0.1:7001", "localhost:7001")).find("'nodes[1].address' = \"localhost:7001\" is not an address") !=
          std::string::npos);
    CHECK(error_of(replaced(kValid, "127.0.0.1:7001", "127.0.0.1:70010")).find("is not an address") != std::string::npos);
    // The same address written two ways is the same address; port 0 is nowhere a peer can find.
    CHECK(error_of(replaced(kValid, "127.0.0.1:7003", "127.0.0.1:07001")).find("'nodes[3].address' = \"127.0.0.1:07001\" is used twice") !=
          std::string::npos);
    CHECK(error_of(replaced(kValid, "[::1]:7002", "[::1]:0")) ==
          "c.toml: line 17: 'nodes[2].address' = \"[::1]:0\" has port 0; name the port it must listen on");
    CHECK(error_of(replaced(kValid, "127.0.0.1:7000", "127.0.0.1:00")).find("'monitor.address' = \"127.0.0.1:00\" has port 0") != std::string::npos);
    CHECK(error_of(replaced(kValid, "hold_ms = 5", "hold_ms = -1")) == "c.toml: line 4: 'ring.hold_ms' = -1 is out of range (0..60000)");
    CHECK(error_of(replaced(kValid, "hold_ms = 5", "hold_ms = \"5\"")) == "c.toml: line 4: 'ring.hold_ms' must be an integer");
    // A float beyond int64's range once reached an undefined cast inside toml++ (found by fuzz_config).
    CHECK(error_of(replaced(kValid, "hold_ms = 5", "hold_ms = 2.2e123")) == "c.toml: line 4: 'ring.hold_ms' must be an integer");
    CHECK(error_of(replaced(kValid, "hold_ms = 5", "hold_ms = 5.0")) == "c.toml: line 4: 'ring.hold_ms' must be an integer");
    CHECK(error_of(replaced(kValid, "id = 2", "id = 65535")).find("'nodes[3].id' = 65535 is out of range") != std::string::npos);
    CHECK(error_of(replaced(kValid, "hold_ms = 5", "hold_ms = ")).find("c.toml: line 4: ") == 0);  // TOML syntax
    const std::string one_node = kValid.substr(0, kValid.find("[[nodes]]")) + "[[nodes]]\nid = 0\naddress = \"127.0.0.1:7001\"\n";
    CHECK(error_of(one_node) == "c.toml: a ring needs at least 2 [[nodes]], this one has 1");
    CHECK(error_of(replaced(kValid, "hold_ms = 5", "hold_ms = 5\nstate_dir = 7")).find("c.toml: line 5: 'ring.state_dir'") == 0);
    CHECK(error_of("[monitor]\naddress = \"127.0.0.1:1\"\n") == "c.toml: missing [[nodes]] tables (a ring needs at least 2)");
    const RingConfig c = parse_config(kValid, "c.toml");
    CHECK_THROWS_WITH(c.position_of(NodeId{9}), "c.toml: node id 9 is not in the ring (ids: 3, 1, 2)");
}

TEST_CASE("config: key files are made private, read back, and checked", "[config][auth]") {
    const std::string dir = "/tmp";
    const std::string path = dir + "/ringwatch-test-" + std::to_string(::getpid()) + ".key";
    std::remove(path.c_str());
    write_new_key(path);
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);  // private: readable and writable by its owner only
    CHECK_THROWS_WITH(write_new_key(path), Catch::Contains("refusing to overwrite a key"));
    RingConfig c = parse_config(kValid, dir + "/c.toml");
    c.key_file = path.substr(dir.size() + 1);  // relative to the config's directory
    const auto k1 = load_key(c);
    REQUIRE(k1);
    std::remove(path.c_str());
    write_new_key(path);
    CHECK_FALSE(*load_key(c) == *k1);  // a new key each time
    std::ofstream(path) << "not hex\n";
    CHECK_THROWS_WITH(load_key(c), Catch::Contains("must hold 64 hex digits"));
    std::ofstream(path) << std::string(64, 'a') << "\n" << std::string(64, 'b') << "\n";  // two keys: which one?
    CHECK_THROWS_WITH(load_key(c), Catch::Contains("and nothing else"));
    std::ofstream(path) << std::string(63, 'a') << "\n";
    CHECK_THROWS_WITH(load_key(c), Catch::Contains("must hold 64 hex digits"));
    std::ofstream(path) << std::string(64, 'A') << "\n";
    CHECK(load_key(c));  // either case
    // Readable by others: refused, naming the fix (as ssh does for private keys).
    ::chmod(path.c_str(), 0640);
    CHECK_THROWS_WITH(load_key(c), Catch::Contains("readable or writable by group or others (mode 640)") && Catch::Contains("chmod 600"));
    ::chmod(path.c_str(), 0604);
    CHECK_THROWS_WITH(load_key(c), Catch::Contains("group or others"));
    ::chmod(path.c_str(), 0600);
    CHECK(load_key(c));
    std::remove(path.c_str());
    CHECK_THROWS_WITH(load_key(c), Catch::Contains("cannot read"));
    c.key_file = "/tmp";
    CHECK_THROWS_WITH(load_key(c), Catch::Contains("not a regular file"));
}

TEST_CASE("config: without a key, addresses beyond loopback need insecure = true, and then are warned about", "[config][auth]") {
    // Loopback (IPv4 and IPv6) needs no key and gets no warning.
    CHECK(parse_config(kValid, "c.toml").insecure_warning().empty());
    const std::string lan = replaced(kValid, "address = \"127.0.0.1:7003\"", "address = \"192.0.2.3:7003\"");
    CHECK(error_of(lan) ==
          "c.toml: no 'ring.key_file', and node 2's address \"192.0.2.3:7003\" is not loopback: anyone who can reach it could command the "
          "ring; make a key (ring keygen ring.key) and set key_file, or set 'ring.insecure = true' to run unauthenticated anyway");
    CHECK(error_of(replaced(kValid, "address = \"127.0.0.1:7000\"", "address = \"192.0.2.1:7000\""))
              .find("'monitor.address' = \"192.0.2.1:7000\" is not loopback") != std::string::npos);
    // Said explicitly: accepted, and every program warns.
    const RingConfig insecure = parse_config(replaced(lan, "hold_ms = 5", "hold_ms = 5\ninsecure = true"), "c.toml");
    CHECK(insecure.insecure);
    CHECK(insecure.insecure_warning().find("WARNING: ring 't' has no key_file") == 0);
    // With a key nothing is refused or warned about.
    const RingConfig keyed = parse_config(replaced(lan, "hold_ms = 5", "hold_ms = 5\nkey_file = \"k\""), "c.toml");
    CHECK(keyed.insecure_warning().empty());
    CHECK(error_of(replaced(kValid, "hold_ms = 5", "hold_ms = 5\ninsecure = \"yes\"")) == "c.toml: line 5: 'ring.insecure' must be true or false");
}
