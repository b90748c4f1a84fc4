// The sequenced FIFO link state machine (see link.h for the protocol and the caller's contract).
#include "ring/core/link.h"

#include <algorithm>
#include "ring/core/check.h"

namespace ringwatch {

std::uint32_t timestamp(Instant now) {
    const auto t = static_cast<std::uint32_t>(to_us(now));
    return t == 0 ? 1 : t;
}

std::string_view to_string(LinkEventKind k) {
    switch (k) {
        case LinkEventKind::connected: return "connected";
        case LinkEventKind::session_reset: return "session_reset";
        case LinkEventKind::peer_silent: return "peer_silent";
        case LinkEventKind::peer_alive: return "peer_alive";
        case LinkEventKind::window_open: return "window_open";
    }
    return "unknown";
}

Link::Link(LinkConfig config, NodeId self, Incarnation self_incarnation, NodeId peer, Instant now)
    : config_(config),
      self_(self),
      self_incarnation_(self_incarnation),
      peer_(peer),
      rto_(config.rto_initial),
      hello_deadline_(now),
      hello_backoff_(config.rto_initial),
      last_sent_(now),
      last_heard_(now) {
    RW_ASSERT(self_incarnation != kUnknownIncarnation);
    RW_ASSERT(config.window_messages >= 2);
}

SendStatus Link::send(std::span<const std::uint8_t> message) {
    if (message.empty()) return SendStatus::empty;
    if (message.size() > wire::kMaxMessageBytes) return SendStatus::too_large;
    if (!window_has_room()) {
        window_was_full_ = true;
        ++stats_.window_full;
        return SendStatus::window_full;
    }
    unacked_.push_back(Outgoing{Bytes(message.begin(), message.end())});
    RW_ASSERT(unacked_.size() <= config_.window_messages);
    ++stats_.messages_sent;
    return SendStatus::queued;
}

void Link::on_frame(Instant now, const wire::Frame& frame, std::optional<Instant> arrived) {
    const wire::FrameHeader& h = frame.header;
    ++stats_.datagrams_received;
    if (h.src_incarnation == kUnknownIncarnation || (handshake_done() && h.src_incarnation < peer_incarnation_)) {
        ++stats_.stale_incarnation_dropped;  // a process of the peer that was replaced
        return;
    }
    if (h.src_incarnation != peer_incarnation_) {
        // A peer process we have no session with. Only a frame addressed to our incarnation proves
        // it was made after we started; anything else (a hello, a recording) is answered with who
        // we are and changes nothing.
        if (h.dst_incarnation != self_incarnation_) {
            if (h.dst_incarnation != kUnknownIncarnation) {
                ++stats_.stale_incarnation_dropped;  // made for our predecessor
            } else if (!frame.messages.empty()) {
                ++stats_.unexpected_data_dropped;
            } else {
                ++stats_.hellos_answered;
            }
            if (!answer_to_ || *answer_to_ < h.src_incarnation) answer_to_ = h.src_incarnation;
            if (h.src_incarnation != unadopted_) {
                unadopted_ = h.src_incarnation;
                unadopted_counter_ = 0;
            }
            unadopted_counter_ = std::max(unadopted_counter_, h.counter);
            return;
        }
        if (handshake_done()) {
            reset_session(h.src_incarnation);
        } else {
            adopt_peer(now, h.src_incarnation);
        }
        replay_.reset_above(h.src_incarnation == unadopted_ ? unadopted_counter_ : 0);
    }
    if (!replay_.accept(h.counter)) {
        ++stats_.replayed_dropped;
        return;
    }
    last_heard_ = now;
    if (silent_) {
        silent_ = false;
        out_.events.push_back({LinkEventKind::peer_alive, peer_incarnation_});
    }
    if (h.dst_incarnation != self_incarnation_) {
        // The peer does not know us yet, or still addresses our predecessor: its acks and data belong
        // to another session. Tell it who we are; it will reset and start over with us.
        if (h.dst_incarnation != kUnknownIncarnation) {
            ++stats_.stale_incarnation_dropped;
        } else if (!frame.messages.empty()) {
            ++stats_.unexpected_data_dropped;
        }
        ack_pending_ = true;
        ack_deadline_ = now;
        return;
    }
    // Any echo is a sample, even on a retransmitted frame: it names the transmission it answers (so
    // Karn's ambiguity does not arise) and is sent only promptly (see base_header).
    if (process_acks(now, h) && h.tsecr != 0) {
        // From its arrival, unless that reads as before the echoed send (a clock conversion's error).
        const std::uint32_t at = timestamp(now), came = arrived && *arrived < now ? timestamp(*arrived) : at;
        const std::uint32_t sample = static_cast<std::int32_t>(came - h.tsecr) >= 0 ? came - h.tsecr : at - h.tsecr;
        take_rtt_sample(Duration{sample});
    }
    if (!frame.messages.empty()) {
        process_messages(now, frame);
        ack_pending_ = true;
        if (!ack_deadline_) ack_deadline_ = now + config_.ack_delay;
    }
    if (h.want_ack()) {
        ack_pending_ = true;
        ack_deadline_ = now;
    }
}

void Link::adopt_peer(Instant now, Incarnation inc) {
    peer_incarnation_ = inc;
    hello_deadline_.reset();
    out_.events.push_back({LinkEventKind::connected, inc});
    // Answer at once so that the peer learns our incarnation too.
    ack_pending_ = true;
    ack_deadline_ = now;
}

void Link::reset_session(Incarnation new_incarnation) {
    const std::uint64_t dropped = unacked_.size();
    unacked_.clear();
    snd_una_ = Seq{0};
    next_unsent_ = 0;
    retransmit_pending_ = false;
    rto_deadline_.reset();
    rack_xmit_ = 0;
    rack_seq_ = Seq{0};
    reorder_.clear();
    rcv_next_ = Seq{0};
    rcv_highest_ = Seq{0};
    ts_recent_ = 0;
    peer_incarnation_ = new_incarnation;
    ++stats_.session_resets;
    stats_.messages_dropped_by_reset += dropped;
    out_.events.push_back({LinkEventKind::session_reset, new_incarnation, dropped});
    ack_pending_ = true;
    if (window_was_full_) {
        window_was_full_ = false;
        out_.events.push_back({LinkEventKind::window_open, peer_incarnation_});
    }
}

void Link::note_acked(Outgoing& e, Seq seq) {
    e.needs_retransmit = false;
    rack_xmit_ = std::max(rack_xmit_, e.xmit_order);
    rack_seq_ = std::max(rack_seq_, seq);
}

bool Link::process_acks(Instant now, const wire::FrameHeader& h) {
    const Seq snd_nxt{snd_una_.value + next_unsent_};
    if (h.ack > snd_nxt) {
        ++stats_.invalid_acks;
        return false;
    }
    bool progressed = false;
    bool sacked_new = false;
    while (snd_una_ < h.ack) {
        RW_ASSERT(next_unsent_ > 0);  // h.ack <= snd_nxt: only what was sent is acknowledged
        note_acked(unacked_.front(), snd_una_);
        unacked_.pop_front();
        ++snd_una_.value;
        --next_unsent_;
        progressed = true;
    }
    for (std::size_t i = 0; i < h.sack_len * 8u; ++i) {
        if (!h.sacked(i)) continue;
        const Seq s{h.ack.value + 1 + i};
        if (s < snd_una_) continue;
        if (s >= snd_nxt) break;
        Outgoing& e = entry(s);
        if (!e.sacked) {
            e.sacked = true;
            sacked_new = true;
            note_acked(e, s);
        }
    }
    if (progressed) {
        // New data acknowledged: the path delivers, so the back-off ends (as QUIC's PTO back-off,
        // RFC 9002 6.2.1). RFC 6298 keeps it until the next sample because without timestamps a
        // sample may be ambiguous; ours name their transmission, and an ack without one (its prompt
        // echo was lost) must not leave the next message with a timeout of many round trips.
        rto_ = estimated_rto();
        if (next_unsent_ > 0) {
            rto_deadline_ = now + rto_;
        } else {
            rto_deadline_.reset();
        }
    }
    detect_losses();
    if (window_was_full_ && window_has_room()) {
        window_was_full_ = false;
        out_.events.push_back({LinkEventKind::window_open, peer_incarnation_});
    }
    return progressed || sacked_new;
}

void Link::detect_losses() {
    if (rack_xmit_ == 0) return;
    for (std::size_t i = 0; i < next_unsent_; ++i) {
        const Seq s{snd_una_.value + i};
        if (s.value + config_.dupthresh > rack_seq_.value) break;
        Outgoing& e = unacked_[i];
        if (!e.sacked && !e.needs_retransmit && e.xmit_order < rack_xmit_) {
            e.needs_retransmit = true;
            retransmit_pending_ = true;
            ++stats_.fast_retransmits;
        }
    }
}

void Link::take_rtt_sample(Duration r) {
    // RFC 6298, section 2.
    if (!srtt_) {
        srtt_ = r;
        rttvar_ = r / 2;
    } else {
        const Duration err = *srtt_ > r ? *srtt_ - r : r - *srtt_;
        rttvar_ = (3 * rttvar_ + err) / 4;
        srtt_ = (7 * *srtt_ + r) / 8;
    }
    rto_ = estimated_rto();
}

Duration Link::estimated_rto() const {
    if (!srtt_) return config_.rto_initial;
    return std::clamp(*srtt_ + 4 * rttvar_ + peer_ack_slack(), config_.rto_min, config_.rto_max);
}

void Link::process_messages(Instant now, const wire::Frame& frame) {
    const wire::FrameHeader& h = frame.header;
    const std::uint64_t window = config_.window_messages;
    if (h.seq.value > UINT64_MAX - frame.messages.size()) {
        stats_.out_of_window_dropped += frame.messages.size();
        return;
    }
    // Echo the latest transmission received, a repeat too (its ack then measures the repeat, not
    // the first transmission a timeout ago), never an older one. RFC 7323 would echo the earliest
    // frame a delayed ack covers, putting our delay into the estimate; the sender adds it to the
    // timeout instead (peer_ack_slack, as QUIC adds max_ack_delay), so that would count it twice.
    if (ts_recent_ == 0 || static_cast<std::int32_t>(h.tsval - ts_recent_) >= 0) {
        ts_recent_ = h.tsval;
        ts_recent_at_ = now;
    }
    for (std::size_t i = 0; i < frame.messages.size(); ++i) {
        const Seq s{h.seq.value + i};
        if (s < rcv_next_) {
            ++stats_.duplicates_dropped;
            ack_deadline_ = Instant{};  // our ack was probably lost: repeat it now
            continue;
        }
        if (s.value - rcv_next_.value >= window) {
            ++stats_.out_of_window_dropped;
            continue;
        }
        const std::size_t at = static_cast<std::size_t>(s.value - rcv_next_.value);
        if (at >= reorder_.size()) reorder_.resize(at + 1);
        Incoming& slot = reorder_[at];
        if (slot.present) {
            ++stats_.duplicates_dropped;
            continue;
        }
        slot.data.assign(frame.messages[i].begin(), frame.messages[i].end());
        slot.present = true;
        rcv_highest_ = std::max(rcv_highest_, Seq{s.value + 1});
        // Enough for one ack (never more than half the window: the sender must not stall on it).
        if (++unacked_received_ >= std::min(config_.ack_every, std::max(1u, config_.window_messages / 2))) ack_deadline_ = Instant{};
    }
    std::size_t ready = 0;
    while (ready < reorder_.size() && reorder_[ready].present) {
        out_.delivered.push_back(std::move(reorder_[ready].data));
        ++ready;
    }
    reorder_.erase(reorder_.begin(), reorder_.begin() + static_cast<std::ptrdiff_t>(ready));
    rcv_next_.value += ready;
    stats_.messages_delivered += ready;
    rcv_highest_ = std::max(rcv_highest_, rcv_next_);
    RW_ASSERT(rcv_highest_.value - rcv_next_.value <= window);  // what is buffered fits the window
    RW_ASSERT(reorder_.size() == rcv_highest_.value - rcv_next_.value);
    if (rcv_highest_ > rcv_next_) ack_deadline_ = Instant{};  // a hole: tell the sender at once
}

wire::FrameHeader Link::base_header(Instant now) const {
    wire::FrameHeader h;
    h.tsval = timestamp(now);
    // Echoed only soon after it arrived (an ack's delay and a late timer). Echoed later, by a
    // keep-alive or a retransmission, it would come with an ack that the sender may see first (the
    // prompt one was lost), and the sample would hold our wait: the sender's own timeout, or the
    // keep-alive interval. That was the delayed-ack stall at 30% loss: such samples grew the timeout,
    // the grown timeout (plus ack_delay's slack) grew the next such sample, and once above the
    // keep-alive interval every keep-alive renewed it, up to rto_max.
    h.tsecr = ts_recent_ != 0 && now - ts_recent_at_ <= echo_window() ? ts_recent_ : 0;
    h.src = self_;
    h.dst = peer_;
    h.src_incarnation = self_incarnation_;
    h.dst_incarnation = peer_incarnation_;
    fill_ack_fields(h);
    return h;
}

void Link::fill_ack_fields(wire::FrameHeader& h) const {
    h.ack = rcv_next_;
    const std::uint64_t span = rcv_highest_.value - rcv_next_.value;  // < window
    const std::size_t bits = static_cast<std::size_t>(std::min<std::uint64_t>(span > 0 ? span - 1 : 0, wire::kMaxSackBits));
    std::size_t highest = 0;
    for (std::size_t i = 0; i < bits; ++i) {
        if (1 + i < reorder_.size() && reorder_[1 + i].present) {
            h.sack[i / 8] |= static_cast<std::uint8_t>(1u << (i % 8));
            highest = i + 1;
        }
    }
    h.sack_len = static_cast<std::uint8_t>((highest + 7) / 8);
}

void Link::emit_frame(Instant now, const wire::FrameHeader& h, std::span<const std::span<const std::uint8_t>> msgs) {
    Bytes datagram;
    wire::FrameHeader counted = h;
    counted.counter = ++send_counter_;
    wire::encode_frame(counted, msgs, datagram, config_.key ? &*config_.key : nullptr);
    out_.datagrams.push_back(std::move(datagram));
    ++stats_.datagrams_sent;
    if (msgs.empty()) {
        ++stats_.ack_frames_sent;
    } else {
        ++stats_.data_frames_sent;
    }
    last_sent_ = now;
    if (h.dst_incarnation != peer_incarnation_) return;  // an answer to another process: no ack of ours
    ack_pending_ = false;
    ack_deadline_.reset();
    unacked_received_ = 0;
}

// Sends runs of consecutive seqs, as many messages per frame as fit: either the messages marked for
// retransmission, or the ones never sent.
void Link::transmit_data(Instant now, const wire::FrameHeader& base, bool retransmissions) {
    const std::size_t begin = retransmissions ? 0 : next_unsent_;
    const std::size_t end = retransmissions ? next_unsent_ : unacked_.size();
    std::vector<std::span<const std::uint8_t>> run;
    std::size_t run_start = 0;
    std::size_t run_bytes = 0;
    wire::FrameHeader h = base;
    if (retransmissions) h.flags |= wire::kFlagRetransmit;
    auto emit_run = [&] {
        if (run.empty()) return;
        h.seq = Seq{snd_una_.value + run_start};
        emit_frame(now, h, run);
        run.clear();
        run_bytes = 0;
    };
    for (std::size_t i = begin; i < end; ++i) {
        Outgoing& e = unacked_[i];
        if (retransmissions && !e.needs_retransmit) {
            emit_run();
            continue;
        }
        const std::size_t cost = wire::kMessageLengthBytes + e.data.size();
        const bool fits = wire::header_size(h.sack_len) + run_bytes + cost <= wire::kMaxFrameBytes && run.size() < wire::kMaxMessagesPerFrame;
        if (!fits) emit_run();
        if (run.empty()) run_start = i;
        run.push_back(e.data);
        run_bytes += cost;
        e.last_sent = now;
        e.xmit_order = ++xmit_counter_;
        e.needs_retransmit = false;
        if (++e.transmissions > 1) ++stats_.retransmits;
    }
    emit_run();
    if (!retransmissions) next_unsent_ = unacked_.size();
    RW_ASSERT(next_unsent_ <= unacked_.size());
}

void Link::check_timers(Instant now) {
    if (!silent_ && now - last_heard_ >= config_.silent_after) {
        silent_ = true;
        out_.events.push_back({LinkEventKind::peer_silent, peer_incarnation_});
    }
    if (rto_deadline_ && now >= *rto_deadline_) {
        bool marked = false;
        for (std::size_t i = 0; i < next_unsent_; ++i) {
            Outgoing& e = unacked_[i];
            if (!e.sacked && now - e.last_sent >= rto_) {
                e.needs_retransmit = true;
                marked = true;
            }
        }
        if (marked) {
            ++stats_.timeouts;
            retransmit_pending_ = true;
            rto_ = std::min(rto_ * 2, config_.rto_max);
        }
        rto_deadline_ = next_unsent_ > 0 ? std::optional<Instant>(now + rto_) : std::nullopt;
    }
}

void Link::flush(Instant now) {
    check_timers(now);
    if (answer_to_ && *answer_to_ != peer_incarnation_) {
        // Addressed to that process, with nothing of our session in it: it may start one with us.
        wire::FrameHeader h;
        h.flags = wire::kFlagWantAck;
        h.src = self_;
        h.dst = peer_;
        h.src_incarnation = self_incarnation_;
        h.dst_incarnation = *answer_to_;
        h.tsval = timestamp(now);
        emit_frame(now, h, {});
    }
    answer_to_.reset();
    if (!handshake_done()) {
        if (hello_deadline_ && now >= *hello_deadline_) {
            wire::FrameHeader h = base_header(now);
            h.flags = wire::kFlagWantAck;
            emit_frame(now, h, {});
            hello_deadline_ = now + hello_backoff_;
            hello_backoff_ = std::min(hello_backoff_ * 2, config_.rto_max);
        }
        return;
    }
    const bool has_new = next_unsent_ < unacked_.size();
    if (retransmit_pending_ || has_new) {
        const wire::FrameHeader h = base_header(now);
        if (retransmit_pending_) {
            transmit_data(now, h, true);
            retransmit_pending_ = false;
        }
        if (has_new) transmit_data(now, h, false);
        if (!rto_deadline_ && next_unsent_ > 0) rto_deadline_ = now + rto_;
    }
    const bool ack_due = ack_pending_ && (!ack_deadline_ || now >= *ack_deadline_);
    const bool keepalive_due = now - last_sent_ >= config_.keepalive_interval;
    if (ack_due || keepalive_due) emit_frame(now, base_header(now), {});
}

std::optional<Instant> Link::next_deadline() const {
    std::optional<Instant> d;
    auto consider = [&d](std::optional<Instant> t) {
        if (t && (!d || *t < *d)) d = t;
    };
    if (!silent_) consider(last_heard_ + config_.silent_after);
    if (answer_to_) consider(Instant{});
    if (!handshake_done()) {
        consider(hello_deadline_);
        return d;
    }
    consider(rto_deadline_);
    if (ack_pending_) consider(ack_deadline_ ? *ack_deadline_ : last_sent_);
    consider(last_sent_ + config_.keepalive_interval);
    return d;
}

LinkOutput Link::take_output() {
    LinkOutput out;
    take_output(out);
    return out;
}

void Link::take_output(LinkOutput& out) {
    out.datagrams.clear();
    out.delivered.clear();
    out.events.clear();
    std::swap(out, out_);
}

}  // namespace ringwatch
