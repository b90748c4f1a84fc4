// The token protocol of one ring member.
#include "ring/core/token.h"

#include "ring/core/check.h"

#include <algorithm>

namespace ringwatch {

std::string_view to_string(TokenEventKind k) {
    switch (k) {
        case TokenEventKind::delivered: return "delivered";
        case TokenEventKind::undeliverable: return "undeliverable";
        case TokenEventKind::returned: return "returned";
        case TokenEventKind::lost_by_fault: return "lost_by_fault";
        case TokenEventKind::duplicated_by_fault: return "duplicated_by_fault";
        case TokenEventKind::duplicate_message_dropped: return "duplicate_message_dropped";
        case TokenEventKind::issued: return "issued";
        case TokenEventKind::epoch_adopted: return "epoch_adopted";
        case TokenEventKind::stale_discarded: return "stale_discarded";
        case TokenEventKind::requeued: return "requeued";
        case TokenEventKind::rolled_back: return "rolled_back";
        case TokenEventKind::redelivered: return "redelivered";
        case TokenEventKind::overtaken_message_dropped: return "overtaken_message_dropped";
    }
    return "unknown";
}

// Made here, not received: an armed fault acts on the next token received, not on this one.
void TokenProtocol::issue(Instant now, Epoch epoch) {
    adopt_epoch(epoch);
    events_.push_back({TokenEventKind::issued, {}, {}, 0, {}, epoch});
    ++stats_.tokens_issued;
    had_token_ = true;
    hold(Token{TokenKind::free_token, epoch_, {}, {}, 0, false, {}, {}}, now + config_.hold);
}

void TokenProtocol::hold(Token token, Instant release_at) {
    RW_ASSERT(token.epoch == epoch_);                                   // a node holds tokens of its own epoch only (older ones are purged)
    RW_ASSERT(held_.empty() || held_.back().release_at <= release_at);  // released in arrival order
    held_in_ = epoch_;
    held_.push_back(Held{std::move(token), release_at});
}

bool TokenProtocol::adopt_epoch(Epoch epoch) {
    if (epoch <= epoch_) return false;
    const bool first = epoch_ == Epoch{0};  // a process learning the ring's epoch: nothing to discard, no news
    epoch_ = epoch;
    // Every token held is older: gone. Every message of ours out on a token rode an older one.
    stats_.stale_discarded += held_.size();
    held_.clear();
    std::vector<Outgoing> again;
    for (auto& [id, m] : in_transit_) again.push_back(std::move(m));
    in_transit_.clear();
    if (!first) events_.push_back({TokenEventKind::epoch_adopted, {}, {}, 0, {}, epoch});
    requeue_front(std::move(again));
    return true;
}

void TokenProtocol::requeue_front(std::vector<Outgoing> messages) {
    for (auto it = messages.rbegin(); it != messages.rend(); ++it) {
        events_.push_back({TokenEventKind::requeued, self_, it->to, it->msg_id, {}});
        ++stats_.requeued;
        queue_.push_front(std::move(*it));
    }
}

void TokenProtocol::on_token(Instant now, Token token) { receive(now, std::move(token), true); }

void TokenProtocol::receive(Instant now, Token token, bool faults_apply) {
    ++stats_.tokens_received;
    had_token_ = true;
    if (token.epoch < epoch_) {
        // Purged: an older epoch's token (its message, if ours, was queued again at the adoption).
        ++stats_.stale_discarded;
        events_.push_back({TokenEventKind::stale_discarded, token.src, token.dst, token.msg_id, {}, token.epoch});
        return;
    }
    adopt_epoch(token.epoch);
    if (faults_apply && armed_lose_ > 0) {
        --armed_lose_;
        events_.push_back({TokenEventKind::lost_by_fault, token.src, token.dst, token.msg_id, {}});
        return;
    }
    if (token.kind == TokenKind::busy && token.dst == self_ && !token.copied) {
        token.copied = true;
        const DeliveryLog::Offer offer = delivered_.offer(token.src, token.src_incarnation, token.msg_id);
        if (offer == DeliveryLog::Offer::deliver) {
            ++stats_.messages_delivered;
            ++delivered_count_;
            const MessageKey name{token.src, token.src_incarnation, token.msg_id};
            delivery_journal_.push_back({++delivery_seq_, name});
            if (delivery_journal_.size() > kJournalMax) delivery_journal_.pop_front();
            deliveries_changed_ = true;
            const bool again = undone_.erase(name) > 0;
            if (again) {
                std::erase(undone_order_, name);
                ++stats_.redelivered;
            }
            events_.push_back({again ? TokenEventKind::redelivered : TokenEventKind::delivered, token.src, token.dst, token.msg_id, token.payload});
        } else if (offer == DeliveryLog::Offer::overtaken) {
            ++stats_.overtaken_messages_dropped;
            events_.push_back({TokenEventKind::overtaken_message_dropped, token.src, token.dst, token.msg_id, {}});
        } else {
            ++stats_.duplicate_messages_dropped;
            events_.push_back({TokenEventKind::duplicate_message_dropped, token.src, token.dst, token.msg_id, {}});
        }
    }
    hold(std::move(token), now + config_.hold);
}

void TokenProtocol::on_timer(Instant now) {
    while (!held_.empty() && held_.front().release_at <= now) {
        Token t = std::move(held_.front().token);
        held_.pop_front();
        release(std::move(t));
    }
}

void TokenProtocol::release(Token t) {
    if (t.kind == TokenKind::busy && t.src == self_) {
        // Back home: free it and pass it on. Not copied: the message goes round again, a few times.
        auto it = in_transit_.find({t.src_incarnation, t.msg_id});
        if (t.copied) {
            events_.push_back({TokenEventKind::returned, t.src, t.dst, t.msg_id, {}});
            if (it != in_transit_.end()) in_transit_.erase(it);
        } else if (it != in_transit_.end() && (it->second.attempts < kMaxAttempts || !in_ring(t.dst))) {
            // Its destination missed it, or was left out of the ring meanwhile (then it waits for
            // the destination's return, with no attempt counted against it).
            if (!in_ring(t.dst)) --it->second.attempts;
            std::vector<Outgoing> again;
            again.push_back(std::move(it->second));
            in_transit_.erase(it);
            requeue_front(std::move(again));
        } else {
            events_.push_back({TokenEventKind::undeliverable, t.src, t.dst, t.msg_id, {}});
            ++stats_.messages_undeliverable;
            if (it != in_transit_.end()) in_transit_.erase(it);
        }
        t = Token{TokenKind::free_token, t.epoch, {}, {}, 0, false, {}, {}};
    } else if (const auto next = next_sendable(); t.kind == TokenKind::free_token && next != queue_.end()) {
        Outgoing m = std::move(*next);
        queue_.erase(next);
        ++m.attempts;
        t = Token{TokenKind::busy, t.epoch, self_, m.to, m.msg_id, false, m.payload, m.incarnation};
        in_transit_.emplace(MessageName{m.incarnation, m.msg_id}, std::move(m));
        ++stats_.messages_sent;
    }
    forward_.push_back(t);
    ++stats_.tokens_forwarded;
    if (armed_duplicate_ > 0) {
        --armed_duplicate_;
        forward_.push_back(t);
        ++stats_.tokens_forwarded;
        events_.push_back({TokenEventKind::duplicated_by_fault, t.src, t.dst, t.msg_id, {}});
    }
}

// The first message queued whose destination is in the ring: one for a node left out waits, in
// its place, and the messages behind it for other nodes go on (each destination's order is kept).
std::deque<TokenProtocol::Outgoing>::iterator TokenProtocol::next_sendable() {
    if (members_.empty()) return queue_.begin();
    return std::find_if(queue_.begin(), queue_.end(), [this](const Outgoing& m) { return in_ring(m.to); });
}

void TokenProtocol::set_members(std::vector<NodeId> members) {
    std::sort(members.begin(), members.end());
    members_ = std::move(members);
}

bool TokenProtocol::in_ring(NodeId n) const { return members_.empty() || std::binary_search(members_.begin(), members_.end(), n); }

bool TokenProtocol::enqueue(NodeId to, Bytes payload) {
    if (to == self_ || payload.size() > kMaxPayloadBytes) return false;
    if (queue_.size() >= config_.queue_max) {
        ++stats_.queue_full;
        return false;
    }
    // Named when accepted: a rollback that queues it again keeps its name, so its destination
    // knows a repeat and a redelivery when it sees one.
    Outgoing m{to, std::move(payload), next_msg_id_++, incarnation_, 0, ++accepted_};
    accepted_journal_.push_back(m);
    if (accepted_journal_.size() > kJournalMax) accepted_journal_.pop_front();
    queue_.push_back(std::move(m));
    return true;
}

void TokenProtocol::inject(InjectKind kind) {
    if (kind == InjectKind::lose) {
        ++armed_lose_;
    } else {
        ++armed_duplicate_;
    }
}

std::optional<Instant> TokenProtocol::next_deadline() const {
    if (held_.empty()) return std::nullopt;
    return held_.front().release_at;
}

NodeState TokenProtocol::state() const {
    NodeState s;
    for (const auto& h : held_) s.held.push_back(summarize(h.token));
    s.held_count = static_cast<std::uint32_t>(held_.size());
    s.queue_length = static_cast<std::uint32_t>(queue_.size());
    s.tokens_forwarded = stats_.tokens_forwarded;
    s.messages_delivered = delivered_count_;
    s.had_token = had_token();
    s.epoch = epoch_;
    return s;
}

TokenSavedState TokenProtocol::save() const {
    TokenSavedState s;
    s.epoch = epoch_;
    for (const auto& h : held_) s.held.push_back(h.token);
    s.queue.assign(queue_.begin(), queue_.end());
    for (const auto& [name, m] : in_transit_) s.in_transit.push_back(m);
    s.next_msg_id = next_msg_id_;
    s.delivered_count = delivered_count_;
    s.delivered = delivered_;
    s.incarnation = incarnation_;
    s.accepted = accepted_;
    s.deliveries = delivery_seq_;
    return s;
}

bool TokenProtocol::restore(Instant now, const TokenSavedState& saved, const std::vector<Token>& channel, Epoch epoch) {
    if (epoch < epoch_ || epoch <= restored_epoch_) return false;
    // Tokens of the new epoch already here came from a neighbour that restored before us.
    std::deque<Held> kept;
    for (auto& h : held_) {
        if (h.token.epoch == epoch) {
            kept.push_back(std::move(h));
        } else {
            ++stats_.stale_discarded;
        }
    }
    // What the node delivered after the cut (this process or, from its record, an earlier one) is
    // undone; its next delivery is a redelivery.
    while (!delivery_journal_.empty() && delivery_journal_.back().seq > saved.deliveries) {
        const MessageKey name = delivery_journal_.back().message;
        if (undone_.insert(name).second) undone_order_.push_back(name);
        delivery_journal_.pop_back();
    }
    deliveries_changed_ = true;
    while (undone_order_.size() > kUndoneRemembered) {
        undone_.erase(undone_order_.front());
        undone_order_.pop_front();
    }
    // What it accepted after the cut goes round again, after what was queued at the cut.
    std::vector<Outgoing> again;
    for (const auto& m : accepted_journal_)
        if (m.incarnation != saved.incarnation || m.accepted > saved.accepted) again.push_back(m);

    // The state as saved, then the channel's recorded tokens arriving again as they did (an older
    // epoch's discarded, a newer one adopted; no armed fault takes them: they are not new) ...
    epoch_ = saved.epoch;
    held_.clear();
    for (const Token& t : saved.held) held_.push_back(Held{t, now + config_.hold});
    queue_.assign(saved.queue.begin(), saved.queue.end());
    for (auto& m : again) {
        m.attempts = 0;
        queue_.push_back(std::move(m));
    }
    in_transit_.clear();
    for (const auto& m : saved.in_transit) in_transit_.emplace(MessageName{m.incarnation, m.msg_id}, m);
    next_msg_id_ = std::max(next_msg_id_, saved.next_msg_id);  // never reuse a name
    delivered_count_ = saved.delivered_count;
    delivered_ = saved.delivered;
    ++stats_.rollbacks;
    events_.push_back({TokenEventKind::rolled_back, {}, {}, 0, {}, epoch});
    for (const Token& t : channel) receive(now, t, false);
    // ... and all of it in the new epoch, with what restored neighbours have passed on already.
    epoch_ = epoch;
    restored_epoch_ = epoch;
    for (auto& h : held_) h.token.epoch = epoch;
    // Those arrived before now: released first (release times never decrease).
    for (auto it = kept.rbegin(); it != kept.rend(); ++it) held_.push_front(std::move(*it));
    if (!held_.empty()) held_in_ = epoch;
    return true;
}

void TokenProtocol::forget_journals_before(const TokenSavedState& oldest) {
    // Deliveries are numbered across processes (remember()); acceptances only within this one.
    while (!delivery_journal_.empty() && delivery_journal_.front().seq <= oldest.deliveries) delivery_journal_.pop_front();
    if (oldest.incarnation != incarnation_) return;  // saved by an earlier process: everything accepted here is after it
    while (!accepted_journal_.empty() && accepted_journal_.front().accepted <= oldest.accepted) accepted_journal_.pop_front();
}

void TokenProtocol::remember(DeliveryRecord record) {
    delivery_seq_ = record.seq;
    delivered_ = std::move(record.delivered);
    delivery_journal_.assign(record.journal.begin(), record.journal.end());
    for (auto& name : record.undone)
        if (undone_.insert(name).second) undone_order_.push_back(std::move(name));
}

DeliveryRecord TokenProtocol::deliveries() const {
    DeliveryRecord r;
    r.seq = delivery_seq_;
    r.delivered = delivered_;
    r.journal.assign(delivery_journal_.begin(), delivery_journal_.end());
    r.undone.assign(undone_order_.begin(), undone_order_.end());
    return r;
}

}  // namespace ringwatch
