// A ring member's events as JSON lines (`ring node --json`, forwarded by `ring up --json`): what
// programs read (benchmarks, the demo, tests), never the log text, which is for people and may
// change. One object per line, always with "event", "node" and "mono_us" (this host's monotonic
// clock, as the monitor's decided_us: latencies are measured across the two).
//
//   started      incarnation, epoch (0: none yet), pred, succ, authenticated, kept_snapshots, deliveries_remembered
//   delivered    src, msg_id, payload        redelivered   (the same; its first delivery was undone by a rollback)
//   lost_by_fault / duplicated_by_fault      (an injected fault took effect)
//   issued       epoch (a new token, as ordered)          epoch_adopted  epoch
//   requeued     dst, msg_id                 undeliverable  dst, msg_id
//   stale_discarded  epoch                   rolled_back    epoch
//   duplicate_message_dropped  src, msg_id     overtaken_message_dropped  src, msg_id
//   link         peer ("monitor", "tool" or a node id), state (connected, session_reset, peer_silent, peer_alive)
//   impaired     loss, duplicate (fractions), delay_us (an `ring inject --link-*` took effect)
//   key_rotation step, ok, fingerprint (a `ring rekey` step, done or refused)
//   view         epoch, members, member (false: left out), predecessor, successor (a view the monitor ordered, taken)
//   stopped      tokens_passed, messages_sent, messages_delivered, retransmits, duplicates_dropped,
//                datagrams_received, dropped {reason: count}, hellos_answered, probes
// `ring up --json` adds its own, about its children (no "node", no "mono_us"):
//   child_exited child ("node 3", "monitor"), how (stopped, forced, killed, exited), signal, status
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ring/core/link.h"
#include "ring/core/messages.h"
#include "ring/core/node.h"
#include "ring/core/token.h"
#include "ring/core/types.h"

namespace ringwatch::io {

struct NodeStarted {
    Incarnation incarnation;
    Epoch epoch;
    NodeId pred, succ;
    bool authenticated;                   // datagrams carry the ring key's MAC
    std::size_t kept_snapshots;           // read from the state directory, for a rollback
    std::uint64_t deliveries_remembered;  // by earlier processes, from the state directory
};
struct NodeStopped {
    TokenStats token;
    LinkStats links;
    std::uint64_t datagrams_received;
    std::vector<std::pair<std::string, std::uint64_t>> dropped;  // drop_counts(): every reason
    std::uint64_t hellos_answered;
    std::uint64_t probes = 0;  // zero-length datagrams: the monitors' port probes, not drops
};

std::string node_started_json(NodeId self, Instant now, const NodeStarted& s);
std::string token_event_json(NodeId self, Instant now, const TokenEvent& e);
std::string link_event_json(NodeId self, Instant now, NodeId peer, const LinkEvent& e);
std::string impaired_json(NodeId self, Instant now, const ImpairCommand& c);
// The view the node took: its epoch, the members, and its neighbours in it (none: left out).
std::string view_json(NodeId self, Instant now, const NodeView& v);
std::string key_rotation_json(NodeId self, Instant now, const RekeyCommand& c, bool ok);
std::string node_stopped_json(NodeId self, Instant now, const NodeStopped& s);

// How `ring up` saw a child end: "stopped" as asked, "forced" (killed 3 s after being asked),
// "killed" by a signal on its own, "exited" on its own.
std::string child_exited_json(const std::string& child, std::string_view how, int signal, std::int64_t status);
// `ring up --restart` starting a dead child again in `wait` (its `restarts`-th restart).
std::string child_restarting_json(const std::string& child, Duration wait, int restarts);

// A payload as text a terminal can show: bytes outside printable ASCII become '.'.
std::string printable(const Bytes& b);

}  // namespace ringwatch::io
