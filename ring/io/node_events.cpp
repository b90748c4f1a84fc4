// A ring member's events as JSON lines.
#include "ring/io/node_events.h"

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

std::string node_started_json(NodeId self, Instant now, Incarnation incarnation, Epoch epoch, NodeId pred, NodeId succ) {
    Json j = base("started", self, now);
    j["incarnation"] = incarnation.value;
    j["epoch"] = epoch.value;
    j["pred"] = pred.value;
    j["succ"] = succ.value;
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

std::string node_stopped_json(NodeId self, Instant now, const TokenStats& s) {
    Json j = base("stopped", self, now);
    j["tokens_passed"] = s.tokens_forwarded;
    j["messages_sent"] = s.messages_sent;
    j["messages_delivered"] = s.messages_delivered;
    return j.dump();
}

}  // namespace ringwatch::io
