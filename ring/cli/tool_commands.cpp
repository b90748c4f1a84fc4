// `ring inject` and `ring send`: one command to one node over its control link, acknowledged.
#include <fmt/format.h>

#include "ring/cli/commands.h"
#include "ring/config/ring_config.h"
#include "ring/io/tool_client.h"

namespace ringwatch {

namespace {
constexpr Duration kAckTimeout = std::chrono::seconds(3);

int report(std::optional<bool> ack, const NodeEntry& node, const std::string& what) {
    if (!ack) {
        fmt::print(stderr, "ring: node {} at {} did not acknowledge {} within 3 s (is it running?)\n", node.id, node.address_text, what);
        return 1;
    }
    if (!*ack) {
        fmt::print(stderr, "ring: node {} refused {}\n", node.id, what);
        return 1;
    }
    fmt::print("node {} acknowledged {}\n", node.id, what);
    return 0;
}
}  // namespace

namespace {
// The tools' link settings: the ring's key, and the warning for a ring that runs without one
// beyond loopback.
LinkConfig keyed(const RingConfig& c) {
    if (const std::string w = c.insecure_warning(); !w.empty()) fmt::print(stderr, "ring: {}\n", w);
    LinkConfig l;
    l.key = load_key(c);
    return l;
}
}  // namespace

int run_inject(const InjectOptions& o) {
    const RingConfig config = load_config(o.config_path);
    const LinkConfig link = keyed(config);
    const NodeEntry& node = config.node(NodeId{o.node});
    int rc = 0;
    if (!o.fault.empty()) {
        const InjectKind kind = o.fault == "lose" ? InjectKind::lose : InjectKind::duplicate;
        rc = report(io::run_command(node.id, node.address, InjectCommand{0, kind}, kAckTimeout, link), node,
                    fmt::format("'{}' (it acts on the next token the node receives)", o.fault));
    }
    if (rc == 0 && (o.link_loss || o.link_dup || o.link_delay_ms)) {
        ImpairCommand c{0, static_cast<std::uint32_t>(o.link_loss.value_or(0) * 1e6), static_cast<std::uint32_t>(o.link_dup.value_or(0) * 1e6),
                        o.link_delay_ms.value_or(0) * 1000};
        rc = report(io::run_command(node.id, node.address, c, kAckTimeout, link), node,
                    fmt::format("link impairment: loss {:.1f}%, duplication {:.1f}%, delay {} ms", c.loss_ppm / 1e4, c.duplicate_ppm / 1e4,
                                o.link_delay_ms.value_or(0)));
    }
    return rc;
}

// `ring recover`: the running monitor recovers now; with none running, a regenerate walked by hand
// (every node's epoch asked, the next one ordered to all of them, the first that answered issuing
// the token).
int run_recover(const std::string& config_path, const std::string& mode) {
    const RingConfig config = load_config(config_path);
    const LinkConfig link = keyed(config);
    const RecoverMode m = parse_recover_mode(mode).value();  // the command line allows only the two
    constexpr Duration kMonitorWait = std::chrono::seconds(2);
    const auto ack = io::run_command(kMonitorId, config.monitor_address, RecoverRequest{0, m}, kMonitorWait, link);
    if (ack && *ack) {
        fmt::print("the monitor at {} ordered a {} (its output shows the recovery, then recovered when the ring is healthy)\n",
                   config.monitor_address_text, mode);
        return 0;
    }
    if (ack) {
        fmt::print(stderr, "ring recover: the monitor at {} cannot {} now; its recovery event says why\n", config.monitor_address_text, mode);
        return 1;
    }
    if (m == RecoverMode::rollback) {
        fmt::print(stderr, "ring recover: no monitor answered at {} within 2 s; a rollback needs it (it knows which snapshot was judged ok); "
                           "--mode regenerate works without one\n", config.monitor_address_text);
        return 1;
    }
    fmt::print("no monitor answered at {} within 2 s: regenerating by hand\n", config.monitor_address_text);
    std::vector<NodeId> answered;
    std::uint32_t newest = 0;
    for (const auto& n : config.nodes) {
        const auto reply = io::run_query(n.id, n.address, RingQuery{}, kAckTimeout, link);
        const auto* st = reply ? std::get_if<RingState>(&*reply) : nullptr;
        if (!st) {
            fmt::print("node {} at {} did not answer (down?): it adopts the new epoch from the first token it gets\n", n.id, n.address_text);
            continue;
        }
        answered.push_back(n.id);
        newest = std::max(newest, st->epoch.value);
    }
    if (answered.empty()) {
        fmt::print(stderr, "ring recover: no node of ring '{}' answered; nothing done\n", config.name);
        return 1;
    }
    const Epoch epoch{newest + 1};
    const NodeId issuer = answered.front();
    int rc = 0;
    for (NodeId id : answered) {
        const NodeEntry& n = config.node(id);
        rc |= report(io::run_command(n.id, n.address, RecoverCommand{0, RecoverMode::regenerate, epoch, issuer, SnapshotId{0}}, kAckTimeout, link), n,
                     fmt::format("epoch {} (tokens of older epochs purged{})", epoch, id == issuer ? "; it issues the new token" : ""));
    }
    return rc;
}

int run_keygen(const std::string& path) {
    write_new_key(path);
    fmt::print("wrote a new 256-bit ring key to {} (mode 0600); name it in the config: [ring] key_file = \"{}\"\n", path, path);
    return 0;
}

int run_send(const std::string& config_path, std::uint16_t from, std::uint16_t to, const std::string& text) {
    const RingConfig config = load_config(config_path);
    const NodeEntry& src = config.node(NodeId{from});
    config.node(NodeId{to});
    if (from == to) {
        fmt::print(stderr, "ring send: --from and --to are both {}: a node does not send to itself\n", from);
        return 2;
    }
    if (text.empty() || text.size() > kMaxPayloadBytes) {
        fmt::print(stderr, "ring send: the message must be 1 to {} bytes, it is {}\n", kMaxPayloadBytes, text.size());
        return 2;
    }
    const int rc = report(io::run_command(src.id, src.address, SendCommand{0, NodeId{to}, Bytes(text.begin(), text.end())}, kAckTimeout, keyed(config)),
                          src, fmt::format("a message for node {} (node {} logs its delivery)", to, to));
    // Said, not hidden: the queue lives in the node's memory (state_dir keeps snapshots, not queues).
    if (rc == 0)
        fmt::print("not yet durable: the message waits in node {}'s memory for a free token; if node {} dies before one carries it, it is lost\n",
                   from, from);
    return rc;
}

}  // namespace ringwatch
