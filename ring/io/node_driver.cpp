// The libuv driver of a ring member.
#include "ring/io/node_driver.h"

#include "ring/io/drop_report.h"
#include "ring/io/node_events.h"

#include <string>

#include <fmt/ranges.h>

#include "ring/io/clock.h"

namespace ringwatch::io {

namespace {
constexpr std::size_t kMaxToolLinks = 16;

NodeConfig node_config(const RingConfig& c, NodeId self, Incarnation incarnation, StateStore::Loaded& loaded) {
    NodeConfig nc;
    nc.self = self;
    nc.incarnation = incarnation;
    nc.predecessor = c.predecessor(self).id;
    nc.successor = c.successor(self).id;
    for (const auto& n : c.nodes) nc.ring.push_back(n.id);
    nc.token.hold = c.hold;
    nc.saved_at_start = std::move(loaded.snapshots);
    nc.deliveries_at_start = std::move(loaded.deliveries);
    nc.keep_delivery_record = c.state_dir.has_value();
    nc.lease_required = c.evict_after.has_value();  // views on: the monitor may replace a token without us
    nc.promised_at_start = loaded.promised;
    nc.monitors = c.monitor_ids();
    return nc;
}

NodeProcess make_process(NodeConfig nc, LinkConfig link, Instant now) {
    Node node(nc, now);
    nc.saved_at_start.clear();  // the node has them now
    nc.deliveries_at_start.reset();
    return NodeProcess(NodeProcessConfig{std::move(nc), std::move(link), kMaxToolLinks}, std::move(node), now);
}
}  // namespace

NodeDriver::NodeDriver(uv_loop_t* loop, const RingConfig& config, NodeId self, LinkConfig link, bool json_events)
    : log_(fmt::format("node {}", self)),
      json_events_(json_events),
      self_(self),
      rekey_(key_path(config), link.key),
      store_(config.state_dir ? std::optional<StateStore>(std::in_place, fmt::format("{}/node-{}", config_relative(config, *config.state_dir), self))
                              : std::nullopt),
      loaded_(store_ ? store_->load() : StateStore::Loaded{}),
      writer_(store_ ? std::optional<StateWriter>(std::in_place, *store_) : std::nullopt),
      process_(make_process(node_config(config, self, new_incarnation(), loaded_), link, monotonic_now())),
      port_(
          loop, config.node(self).address, [this](std::span<const std::uint8_t> d, const sockaddr* from) { on_datagram(d, from); },
          [this] { pass(); }, [this](std::span<const std::uint8_t> d, const sockaddr* from, Instant arrived) { on_datagram(d, from, arrived); }),
      timer_(loop, [this] {
          port_.drain_quiet();  // an ack that waited there must be known before a timeout is decided
          process_.on_timer(monotonic_now());
          port_.mark_dirty();
          port_.settle();
      }) {
    const NodeId pred = process_.config().node.predecessor, succ = process_.config().node.successor;
    // Every member's address: a view may make any of them a neighbour.
    for (const auto& n : config.nodes)
        if (n.id != self) port_.set_address(n.id, n.address);
    for (const auto& m : config.monitors) port_.set_address(m.id, m.address);
    const Node& node = process_.core();
    log_.log("ring '{}' at {}: {}; datagrams {}", config.name, config.node(self).address_text, settings(),
             link.key ? "authenticated with the ring's key" : "not authenticated (no key_file)");
    std::vector<std::string> monitors;
    for (const auto& m : config.monitors) monitors.push_back(m.address_text);
    log_.log("predecessor node {} at {}, successor node {} at {}, {} at {}", pred, config.predecessor(self).address_text, succ,
             config.successor(self).address_text, monitors.size() == 1 ? "monitor" : "monitors", fmt::join(monitors, ", "));
    if (const std::string w = config.insecure_warning(); !w.empty()) log_.log("{}", w);
    if (!port_.socket().quiet_active())
        log_.log("acknowledgements wake this node: the kernel refused a second socket on its port (SO_REUSEPORT with a BPF filter) to park them in");
    if (store_) {
        log_.log("state directory {}: {} saved snapshot(s) kept for rollback", store_->dir(), node.kept().size());
        for (const auto& file : loaded_.unreadable) log_.log("state directory: ignored {}", file);
        if (const std::uint64_t n = node.token().deliveries().seq; n > 0)
            log_.log("state directory: {} delivery(ies) by earlier processes remembered; none is handed over twice", n);
    }
    if (node.token().epoch() == Epoch{0}) {
        log_.log("no token here until the monitor orders the ring's first one (a ring without a monitor has no token)");
    } else {
        log_.log("epoch {} kept from an earlier process; no token is made here but by the monitor's order", node.token().epoch());
    }
    emit(node_started_json(self_, monotonic_now(),
                           NodeStarted{.incarnation = process_.endpoint().incarnation(),
                                       .epoch = node.token().epoch(),
                                       .pred = pred,
                                       .succ = succ,
                                       .authenticated = link.key.has_value(),
                                       .kept_snapshots = node.kept().size(),
                                       .deliveries_remembered = node.token().deliveries().seq}));
    port_.mark_dirty();
    port_.settle();
}

void NodeDriver::on_datagram(std::span<const std::uint8_t> datagram, const sockaddr* from, std::optional<Instant> arrived) {
    // An ack read from the quiet twin comes with its arrival time: its round-trip sample must not hold the wait.
    process_.on_datagram(monotonic_now(), datagram, arrived);
    port_.taken(from, process_.take_admitted(), process_.take_reply());
}

void NodeDriver::pass() {
    // A deadline due in this step (a retransmission) is decided after the acks parked in the quiet
    // twin are read, as the timer does; otherwise they wait (a token's hop does not read them first).
    if (const auto due = process_.next_deadline(); due && *due <= monotonic_now()) port_.drain_quiet();
    NodeReady ready = process_.step(monotonic_now());
    act(ready);
    if (process_.pending()) port_.mark_dirty();
    timer_.arm(process_.next_deadline());
    port_.watch_quiet(process_.endpoint().awaits_answer());
}

// In the order of the process's contract (node_process.h).
void NodeDriver::act(NodeReady& ready) {
    if (writer_) {
        // Before the events below: no delivery reaches the user before its record is on disk.
        const StateWriter::Outcome o = writer_->put(monotonic_now(), ready);
        if (o.failed)
            log_.log("state directory: {}; kept in memory and retried every second (until then a restart would load an older state)", *o.failed);
        if (o.recovered) log_.log("state directory: written again after {} failed attempt(s); it is current", writer_->failures());
    }
    port_.send_all(ready.datagrams);
    if (ready.sends_dropped > 0) log_.log("dropped {} message(s): a peer's queue is full", ready.sends_dropped);
    for (const auto& e : ready.token_events) {
        emit(token_event_json(self_, monotonic_now(), e));
        log_token_event(e);
    }
    for (const auto& e : ready.link_events) {
        emit(link_event_json(self_, monotonic_now(), e.peer, e.event));
        log_link_event(e.peer, e.event);
        if (!process_.endpoint().has_peer(e.peer)) port_.forget(e.peer);  // the process let a tool go
    }
    if (ready.view) {
        emit(view_json(self_, monotonic_now(), *ready.view));
        if (ready.view->neighbours)
            log_.log("view epoch {}: a ring of {}; from node {}, to node {}", ready.view->epoch, ready.view->members.size(),
                     ready.view->neighbours->predecessor, ready.view->neighbours->successor);
        else
            log_.log("view epoch {}: left out of the ring (whatever this process held is no token of it)", ready.view->epoch);
    }
    for (const auto& im : ready.impair) {
        ImpairmentConfig c;
        c.loss = im.loss_ppm / 1e6;
        c.duplicate = im.duplicate_ppm / 1e6;
        c.delay = Duration{im.delay_us};
        port_.impairment().set_default(c);
        emit(impaired_json(self_, monotonic_now(), im));
        log_.log("impairing outgoing datagrams: loss {:.1f}%, duplication {:.1f}%, delay {} ms", c.loss * 100, c.duplicate * 100, im.delay_us / 1000);
    }
    for (const auto& r : ready.requests) {
        if (const auto* q = std::get_if<StatusQuery>(&r.what)) {
            process_.answer(r.from, status(q->command_id));
        } else if (const auto* c = std::get_if<RekeyCommand>(&r.what)) {
            const KeyRotation::Outcome o = rekey_.apply(*c);
            process_.set_keys(rekey_.send_key(), rekey_.accepted_too());
            log_.log("{}", o.said);
            emit(key_rotation_json(self_, monotonic_now(), *c, o.ok));
            process_.answer(r.from, CommandAck{c->command_id, o.ok});
        }
    }
}

void NodeDriver::log_link_event(NodeId peer, const LinkEvent& e) {
    if (is_tool_id(peer)) {
        // The process lets a silent tool go; what it sent again later starts nothing.
        if (e.kind == LinkEventKind::peer_silent) log_.verbose("tool {}: silent, its session closed", peer);
        if (e.kind == LinkEventKind::session_reset)
            log_.verbose("tool {}: a later process under its id took its session over; {} message(s) for the earlier one dropped", peer,
                         e.dropped_messages);
        return;
    }
    const std::string who = peer == kMonitorId ? "monitor" : fmt::format("node {}", peer);
    if (e.kind == LinkEventKind::session_reset) {
        log_.log("link to {}: peer restarted; {} queued message(s) for its old incarnation dropped", who, e.dropped_messages);
    } else {
        log_.verbose("link to {}: {}", who, to_string(e.kind));  // connected, silent, alive: the links repair themselves
    }
}

StatusReply NodeDriver::status(std::uint64_t command_id) const {
    StatusReply r = process_.status(monotonic_now(), command_id);
    auto add = [&r](std::string name, std::int64_t v) { r.values.emplace_back(std::move(name), v); };
    if (writer_) {
        const auto since = writer_->stale_since();
        add("state_stale_ms", since ? std::chrono::duration_cast<std::chrono::milliseconds>(monotonic_now() - *since).count() : 0);
    }
    const UdpStats& udp = port_.socket().stats();
    add("datagrams_sent", static_cast<std::int64_t>(udp.sent));
    add("bytes_sent", static_cast<std::int64_t>(udp.bytes_sent));
    add("datagrams_received", static_cast<std::int64_t>(udp.received));
    add("datagrams_quiet", static_cast<std::int64_t>(udp.quiet));  // of those, acks read without a wake-up
    add("bytes_received", static_cast<std::int64_t>(udp.bytes_received));
    const Endpoint& endpoint = process_.endpoint();
    const auto drops = drop_counts(udp, endpoint.stats(), endpoint.total_link_stats());
    std::int64_t dropped = 0;
    for (const auto& [name, n] : drops) dropped += static_cast<std::int64_t>(n);
    add("dropped", dropped);
    add("probes", static_cast<std::int64_t>(udp.empty));  // the monitors' port probes: not drops
    for (const auto& [name, n] : drops)
        if (n > 0 && r.values.size() < kMaxStatusValues) add("drop_" + name, static_cast<std::int64_t>(n));
    return r;
}

std::string NodeDriver::settings() const {
    const LinkConfig& l = process_.endpoint().link(process_.config().node.predecessor)->config();
    return fmt::format(
        "hold {} ms; link: retransmission floor {} ms, initial {} ms, back-off cap {} ms, keep-alive {} ms, peer silent after {} ms, window {}",
        std::chrono::duration_cast<std::chrono::milliseconds>(process_.config().node.token.hold).count(), l.rto_min.count() / 1000,
        l.rto_initial.count() / 1000, l.rto_max.count() / 1000, l.keepalive_interval.count() / 1000, l.silent_after.count() / 1000,
        l.window_messages);
}

void NodeDriver::log_token_event(const TokenEvent& e) {
    switch (e.kind) {
        case TokenEventKind::delivered: log_.log("delivered message #{} from node {}: {}", e.msg_id, e.src, printable(e.payload)); break;
        case TokenEventKind::undeliverable:
            log_.log("message #{} to node {} came back uncopied (destination unknown or down)", e.msg_id, e.dst);
            break;
        // The monotonic time (this host's clock, as the monitor's decided_us): detection latency is measured from it.
        case TokenEventKind::lost_by_fault:
            log_.log("fault injected: dropped the token it just received (monotonic {} us)", to_us(monotonic_now()));
            break;
        case TokenEventKind::duplicated_by_fault:
            log_.log("fault injected: passed the token on twice (monotonic {} us)", to_us(monotonic_now()));
            break;
        case TokenEventKind::issued: log_.log("made a new token (epoch {}), as ordered", e.epoch); break;
        case TokenEventKind::epoch_adopted: log_.log("epoch {}: tokens of older epochs are discarded from now on", e.epoch); break;
        case TokenEventKind::stale_discarded: log_.log("discarded a token of epoch {} (stale)", e.epoch); break;
        case TokenEventKind::requeued:
            log_.log("message #{} to node {} queued again (its token was purged or came back uncopied)", e.msg_id, e.dst);
            break;
        case TokenEventKind::rolled_back: log_.log("rolled back to a saved snapshot (epoch {})", e.epoch); break;
        case TokenEventKind::redelivered:
            log_.log("redelivered message #{} from node {} (its first delivery was undone by the rollback): {}", e.msg_id, e.src,
                     printable(e.payload));
            break;
        case TokenEventKind::duplicate_message_dropped:
            // Only after a purge or a rollback: the sender sent again what this node (or, by its
            // delivery record, an earlier process of it) had delivered.
            log_.log("message #{} from node {} came again: delivered here before, not handed over twice", e.msg_id, e.src);
            break;
        case TokenEventKind::overtaken_message_dropped:
            log_.log("message #{} from node {} came after a later one of its sender's: dropped, not delivered out of order (a token fault)", e.msg_id,
                     e.src);
            break;
        case TokenEventKind::returned: break;
    }
}

}  // namespace ringwatch::io
