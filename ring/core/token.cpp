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
    }
    return "unknown";
}

void TokenProtocol::issue(Instant now, Epoch epoch) {
    events_.push_back({TokenEventKind::issued, {}, {}, 0, {}, epoch});
    on_token(now, Token{TokenKind::free_token, epoch, {}, {}, 0, false, {}, {}});
}

void TokenProtocol::on_token(Instant now, Token token) {
    ++stats_.tokens_received;
    epoch_ = std::max(epoch_, token.epoch);
    if (armed_lose_ > 0) {
        --armed_lose_;
        events_.push_back({TokenEventKind::lost_by_fault, token.src, token.dst, token.msg_id, {}});
        return;
    }
    if (token.kind == TokenKind::busy && token.dst == self_ && !token.copied) {
        token.copied = true;
        auto& last = last_delivered(token.src, token.src_incarnation);
        if (token.msg_id > last) {
            last = token.msg_id;
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
        // Back home: free it and pass it on.
        events_.push_back({t.copied ? TokenEventKind::returned : TokenEventKind::undeliverable, t.src, t.dst, t.msg_id, {}});
        if (!t.copied) ++stats_.messages_undeliverable;
        t = Token{TokenKind::free_token, t.epoch, {}, {}, 0, false, {}, {}};
    } else if (t.kind == TokenKind::free_token && !queue_.empty()) {
        Outgoing m = std::move(queue_.front());
        queue_.pop_front();
        t = Token{TokenKind::busy, t.epoch, self_, m.to, next_msg_id_++, false, std::move(m.payload), incarnation_};
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

std::uint64_t& TokenProtocol::last_delivered(NodeId src, Incarnation inc) {
    auto& seen = last_delivered_[src];
    for (auto& [i, last] : seen)
        if (i == inc) return last;
    if (seen.size() >= kIncarnationsPerSource) seen.pop_front();
    return seen.emplace_back(inc, 0).second;
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
    return s;
}

}  // namespace ringwatch
