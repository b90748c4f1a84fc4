// The application messages' promises: at most once and in order always; exactly once when no
// token fault or crash could have taken them.
#include "tests/sim/message_ledger.h"

#include <fmt/format.h>

namespace ringwatch::sim {

void MessageLedger::sent(Instant now, NodeId src, std::uint32_t src_gen, NodeId dst, std::uint64_t seq) {
    auto& v = msgs_[{src, dst}];
    if (seq != v.size() + 1) return;  // the simulator numbers them 1, 2, ... per pair
    v.push_back(Msg{now});
    v.back().src_gen = src_gen;
}

void MessageLedger::departed(NodeId src, NodeId dst, std::uint64_t seq) {
    auto& v = msgs_[{src, dst}];
    if (seq >= 1 && seq <= v.size()) v[seq - 1].departed = true;
}

void MessageLedger::delivered(Instant now, NodeId src, NodeId dst, std::uint64_t seq, bool redelivery) {
    auto& v = msgs_[{src, dst}];
    if (seq < 1 || seq > v.size()) {
        violations_->add(rule::messages,
                         fmt::format("at {} us node {} delivered message #{} from node {}, which was never sent", to_us(now), dst, seq, src));
        return;
    }
    Msg& m = v[seq - 1];
    m.departed = true;
    if (redelivery) {
        if (!rollbacks_ || m.deliveries == 0) {
            violations_->add(rule::messages, fmt::format("at {} us node {} redelivered message #{} from node {}, which {}", to_us(now), dst, seq, src,
                                                         rollbacks_ ? "it had never delivered" : "no rollback undid"));
        }
        return;
    }
    if (++m.deliveries > 1) {
        violations_->add(rule::messages, fmt::format("at {} us node {} delivered message #{} from node {} a second time", to_us(now), dst, seq, src));
    }
    auto& last = last_delivered_[dst][{src, m.src_gen}];
    if (seq <= last && m.deliveries == 1) {
        violations_->add(rule::messages, fmt::format("at {} us node {} delivered message #{} from node {} after #{} (out of order)", to_us(now), dst,
                                                     seq, src, last));
    }
    last = std::max(last, seq);
}

void MessageLedger::recorded(NodeId dst, SnapshotId snapshot) {
    auto& cuts = at_cut_[dst];
    cuts[snapshot] = last_delivered_[dst];
    if (cuts.size() > kCutsKept) cuts.erase(cuts.begin());
}

void MessageLedger::restored(NodeId dst, SnapshotId snapshot) {
    const auto cuts = at_cut_.find(dst);
    if (cuts == at_cut_.end()) return;
    const auto cut = cuts->second.find(snapshot);
    if (cut != cuts->second.end()) last_delivered_[dst] = cut->second;
}

std::uint64_t MessageLedger::waiting(const std::function<bool(Instant)>& disturbed_since) const {
    std::uint64_t n = 0;
    for (const auto& [key, v] : msgs_)
        for (const auto& m : v)
            if (m.deliveries == 0 && !disturbed_since(m.sent)) ++n;
    return n;
}

std::uint64_t MessageLedger::undelivered() const {
    std::uint64_t n = 0;
    for (const auto& [key, v] : msgs_)
        for (const auto& m : v) n += m.deliveries == 0 ? 1 : 0;
    return n;
}

MessageTally MessageLedger::finish(const std::function<bool(Instant)>& disturbed_since, bool healthy_at_end, Duration settle_bound) {
    MessageTally t;
    std::uint64_t lost = 0;
    for (const auto& [key, v] : msgs_) {
        for (std::size_t i = 0; i < v.size(); ++i) {
            const Msg& m = v[i];
            ++t.sent;
            if (m.deliveries > 0) {
                ++t.delivered;
            } else if (disturbed_since(m.sent)) {
                ++t.lost_to_faults;
            } else if (!m.departed) {
                ++t.queued;
            } else {
                ++lost;
                violations_->add(rule::messages, fmt::format("message #{} from node {} to node {}, sent at {} us with one token in the ring "
                                                             "and no fault after it, left its source and was never delivered",
                                                             i + 1, key.first, key.second, to_us(m.sent)));
            }
        }
    }
    if (healthy_at_end && t.queued > 0) {
        violations_->add(rule::liveness, fmt::format("{} message(s) still queued at their sources {} ms after the network healed, "
                                                     "with one token in the ring",
                                                     t.queued, settle_bound.count() / 1000));
    }
    return t;
}

}  // namespace ringwatch::sim
