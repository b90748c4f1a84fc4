// `ring inject` and `ring send`: one command to one node over its control link, acknowledged.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "ring/cli/commands.h"
#include "ring/config/ring_config.h"
#include "ring/core/check.h"
#include "ring/core/regenerate_walk.h"
#include "ring/io/tool_client.h"

#include <functional>
#include <map>
#include <memory>

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

namespace {
// The walk's note for the operator, in the words of `ring inject`'s acknowledgements.
void tell(const RingConfig& config, const WalkNote& n) {
    const NodeEntry& node = config.node(n.node);
    const std::string what =
        fmt::format("epoch {} (tokens of older epochs purged{})", n.epoch, n.node == n.issuer ? "; it issues the new token" : "");
    switch (n.kind) {
        case WalkNoteKind::silent:
            fmt::print("node {} at {} did not answer (down?): it adopts the new epoch from the first token it gets\n", node.id, node.address_text);
            break;
        case WalkNoteKind::acknowledged: report(true, node, what); break;
        case WalkNoteKind::refused: report(false, node, what); break;
        case WalkNoteKind::unacknowledged: report(std::nullopt, node, what); break;
        case WalkNoteKind::reissued:
            fmt::print("node {} was to issue the new token and did not acknowledge it: epoch {} ordered instead, node {} issuing\n", node.id, n.epoch,
                       n.issuer);
            break;
    }
}

// A regenerate walked by hand (ring/core/regenerate_walk.h) over one tool link per node, on one
// loop: every node asked at once, so the walk takes one timeout however many nodes are down.
int regenerate_by_hand(const RingConfig& config, const LinkConfig& link) {
    std::vector<NodeId> ring;
    for (const auto& n : config.nodes) ring.push_back(n.id);
    RegenerateWalk walk(ring);
    io::UvLoop loop;
    std::map<NodeId, std::unique_ptr<io::ToolClient>> clients;
    std::optional<WalkOutcome> outcome;
    std::function<void()> drive = [&] {
        WalkReady r = walk.step();
        for (const auto& note : r.notes) tell(config, note);
        if (r.outcome) {
            outcome = r.outcome;
            uv_stop(loop.get());
            return;
        }
        for (auto& s : r.sends) {
            auto& client = clients[s.to];
            if (!client) client = std::make_unique<io::ToolClient>(loop.get(), s.to, config.node(s.to).address, link);
            if (std::holds_alternative<RingQuery>(s.what)) {
                client->query(std::move(s.what), kAckTimeout, [&walk, &drive, id = s.to](std::optional<Message> m) {
                    const auto* st = m ? std::get_if<RingState>(&*m) : nullptr;
                    st ? walk.on_state(id, *st) : walk.on_no_answer(id);
                    drive();
                });
            } else {
                client->command(std::move(s.what), kAckTimeout, [&walk, &drive, id = s.to](std::optional<bool> ack) {
                    ack ? walk.on_ack(id, *ack) : walk.on_no_answer(id);
                    drive();
                });
            }
        }
    };
    drive();
    uv_run(loop.get(), UV_RUN_DEFAULT);
    clients.clear();
    RW_ASSERT(outcome.has_value());  // the loop ends only when the walk does
    switch (*outcome) {
        case WalkOutcome::regenerated: return 0;
        case WalkOutcome::regenerated_partly: return 1;
        case WalkOutcome::nobody_answered: fmt::print(stderr, "ring recover: no node of ring '{}' answered; nothing done\n", config.name); return 1;
        case WalkOutcome::no_token:
            fmt::print(stderr, "ring recover: no node acknowledged issuing the new token; the ring may have none: run ring recover again\n");
            return 1;
        case WalkOutcome::epochs_exhausted: fmt::print(stderr, "ring recover: the ring's epoch is the largest there is; nothing done\n"); return 1;
    }
    return 1;
}
}  // namespace

// `ring recover`: the running monitor recovers now; with none running, a regenerate walked by hand
// (ring/core/regenerate_walk.h: every node's epoch asked, a newer one ordered to all that answered,
// one of them issuing the token).
int run_recover(const std::string& config_path, const std::string& mode) {
    const RingConfig config = load_config(config_path);
    const LinkConfig link = keyed(config);
    const RecoverMode m = parse_recover_mode(mode).value();  // the command line allows only the two
    constexpr Duration kMonitorWait = std::chrono::seconds(2);
    // Each monitor in turn: the leader orders it; a standby says it cannot (it does not lead).
    std::vector<std::string> refused;
    for (const auto& monitor : config.monitors) {
        const auto ack = io::run_command(monitor.id, monitor.address, RecoverRequest{0, m}, kMonitorWait, link);
        if (ack && *ack) {
            fmt::print("the monitor at {} ordered a {} (its output shows the recovery, then recovered when the ring is healthy)\n",
                       monitor.address_text, mode);
            return 0;
        }
        if (ack) refused.push_back(monitor.address_text);
    }
    if (!refused.empty()) {
        fmt::print(stderr, "ring recover: the monitor{} at {} cannot {} now; {} recovery event says why\n", refused.size() == 1 ? "" : "s",
                   fmt::join(refused, ", "), mode, refused.size() == 1 ? "its" : "their");
        return 1;
    }
    if (m == RecoverMode::rollback) {
        fmt::print(stderr,
                   "ring recover: no monitor answered at {} within 2 s; a rollback needs it (it knows which snapshot was judged ok); "
                   "--mode regenerate works without one\n",
                   config.monitor_address_text);
        return 1;
    }
    fmt::print("no monitor answered at {} within 2 s: regenerating by hand\n", config.monitor_address_text);
    return regenerate_by_hand(config, link);
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
    const int rc =
        report(io::run_command(src.id, src.address, SendCommand{0, NodeId{to}, Bytes(text.begin(), text.end())}, kAckTimeout, keyed(config)), src,
               fmt::format("a message for node {} (node {} logs its delivery)", to, to));
    // Said, not hidden: the queue lives in the node's memory (state_dir keeps snapshots, not queues).
    if (rc == 0)
        fmt::print("not yet durable: the message waits in node {}'s memory for a free token; if node {} dies before one carries it, it is lost\n",
                   from, from);
    return rc;
}

}  // namespace ringwatch
