// A ring member's events as JSON lines (`ring node --json`, forwarded by `ring up --json`): what
// programs read (benchmarks, the demo, tests), never the log text, which is for people and may
// change. One object per line, always with "event", "node" and "mono_us" (this host's monotonic
// clock, as the monitor's decided_us: latencies are measured across the two).
//
//   started      incarnation, epoch (0: none yet), pred, succ
//   delivered    src, msg_id, payload        redelivered   (the same; its first delivery was undone by a rollback)
//   lost_by_fault / duplicated_by_fault      (an injected fault took effect)
//   issued       epoch (a new token, as ordered)          epoch_adopted  epoch
//   requeued     dst, msg_id                 undeliverable  dst, msg_id
//   stale_discarded  epoch                   rolled_back    epoch
//   duplicate_message_dropped  src, msg_id
//   link         peer ("monitor", "tool" or a node id), state (connected, session_reset, peer_silent, peer_alive)
//   stopped      tokens_passed, messages_sent, messages_delivered
#pragma once

#include <string>

#include "ring/core/link.h"
#include "ring/core/token.h"
#include "ring/core/types.h"

namespace ringwatch::io {

std::string node_started_json(NodeId self, Instant now, Incarnation incarnation, Epoch epoch, NodeId pred, NodeId succ);
std::string token_event_json(NodeId self, Instant now, const TokenEvent& e);
std::string link_event_json(NodeId self, Instant now, NodeId peer, const LinkEvent& e);
std::string node_stopped_json(NodeId self, Instant now, const TokenStats& s);

// A payload as text a terminal can show: bytes outside printable ASCII become '.'.
std::string printable(const Bytes& b);

}  // namespace ringwatch::io
