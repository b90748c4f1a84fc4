#include "monitor/io/dashboard.h"

#include <charconv>

#include <fmt/format.h>

#include "monitor/web/web_assets.h"
#include "ring/io/clock.h"

namespace ringwatch::io {

namespace {
constexpr std::uint64_t kTickMs = 250;  // how often node states, the token's freshness and /healthz's report are refreshed

DashboardInfo info_for(const RingConfig& ring, const MonitorConfig& mc) {
    DashboardInfo info;
    info.ring_name = ring.name;
    for (NodeId n : mc.ring) info.nodes.push_back({n, ring.node(n).address_text});
    info.interval = mc.interval;
    info.timeout = mc.timeout;
    info.recover = std::string(to_string(mc.recover));
    info.single_initiator = mc.single_initiator;
    info.monitor_index = monitor_index(mc.leadership.self);
    info.monitors = mc.leadership.monitors.size();
    return info;
}

// Now on both clocks: the monotonic one the monitor's core runs on, and the wall clock for people.
Moment moment() {
    uv_timeval64_t tv{};
    uv_check(uv_gettimeofday(&tv), "uv_gettimeofday");
    return {monotonic_now(), static_cast<std::int64_t>(tv.tv_sec) * 1000 + tv.tv_usec / 1000};
}
}  // namespace

Dashboard::Dashboard(uv_loop_t* loop, const std::string& bind_address, const RingConfig& ring, const MonitorConfig& mc, MonitorDriver& monitor)
    : monitor_(monitor),
      ring_(mc.ring),
      host_(bind_address.substr(0, bind_address.rfind(':'))),
      secret_(new_web_secret()),
      feed_(info_for(ring, mc)),
      server_(
          loop, bind_address, ring.http_names, secret_, web::web_assets(), [this] { return feed_.greeting(moment()); },
          [this](const ControlRequest& r) { return control(r); }),
      tick_(loop, uv_timer_init) {
    tick_.get()->data = this;
    uv_timer_start(
        tick_.get(), [](uv_timer_t* t) { static_cast<Dashboard*>(t->data)->on_tick(); }, kTickMs, kTickMs);
    uv_unref(reinterpret_cast<uv_handle_t*>(tick_.get()));
    server_.set_health(feed_.health(monotonic_now()));  // until the first tick: no conclusive snapshot yet
}

std::string Dashboard::url() const { return fmt::format("http://{}:{}/#secret={}", host_, server_.port(), secret_); }

void Dashboard::send(const std::vector<std::string>& messages) {
    for (const auto& m : messages) server_.broadcast(m);
}

void Dashboard::send_totals() {
    const MonitorCore& core = monitor_.core();
    if (const auto told = feed_.on_totals(totals_of(core.stats(), core.incident_stats(), core.liveness().stats()))) server_.broadcast(*told);
}

void Dashboard::on_tick() {
    const Moment now = moment();
    const NodeLiveness& liveness = monitor_.core().liveness();
    send(feed_.on_tick(now, [&liveness](NodeId n) { return liveness.ever_heard(n); }));
    const Leadership& l = monitor_.core().leadership();
    const auto leader = l.leader();
    const DashboardLeadership leadership{l.leading(), l.term().value, leader ? std::optional(monitor_index(*leader)) : std::nullopt};
    if (const auto told = feed_.on_leadership(leadership)) server_.broadcast(*told);
    server_.set_health(feed_.health(now.at));
}

void Dashboard::on_verdict(const Verdict& v, const std::vector<IncidentEvent>& incidents) {
    const Moment now = moment();
    send(feed_.on_verdict(now, v));
    for (const auto& e : incidents) server_.broadcast(feed_.on_incident(now, e));
    send_totals();
}

void Dashboard::on_incidents(const std::vector<IncidentEvent>& events) {
    const Moment now = moment();
    for (const auto& e : events) server_.broadcast(feed_.on_incident(now, e));
    send_totals();
}

void Dashboard::on_membership_event(const MembershipEvent& e) { server_.broadcast(feed_.on_membership_event(moment(), e)); }

void Dashboard::on_node_event(const NodeEvent& e) {
    send(feed_.on_node_event(moment(), e));
    send_totals();
}

void Dashboard::acknowledged(std::string what, bool ok) {
    server_.broadcast(feed_.on_control(moment(), "ack", fmt::format("{}: {}", what, ok ? "acknowledged" : "refused by the node"), ok));
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
    const Moment now = moment();
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
