// JSON rendering of verdicts and events, by nlohmann-json (keys in the documented order).
#include "monitor/core/verdict_json.h"

#include <nlohmann/json.hpp>

namespace ringwatch {

namespace {
using Json = nlohmann::ordered_json;

Json ids(const std::vector<NodeId>& v) {
    Json a = Json::array();
    for (NodeId id : v) a.push_back(id.value);
    return a;
}
std::string text(std::string_view s) { return std::string(s); }

// The keys every snapshot and alarm event carries after its own.
void add_common(Json& j, const Verdict& v) {
    j["tokens"] = v.tokens;
    j["held"] = v.held;
    j["in_flight"] = v.in_flight;
    j["holders"] = ids(v.holders);
    Json channels = Json::array();
    for (const auto& c : v.channels) channels.push_back(Json{{"from", c.from.value}, {"to", c.to.value}, {"tokens", c.tokens}});
    j["channels"] = std::move(channels);
    j["missing"] = ids(v.missing);
    j["silent"] = ids(v.silent);
    j["restarted"] = ids(v.restarted);
    j["truncated"] = v.truncated;
    j["forming"] = v.forming;
    if (v.unborn) j["unborn"] = true;
    if (v.stale_view) j["stale_view"] = true;
    if (v.first_token) j["first_token"] = Json{{"epoch", v.first_token->epoch.value}, {"issuer", v.first_token->issuer.value}};
    j["epoch"] = v.epoch.value;
    j["stale"] = v.stale;
    j["epoch_change"] = v.epoch_change;
    j["members"] = ids(v.members);  // the ring it was taken in: the view's members
    j["duration_us"] = v.duration.count();
    j["decided_us"] = to_us(v.started + v.duration);  // the monitor's monotonic clock: benchmarks compare it with the nodes'
}
}  // namespace

std::string snapshot_event_json(const Verdict& v) {
    Json j{{"event", "snapshot"}, {"id", snapshot_number(v.id)}, {"verdict", text(to_string(v.kind))}};
    add_common(j, v);
    return j.dump();
}

std::string alarm_event_json(const Verdict& v) {
    Json j{{"event", "alarm"}, {"kind", text(to_string(v.kind))}, {"snapshot", snapshot_number(v.id)}};
    add_common(j, v);
    return j.dump();
}

std::string incident_event_json(const IncidentEvent& e, std::string_view ring) {
    if (e.kind == IncidentEventKind::alarm) {
        Json j{{"event", "alarm"},
               {"kind", text(to_string(e.verdict.kind))},
               {"incident", incident_id(ring, e)},
               {"snapshot", snapshot_number(e.verdict.id)}};
        add_common(j, e.verdict);
        return j.dump();
    }
    const std::string fault = text(to_string(e.fault));
    if (e.kind == IncidentEventKind::recovery) {
        return Json{{"event", "recovery"},
                    {"kind", fault},
                    {"incident", incident_id(ring, e)},
                    {"mode", text(to_string(e.mode))},
                    {"epoch", e.epoch.value},
                    {"issuer", e.issuer ? Json(e.issuer->value) : Json(nullptr)},
                    {"restored", e.restored ? Json(snapshot_number(*e.restored)) : Json(nullptr)},
                    {"snapshot", snapshot_number(e.verdict.id)},
                    {"by_hand", e.by_hand},
                    {"note", e.note}}
            .dump();
    }
    if (e.kind == IncidentEventKind::recovered) {
        return Json{{"event", "recovered"},
                    {"kind", fault},
                    {"incident", incident_id(ring, e)},
                    {"mode", text(to_string(e.mode))},
                    {"epoch", e.epoch.value},
                    {"snapshot", snapshot_number(e.verdict.id)},
                    {"since_alarm_ms", e.lasted.count() / 1000}}
            .dump();
    }
    return Json{{"event", "resolved"},
                {"kind", fault},
                {"incident", incident_id(ring, e)},
                {"first_snapshot", snapshot_number(e.first)},
                {"last_snapshot", snapshot_number(e.last)},
                {"snapshot", snapshot_number(e.verdict.id)},
                {"duration_ms", e.lasted.count() / 1000},
                {"how", how(e)}}
        .dump();
}

std::string node_event_json(const NodeEvent& e) {
    if (e.kind == NodeEventKind::node_down) {
        return Json{{"event", "node_down"},
                    {"node", e.node.value},
                    {"silent_ms", e.silent_for.count() / 1000},
                    {"address", text(to_string(e.address))},
                    {"ever_heard", e.ever_heard}}
            .dump();
    }
    return Json{{"event", "node_up"}, {"node", e.node.value}, {"down_ms", e.down_for.count() / 1000}, {"restarted", e.restarted}}.dump();
}

std::string membership_event_json(const MembershipEvent& e) {
    switch (e.kind) {
        case MembershipEventKind::view: {
            Json members = Json::array();
            for (NodeId n : e.members) members.push_back(n.value);
            return Json{{"event", "view"}, {"epoch", e.epoch.value}, {"members", members}, {"issuer", e.node.value}}.dump();
        }
        case MembershipEventKind::node_evicted:
            return Json{{"event", "node_evicted"},
                        {"node", e.node.value},
                        {"address", text(to_string(e.address))},
                        {"unacknowledged", e.unacknowledged},
                        {"epoch", e.epoch.value}}
                .dump();
        case MembershipEventKind::node_rejoined: return Json{{"event", "node_rejoined"}, {"node", e.node.value}, {"epoch", e.epoch.value}}.dump();
        case MembershipEventKind::link_fault:
            return Json{{"event", "link_fault"}, {"from", e.from.value}, {"to", e.node.value}, {"epoch", e.epoch.value}}.dump();
    }
    return {};
}

std::string leader_event_json(const LeaderEvent& e) {
    Json j{{"event", "leadership"}, {"kind", text(to_string(e.kind))}, {"term", e.term.value}};
    if (e.kind == LeaderEventKind::leading) j["promises"] = e.promises;
    if (e.later != kNoTerm) j["later_term"] = e.later.value;
    if (e.kind == LeaderEventKind::stepped_down || (e.kind == LeaderEventKind::claim_failed && e.later != kNoTerm)) j["told_by"] = e.by.value;
    j["at_us"] = to_us(e.at);  // the monitor's monotonic clock, as decided_us
    return j.dump();
}

}  // namespace ringwatch
