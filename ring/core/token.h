// One ring member's token protocol (IEEE 802.5 idea), pure. A free token may be caught by a node
// with a queued application message and becomes busy carrying it; the destination copies the
// message (once: per-source message ids drop repeats); back at its source the busy token is freed
// and passed on (the source does not catch it again at once, so others get their turn). Every
// token is held `hold` before it is passed on. Injected faults act on the next token received:
// `lose` drops it, `duplicate` passes it on twice.
//
// Epochs (recovery by purge and reissue): a node discards every token of an epoch older than its
// own, held or arriving; a token of a newer epoch makes it adopt that epoch. A sender keeps each
// message until its busy token comes back copied: a message whose token was purged (its sender
// adopted a newer epoch) or that came back uncopied is queued again, with the same id, so the
// destination, which delivers each (source, process, id) once, never delivers it twice.
#pragma once

#include <deque>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "ring/core/messages.h"

namespace ringwatch {

struct TokenConfig {
    Duration hold{std::chrono::milliseconds(20)};
    std::size_t queue_max = 1024;  // application messages waiting for a free token
};

enum class TokenEventKind : std::uint8_t {
    delivered,       // an application message reached us (src, msg_id, payload)
    undeliverable,   // our busy token came back uncopied (dst unknown or down)
    returned,        // our busy token came back copied and was freed
    lost_by_fault,   // `lose` took effect: a token was dropped
    duplicated_by_fault,  // `duplicate` took effect: a token was passed on twice
    duplicate_message_dropped,  // a repeat of an already delivered message id
    issued,          // a new free token was made here (the ring's first, or a recovery's)
    epoch_adopted,   // a newer epoch (epoch): older tokens held were discarded, our messages they carried queued again
    stale_discarded, // a token of an older epoch arrived and was discarded
    requeued,        // one of our messages goes round again (its token was purged, or came back uncopied)
};
std::string_view to_string(TokenEventKind k);

struct TokenEvent {
    TokenEventKind kind;
    NodeId src;
    NodeId dst;
    std::uint64_t msg_id = 0;
    Bytes payload;
    Epoch epoch{};  // issued: the new token's epoch
};

struct TokenStats {
    std::uint64_t tokens_received = 0;
    std::uint64_t tokens_forwarded = 0;
    std::uint64_t messages_sent = 0;       // caught a free token for one of ours
    std::uint64_t messages_delivered = 0;
    std::uint64_t messages_undeliverable = 0;
    std::uint64_t queue_full = 0;
    std::uint64_t duplicate_messages_dropped = 0;
    std::uint64_t tokens_issued = 0;    // made here (the ring's first, a recovery's)
    std::uint64_t stale_discarded = 0;  // tokens of older epochs, held at an adoption or arriving
    std::uint64_t requeued = 0;
};

class TokenProtocol {
public:
    // `incarnation`: this process's, stamped on the messages it sends.
    TokenProtocol(NodeId self, TokenConfig config, Incarnation incarnation = {}) : self_(self), incarnation_(incarnation), config_(config) {}

    // A token from the predecessor, or made here (the initial token, recovery).
    void on_token(Instant now, Token token);
    // Makes a new free token of `epoch` here (the ring's first token, or a recovery's).
    void issue(Instant now, Epoch epoch);
    // Adopts a newer epoch: discards held tokens of older ones and queues again (first, in order)
    // every message of ours still out on a token. False (and nothing done) if `epoch` is not newer.
    bool adopt_epoch(Epoch epoch);
    // Passes on every token whose hold has expired.
    void on_timer(Instant now);
    // Queues an application message; false when the queue is full or `to` is ourselves.
    bool enqueue(NodeId to, Bytes payload);
    void inject(InjectKind kind);

    std::vector<Token> take_forward() { return std::exchange(forward_, {}); }
    std::vector<TokenEvent> take_events() { return std::exchange(events_, {}); }
    std::optional<Instant> next_deadline() const;

    NodeState state() const;
    std::size_t held() const { return held_.size(); }
    std::size_t queue_length() const { return queue_.size(); }
    const TokenStats& stats() const { return stats_; }
    // The newest epoch this process has seen a token of (or was told of).
    Epoch epoch() const { return epoch_; }
    // Whether this process has ever held a token.
    bool had_token() const { return stats_.tokens_received > 0 || stats_.tokens_issued > 0; }
    bool fault_armed() const { return armed_lose_ > 0 || armed_duplicate_ > 0; }

private:
    struct Held {
        Token token;
        Instant release_at;
    };
    struct Outgoing {
        NodeId to;
        Bytes payload;
        std::uint64_t msg_id = 0;  // 0: not sent yet (an id is given when it first leaves)
        unsigned attempts = 0;
    };
    // A destination that never copies (not in the ring): the message goes round this often, then
    // is reported undeliverable.
    static constexpr unsigned kMaxAttempts = 3;
    void release(Token token);
    void requeue_front(std::vector<Outgoing> messages);

    NodeId self_;
    Incarnation incarnation_;
    TokenConfig config_;
    Epoch epoch_{1};
    std::deque<Held> held_;  // release times are non-decreasing: one hold for all
    std::deque<Outgoing> queue_;
    std::map<std::uint64_t, Outgoing> in_transit_;  // ours, out on a busy token, by id
    std::uint64_t next_msg_id_ = 1;
    // Per source, its last few processes and the message ids delivered from each: drops repeats (a
    // duplicated busy token, a message sent again after a purge) without mistaking a restarted
    // source's messages for them. Ids may arrive out of order after a purge: a window of ids above
    // a floor below which everything counts as delivered.
    struct Delivered {
        std::uint64_t floor = 0;
        std::set<std::uint64_t> above;
        bool first_time(std::uint64_t id);
    };
    static constexpr std::size_t kIncarnationsPerSource = 4;
    static constexpr std::size_t kDeliveredWindow = 4096;
    std::map<NodeId, std::deque<std::pair<Incarnation, Delivered>>> delivered_;
    Delivered& delivered(NodeId src, Incarnation inc);
    unsigned armed_lose_ = 0;
    unsigned armed_duplicate_ = 0;
    std::vector<Token> forward_;
    std::vector<TokenEvent> events_;
    TokenStats stats_;
};

}  // namespace ringwatch
