// What the web dashboard is told, pure: the monitor's verdicts, incident and node events in, one
// JSON message per change out (each with a "type"), and for a page that connects now, the greeting
// that brings it up to date (the ring, recent snapshots with their cuts, recent events, node
// states, the token as last seen, the monitor's totals).
//
// Node states as the page shows them, from the monitor's own node events only: unheard (not heard
// from since the monitor started), up, paused (reported down with its address still bound: a
// stopped or hung process) and down (reported down and the kernel refused a probe: no process
// holds the port). A live node that merely sends no report for a while (a successor whose snapshot
// waits for a dead predecessor's marker) stays up until the monitor reports it down.
//
// Times for people are wall-clock (Unix epoch ms, "..._unix_ms"): each call gets a Moment, the
// monotonic instant the cores run on and the wall clock at that instant; instants of the past (a
// snapshot's start) are placed on the wall clock by their distance from it.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "monitor/core/health.h"
#include "monitor/core/incidents.h"
#include "monitor/core/membership.h"
#include "monitor/core/monitor_core.h"
#include "monitor/core/node_liveness.h"
#include "monitor/core/token_freshness.h"

namespace ringwatch {

struct DashboardNode {
    NodeId id;
    std::string address;
};

struct DashboardInfo {
    std::string ring_name;
    std::vector<DashboardNode> nodes;  // ring order
    Duration interval{std::chrono::milliseconds(100)};
    Duration timeout{std::chrono::milliseconds(1000)};  // a snapshot's: with the interval, when a sighting is outdated
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

// The monitor's own totals, as it prints them at exit: the page shows these, never counts of its
// own, so a page opened late shows the same numbers as one opened early.
struct DashboardTotals {
    std::uint64_t ok = 0, token_lost = 0, token_duplicated = 0, inconclusive = 0;  // verdicts
    std::uint64_t incidents = 0;                                                   // opened: token incidents + node_down
    std::uint64_t token_lost_incidents = 0, token_duplicated_incidents = 0, node_down = 0;
    std::uint64_t resolved = 0;  // token incidents resolved + node_up
    bool operator==(const DashboardTotals&) const = default;
};
DashboardTotals totals_of(const MonitorStats& verdicts, const IncidentStats& incidents, const LivenessStats& nodes);

// A moment on both clocks.
struct Moment {
    Instant at;            // the monotonic clock the cores run on
    std::int64_t unix_ms;  // the wall clock then
};

enum class DashboardNodeState : std::uint8_t { unheard, up, paused, down };
std::string_view to_string(DashboardNodeState s);

class DashboardFeed {
public:
    static constexpr std::size_t kSnapshotsKept = 120;
    static constexpr std::size_t kEventsKept = 100;

    explicit DashboardFeed(DashboardInfo info);

    // Each returns the messages to send every connected page, in order.
    std::vector<std::string> on_verdict(Moment now, const Verdict& v);
    std::string on_incident(Moment now, const IncidentEvent& e);
    std::vector<std::string> on_node_event(Moment now, const NodeEvent& e);
    // Views (membership.h): a view, an eviction, a rejoin, a link fault ({"type":"membership"}); the
    // page draws the ring as the current view has it (the nodes left out bypassed).
    std::string on_membership_event(Moment now, const MembershipEvent& e);
    // A control the page asked for, and what became of it ("sent", "acknowledged", "refused", ...).
    std::string on_control(Moment now, std::string_view action, std::string_view what, bool ok);
    // The monitor's totals and the incidents open ({"type":"totals"}); a message only when they changed.
    std::optional<std::string> on_totals(const DashboardTotals& t);
    // Every tick: nodes first heard of (`heard`: the monitor's liveness has heard it), and the token's
    // freshness when it turned (a sighting grows outdated with no event at all).
    std::vector<std::string> on_tick(Moment now, const std::function<bool(NodeId)>& heard);

    // Who leads now ({"type":"leadership"}); a message only when that changed.
    std::optional<std::string> on_leadership(const DashboardLeadership& l);
    // A page connecting now: hello, then the history, oldest first, then the node states, the token,
    // the totals, and "greeted" (the page drops what it drew before and was not told again).
    std::vector<std::string> greeting(Moment now) const;

    DashboardNodeState state(NodeId n) const;
    // Every node's state as the page shows it ({"type":"nodes"}).
    std::string states_message() const;
    // The token as last seen and whether that is outdated ({"type":"token"}).
    std::string token_message(Moment now) const;
    // What /healthz judges (health.h), as of `now`.
    HealthReport health(Instant now) const;
    const TokenFreshness& freshness() const { return freshness_; }

private:
    std::string event(Moment now, const std::string& documented, std::string_view type);
    void keep(std::deque<std::string>& where, std::string message, std::size_t limit);
    std::string totals_message() const;

    DashboardInfo info_;
    std::map<NodeId, DashboardNodeState> states_;
    std::deque<std::string> snapshots_;
    std::deque<std::string> events_;
    std::optional<Instant> last_ok_start_;  // detection latency runs from the newest snapshot judged ok
    Epoch epoch_{0};
    std::optional<MembershipEvent> view_;  // the current view, once there is one
    std::optional<DashboardLeadership> leadership_;
    TokenFreshness freshness_;
    Freshness told_freshness_ = Freshness::none;  // what the pages were last told
    DashboardTotals totals_;
    std::string told_totals_;                     // the totals message the pages were last sent
    std::optional<std::uint64_t> last_snapshot_;  // the number of the latest verdict (the totals include it)
    std::map<std::string, std::int64_t> open_;    // open incidents: "token_lost", "node 4 down" -> since (unix ms)
};

}  // namespace ringwatch
