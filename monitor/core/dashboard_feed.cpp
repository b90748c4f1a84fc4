#include "monitor/core/dashboard_feed.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "monitor/core/verdict_explanation.h"
#include "monitor/core/verdict_json.h"

namespace ringwatch {

namespace {
using Json = nlohmann::ordered_json;

double ms(Duration d) { return static_cast<double>(d.count()) / 1000.0; }
}  // namespace

std::string_view to_string(DashboardNodeState s) {
    switch (s) {
        case DashboardNodeState::up: return "up";
        case DashboardNodeState::silent: return "silent";
        case DashboardNodeState::paused: return "paused";
        case DashboardNodeState::down: return "down";
    }
    return "?";
}

DashboardFeed::DashboardFeed(DashboardInfo info, Instant start)
    : info_(std::move(info)), start_(start), silent_after_(std::max<Duration>(3 * info_.interval, std::chrono::milliseconds(300))) {
    for (const auto& n : info_.nodes) states_[n.id] = DashboardNodeState::silent;  // until heard
}

double DashboardFeed::ms_since_start(Instant t) const { return ms(t - start_); }

void DashboardFeed::keep(std::deque<std::string>& where, std::string message, std::size_t limit) {
    where.push_back(std::move(message));
    while (where.size() > limit) where.pop_front();
}

std::string DashboardFeed::on_verdict(Instant now, const Verdict& v) {
    Json j = Json::parse(snapshot_event_json(v));  // the documented event, then what the page adds
    j["type"] = "snapshot";
    j["at_ms"] = ms_since_start(now);
    j["started_ms"] = ms_since_start(v.started);
    j["duration_ms"] = ms(v.duration);
    if (v.alarm() && last_ok_start_) j["detection_ms"] = ms(now - *last_ok_start_);
    Json cut = Json::array();
    for (const auto& r : v.cut)
        cut.push_back(Json{{"node", r.node.value},
                           {"held", r.held},
                           {"channel_from", r.channel_from.value},
                           {"in_flight", r.in_flight},
                           {"queue", r.queue_length},
                           {"epoch", r.epoch.value}});
    j["cut"] = std::move(cut);
    j["explanation"] = explain_verdict(v);
    if (v.kind == VerdictKind::ok && (!last_ok_start_ || *last_ok_start_ < v.started)) last_ok_start_ = v.started;
    if (v.kind != VerdictKind::inconclusive) epoch_ = std::max(epoch_, v.epoch);
    std::string m = j.dump();
    keep(snapshots_, m, kSnapshotsKept);
    return m;
}

// A documented event (README "Contracts") as the page gets it: its type and time added, and kept
// for pages that connect later.
std::string DashboardFeed::event(Instant now, const std::string& documented, std::string_view type) {
    Json j = Json::parse(documented);
    j["type"] = type;
    j["at_ms"] = ms_since_start(now);
    std::string m = j.dump();
    keep(events_, m, kEventsKept);
    return m;
}

std::string DashboardFeed::on_incident(Instant now, const IncidentEvent& e) {
    if (e.kind == IncidentEventKind::recovery) epoch_ = std::max(epoch_, e.epoch);
    return event(now, incident_event_json(e, info_.ring_name), "incident");
}

std::string DashboardFeed::on_node_event(Instant now, const NodeEvent& e) {
    declared_down_[e.node] = e.kind == NodeEventKind::node_down;
    if (e.kind == NodeEventKind::node_down) {
        down_address_[e.node] = e.address;
        states_[e.node] = e.address == NodeAddress::port_closed ? DashboardNodeState::down : DashboardNodeState::paused;
    } else {
        states_[e.node] = DashboardNodeState::up;
    }
    return event(now, node_event_json(e), "node");
}

std::string DashboardFeed::on_membership_event(Instant now, const MembershipEvent& e) {
    if (e.kind == MembershipEventKind::view) view_ = e;
    return event(now, membership_event_json(e), "membership");
}

std::string DashboardFeed::on_control(Instant now, std::string_view action, std::string_view what, bool ok) {
    std::string m = Json{{"type", "control"}, {"at_ms", ms_since_start(now)}, {"action", action}, {"what", what}, {"ok", ok}}.dump();
    keep(events_, m, kEventsKept);
    return m;
}

std::optional<std::string> DashboardFeed::on_tick(Instant now, const std::function<std::optional<Instant>(NodeId)>& last_report) {
    bool changed = false;
    for (auto& [n, s] : states_) {
        DashboardNodeState next;
        const auto at = last_report(n);
        const bool quiet = !at || now - *at > silent_after_;
        if (declared_down_[n] && quiet) {
            next = down_address_[n] == NodeAddress::port_closed ? DashboardNodeState::down : DashboardNodeState::paused;
        } else {
            next = quiet ? DashboardNodeState::silent : DashboardNodeState::up;
        }
        changed |= next != s;
        s = next;
    }
    if (!changed) return std::nullopt;
    return states_message();
}

DashboardNodeState DashboardFeed::state(NodeId n) const {
    const auto it = states_.find(n);
    return it == states_.end() ? DashboardNodeState::silent : it->second;
}

std::string DashboardFeed::states_message() const {
    Json states = Json::object();
    for (const auto& [n, s] : states_) states[std::to_string(n.value)] = std::string(to_string(s));
    return Json{{"type", "nodes"}, {"states", std::move(states)}}.dump();
}

namespace {
Json leadership_json(const DashboardLeadership& l) {
    Json j{{"type", "leadership"}, {"leading", l.leading}, {"term", l.term}, {"leader", nullptr}};
    if (l.leader) j["leader"] = *l.leader;
    return j;
}
}  // namespace

std::optional<std::string> DashboardFeed::on_leadership(const DashboardLeadership& l) {
    if (leadership_ == l) return std::nullopt;
    leadership_ = l;
    return leadership_json(l).dump();
}

std::vector<std::string> DashboardFeed::greeting() const {
    Json nodes = Json::array();
    for (const auto& n : info_.nodes) nodes.push_back(Json{{"id", n.id.value}, {"address", n.address}});
    std::vector<std::string> out;
    Json hello{{"type", "hello"},           {"ring", info_.ring_name},
               {"nodes", std::move(nodes)}, {"interval_ms", ms(info_.interval)},
               {"recover", info_.recover},  {"single_initiator", info_.single_initiator},
               {"epoch", epoch_.value}};
    if (view_) hello["view"] = Json::parse(membership_event_json(*view_));
    hello["monitor"] = Json{{"index", info_.monitor_index}, {"of", info_.monitors}};
    out.push_back(hello.dump());
    if (leadership_) out.push_back(leadership_json(*leadership_).dump());
    // Snapshots and events interleaved as they happened would need timestamps compared; the page
    // orders by at_ms itself. Events first: the snapshot strip is drawn last and wins the screen.
    out.insert(out.end(), events_.begin(), events_.end());
    out.insert(out.end(), snapshots_.begin(), snapshots_.end());
    out.push_back(states_message());
    return out;
}

}  // namespace ringwatch
