#include "monitor/core/dashboard_feed.h"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "monitor/core/verdict_explanation.h"
#include "monitor/core/verdict_json.h"

namespace ringwatch {

namespace {
using Json = nlohmann::ordered_json;

double ms(Duration d) { return static_cast<double>(d.count()) / 1000.0; }
// An instant of the past (or the present) on the wall clock, by its distance from `now`.
std::int64_t unix_ms_of(Moment now, Instant t) { return now.unix_ms - std::chrono::duration_cast<std::chrono::milliseconds>(now.at - t).count(); }

Json ids(const std::vector<NodeId>& nodes) {
    Json out = Json::array();
    for (NodeId n : nodes) out.push_back(n.value);
    return out;
}
}  // namespace

std::string_view to_string(DashboardNodeState s) {
    switch (s) {
        case DashboardNodeState::unheard: return "unheard";
        case DashboardNodeState::up: return "up";
        case DashboardNodeState::paused: return "paused";
        case DashboardNodeState::down: return "down";
    }
    return "?";
}

DashboardTotals totals_of(const MonitorStats& verdicts, const IncidentStats& incidents, const LivenessStats& nodes) {
    DashboardTotals t;
    t.ok = verdicts.ok;
    t.token_lost = verdicts.token_lost;
    t.token_duplicated = verdicts.token_duplicated;
    t.inconclusive = verdicts.inconclusive;
    t.incidents = incidents.opened + nodes.node_down;
    t.token_lost_incidents = incidents.token_lost;
    t.token_duplicated_incidents = incidents.token_duplicated;
    t.node_down = nodes.node_down;
    t.resolved = incidents.resolved + nodes.node_up;
    return t;
}

DashboardFeed::DashboardFeed(DashboardInfo info)
    : info_(std::move(info)), freshness_(TokenFreshness::stale_after_for(info_.interval, info_.timeout)) {
    for (const auto& n : info_.nodes) states_[n.id] = DashboardNodeState::unheard;
}

void DashboardFeed::keep(std::deque<std::string>& where, std::string message, std::size_t limit) {
    where.push_back(std::move(message));
    while (where.size() > limit) where.pop_front();
}

std::vector<std::string> DashboardFeed::on_verdict(Moment now, const Verdict& v) {
    Json j = Json::parse(snapshot_event_json(v));  // the documented event, then what the page adds
    j["type"] = "snapshot";
    j["at_unix_ms"] = now.unix_ms;
    j["started_unix_ms"] = unix_ms_of(now, v.started);
    j["duration_ms"] = ms(v.duration);
    if (v.alarm() && last_ok_start_) j["detection_ms"] = ms(now.at - *last_ok_start_);
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
    freshness_.on_verdict(v);
    last_snapshot_ = snapshot_number(v.id);
    std::string m = j.dump();
    keep(snapshots_, m, kSnapshotsKept);
    told_freshness_ = freshness_.at(now.at);
    return {std::move(m), token_message(now)};
}

// A documented event (README "Contracts") as the page gets it: its type and time added, and kept
// for pages that connect later.
std::string DashboardFeed::event(Moment now, const std::string& documented, std::string_view type) {
    Json j = Json::parse(documented);
    j["type"] = type;
    j["at_unix_ms"] = now.unix_ms;
    std::string m = j.dump();
    keep(events_, m, kEventsKept);
    return m;
}

std::string DashboardFeed::on_incident(Moment now, const IncidentEvent& e) {
    if (e.kind == IncidentEventKind::recovery) epoch_ = std::max(epoch_, e.epoch);
    if (e.kind == IncidentEventKind::alarm) open_.emplace(std::string(to_string(e.fault)), now.unix_ms);
    if (e.kind == IncidentEventKind::resolved) open_.erase(std::string(to_string(e.fault)));
    return event(now, incident_event_json(e, info_.ring_name), "incident");
}

std::vector<std::string> DashboardFeed::on_node_event(Moment now, const NodeEvent& e) {
    const std::string what = fmt::format("node {} down", e.node);
    if (e.kind == NodeEventKind::node_down) {
        states_[e.node] = e.address == NodeAddress::port_closed ? DashboardNodeState::down : DashboardNodeState::paused;
        open_.emplace(what, unix_ms_of(now, e.at));
    } else {
        states_[e.node] = DashboardNodeState::up;
        open_.erase(what);
    }
    freshness_.on_node_event(e);
    told_freshness_ = freshness_.at(now.at);
    // The node's state changes with its event: the page is told both (no later tick may change a
    // state again to carry it). The token first: a page that draws between the two never shows a
    // node down beside a sighting from before it that still looks like news.
    return {event(now, node_event_json(e), "node"), token_message(now), states_message()};
}

std::string DashboardFeed::on_membership_event(Moment now, const MembershipEvent& e) {
    if (e.kind == MembershipEventKind::view) view_ = e;
    return event(now, membership_event_json(e), "membership");
}

std::string DashboardFeed::on_control(Moment now, std::string_view action, std::string_view what, bool ok) {
    std::string m = Json{{"type", "control"}, {"at_unix_ms", now.unix_ms}, {"action", action}, {"what", what}, {"ok", ok}}.dump();
    keep(events_, m, kEventsKept);
    return m;
}

std::optional<std::string> DashboardFeed::on_totals(const DashboardTotals& t) {
    totals_ = t;
    std::string m = totals_message();
    if (m == told_totals_) return std::nullopt;
    told_totals_ = m;
    return m;
}

std::string DashboardFeed::totals_message() const {
    const DashboardTotals& t = totals_;
    Json open = Json::array();
    for (const auto& [what, since] : open_) open.push_back(Json{{"what", what}, {"since_unix_ms", since}});
    return Json{
        {"type", "totals"},
        {"snapshot", last_snapshot_ ? Json(*last_snapshot_) : Json(nullptr)},
        {"verdicts", {{"ok", t.ok}, {"token_lost", t.token_lost}, {"token_duplicated", t.token_duplicated}, {"inconclusive", t.inconclusive}}},
        {"incidents",
         {{"opened", t.incidents},
          {"token_lost", t.token_lost_incidents},
          {"token_duplicated", t.token_duplicated_incidents},
          {"node_down", t.node_down},
          {"resolved", t.resolved}}},
        {"open", std::move(open)}}
        .dump();
}

std::vector<std::string> DashboardFeed::on_tick(Moment now, const std::function<bool(NodeId)>& heard) {
    std::vector<std::string> out;
    bool changed = false;
    for (auto& [n, s] : states_) {
        if (s != DashboardNodeState::unheard || !heard(n)) continue;
        s = DashboardNodeState::up;
        changed = true;
    }
    if (changed) out.push_back(states_message());
    if (const Freshness f = freshness_.at(now.at); f != told_freshness_) {
        told_freshness_ = f;
        out.push_back(token_message(now));
    }
    return out;
}

DashboardNodeState DashboardFeed::state(NodeId n) const {
    const auto it = states_.find(n);
    return it == states_.end() ? DashboardNodeState::unheard : it->second;
}

std::string DashboardFeed::states_message() const {
    Json states = Json::object();
    for (const auto& [n, s] : states_) states[std::to_string(n.value)] = std::string(to_string(s));
    return Json{{"type", "nodes"}, {"states", std::move(states)}}.dump();
}

std::string DashboardFeed::token_message(Moment now) const {
    const Freshness f = freshness_.at(now.at);
    Json j{{"type", "token"},
           {"freshness", to_string(f)},
           {"outdated", f != Freshness::fresh},
           {"stale_after_ms", ms(freshness_.stale_after())},
           {"down", ids(freshness_.down())},
           {"down_since", ids(freshness_.down_since_latest())}};
    if (const auto& s = freshness_.latest()) {
        Json channels = Json::array();
        for (const auto& c : s->channels) channels.push_back(Json{{"from", c.from.value}, {"to", c.to.value}, {"tokens", c.tokens}});
        j["snapshot"] = snapshot_number(s->id);
        j["verdict"] = to_string(s->kind);
        j["tokens"] = s->tokens;
        j["holders"] = ids(s->holders);
        j["channels"] = std::move(channels);
        j["where"] = where_tokens(s->holders, s->channels);
        j["started_unix_ms"] = unix_ms_of(now, s->started);
        j["age_ms"] = ms(freshness_.age(now.at));
    }
    return j.dump();
}

HealthReport DashboardFeed::health(Instant now) const {
    HealthReport r;
    r.at = now;
    if (leadership_) {
        r.leading = leadership_->leading;
        r.term = leadership_->term;
        r.leader = leadership_->leader;
    }
    if (freshness_.latest()) r.since_conclusive = freshness_.age(now);
    r.stale_after = freshness_.stale_after();
    r.down = freshness_.down();
    return r;
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

std::vector<std::string> DashboardFeed::greeting(Moment now) const {
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
    // Events first: the snapshot strip is drawn last and wins the screen.
    out.insert(out.end(), events_.begin(), events_.end());
    out.insert(out.end(), snapshots_.begin(), snapshots_.end());
    out.push_back(states_message());
    out.push_back(token_message(now));
    out.push_back(totals_message());
    out.push_back(Json{{"type", "greeted"}}.dump());
    return out;
}

}  // namespace ringwatch
