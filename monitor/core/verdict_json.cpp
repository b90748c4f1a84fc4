// JSON rendering of verdicts.
#include "monitor/core/verdict_json.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace ringwatch {

namespace {
std::string channels_json(const Verdict& v) {
    std::string s = "[";
    for (std::size_t i = 0; i < v.channels.size(); ++i) {
        if (i) s += ",";
        s += fmt::format("{{\"from\":{},\"to\":{},\"tokens\":{}}}", v.channels[i].from, v.channels[i].to, v.channels[i].tokens);
    }
    return s + "]";
}
std::string ids_json(const std::vector<NodeId>& ids) {
    std::vector<std::uint16_t> raw;
    for (auto id : ids) raw.push_back(id.value);
    return fmt::format("[{}]", fmt::join(raw, ","));
}
std::string common(const Verdict& v) {
    return fmt::format("\"tokens\":{},\"held\":{},\"in_flight\":{},\"holders\":{},\"channels\":{},\"missing\":{},\"silent\":{},\"restarted\":{},\"truncated\":{},\"forming\":{},\"epoch\":{},\"stale\":{},\"epoch_change\":{},\"duration_us\":{}",
                       v.tokens, v.held, v.in_flight, ids_json(v.holders), channels_json(v), ids_json(v.missing), ids_json(v.silent),
                       ids_json(v.restarted), v.truncated, v.forming, v.epoch, v.stale, v.epoch_change, v.duration.count());
}
}  // namespace

std::string snapshot_event_json(const Verdict& v) {
    return fmt::format("{{\"event\":\"snapshot\",\"id\":{},\"verdict\":\"{}\",{}}}", v.id, to_string(v.kind), common(v));
}

std::string incident_event_json(const IncidentEvent& e) {
    if (e.kind == IncidentEventKind::alarm) return alarm_event_json(e.verdict);
    if (e.kind == IncidentEventKind::recovery) {
        return fmt::format("{{\"event\":\"recovery\",\"kind\":\"{}\",\"mode\":\"{}\",\"epoch\":{},\"issuer\":{},\"restored\":{},\"snapshot\":{},"
                           "\"by_hand\":{},\"note\":\"{}\"}}",
                           to_string(e.fault), e.mode, e.epoch, e.issuer ? fmt::format("{}", *e.issuer) : "null",
                           e.restored ? fmt::format("{}", *e.restored) : "null", e.verdict.id, e.by_hand, e.note);
    }
    if (e.kind == IncidentEventKind::recovered) {
        return fmt::format("{{\"event\":\"recovered\",\"kind\":\"{}\",\"mode\":\"{}\",\"epoch\":{},\"snapshot\":{},\"since_alarm_ms\":{}}}",
                           to_string(e.fault), e.mode, e.epoch, e.verdict.id, e.lasted.count() / 1000);
    }
    return fmt::format("{{\"event\":\"resolved\",\"kind\":\"{}\",\"first_snapshot\":{},\"last_snapshot\":{},\"snapshot\":{},"
                       "\"duration_ms\":{},\"how\":\"{}\"}}",
                       to_string(e.fault), e.first, e.last, e.verdict.id, e.lasted.count() / 1000, e.how);
}

std::string node_event_json(const NodeEvent& e) {
    if (e.kind == NodeEventKind::node_down) {
        return fmt::format("{{\"event\":\"node_down\",\"node\":{},\"silent_ms\":{},\"address\":\"{}\",\"ever_heard\":{}}}", e.node,
                           e.silent_for.count() / 1000, to_string(e.address), e.ever_heard);
    }
    return fmt::format("{{\"event\":\"node_up\",\"node\":{},\"down_ms\":{},\"restarted\":{}}}", e.node, e.down_for.count() / 1000,
                       e.restarted);
}

std::string alarm_event_json(const Verdict& v) {
    return fmt::format("{{\"event\":\"alarm\",\"kind\":\"{}\",\"snapshot\":{},{}}}", to_string(v.kind), v.id, common(v));
}

}  // namespace ringwatch
