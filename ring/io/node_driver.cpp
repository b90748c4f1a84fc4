// The libuv driver of a ring member.
#include "ring/io/node_driver.h"

#include "ring/io/drop_report.h"
#include "ring/io/node_events.h"

#include <string>

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
    nc.token.hold = c.hold;
    nc.saved_at_start = std::move(loaded.snapshots);
    nc.deliveries_at_start = std::move(loaded.deliveries);
    nc.keep_delivery_record = c.state_dir.has_value();
    return nc;
}
}  // namespace

NodeDriver::NodeDriver(uv_loop_t* loop, const RingConfig& config, NodeId self, LinkConfig link, bool json_events)
    : log_(fmt::format("node {}", self)),
      json_events_(json_events),
      self_(self),
      pred_(config.predecessor(self).id),
      succ_(config.successor(self).id),
      link_(loop, self, config.node(self).address, link, new_incarnation()),
      rekey_(key_path(config), link.key),
      store_(config.state_dir ? std::optional<StateStore>(std::in_place, fmt::format("{}/node-{}", config_relative(config, *config.state_dir), self))
                              : std::nullopt),
      loaded_(store_ ? store_->load() : StateStore::Loaded{}),
      writer_(store_ ? std::optional<StateWriter>(std::in_place, *store_) : std::nullopt),
      node_(node_config(config, self, link_.endpoint().incarnation(), loaded_), monotonic_now()),
      timer_(loop, [this] {
          node_.on_timer(monotonic_now());
          pump();
      }) {
    link_.add_peer(pred_, config.predecessor(self).address);
    link_.add_peer(succ_, config.successor(self).address);
    link_.add_peer(kMonitorId, config.monitor_address);
    link_.accept_tools(kMaxToolLinks);
    link_.on_deliver([this](NodeId from, Bytes m) {
        Message command;
        // From tools; a status query from the monitor too (its metrics learn the links' counters).
        if (is_driver_message(m) && (is_tool_id(from) || from == kMonitorId) && decode_message(m, command) == MessageError::none) {
            if (const auto* q = std::get_if<StatusQuery>(&command)) {
                link_.send_queued(from, encode_message(status(q->command_id)));
            } else if (const auto* c = std::get_if<RekeyCommand>(&command); c && is_tool_id(from)) {
                const KeyRotation::Outcome o = rekey_.apply(*c);
                link_.set_keys(rekey_.send_key(), rekey_.accepted_too());
                log_.log("{}", o.said);
                link_.send_queued(from, encode_message(CommandAck{c->command_id, o.ok}));
            }
            return;
        }
        const Instant now = monotonic_now();
        const std::uint64_t received = node_.token().stats().tokens_received;
        node_.on_message(now, from, m);
        if (node_.token().stats().tokens_received != received) rotations_.on_arrival(now);
        pump();
    });
    link_.on_event([this](NodeId peer, const LinkEvent& e) {
        if (e.kind == LinkEventKind::window_open) return;
        emit(link_event_json(self_, monotonic_now(), peer, e));
        if (is_tool_id(peer)) {
            // The endpoint lets a silent tool go; what it sent again later starts nothing.
            if (e.kind == LinkEventKind::peer_silent) log_.log("tool {}: silent, its session closed", peer);
            return;
        }
        const std::string who = peer == kMonitorId ? "monitor" : fmt::format("node {}", peer);
        if (e.kind == LinkEventKind::session_reset) {
            log_.log("link to {}: peer restarted; {} queued message(s) for its old incarnation dropped", who, e.dropped_messages);
        } else {
            log_.log("link to {}: {}", who, to_string(e.kind));
        }
    });
    log_.log("ring '{}' at {}: {}; datagrams {}", config.name, config.node(self).address_text, settings(),
             link.key ? "authenticated with the ring's key" : "not authenticated (no key_file)");
    log_.log("predecessor node {} at {}, successor node {} at {}, monitor at {}", pred_, config.predecessor(self).address_text, succ_,
             config.successor(self).address_text, config.monitor_address_text);
    if (const std::string w = config.insecure_warning(); !w.empty()) log_.log("{}", w);
    if (store_) {
        log_.log("state directory {}: {} saved snapshot(s) kept for rollback", store_->dir(), node_.kept().size());
        for (const auto& file : loaded_.unreadable) log_.log("state directory: ignored {}", file);
        if (const std::uint64_t n = node_.token().deliveries().seq; n > 0)
            log_.log("state directory: {} delivery(ies) by earlier processes remembered; none is handed over twice", n);
    }
    if (node_.token().epoch() == Epoch{0}) {
        log_.log("no token here until the monitor orders the ring's first one (a ring without a monitor has no token)");
    } else {
        log_.log("epoch {} kept from an earlier process; no token is made here but by the monitor's order", node_.token().epoch());
    }
    emit(node_started_json(self_, monotonic_now(), link_.endpoint().incarnation(), node_.token().epoch(), pred_, succ_));
    pump();
}

StatusReply NodeDriver::status(std::uint64_t command_id) const {
    StatusReply r{command_id, {}};
    auto add = [&r](std::string name, std::int64_t v) { r.values.emplace_back(std::move(name), v); };
    const TokenProtocol& t = node_.token();
    add("incarnation", static_cast<std::int64_t>(link_.endpoint().incarnation().value));
    add("epoch", t.epoch().value);
    add("tokens_passed", static_cast<std::int64_t>(t.stats().tokens_forwarded));
    add("held", static_cast<std::int64_t>(t.held()));
    add("queue", static_cast<std::int64_t>(t.queue_length()));
    add("messages_sent", static_cast<std::int64_t>(t.stats().messages_sent));
    add("messages_delivered", static_cast<std::int64_t>(t.stats().messages_delivered));
    add("messages_redelivered", static_cast<std::int64_t>(t.stats().redelivered));
    if (writer_) {
        const auto since = writer_->stale_since();
        add("state_stale_ms", since ? std::chrono::duration_cast<std::chrono::milliseconds>(monotonic_now() - *since).count() : 0);
    }
    add("rotations", static_cast<std::int64_t>(rotations_.count()));
    if (const auto p50 = rotations_.quantile(0.5)) add("rotation_p50_us", p50->count());
    if (const auto p99 = rotations_.quantile(0.99)) add("rotation_p99_us", p99->count());
    const std::pair<const char*, NodeId> links[] = {{"pred", pred_}, {"succ", succ_}, {"mon", kMonitorId}};
    for (const auto& [prefix, peer] : links) {
        const Link* l = link_.endpoint().link(peer);
        if (!l) continue;
        add(fmt::format("{}_peer", prefix), peer.value);
        add(fmt::format("{}_rtt_us", prefix), l->srtt() ? l->srtt()->count() : -1);
        add(fmt::format("{}_data_sent", prefix), static_cast<std::int64_t>(l->stats().data_frames_sent));
        add(fmt::format("{}_retransmits", prefix), static_cast<std::int64_t>(l->stats().retransmits));
        add(fmt::format("{}_heard", prefix), l->peer_incarnation() != kUnknownIncarnation && !l->silent() ? 1 : 0);
    }
    const UdpStats& udp = link_.socket().stats();
    add("datagrams_sent", static_cast<std::int64_t>(udp.sent));
    add("bytes_sent", static_cast<std::int64_t>(udp.bytes_sent));
    add("datagrams_received", static_cast<std::int64_t>(udp.received));
    add("bytes_received", static_cast<std::int64_t>(udp.bytes_received));
    const LinkStats total = link_.endpoint().total_link_stats();
    std::int64_t dropped = 0;
    const auto drops = drop_counts(link_.socket().stats(), link_.endpoint().stats(), total);
    for (const auto& [name, n] : drops) dropped += static_cast<std::int64_t>(n);
    add("dropped", dropped);
    for (const auto& [name, n] : drops)
        if (n > 0 && r.values.size() < kMaxStatusValues) add("drop_" + name, static_cast<std::int64_t>(n));
    return r;
}

std::string NodeDriver::settings() const {
    const LinkConfig& l = link_.endpoint().link(pred_)->config();
    return fmt::format("hold {} ms; link: retransmission floor {} ms, initial {} ms, back-off cap {} ms, keep-alive {} ms, peer silent after {} ms, window {}",
                       std::chrono::duration_cast<std::chrono::milliseconds>(node_.config().token.hold).count(), l.rto_min.count() / 1000,
                       l.rto_initial.count() / 1000, l.rto_max.count() / 1000, l.keepalive_interval.count() / 1000,
                       l.silent_after.count() / 1000, l.window_messages);
}

void NodeDriver::pump() {
    out_.clear();
    node_.take_output(out_);
    for (auto& m : out_.messages) {
        if (!link_.send_queued(m.peer, std::move(m.bytes))) log_.log("dropped a message for {}: its queue is full", m.peer);
    }
    if (writer_) {
        // Before the events below: no delivery reaches the user before its record is on disk.
        const StateWriter::Outcome o = writer_->put(monotonic_now(), out_);
        if (o.failed)
            log_.log("state directory: {}; kept in memory and retried every second (until then a restart would load an older state)",
                     *o.failed);
        if (o.recovered) log_.log("state directory: written again after {} failed attempt(s); it is current", writer_->failures());
    }
    for (const auto& e : out_.token_events) {
        emit(token_event_json(self_, monotonic_now(), e));
        switch (e.kind) {
            case TokenEventKind::delivered:
                log_.log("delivered message #{} from node {}: {}", e.msg_id, e.src, printable(e.payload));
                break;
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
            case TokenEventKind::requeued: log_.log("message #{} to node {} queued again (its token was purged or came back uncopied)", e.msg_id, e.dst); break;
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
            case TokenEventKind::returned: break;
        }
    }
    for (const auto& im : out_.impair) {
        ImpairmentConfig c;
        c.loss = im.loss_ppm / 1e6;
        c.duplicate = im.duplicate_ppm / 1e6;
        c.delay = Duration{im.delay_us};
        link_.impairment().set_default(c);
        log_.log("impairing outgoing datagrams: loss {:.1f}%, duplication {:.1f}%, delay {} ms", c.loss * 100, c.duplicate * 100,
                 im.delay_us / 1000);
    }
    timer_.arm(node_.next_deadline());
}


}  // namespace ringwatch::io
