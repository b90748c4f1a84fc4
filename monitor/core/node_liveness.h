// Which nodes are up, pure: a node is heard when its report (or its link's handshake) reaches the
// monitor. One that falls quiet is probed; a probe the kernel refuses (ICMP port unreachable: no
// socket holds the port, the process is gone) raises `node_down` at once, and silence alone raises
// it after `node_timeout`. A paused process still holds its port, so it is only ever reported down
// by the timeout, as silent with its address still bound. Hearing from a node that was down raises
// `node_up`, saying whether it came back as a new process.
//
// Caller's contract: heard() for every report and link handshake; probe_refused() when the kernel
// refuses a probe; on_timer(now) once next_deadline() has passed; after each call send a probe to
// each node of take_probes() and publish take_events().
#pragma once

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

#include "ring/core/types.h"

namespace ringwatch {

struct LivenessConfig {
    Duration node_timeout{std::chrono::milliseconds(1000)};  // silent this long: down
    Duration suspect_after{std::chrono::milliseconds(200)};  // silent this long: probe it
    Duration probe_every{std::chrono::milliseconds(100)};
};

// Probe timings that follow the snapshot interval: a node reports once per interval, so two
// intervals without a report make it a suspect, probed once per interval.
inline LivenessConfig liveness_for(Duration interval, Duration node_timeout) {
    LivenessConfig c;
    c.node_timeout = node_timeout;
    c.suspect_after = std::max<Duration>(2 * interval, std::chrono::milliseconds(20));
    c.probe_every = std::max<Duration>(interval, std::chrono::milliseconds(10));
    return c;
}

enum class NodeEventKind : std::uint8_t { node_down, node_up };
// node_down: what its address said. port_closed: the kernel refused a probe (no process holds the
// port); no_answer: nothing refused (a paused or busy process, or a host we cannot reach).
enum class NodeAddress : std::uint8_t { port_closed, no_answer };
std::string_view to_string(NodeEventKind k);
std::string_view to_string(NodeAddress a);

struct NodeEvent {
    NodeEventKind kind;
    NodeId node;
    Instant at;
    Duration silent_for{0};                        // node_down: since it was last heard (or since the monitor started)
    NodeAddress address = NodeAddress::no_answer;  // node_down
    bool ever_heard = true;                        // node_down: false if the monitor never heard from it
    Duration down_for{0};                          // node_up: since its node_down
    bool restarted = false;                        // node_up: a new process (another incarnation)
};

struct LivenessStats {
    std::uint64_t probes = 0;
    std::uint64_t refused = 0;
    std::uint64_t node_down = 0;  // incidents opened
    std::uint64_t node_up = 0;
};

class NodeLiveness {
public:
    NodeLiveness(const std::vector<NodeId>& nodes, LivenessConfig config, Instant now);

    void heard(Instant now, NodeId n, Incarnation incarnation);
    void probe_refused(Instant now, NodeId n);
    // The monitor itself did not run for `stall`, up to `now`: no node could be heard meanwhile, so
    // that time is not counted as any node's silence (fresh evidence, a refused probe, still is).
    void excuse(Instant now, Duration stall);
    void on_timer(Instant now);

    std::vector<NodeId> take_probes() { return std::exchange(probes_, {}); }
    std::vector<NodeEvent> take_events() { return std::exchange(events_, {}); }
    std::optional<Instant> next_deadline() const;

    bool down(NodeId n) const;
    // Heard from at least once since the monitor started (a report or a link handshake).
    bool ever_heard(NodeId n) const;
    std::vector<NodeId> down_nodes() const;
    const LivenessStats& stats() const { return stats_; }
    const LivenessConfig& config() const { return config_; }

private:
    struct State {
        Instant last_heard;
        bool ever_heard = false;
        Incarnation incarnation;
        bool down = false;
        Instant down_at;
        bool refused = false;  // a probe was refused since it was last heard
        Instant next_probe;
        std::optional<Instant> indexed;  // its entry in due_ (none while down)
    };
    void go_down(Instant now, NodeId n, State& s);
    // After every change of a node's state: its entry in due_ follows.
    void reindex(NodeId n, State& s);

    LivenessConfig config_;
    std::map<NodeId, State> nodes_;
    // When each node that is up next needs the timer (probe or timeout): a monitor of a large ring
    // finds its next deadline, and the nodes due, without a pass over every node.
    std::set<std::pair<Instant, NodeId>> due_;
    std::vector<NodeId> due_now_;  // reused by on_timer()
    std::vector<NodeId> probes_;
    std::vector<NodeEvent> events_;
    LivenessStats stats_;
};

}  // namespace ringwatch
