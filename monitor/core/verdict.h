// A snapshot's verdict: what the monitor decided, and where it saw every token.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "ring/core/types.h"

namespace ringwatch {

enum class VerdictKind : std::uint8_t { ok, token_lost, token_duplicated, inconclusive };
std::string_view to_string(VerdictKind v);

struct ChannelTokens {
    NodeId from;
    NodeId to;
    std::uint32_t tokens;
};

// What one node recorded for a snapshot: its own state and its inbound channel's (the cut, as a
// person looking at a snapshot wants to see it). Counts of every epoch; the verdict counts its own.
struct NodeRecord {
    NodeId node;
    std::uint32_t held = 0;          // tokens in the node's recorded state
    NodeId channel_from;             // its inbound channel (the predecessor)
    std::uint32_t in_flight = 0;     // tokens recorded on that channel
    std::uint32_t queue_length = 0;  // messages waiting for a free token
    Epoch epoch{0};
};

// The monitor ordered a fresh ring's first token: every node adopts `epoch`, `issuer` makes it.
struct FirstTokenOrder {
    Epoch epoch;
    NodeId issuer;
};

struct Verdict {
    SnapshotId id;
    VerdictKind kind;
    std::uint32_t tokens = 0;
    std::uint32_t held = 0;
    std::uint32_t in_flight = 0;
    std::vector<NodeId> holders;          // one entry per held token
    std::vector<ChannelTokens> channels;  // channels that carried tokens
    std::vector<NodeId> missing;          // inconclusive: who did not report
    std::vector<NodeId> silent;           // of those, the ones the monitor's links hear nothing from
    std::vector<NodeId> restarted;        // inconclusive: a process the snapshot did not begin with (restarted, or first heard of during it)
    Epoch epoch{0};                       // the newest epoch in the cut: only its tokens are counted
    std::uint32_t stale = 0;              // tokens of older epochs in the cut (discarded where they arrive)
    bool epoch_change = false;            // inconclusive: some nodes recorded before adopting `epoch`, and the count is not 1
    bool forming = false;                 // inconclusive: no token and no node has an epoch (a ring starting, or every node restarted)
    bool unborn = false;                  // inconclusive: no token, in an epoch whose token was not known born when the snapshot began
    bool stale_view = false;  // inconclusive: a node outside the members it asked took part (the view had changed: a standby's lags the leader's)
    std::optional<FirstTokenOrder> first_token;  // forming: the monitor ordered the first token on this verdict
    bool truncated = false;                      // a report listed fewer tokens than it counted: holders/channels are partial
    std::vector<NodeRecord> cut;                 // every report's record, in ring order
    std::vector<NodeId> members;                 // the ring it was taken in (the view's members), in ring order
    Instant started;
    Duration duration{0};
    bool alarm() const { return kind == VerdictKind::token_lost || kind == VerdictKind::token_duplicated; }
};

// The verdict a conclusive snapshot gets for its count: 1 ok, 0 lost, more duplicated.
inline VerdictKind verdict_for(std::uint32_t tokens) {
    return tokens == 1 ? VerdictKind::ok : tokens == 0 ? VerdictKind::token_lost : VerdictKind::token_duplicated;
}

}  // namespace ringwatch
