// The libuv driver of the monitor's process.
#include "monitor/io/monitor_driver.h"

#include <algorithm>

#include <fmt/format.h>

#include "ring/io/clock.h"

namespace ringwatch::io {

namespace {
MonitorProcess make_process(MonitorConfig config, LinkConfig link) {
    const Instant now = monotonic_now();
    MonitorCore core(config, now);
    return MonitorProcess(MonitorProcessConfig{.monitor = std::move(config), .link = std::move(link), .incarnation = new_incarnation()},
                          std::move(core), now);
}
}  // namespace

MonitorDriver::MonitorDriver(uv_loop_t* loop, const RingConfig& ring, MonitorConfig config, OnVerdict on_verdict, OnNodeEvent on_node_event,
                             LinkConfig link)
    : process_(make_process(std::move(config), link)),
      rekey_(key_path(ring), link.key),
      on_verdict_(std::move(on_verdict)),
      on_node_event_(std::move(on_node_event)),
      port_(
          loop, ring.monitor(monitor_index(process_.config().monitor.leadership.self)).address,
          [this](std::span<const std::uint8_t> d, const sockaddr* from) { on_datagram(d, from); }, [this] { pass(); }),
      probe_(loop,
             [this](NodeId n) {
                 process_.on_probe_refused(monotonic_now(), n);
                 dirty();
             }),
      timer_(loop,
             [this] {
                 process_.on_timer(monotonic_now());
                 dirty();
                 port_.settle();
             }),
      poll_timer_(loop, uv_timer_init) {
    for (const auto& n : ring.nodes) {
        port_.set_address(n.id, n.address);
        probe_.add(n.id, n.address);
    }
    // The other monitors: their hellos, and a probe when they fall silent (a closed port is a
    // monitor whose death is known: the next one claims a term at once).
    for (const auto& m : ring.monitors) {
        if (m.id == process_.config().monitor.leadership.self) continue;
        port_.set_address(m.id, m.address);
        probe_.add(m.id, m.address);
    }
    dirty();
    port_.settle();
}

void MonitorDriver::on_datagram(std::span<const std::uint8_t> datagram, const sockaddr* from) {
    process_.on_datagram(monotonic_now(), datagram);
    port_.taken(from, process_.take_admitted(), process_.take_reply());
}

void MonitorDriver::pass() {
    MonitorReady ready = process_.step(monotonic_now());
    act(ready);
    if (process_.pending()) dirty();
    timer_.arm(process_.next_deadline());
}

// In the order of the process's contract (monitor_process.h).
void MonitorDriver::act(MonitorReady& ready) {
    for (auto& d : ready.datagrams) port_.send(d.peer, std::move(d.bytes));
    for (NodeId n : ready.probes) probe_.probe(n);
    for (const auto& e : ready.node_events)
        if (on_node_event_) on_node_event_(e);
    for (const auto& e : ready.membership_events)
        if (on_membership_event_) on_membership_event_(e);
    for (const auto& e : ready.leader_events)
        if (on_leader_event_) on_leader_event_(e);
    for (const auto& v : ready.verdicts)
        if (on_verdict_) on_verdict_(v.verdict, v.incidents);
    if (!ready.other_incidents.empty() && on_other_incidents_) on_other_incidents_(ready.other_incidents);
    for (const auto& a : ready.answers) {
        const auto it = awaiting_.find(a.id);
        if (it == awaiting_.end()) continue;
        auto done = std::move(it->second);
        awaiting_.erase(it);
        if (a.ok && done) done(*a.ok);  // given up: nobody is told (the page says "no answer" on its own)
    }
    for (const auto& [n, figures] : ready.figures)
        if (on_figures_) on_figures_(n, figures);
    for (const auto& r : ready.requests) {
        if (const auto* q = std::get_if<StatusQuery>(&r.what)) {
            process_.answer(r.from, status(q->command_id));
        } else if (const auto* c = std::get_if<RekeyCommand>(&r.what)) {
            const KeyRotation::Outcome o = rekey_.apply(*c);
            process_.set_keys(rekey_.send_key(), rekey_.accepted_too());
            fmt::print(stderr, "monitor: {}\n", o.said);
            process_.answer(r.from, CommandAck{c->command_id, o.ok});
        }
    }
    for (NodeId t : ready.tools_gone) port_.forget(t);
}

void MonitorDriver::poll_nodes(Duration every, std::function<void(NodeId, const StatusReply&)> f) {
    on_figures_ = std::move(f);
    poll_timer_.get()->data = this;
    const auto ms = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(every).count());
    uv_timer_start(
        poll_timer_.get(),
        [](uv_timer_t* t) {
            auto* self = static_cast<MonitorDriver*>(t->data);
            self->process_.poll_status();
            self->dirty();
        },
        std::min<std::uint64_t>(ms, 1000), ms);  // the first answers soon after start
    uv_unref(reinterpret_cast<uv_handle_t*>(poll_timer_.get()));
}

void MonitorDriver::inject(NodeId node, InjectKind kind, std::function<void(bool)> done) {
    awaiting_[process_.inject(node, kind)] = std::move(done);
    dirty();
}

void MonitorDriver::send_message(NodeId from, NodeId to, Bytes payload, std::function<void(bool)> done) {
    awaiting_[process_.send_message(from, to, std::move(payload))] = std::move(done);
    dirty();
}

bool MonitorDriver::recover(RecoverMode mode) {
    const bool ordered = process_.recover(monotonic_now(), mode);
    dirty();
    return ordered;
}

StatusReply MonitorDriver::status(std::uint64_t command_id) const {
    StatusReply r = process_.status(command_id);
    auto add = [&r](std::string name, std::uint64_t v) { r.values.emplace_back(std::move(name), static_cast<std::int64_t>(v)); };
    const UdpStats& udp = port_.socket().stats();
    add("datagrams_sent", udp.sent);
    add("bytes_sent", udp.bytes_sent);
    add("datagrams_received", udp.received);
    add("bytes_received", udp.bytes_received);
    return r;
}

}  // namespace ringwatch::io
