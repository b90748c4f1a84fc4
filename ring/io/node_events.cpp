// A ring member's events as JSON lines.
#include "ring/io/node_events.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ring/core/messages.h"

namespace ringwatch::io {

namespace {
using Json = nlohmann::json;

Json base(std::string_view event, NodeId self, Instant now) {
    return Json{{"event", std::string(event)}, {"node", self.value}, {"mono_us", to_us(now)}};
}
}  // namespace

std::string printable(const Bytes& b) {
    std::string s(b.begin(), b.end());
    for (char& ch : s)
        if (static_cast<unsigned char>(ch) < 0x20 || static_cast<unsigned char>(ch) > 0x7e) ch = '.';
    return s;
}

std::string node_started_json(NodeId self, Instant now, const NodeStarted& s) {
    Json j = base("started", self, now);
    j["incarnation"] = s.incarnation.value;
    j["epoch"] = s.epoch.value;
    j["pred"] = s.pred.value;
    j["succ"] = s.succ.value;
    j["authenticated"] = s.authenticated;
    j["kept_snapshots"] = s.kept_snapshots;
    j["deliveries_remembered"] = s.deliveries_remembered;
    return j.dump();
}

std::string token_event_json(NodeId self, Instant now, const TokenEvent& e) {
    Json j = base(to_string(e.kind), self, now);
    switch (e.kind) {
        case TokenEventKind::delivered:
        case TokenEventKind::redelivered:
            j["src"] = e.src.value;
            j["msg_id"] = e.msg_id;
            j["payload"] = printable(e.payload);
            break;
        case TokenEventKind::duplicate_message_dropped:
        case TokenEventKind::overtaken_message_dropped:
            j["src"] = e.src.value;
            j["msg_id"] = e.msg_id;
            break;
        case TokenEventKind::requeued:
        case TokenEventKind::undeliverable:
        case TokenEventKind::returned:
            j["dst"] = e.dst.value;
            j["msg_id"] = e.msg_id;
            break;
        case TokenEventKind::issued:
        case TokenEventKind::epoch_adopted:
        case TokenEventKind::stale_discarded:
        case TokenEventKind::rolled_back: j["epoch"] = e.epoch.value; break;
        case TokenEventKind::lost_by_fault:
        case TokenEventKind::duplicated_by_fault: break;
    }
    return j.dump();
}

std::string link_event_json(NodeId self, Instant now, NodeId peer, const LinkEvent& e) {
    Json j = base("link", self, now);
    if (peer == kMonitorId) {
        j["peer"] = "monitor";
    } else if (is_tool_id(peer)) {
        j["peer"] = "tool";
    } else {
        j["peer"] = peer.value;
    }
    j["state"] = std::string(to_string(e.kind));
    if (e.kind == LinkEventKind::session_reset) j["dropped_messages"] = e.dropped_messages;
    return j.dump();
}

std::string impaired_json(NodeId self, Instant now, const ImpairCommand& c) {
    Json j = base("impaired", self, now);
    j["loss"] = c.loss_ppm / 1e6;
    j["duplicate"] = c.duplicate_ppm / 1e6;
    j["delay_us"] = c.delay_us;
    return j.dump();
}

std::string view_json(NodeId self, Instant now, const NodeView& v) {
    Json j = base("view", self, now);
    j["epoch"] = v.epoch.value;
    Json members = Json::array();
    for (NodeId n : v.members) members.push_back(n.value);
    j["members"] = members;
    j["member"] = v.neighbours.has_value();
    if (v.neighbours) {
        j["predecessor"] = v.neighbours->predecessor.value;
        j["successor"] = v.neighbours->successor.value;
    }
    return j.dump();
}

std::string key_rotation_json(NodeId self, Instant now, const RekeyCommand& c, bool ok) {
    Json j = base("key_rotation", self, now);
    j["step"] = std::string(to_string(c.step));
    j["ok"] = ok;
    j["fingerprint"] = fmt::format("{:016x}", c.fingerprint);
    return j.dump();
}

std::string node_stopped_json(NodeId self, Instant now, const NodeStopped& s) {
    Json j = base("stopped", self, now);
    j["tokens_passed"] = s.token.tokens_forwarded;
    j["messages_sent"] = s.token.messages_sent;
    j["messages_delivered"] = s.token.messages_delivered;
    j["retransmits"] = s.links.retransmits;
    j["duplicates_dropped"] = s.links.duplicates_dropped;
    j["datagrams_received"] = s.datagrams_received;
    Json dropped = Json::object();
    for (const auto& [reason, n] : s.dropped) dropped[reason] = n;
    j["dropped"] = std::move(dropped);
    j["hellos_answered"] = s.hellos_answered;
    j["probes"] = s.probes;
    return j.dump();
}

std::string child_exited_json(const std::string& child, std::string_view how, int signal, std::int64_t status) {
    return Json{{"event", "child_exited"}, {"child", child}, {"how", std::string(how)}, {"signal", signal}, {"status", status}}.dump();
}

std::string child_restarting_json(const std::string& child, Duration wait, int restarts) {
    return Json{{"event", "child_restarting"}, {"child", child}, {"in_ms", wait.count() / 1000}, {"restarts", restarts}}.dump();
}

}  // namespace ringwatch::io
