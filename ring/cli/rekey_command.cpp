// `ring rekey CONFIG NEWKEY`: rotates the ring's key without stopping it. Every node and the
// monitor go through each step before any goes to the next (prepare: accept both keys; switch:
// send under the new one; commit: forget the old one and write the new one over the configured
// key_file), each step acknowledged, so that at every moment each sender's key is accepted by
// every receiver. A failure before the commit aborts the rotation everywhere.
#include <climits>
#include <cstdlib>

#include <fmt/format.h>

#include "ring/cli/commands.h"
#include "ring/config/key_file.h"
#include "ring/config/ring_config.h"
#include "ring/io/tool_client.h"

namespace ringwatch {

namespace {
constexpr Duration kAckTimeout = std::chrono::seconds(3);

struct Participant {
    NodeId id;
    sockaddr_storage address;
    std::string name;  // "node 3 at 127.0.0.1:7103", "the monitor at ..."
};

// The tool's own link for a step: what it sends under, and what it accepts (the processes it talks
// to may already send under the other key).
LinkConfig tool_link(const AuthKey& send, const AuthKey& accept_too) {
    LinkConfig l;
    l.key = send;
    l.also_accept = accept_too;
    return l;
}
}  // namespace

int run_rekey(const std::string& config_path, const std::string& new_key_path) {
    const RingConfig config = load_config(config_path);
    const std::optional<AuthKey> old_key = load_key(config);
    if (!old_key) {
        fmt::print(stderr, "ring rekey: {} has no key_file; give the ring one (ring keygen) and restart it: there is nothing to rotate\n",
                   config.path);
        return 2;
    }
    AuthKey new_key;
    try {
        new_key = read_key_file(new_key_path);
    } catch (const KeyFileError& e) {
        fmt::print(stderr, "ring rekey: {}\n", e.what());
        return 2;
    }
    char resolved[PATH_MAX];
    if (!::realpath(new_key_path.c_str(), resolved)) {
        fmt::print(stderr, "ring rekey: cannot resolve {}\n", new_key_path);
        return 2;
    }
    const std::uint64_t old_fp = key_fingerprint(*old_key), new_fp = key_fingerprint(new_key);
    if (old_fp == new_fp) {
        fmt::print(stderr, "ring rekey: {} holds the ring's current key ({:016x}); make a new one with: ring keygen FILE\n", new_key_path, new_fp);
        return 2;
    }
    std::vector<Participant> everyone;
    for (const auto& n : config.nodes) everyone.push_back({n.id, n.address, fmt::format("node {} at {}", n.id, n.address_text)});
    for (const auto& m : config.monitors) everyone.push_back({m.id, m.address, fmt::format("the monitor at {}", m.address_text)});
    fmt::print("rotating ring '{}' from key {:016x} to key {:016x} ({}): every node reads {}\n", config.name, old_fp, new_fp, new_key_path, resolved);

    // One step to everyone; returns the ones that acknowledged it.
    auto step = [&](RekeyStep s, const LinkConfig& link, const std::vector<Participant>& who, std::vector<std::string>& failures) {
        std::vector<Participant> done;
        for (const auto& p : who) {
            const RekeyCommand c{0, s, new_fp, s == RekeyStep::prepare ? std::string(resolved) : std::string()};
            const auto ack = io::run_command(p.id, p.address, c, kAckTimeout, link);
            if (ack && *ack) {
                done.push_back(p);
            } else {
                failures.push_back(fmt::format("{} {} {}", p.name, ack ? "refused" : "did not answer", to_string(s)));
            }
        }
        return done;
    };
    auto abort_all = [&](const std::vector<Participant>& prepared, const std::vector<std::string>& failures) {
        std::vector<std::string> ignored;
        step(RekeyStep::abort, tool_link(*old_key, new_key), prepared, ignored);
        for (const auto& f : failures) fmt::print(stderr, "ring rekey: {}\n", f);
        fmt::print(stderr, "ring rekey: rotation aborted; the ring keeps key {:016x} (the processes' logs say why they refused)\n", old_fp);
        return 1;
    };

    std::vector<std::string> failures;
    std::vector<Participant> prepared = step(RekeyStep::prepare, tool_link(*old_key, new_key), everyone, failures);
    // A monitor that is not running reads the key file when it starts: it need not take part.
    const bool monitor_absent = failures.size() == 1 && prepared.size() == config.nodes.size() &&
                                std::none_of(prepared.begin(), prepared.end(), [](const Participant& p) { return p.id == kMonitorId; }) &&
                                failures[0].find("did not answer") != std::string::npos;
    if (!failures.empty() && !monitor_absent) return abort_all(prepared, failures);
    if (monitor_absent) fmt::print("the monitor did not answer (not running?): it reads the new key when it starts\n");
    fmt::print("prepare: {} process(es) accept both keys\n", prepared.size());
    failures.clear();
    const std::vector<Participant> switched = step(RekeyStep::switch_over, tool_link(*old_key, new_key), prepared, failures);
    if (!failures.empty()) return abort_all(prepared, failures);
    fmt::print("switch: {} process(es) send under the new key\n", switched.size());
    const std::vector<Participant> committed = step(RekeyStep::commit, tool_link(new_key, *old_key), switched, failures);
    // The tool's host may not run a node: its own copy of the key file is the new one as well.
    const std::string configured = key_path(config);
    if (!holds_key(configured, new_key)) replace_key_file(configured, new_key);
    if (!failures.empty()) {
        for (const auto& f : failures) fmt::print(stderr, "ring rekey: {}\n", f);
        fmt::print(stderr, "ring rekey: {} of {} process(es) committed; the others still accept the old key too: run the same command again\n",
                   committed.size(), switched.size());
        return 1;
    }
    fmt::print("commit: {} process(es) use key {:016x} alone and refuse the old one; {} now holds it\n", committed.size(), new_fp, configured);
    return 0;
}

}  // namespace ringwatch
