#include "monitor/io/dashboard.h"

#include <charconv>

#include <fmt/format.h>

#include "monitor/web/web_assets.h"
#include "ring/io/clock.h"

namespace ringwatch::io {

namespace {
constexpr std::uint64_t kTickMs = 250;  // how often node states are recomputed for the pages

DashboardInfo info_for(const RingConfig& ring, const MonitorConfig& mc) {
    DashboardInfo info;
    info.ring_name = ring.name;
    for (NodeId n : mc.ring) info.nodes.push_back({n, ring.node(n).address_text});
    info.interval = mc.interval;
    info.recover = std::string(to_string(mc.recover));
    info.single_initiator = mc.single_initiator;
    info.monitor_index = monitor_index(mc.leadership.self);
    info.monitors = mc.leadership.monitors.size();
    return info;
}
}  // namespace

Dashboard::Dashboard(uv_loop_t* loop, const std::string& bind_address, const RingConfig& ring, const MonitorConfig& mc, MonitorDriver& monitor)
    : monitor_(monitor),
      ring_(mc.ring),
      host_(bind_address.substr(0, bind_address.rfind(':'))),
      secret_(new_web_secret()),
      feed_(info_for(ring, mc), monotonic_now()),
      server_(
          loop, bind_address, ring.http_names, secret_, web::web_assets(), [this] { return feed_.greeting(); },
          [this](const ControlRequest& r) { return control(r); }),
      tick_(loop, uv_timer_init) {
    tick_.get()->data = this;
    uv_timer_start(
        tick_.get(),
        [](uv_timer_t* t) {
            auto* self = static_cast<Dashboard*>(t->data);
            const auto changed = self->feed_.on_tick(monotonic_now(), [self](NodeId n) { return self->monitor_.core().last_report(n); });
            if (changed) self->server_.broadcast(*changed);
            const Leadership& l = self->monitor_.core().leadership();
            const auto leader = l.leader();
            const DashboardLeadership now{l.leading(), l.term().value, leader ? std::optional(monitor_index(*leader)) : std::nullopt};
            if (const auto told = self->feed_.on_leadership(now)) self->server_.broadcast(*told);
        },
        kTickMs, kTickMs);
    uv_unref(reinterpret_cast<uv_handle_t*>(tick_.get()));
}

std::string Dashboard::url() const { return fmt::format("http://{}:{}/#secret={}", host_, server_.port(), secret_); }

void Dashboard::on_verdict(const Verdict& v, const std::vector<IncidentEvent>& incidents) {
    const Instant now = monotonic_now();
    server_.broadcast(feed_.on_verdict(now, v));
    for (const auto& e : incidents) server_.broadcast(feed_.on_incident(now, e));
}

void Dashboard::on_incidents(const std::vector<IncidentEvent>& events) {
    for (const auto& e : events) server_.broadcast(feed_.on_incident(monotonic_now(), e));
}

void Dashboard::on_membership_event(const MembershipEvent& e) { server_.broadcast(feed_.on_membership_event(monotonic_now(), e)); }

// The node's state changes with its event: the page is told both (no later tick may change a
// state again to carry it: a ring that heals without the node keeps every other node up).
void Dashboard::on_node_event(const NodeEvent& e) {
    server_.broadcast(feed_.on_node_event(monotonic_now(), e));
    server_.broadcast(feed_.states_message());
}

void Dashboard::acknowledged(std::string what, bool ok) {
    server_.broadcast(feed_.on_control(monotonic_now(), "ack", fmt::format("{}: {}", what, ok ? "acknowledged" : "refused by the node"), ok));
}

ControlAnswer Dashboard::control(const ControlRequest& r) {
    auto arg = [&r](const char* key) -> std::string {
        const auto it = r.args.find(key);
        return it == r.args.end() ? std::string() : it->second;
    };
    auto node = [&](const char* key) -> std::optional<NodeId> {
        const std::string text = arg(key);
        std::uint16_t v = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
        if (std::find(ring_.begin(), ring_.end(), NodeId{v}) == ring_.end()) return std::nullopt;
        return NodeId{v};
    };
    const Instant now = monotonic_now();
    auto told = [&](std::string what) {
        server_.broadcast(feed_.on_control(now, r.action, what, true));
        return ControlAnswer{202, what};
    };
    if (r.action == "inject") {
        const auto at = node("node");
        const std::string kind = arg("kind");
        if (!at) return {400, fmt::format("inject: node '{}' is not in the ring", arg("node"))};
        if (kind != "lose" && kind != "duplicate") return {400, fmt::format("inject: kind '{}' is neither lose nor duplicate", kind)};
        const std::string what = fmt::format("inject {} at node {}", kind, *at);
        monitor_.inject(*at, kind == "lose" ? InjectKind::lose : InjectKind::duplicate, [this, what](bool ok) { acknowledged(what, ok); });
        return told(what + ": sent");
    }
    if (r.action == "send") {
        const auto from = node("node"), to = node("to");
        const std::string payload = arg("payload");
        if (!from || !to) return {400, fmt::format("send: node '{}' or '{}' is not in the ring", arg("node"), arg("to"))};
        if (*from == *to) return {400, fmt::format("send: node {} cannot send to itself", *from)};
        if (payload.empty() || payload.size() > kMaxPayloadBytes)
            return {400, fmt::format("send: a message is 1 to {} bytes, this one has {}", kMaxPayloadBytes, payload.size())};
        const std::string what = fmt::format("send {} bytes from node {} to node {}", payload.size(), *from, *to);
        monitor_.send_message(*from, *to, Bytes(payload.begin(), payload.end()), [this, what](bool ok) { acknowledged(what, ok); });
        return told(what + ": sent");
    }
    if (r.action == "recover") {
        const std::string mode = arg("mode");
        const auto recover_mode = parse_recover_mode(mode);
        if (!recover_mode) return {400, fmt::format("recover: mode '{}' is neither regenerate nor rollback", mode)};
        if (!monitor_.recover(*recover_mode))
            return {409, fmt::format("recover {}: nothing ordered (the ring is healthy, or a recovery is under way)", mode)};
        return told(fmt::format("recover {}: ordered", mode));
    }
    return {404, fmt::format("no such control: {}", r.action)};
}

}  // namespace ringwatch::io
