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
//
// Rollback (the seed's recovery): save() is the whole state at a snapshot's cut (tokens held with
// their payloads, the queue, the messages out on tokens, the delivery log); restore() puts a saved
// state back in a new epoch and receives again what the snapshot recorded on the inbound channel.
// Deliveries made after the cut are undone with the log and happen again, reported as
// `redelivered`; messages accepted after the cut are queued again (a journal of each keeps them).
//
// Across restarts: what a node delivered (the log, the journal, what a rollback undid) is its
// DeliveryRecord, which the caller keeps on disk where `state_dir` is set, before it hands any
// delivery to the user. A process started from it knows what its earlier processes delivered: a
// repeat is dropped, and a delivery a rollback undid is made again as a redelivery, whichever
// process made it first.
#pragma once

#include <deque>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <utility>
#include <vector>

#include "ring/core/delivery_log.h"
#include "ring/core/messages.h"

namespace ringwatch {

struct TokenConfig {
    Duration hold{std::chrono::milliseconds(20)};
    std::size_t queue_max = 1024;  // application messages waiting for a free token
};

enum class TokenEventKind : std::uint8_t {
    delivered,                  // an application message reached us (src, msg_id, payload)
    undeliverable,              // our busy token came back uncopied (dst unknown or down)
    returned,                   // our busy token came back copied and was freed
    lost_by_fault,              // `lose` took effect: a token was dropped
    duplicated_by_fault,        // `duplicate` took effect: a token was passed on twice
    duplicate_message_dropped,  // a repeat of an already delivered message id
    issued,                     // a new free token was made here (the ring's first, or a recovery's)
    epoch_adopted,              // a newer epoch (epoch): older tokens held were discarded, our messages they carried queued again
    stale_discarded,            // a token of an older epoch arrived and was discarded
    requeued,                   // one of our messages goes round again (its token was purged, or came back uncopied)
    rolled_back,                // a saved state was restored (epoch: the new one)
    redelivered,                // a delivery undone by a rollback happened again (src, msg_id, payload)
    overtaken_message_dropped,  // a message older than one delivered from its process (a token fault let it be overtaken)
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
    std::uint64_t messages_sent = 0;  // caught a free token for one of ours
    std::uint64_t messages_delivered = 0;
    std::uint64_t messages_undeliverable = 0;
    std::uint64_t queue_full = 0;
    std::uint64_t duplicate_messages_dropped = 0;
    std::uint64_t overtaken_messages_dropped = 0;  // delivering them would break the order (DeliveryLog)
    std::uint64_t tokens_issued = 0;               // made here (the ring's first, a recovery's)
    std::uint64_t stale_discarded = 0;             // tokens of older epochs, held at an adoption or arriving
    std::uint64_t requeued = 0;
    std::uint64_t rollbacks = 0;    // saved states restored
    std::uint64_t redelivered = 0;  // deliveries undone by a rollback that happened again
};

// A message as its destination names it: (source, the source process that accepted it, msg_id).
using MessageKey = std::tuple<NodeId, Incarnation, std::uint64_t>;

// One delivery, numbered across every process of the node that kept its record.
struct DeliveryEntry {
    std::uint64_t seq = 0;
    MessageKey message;
    bool operator==(const DeliveryEntry&) const = default;
};

// What the node has delivered, as a restarted process needs it (see the top of this file).
struct DeliveryRecord {
    std::uint64_t seq = 0;               // deliveries numbered so far
    DeliveryLog delivered;               // the current state's log: a message in it is a repeat
    std::vector<DeliveryEntry> journal;  // since the oldest kept snapshot: a rollback undoes those after its cut
    std::vector<MessageKey> undone;      // undone by a rollback and not made again yet, oldest first
    bool operator==(const DeliveryRecord&) const = default;
};

// An application message of ours, waiting for a free token or out on a busy one. It is named by
// (source, incarnation of the process that accepted it, msg_id) wherever it goes.
struct OutgoingMessage {
    NodeId to;
    Bytes payload;
    std::uint64_t msg_id = 0;
    Incarnation incarnation;
    unsigned attempts = 0;
    std::uint64_t accepted = 0;  // the accepting process's count of messages accepted, this one included
    bool operator==(const OutgoingMessage&) const = default;
};

// The token protocol's state at a snapshot's cut: what a rollback puts back.
struct TokenSavedState {
    Epoch epoch{1};
    std::vector<Token> held;
    std::vector<OutgoingMessage> queue;
    std::vector<OutgoingMessage> in_transit;
    std::uint64_t next_msg_id = 1;
    std::uint64_t delivered_count = 0;  // application messages delivered, as of the cut
    DeliveryLog delivered;
    Incarnation incarnation;       // of the process that saved it
    std::uint64_t accepted = 0;    // messages that process had accepted by the cut
    std::uint64_t deliveries = 0;  // the node's delivery count (DeliveryEntry::seq) at the cut
    bool operator==(const TokenSavedState&) const = default;
};

class TokenProtocol {
public:
    // `incarnation`: this process's, stamped on the messages it sends.
    // `epoch`: where it starts; 0, "none yet", until a token or the monitor's order brings one (a
    // process that kept the ring's epoch on disk starts from it).
    TokenProtocol(NodeId self, TokenConfig config, Incarnation incarnation = {}, Epoch epoch = Epoch{0})
        : self_(self), incarnation_(incarnation), config_(config), epoch_(epoch) {}

    // A token from the predecessor.
    void on_token(Instant now, Token token);
    // Makes a new free token of `epoch` here: only on the monitor's order (the ring's first token,
    // or a recovery's), never on the node's own judgement.
    void issue(Instant now, Epoch epoch);
    // Adopts a newer epoch: discards held tokens of older ones and queues again (first, in order)
    // every message of ours still out on a token. False (and nothing done) if `epoch` is not newer.
    bool adopt_epoch(Epoch epoch);
    // Passes on every token whose hold has expired.
    void on_timer(Instant now);
    // Queues an application message; false when the queue is full or `to` is ourselves.
    bool enqueue(NodeId to, Bytes payload);
    // The ring's members now (a view's); empty: every node. A message for a node outside waits in
    // the queue, neither sent nor given up, until a view names its destination again.
    void set_members(std::vector<NodeId> members);
    void inject(InjectKind kind);

    // The whole state now (a snapshot records it).
    TokenSavedState save() const;
    // Rollback: restores `saved`, receives again `channel` (the tokens the snapshot recorded
    // arriving from the predecessor, by the epoch rules as they first arrived), and makes all of it
    // `epoch`. Tokens of `epoch` held now are kept: a neighbour that restored first passed them on.
    // False (nothing done) if `epoch` is older than ours or was already restored.
    bool restore(Instant now, const TokenSavedState& saved, const std::vector<Token>& channel, Epoch epoch);
    // The journals need to reach back only to the oldest saved state still kept.
    void forget_journals_before(const TokenSavedState& oldest);
    // A process starting where an earlier one left its record (before any input).
    void remember(DeliveryRecord record);
    DeliveryRecord deliveries() const;
    // Whether the record changed since the last call: the caller keeps it before the events go out.
    bool take_deliveries_changed() { return std::exchange(deliveries_changed_, false); }

    std::vector<Token> take_forward() { return std::exchange(forward_, {}); }
    std::vector<TokenEvent> take_events() { return std::exchange(events_, {}); }
    std::optional<Instant> next_deadline() const;

    NodeState state() const;
    std::size_t held() const { return held_.size(); }
    std::size_t queue_length() const { return queue_.size(); }
    const TokenStats& stats() const { return stats_; }
    // The newest epoch this process has seen a token of (or was told of); 0: none yet.
    Epoch epoch() const { return epoch_; }
    // Whether this process has ever held a token.
    bool had_token() const { return had_token_; }
    // The epoch of the last token this process held (0: none).
    Epoch held_in() const { return held_in_; }
    bool fault_armed() const { return armed_lose_ > 0 || armed_duplicate_ > 0; }

private:
    struct Held {
        Token token;
        Instant release_at;
    };
    using Outgoing = OutgoingMessage;
    using MessageName = std::pair<Incarnation, std::uint64_t>;  // ours: (accepting process, msg_id)
    // A destination that never copies (not in the ring): the message goes round this often, then
    // is reported undeliverable.
    static constexpr unsigned kMaxAttempts = 3;
    void receive(Instant now, Token token, bool faults_apply);
    void release(Token token);
    // Every token held enters here (a restore excepted: it puts back a saved state as it was).
    void hold(Token token, Instant release_at);
    void requeue_front(std::vector<Outgoing> messages);

    NodeId self_;
    Incarnation incarnation_;
    TokenConfig config_;
    Epoch epoch_{0};
    std::deque<Held> held_;  // release times are non-decreasing: one hold for all
    std::deque<Outgoing> queue_;
    std::vector<NodeId> members_;  // sorted; empty: every node
    std::deque<Outgoing>::iterator next_sendable();
    bool in_ring(NodeId n) const;
    std::map<MessageName, Outgoing> in_transit_;  // ours, out on a busy token
    std::uint64_t next_msg_id_ = 1;
    std::uint64_t accepted_ = 0;
    std::uint64_t delivered_count_ = 0;
    DeliveryLog delivered_;
    bool had_token_ = false;  // ever, in this process: a rollback does not make a ring "fresh" again
    Epoch held_in_{0};
    Epoch restored_epoch_{0};
    // Since the oldest saved state kept: the messages accepted (a rollback queues again those
    // accepted after its cut) and the deliveries made (a rollback undoes those after its cut, and
    // their next delivery is reported as a redelivery).
    // Bounded for a ring that keeps no snapshot (no monitor): a rollback reaches back this far at most.
    static constexpr std::size_t kJournalMax = 1 << 16;
    std::deque<Outgoing> accepted_journal_;
    std::deque<DeliveryEntry> delivery_journal_;
    std::uint64_t delivery_seq_ = 0;
    static constexpr std::size_t kUndoneRemembered = 4096;
    std::set<MessageKey> undone_;
    std::deque<MessageKey> undone_order_;
    bool deliveries_changed_ = false;
    unsigned armed_lose_ = 0;
    unsigned armed_duplicate_ = 0;
    std::vector<Token> forward_;
    std::vector<TokenEvent> events_;
    TokenStats stats_;
};

}  // namespace ringwatch
