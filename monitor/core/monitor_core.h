// The monitor's logic, pure: starts a snapshot every interval (by default every node is asked to
// start it at once; optionally the first node alone), gathers the nodes' reports, and decides
// each verdict: tokens = held + recorded in flight; 1 ok, 0 token_lost, 2+ token_duplicated; not
// complete within the timeout: inconclusive, naming the nodes that did not report. Bounded: at most
// max_in_flight snapshots at once (a start that would exceed it is skipped and counted).
//
// Caller's contract: on_report(now, from, report) for every report a link delivers; on_timer(now)
// whenever next_deadline() has passed; set_node_silent() on the links' peer_silent/peer_alive; after each call send take_commands() to their nodes and
// publish take_verdicts().
#pragma once

#include <map>
#include <set>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "ring/core/messages.h"

namespace ringwatch {

struct MonitorConfig {
    std::vector<NodeId> ring;  // ring order; ring[i]'s successor is ring[i+1], the last's is ring[0]
    Duration interval{std::chrono::milliseconds(100)};
    Duration timeout{std::chrono::milliseconds(1000)};
    bool single_initiator = false;
    std::size_t max_in_flight = 32;
};

enum class VerdictKind : std::uint8_t { ok, token_lost, token_duplicated, inconclusive };
std::string_view to_string(VerdictKind v);

struct ChannelTokens {
    NodeId from;
    NodeId to;
    std::uint32_t tokens;
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
    bool truncated = false;               // a report listed fewer tokens than it counted: holders/channels are partial
    Instant started;
    Duration duration{0};
    bool alarm() const { return kind == VerdictKind::token_lost || kind == VerdictKind::token_duplicated; }
};

struct MonitorStats {
    std::uint64_t started = 0;
    std::uint64_t ok = 0;
    std::uint64_t token_lost = 0;
    std::uint64_t token_duplicated = 0;
    std::uint64_t inconclusive = 0;
    std::uint64_t skipped_in_flight_bound = 0;
    std::uint64_t late_reports = 0;       // for snapshots already decided
    std::uint64_t unexpected_reports = 0; // from a node not in the ring, or twice
};

class MonitorCore {
public:
    MonitorCore(MonitorConfig config, Instant now);

    void on_report(Instant now, NodeId from, const SnapshotReport& report);
    void on_timer(Instant now);
    // From the monitor's link to each node: nothing heard for a while (true), or heard again.
    void set_node_silent(NodeId node, bool silent);

    struct Command {
        NodeId node;
        SnapshotStart start;
    };
    std::vector<Command> take_commands() { return std::exchange(commands_, {}); }
    std::vector<Verdict> take_verdicts() { return std::exchange(verdicts_, {}); }
    std::optional<Instant> next_deadline() const;

    const MonitorStats& stats() const { return stats_; }
    const MonitorConfig& config() const { return config_; }
    std::size_t in_flight() const { return pending_.size(); }

private:
    struct Pending {
        Instant started;
        std::map<NodeId, SnapshotReport> reports;
    };
    void start_snapshot(Instant now);
    void decide(Instant now, SnapshotId id, Pending& p, bool timed_out);
    bool in_ring(NodeId n) const;

    MonitorConfig config_;
    Instant next_start_;
    SnapshotId next_id_{1};
    std::map<SnapshotId, Pending> pending_;
    std::set<NodeId> silent_;
    std::vector<Command> commands_;
    std::vector<Verdict> verdicts_;
    MonitorStats stats_;
};

}  // namespace ringwatch
