// What the web dashboard is told, pure: the monitor's verdicts, incident and node events in, one
// JSON message per change out (each with a "type"), and for a page that connects now, the greeting
// that brings it up to date (the ring, recent snapshots with their cuts, recent events, node states).
//
// Node states as the page shows them: up; silent (no report for `silent_after`, not yet declared
// down); paused (declared down but its address still bound: a stopped or hung process); down
// (declared down and the kernel refused a probe: no process holds the port).
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "monitor/core/incidents.h"
#include "monitor/core/membership.h"
#include "monitor/core/node_liveness.h"

namespace ringwatch {

struct DashboardNode {
    NodeId id;
    std::string address;
};

struct DashboardInfo {
    std::string ring_name;
    std::vector<DashboardNode> nodes;  // ring order
    Duration interval{std::chrono::milliseconds(100)};
    std::string recover = "off";
    bool single_initiator = false;
    std::size_t monitor_index = 0;  // which of the configured monitors serves this page
    std::size_t monitors = 1;       // how many are configured
};

// Which monitor leads, as this one knows it (its own leadership, or the leader's hellos).
struct DashboardLeadership {
    bool leading = false;
    std::uint32_t term = 0;
    std::optional<std::size_t> leader;  // the leading monitor's place in the config's list, if known
    bool operator==(const DashboardLeadership&) const = default;
};

enum class DashboardNodeState : std::uint8_t { up, silent, paused, down };
std::string_view to_string(DashboardNodeState s);

class DashboardFeed {
public:
    static constexpr std::size_t kSnapshotsKept = 120;
    static constexpr std::size_t kEventsKept = 100;

    DashboardFeed(DashboardInfo info, Instant start);

    // Each returns the message to send every connected page.
    std::string on_verdict(Instant now, const Verdict& v);
    std::string on_incident(Instant now, const IncidentEvent& e);
    std::string on_node_event(Instant now, const NodeEvent& e);
    // Views (membership.h): a view, an eviction, a rejoin, a link fault ({"type":"membership"}); the
    // page draws the ring as the current view has it (the nodes left out bypassed).
    std::string on_membership_event(Instant now, const MembershipEvent& e);
    // A control the page asked for, and what became of it ("sent", "acknowledged", "refused", ...).
    std::string on_control(Instant now, std::string_view action, std::string_view what, bool ok);
    // The nodes' states from their last reports; a message only when some state changed.
    std::optional<std::string> on_tick(Instant now, const std::function<std::optional<Instant>(NodeId)>& last_report);

    // Who leads now ({"type":"leadership"}); a message only when that changed.
    std::optional<std::string> on_leadership(const DashboardLeadership& l);
    // A page connecting now: hello, then the history, oldest first, then the node states.
    std::vector<std::string> greeting() const;

    DashboardNodeState state(NodeId n) const;
    // Every node's state as the page shows it ({"type":"nodes"}): sent after each node event too.
    std::string states_message() const;

private:
    std::string event(Instant now, const std::string& documented, std::string_view type);
    double ms_since_start(Instant t) const;
    void keep(std::deque<std::string>& where, std::string message, std::size_t limit);

    DashboardInfo info_;
    Instant start_;
    Duration silent_after_;
    std::map<NodeId, DashboardNodeState> states_;
    std::map<NodeId, bool> declared_down_;
    std::map<NodeId, NodeAddress> down_address_;
    std::deque<std::string> snapshots_;
    std::deque<std::string> events_;
    std::optional<Instant> last_ok_start_;  // detection latency runs from the newest snapshot judged ok
    Epoch epoch_{0};
    std::optional<MembershipEvent> view_;  // the current view, once there is one
    std::optional<DashboardLeadership> leadership_;
};

}  // namespace ringwatch
