// The libuv driver of the monitor core.
#include "monitor/io/monitor_driver.h"

#include <algorithm>

#include <fmt/format.h>

#include "ring/io/clock.h"

namespace ringwatch::io {

namespace {
constexpr std::size_t kMaxToolLinks = 8;
constexpr std::size_t kMaxAwaited = 64;  // dashboard commands whose acknowledgement is still awaited
}

MonitorDriver::MonitorDriver(uv_loop_t* loop, const RingConfig& ring, MonitorConfig config, OnVerdict on_verdict, OnNodeEvent on_node_event,
                             LinkConfig link)
    : link_(loop, kMonitorId, ring.monitor_address, link, new_incarnation()),
      rekey_(key_path(ring), link.key),
      core_(std::move(config), monotonic_now()),
      on_verdict_(std::move(on_verdict)),
      on_node_event_(std::move(on_node_event)),
      probe_(loop, [this](NodeId n) {
          core_.on_probe_refused(monotonic_now(), n);
          pump();
      }),
      timer_(loop, [this] {
          core_.on_links_heard(link_.endpoint());
          core_.on_timer(monotonic_now());
          pump();
      }),
      poll_timer_(loop, uv_timer_init) {
    for (const auto& n : ring.nodes) {
        link_.add_peer(n.id, n.address);
        probe_.add(n.id, n.address);
    }
    link_.accept_tools(kMaxToolLinks);  // `ring recover`
    link_.on_deliver([this](NodeId from, Bytes b) {
        Message m;
        if (decode_message(b, m) != MessageError::none) return;
        if (auto* r = std::get_if<SnapshotReport>(&m)) core_.on_report(monotonic_now(), from, *r);
        if (auto* q = std::get_if<StatusQuery>(&m); q && is_tool_id(from)) link_.send_queued(from, encode_message(status(q->command_id)));
        if (auto* r = std::get_if<StatusReply>(&m); r && on_figures_ && !is_tool_id(from)) on_figures_(from, *r);
        if (auto* c = std::get_if<RekeyCommand>(&m); c && is_tool_id(from)) {
            const KeyRotation::Outcome o = rekey_.apply(*c);
            link_.set_keys(rekey_.send_key(), rekey_.accepted_too());
            fmt::print(stderr, "monitor: {}\n", o.said);
            link_.send_queued(from, encode_message(CommandAck{c->command_id, o.ok}));
        }
        if (auto* a = std::get_if<CommandAck>(&m); a && !is_tool_id(from)) {
            if (auto it = awaiting_ack_.find(a->command_id); it != awaiting_ack_.end()) {
                auto done = std::move(it->second);
                awaiting_ack_.erase(it);
                if (done) done(a->ok);
            }
        }
        if (auto* q = std::get_if<RecoverRequest>(&m); q && is_tool_id(from)) {
            const bool ordered = core_.recover_by_hand(monotonic_now(), q->mode);
            link_.send_queued(from, encode_message(CommandAck{q->command_id, ordered}));
        }
        pump();
    });
    link_.on_event([this](NodeId peer, const LinkEvent& e) {
        core_.on_link_event(monotonic_now(), peer, e);
        pump();
    });
    pump();
}

void MonitorDriver::poll_nodes(Duration every, std::function<void(NodeId, const StatusReply&)> f) {
    on_figures_ = std::move(f);
    poll_timer_.get()->data = this;
    const auto ms = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(every).count());
    uv_timer_start(poll_timer_.get(), [](uv_timer_t* t) {
        auto* self = static_cast<MonitorDriver*>(t->data);
        for (NodeId n : self->core_.config().ring) self->link_.send_queued(n, encode_message(StatusQuery{0}));
    }, std::min<std::uint64_t>(ms, 1000), ms);  // the first answers soon after start
    uv_unref(reinterpret_cast<uv_handle_t*>(poll_timer_.get()));
}

void MonitorDriver::command(NodeId node, std::uint64_t id, Bytes message, std::function<void(bool)> done) {
    awaiting_ack_[id] = std::move(done);
    if (awaiting_ack_.size() > kMaxAwaited) awaiting_ack_.erase(awaiting_ack_.begin());  // a node that never answered
    link_.send_queued(node, std::move(message));
}

void MonitorDriver::inject(NodeId node, InjectKind kind, std::function<void(bool)> done) {
    const std::uint64_t id = next_command_id_++;
    command(node, id, encode_message(InjectCommand{id, kind}), std::move(done));
}

void MonitorDriver::send_message(NodeId from, NodeId to, Bytes payload, std::function<void(bool)> done) {
    const std::uint64_t id = next_command_id_++;
    command(from, id, encode_message(SendCommand{id, to, std::move(payload)}), std::move(done));
}

bool MonitorDriver::recover(RecoverMode mode) {
    const bool ordered = core_.recover_by_hand(monotonic_now(), mode);
    pump();
    return ordered;
}

StatusReply MonitorDriver::status(std::uint64_t command_id) const {
    StatusReply r{command_id, {}};
    auto add = [&r](std::string name, std::uint64_t v) { r.values.emplace_back(std::move(name), static_cast<std::int64_t>(v)); };
    const MonitorStats& s = core_.stats();
    const IncidentStats& inc = core_.incident_stats();
    const LivenessStats& nodes = core_.liveness().stats();
    add("incarnation", link_.endpoint().incarnation().value);
    add("epoch", core_.epoch().value);
    add("snapshots_ok", s.ok);
    add("snapshots_token_lost", s.token_lost);
    add("snapshots_token_duplicated", s.token_duplicated);
    add("snapshots_inconclusive", s.inconclusive);
    add("incidents", inc.opened);
    add("incidents_open", inc.opened - inc.resolved);
    add("recoveries", inc.recoveries);
    add("nodes_down", nodes.node_down - nodes.node_up);
    add("late_reports", s.late_reports);
    const UdpStats& udp = link_.socket().stats();
    add("datagrams_sent", udp.sent);
    add("bytes_sent", udp.bytes_sent);
    add("datagrams_received", udp.received);
    add("bytes_received", udp.bytes_received);
    return r;
}

void MonitorDriver::pump() {
    for (auto& c : core_.take_commands()) link_.send_queued(c.node, encode_message(c.start));
    for (auto& [n, rc] : core_.take_recover_commands()) link_.send_queued(n, encode_message(rc));
    for (auto& [n, k] : core_.take_keeps()) link_.send_queued(n, encode_message(k));
    for (NodeId n : core_.take_probes()) probe_.probe(n);
    for (const auto& e : core_.take_node_events())
        if (on_node_event_) on_node_event_(e);
    const auto verdicts = core_.take_verdicts();
    const auto incidents = core_.take_incident_events();
    for (const auto& v : verdicts)
        if (on_verdict_) on_verdict_(v, caused_by(v, incidents));
    // Events no verdict of this batch caused: a recovery an operator asked for.
    std::vector<IncidentEvent> others;
    for (const auto& e : incidents)
        if (std::none_of(verdicts.begin(), verdicts.end(), [&](const Verdict& v) { return v.id == e.verdict.id; })) others.push_back(e);
    if (!others.empty() && on_other_incidents_) on_other_incidents_(others);
    timer_.arm(core_.next_deadline());
}

}  // namespace ringwatch::io
