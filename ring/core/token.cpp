// The token protocol of one ring member.
#include "ring/core/token.h"

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
    }
    return "unknown";
}

// Made here, not received: an armed fault acts on the next token received, not on this one.
void TokenProtocol::issue(Instant now, Epoch epoch) {
    adopt_epoch(epoch);
    events_.push_back({TokenEventKind::issued, {}, {}, 0, {}, epoch});
    ++stats_.tokens_issued;
    held_.push_back(Held{Token{TokenKind::free_token, epoch_, {}, {}, 0, false, {}, {}}, now + config_.hold});
}

bool TokenProtocol::adopt_epoch(Epoch epoch) {
    if (epoch <= epoch_) return false;
    epoch_ = epoch;
    // Every token held is older: gone. Every message of ours out on a token rode an older one.
    stats_.stale_discarded += held_.size();
    held_.clear();
    std::vector<Outgoing> again;
    for (auto& [id, m] : in_transit_) again.push_back(std::move(m));
    in_transit_.clear();
    events_.push_back({TokenEventKind::epoch_adopted, {}, {}, 0, {}, epoch});
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

bool TokenProtocol::Delivered::first_time(std::uint64_t id) {
    if (id <= floor || !above.insert(id).second) return false;
    while (above.size() > kDeliveredWindow) {
        floor = *above.begin();
        above.erase(above.begin());
    }
    return true;
}

void TokenProtocol::on_token(Instant now, Token token) {
    ++stats_.tokens_received;
    if (token.epoch < epoch_) {
        // Purged: an older epoch's token (its message, if ours, was queued again at the adoption).
        ++stats_.stale_discarded;
        events_.push_back({TokenEventKind::stale_discarded, token.src, token.dst, token.msg_id, {}, token.epoch});
        return;
    }
    adopt_epoch(token.epoch);
    if (armed_lose_ > 0) {
        --armed_lose_;
        events_.push_back({TokenEventKind::lost_by_fault, token.src, token.dst, token.msg_id, {}});
        return;
    }
    if (token.kind == TokenKind::busy && token.dst == self_ && !token.copied) {
        token.copied = true;
        if (delivered(token.src, token.src_incarnation).first_time(token.msg_id)) {
            ++stats_.messages_delivered;
            events_.push_back({TokenEventKind::delivered, token.src, token.dst, token.msg_id, token.payload});
        } else {
            ++stats_.duplicate_messages_dropped;
            events_.push_back({TokenEventKind::duplicate_message_dropped, token.src, token.dst, token.msg_id, {}});
        }
    }
    held_.push_back(Held{std::move(token), now + config_.hold});
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
        auto it = in_transit_.find(t.msg_id);
        if (t.copied) {
            events_.push_back({TokenEventKind::returned, t.src, t.dst, t.msg_id, {}});
            if (it != in_transit_.end()) in_transit_.erase(it);
        } else if (it != in_transit_.end() && it->second.attempts < kMaxAttempts) {
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
    } else if (t.kind == TokenKind::free_token && !queue_.empty()) {
        Outgoing m = std::move(queue_.front());
        queue_.pop_front();
        if (m.msg_id == 0) m.msg_id = next_msg_id_++;
        ++m.attempts;
        t = Token{TokenKind::busy, t.epoch, self_, m.to, m.msg_id, false, m.payload, incarnation_};
        in_transit_.emplace(m.msg_id, std::move(m));
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

TokenProtocol::Delivered& TokenProtocol::delivered(NodeId src, Incarnation inc) {
    auto& seen = delivered_[src];
    for (auto& [i, d] : seen)
        if (i == inc) return d;
    if (seen.size() >= kIncarnationsPerSource) seen.pop_front();
    return seen.emplace_back(inc, Delivered{}).second;
}

bool TokenProtocol::enqueue(NodeId to, Bytes payload) {
    if (to == self_ || payload.size() > kMaxPayloadBytes) return false;
    if (queue_.size() >= config_.queue_max) {
        ++stats_.queue_full;
        return false;
    }
    queue_.push_back(Outgoing{to, std::move(payload)});
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
    s.messages_delivered = stats_.messages_delivered;
    s.had_token = had_token();
    s.epoch = epoch_;
    return s;
}

}  // namespace ringwatch
