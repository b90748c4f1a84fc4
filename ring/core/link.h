// The sequenced FIFO link: one end of an exactly-once, in-order message channel over datagrams,
// as a pure state machine (no sockets, no clock, no randomness).
//
// Caller's contract, in order:
//   1. Feed inputs: send(msg), on_frame(now, frame) for each frame from this peer.
//   2. Call flush(now) after each batch of inputs and whenever next_deadline() has passed: it sends
//      what is ready (new messages coalesced, retransmissions, acks, hellos, keep-alives).
//   3. Drain take_output(): datagrams to transmit to the peer, messages delivered in order, events.
//   4. Wait until next_deadline() or the next input.
//
// Protocol summary:
//   - Each end has an incarnation per process start that grows from one start to the next (the
//     start time). Data is only ever sent to a known peer incarnation and only accepted when
//     addressed to ours. A session with a peer incarnation begins only on a frame addressed to our
//     own incarnation, which nobody could have recorded before we started; a hello is answered with
//     who we are and changes nothing. A newer peer incarnation replaces the session (what was queued
//     for the old one is dropped and reported); an older one is never obeyed again.
//   - Every datagram carries a counter, and a frame of the session's peer is accepted only once
//     (ReplayWindow): a recording sent again changes nothing, not even the peer's liveness.
//   - Selective repeat: cumulative ack + selective-ack bitmap; a timeout from the round trip
//     measured by echoed timestamps (RFC 6298 smoothing; RFC 7323 echo, of the latest frame and
//     only within ack_delay + 1 ms of its arrival) with exponential back-off until new data is
//     acknowledged; fast retransmit of a message once a message sent after it, `dupthresh` seqs
//     above it, has been acknowledged.
//   - A bounded window of unacknowledged messages: send() reports window_full, never queues
//     without bound; a window_open event says when to try again.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <vector>

#include "ring/core/replay_window.h"
#include "ring/core/types.h"
#include "ring/core/wire.h"

namespace ringwatch {

using namespace std::chrono_literals;

struct LinkConfig {
    Duration rto_initial = 100ms;  // before any RTT sample
    Duration rto_min = 1ms;        // libuv timers cannot do better
    Duration rto_max = 1000ms;     // back-off stops here; retries go on at this pace
    // Acknowledgements wait up to ack_delay (0: the end of each input batch) or until ack_every
    // messages are unacknowledged, whichever comes first; holes and repeats are answered at once.
    // The sender's timeout allows for the delay (and a libuv timer's 1 ms granularity), so every
    // timeout is ack_delay + 1 ms longer. Off by default: 1 ms halves a busy ring's datagrams; it
    // once stalled link_bench's ping-pong at 30% loss (round-trip samples that held timeouts and
    // keep-alives, mended: see Link::base_header).
    Duration ack_delay = 0ms;
    std::uint32_t ack_every = 16;
    Duration keepalive_interval = 250ms;   // an idle link still says it is alive
    Duration silent_after = 1000ms;        // nothing heard for this long: peer_silent
    std::uint32_t window_messages = 1024;  // unacknowledged messages in flight, and the reorder buffer
    std::uint32_t dupthresh = 3;
    std::optional<AuthKey> key;          // the ring's shared key: every datagram carries a MAC
    std::optional<AuthKey> also_accept;  // a second key accepted too (a rotation under way); endpoint only
};

enum class SendStatus : std::uint8_t { queued, window_full, too_large, empty };

enum class LinkEventKind : std::uint8_t {
    connected,      // first contact with a peer incarnation (after start or a reset)
    session_reset,  // the peer restarted; dropped_messages of ours were never delivered to it
    peer_silent,    // nothing heard for silent_after
    peer_alive,     // heard again after peer_silent
    window_open,    // send() may succeed again after window_full
};
std::string_view to_string(LinkEventKind k);

struct LinkEvent {
    LinkEventKind kind;
    Incarnation peer_incarnation;  // the one now in force
    std::uint64_t dropped_messages = 0;
};

// Every counter a link keeps; nothing is dropped or retried without being counted.
struct LinkStats {
    std::uint64_t messages_sent = 0;  // accepted by send()
    std::uint64_t messages_delivered = 0;
    std::uint64_t datagrams_sent = 0;
    std::uint64_t datagrams_received = 0;
    std::uint64_t data_frames_sent = 0;
    std::uint64_t ack_frames_sent = 0;  // frames without messages (acks, hellos, keep-alives)
    std::uint64_t retransmits = 0;      // messages sent again, for either reason below
    std::uint64_t fast_retransmits = 0;
    std::uint64_t timeouts = 0;
    std::uint64_t duplicates_dropped = 0;  // messages already delivered
    std::uint64_t out_of_window_dropped = 0;
    std::uint64_t stale_incarnation_dropped = 0;  // frames from or to an old incarnation
    std::uint64_t replayed_dropped = 0;           // a datagram counter of the session seen before (or too old)
    std::uint64_t hellos_answered = 0;            // hellos of a process we have no session with (yet)
    std::uint64_t unexpected_data_dropped = 0;    // data sent before the handshake (protocol error)
    std::uint64_t invalid_acks = 0;               // acks for seqs never sent
    std::uint64_t window_full = 0;                // send() refusals
    std::uint64_t session_resets = 0;
    std::uint64_t messages_dropped_by_reset = 0;
};

struct LinkOutput {
    std::vector<Bytes> datagrams;  // encoded frames for the peer, in order
    std::vector<Bytes> delivered;  // messages from the peer, exactly once, in order
    std::vector<LinkEvent> events;
    bool empty() const { return datagrams.empty() && delivered.empty() && events.empty(); }
};

// Our clock on the wire: microseconds modulo 2^32, never 0 (0 means "no echo").
std::uint32_t timestamp(Instant now);

class Link {
public:
    Link(LinkConfig config, NodeId self, Incarnation self_incarnation, NodeId peer, Instant now);
    // The datagram counter continues after `counter` (a tool link follows the challenge its
    // endpoint sent under the same incarnation, which the tool has already counted).
    void count_from(std::uint64_t counter) { send_counter_ = std::max(send_counter_, counter); }
    // The peer process `inc` sent counters up to `counter` before this link existed (a tool's
    // hello, answered by the endpoint): once adopted, none of them is accepted (a replay).
    void counted_before(Incarnation inc, std::uint64_t counter) {
        unadopted_ = inc;
        unadopted_counter_ = counter;
    }

    SendStatus send(std::span<const std::uint8_t> message);
    // The frame must come from this link's peer and be addressed to this link's node. `arrived`:
    // when it reached this host, if earlier than now (it waited to be read): its round-trip sample
    // is taken from then, so it measures the path, not the wait.
    void on_frame(Instant now, const wire::Frame& frame, std::optional<Instant> arrived = std::nullopt);
    // Do everything due at `now`: timers, then transmission of what is ready.
    void flush(Instant now);
    LinkOutput take_output();
    // Empty output buffers reused by the caller avoid reallocation.
    void take_output(LinkOutput& out);

    std::optional<Instant> next_deadline() const;

    NodeId peer() const { return peer_; }
    Incarnation peer_incarnation() const { return peer_incarnation_; }
    // When a valid datagram of the peer's current process last arrived (nothing: none yet).
    std::optional<Instant> last_heard() const {
        return peer_incarnation_ == kUnknownIncarnation ? std::nullopt : std::optional<Instant>(last_heard_);
    }
    const LinkStats& stats() const { return stats_; }
    Duration rto() const { return rto_; }
    std::optional<Duration> srtt() const { return srtt_; }
    bool silent() const { return silent_; }  // nothing heard for silent_after
    std::size_t in_flight() const { return unacked_.size(); }
    bool window_has_room() const { return unacked_.size() < config_.window_messages; }
    // A pure acknowledgement would unblock this link: the answer to its hello, or room in its full
    // window. Otherwise acks only confirm what a timer would otherwise retry, so they may wait to be
    // read (see io/udp_socket.h, the quiet twin).
    bool awaits_answer() const { return !handshake_done() || !window_has_room(); }
    const LinkConfig& config() const { return config_; }
    // Key rotation: every frame emitted from now on (retransmissions too) carries this key's MAC.
    void set_key(std::optional<AuthKey> key) { config_.key = key; }

private:
    struct Outgoing {
        Bytes data;
        Instant last_sent{};
        std::uint64_t xmit_order = 0;  // position in the sequence of all transmissions
        std::uint32_t transmissions = 0;
        bool sacked = false;
        bool needs_retransmit = false;
    };
    struct Incoming {
        Bytes data;
        bool present = false;
    };

    bool handshake_done() const { return peer_incarnation_ != kUnknownIncarnation; }
    void adopt_peer(Instant now, Incarnation inc);
    void reset_session(Incarnation new_incarnation);
    // True when the frame acknowledged something not acknowledged before.
    bool process_acks(Instant now, const wire::FrameHeader& h);
    void process_messages(Instant now, const wire::Frame& frame);
    void detect_losses();
    void check_timers(Instant now);
    void take_rtt_sample(Duration sample);
    // The timeout the estimate gives, without back-off (RFC 6298, section 2).
    Duration estimated_rto() const;
    // How much later than a round trip the peer's ack may come (same config both sides): its
    // ack_delay, and the libuv timer that ends it may fire up to a millisecond late.
    Duration peer_ack_slack() const { return config_.ack_delay > Duration::zero() ? config_.ack_delay + 1ms : Duration::zero(); }
    // How long after a frame arrived our frames still echo its timestamp: our ack's delay and a late
    // timer, so a sample never holds more of our wait than that.
    Duration echo_window() const { return config_.ack_delay + 1ms; }
    void fill_ack_fields(wire::FrameHeader& h) const;
    wire::FrameHeader base_header(Instant now) const;
    void emit_frame(Instant now, const wire::FrameHeader& h, std::span<const std::span<const std::uint8_t>> msgs);
    void transmit_data(Instant now, const wire::FrameHeader& h, bool retransmissions);
    void note_acked(Outgoing& e, Seq seq);
    Outgoing& entry(Seq s) { return unacked_[s.value - snd_una_.value]; }

    LinkConfig config_;
    NodeId self_;
    Incarnation self_incarnation_;
    NodeId peer_;
    Incarnation peer_incarnation_ = kUnknownIncarnation;
    // A peer process we have no session with to tell who we are (the newest that asked).
    std::optional<Incarnation> answer_to_;
    // The highest counter of the frames a not-yet-adopted peer process sent before it knew us:
    // the session's replay window starts above it, so they cannot be replayed into the session.
    Incarnation unadopted_{kUnknownIncarnation};
    std::uint64_t unadopted_counter_ = 0;
    ReplayWindow replay_;
    std::uint64_t send_counter_ = 0;

    // Sender: unacked_[i] has seq snd_una_+i; entries below snd_una_+next_unsent_ were sent
    // (next_unsent_ <= unacked_.size() <= window_messages, asserted where they change).
    std::deque<Outgoing> unacked_;
    Seq snd_una_{0};
    std::size_t next_unsent_ = 0;
    bool retransmit_pending_ = false;
    bool window_was_full_ = false;
    std::optional<Instant> rto_deadline_;
    Duration rto_;
    std::optional<Duration> srtt_;
    Duration rttvar_{0};
    // Loss detection (RACK-like): the latest transmission and the highest seq acknowledged so far.
    // A message is lost once something transmitted after it, dupthresh seqs above it, was acked.
    std::uint64_t xmit_counter_ = 0;
    std::uint64_t rack_xmit_ = 0;
    Seq rack_seq_{0};

    // Receiver: reorder_[i] holds seq rcv_next_+i once it arrived, for seqs below rcv_highest_ (at
    // most window_messages). Sized by what is buffered, usually nothing: a link costs no memory for a
    // window it does not use, and copies cheaply (the model checker copies whole processes).
    std::vector<Incoming> reorder_;
    Seq rcv_next_{0};
    Seq rcv_highest_{0};  // one past the highest seq buffered
    bool ack_pending_ = false;
    std::uint32_t unacked_received_ = 0;  // messages received since our last ack
    std::uint32_t ts_recent_ = 0;         // tsval of the latest frame with messages, echoed back
    Instant ts_recent_at_{};              // when that frame arrived
    std::optional<Instant> ack_deadline_;

    std::optional<Instant> hello_deadline_;
    Duration hello_backoff_;
    Instant last_sent_;
    Instant last_heard_;
    bool silent_ = false;

    LinkStats stats_;
    LinkOutput out_;
};

}  // namespace ringwatch
