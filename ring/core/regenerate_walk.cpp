// The by-hand regenerate's protocol: queries, the epoch and its issuer, orders, the outcome.
#include "ring/core/regenerate_walk.h"

#include <algorithm>
#include <limits>

#include "ring/core/check.h"

namespace ringwatch {

std::string_view to_string(WalkOutcome o) {
    switch (o) {
        case WalkOutcome::regenerated: return "regenerated";
        case WalkOutcome::regenerated_partly: return "regenerated_partly";
        case WalkOutcome::no_token: return "no_token";
        case WalkOutcome::nobody_answered: return "nobody_answered";
        case WalkOutcome::epochs_exhausted: return "epochs_exhausted";
    }
    return "unknown";
}

RegenerateWalk::RegenerateWalk(std::vector<NodeId> ring) {
    RW_ASSERT(!ring.empty());
    for (NodeId id : ring) {
        RW_ASSERT(std::none_of(members_.begin(), members_.end(), [id](const Member& m) { return m.id == id; }));  // ids unique
        members_.push_back(Member{id});
    }
}

RegenerateWalk::Member& RegenerateWalk::member(NodeId id) {
    const auto it = std::find_if(members_.begin(), members_.end(), [id](const Member& m) { return m.id == id; });
    RW_ASSERT(it != members_.end());  // only ring members are asked anything
    return *it;
}

bool RegenerateWalk::waiting(Reply Member::*which) const {
    return std::any_of(members_.begin(), members_.end(), [which](const Member& m) { return m.*which == Reply::waiting; });
}

void RegenerateWalk::on_state(NodeId node, const RingState& state) {
    Member& m = member(node);
    RW_ASSERT(phase_ == Phase::querying && m.query == Reply::waiting);  // one report per query
    m.query = Reply::ok;
    m.epoch = state.epoch;
}

void RegenerateWalk::on_ack(NodeId node, bool ok) {
    Member& m = member(node);
    RW_ASSERT(phase_ == Phase::ordering && m.order == Reply::waiting);  // one report per order
    m.order = ok ? Reply::ok : Reply::refused;
}

void RegenerateWalk::on_no_answer(NodeId node) {
    Member& m = member(node);
    if (phase_ == Phase::querying && m.query == Reply::waiting) {
        m.query = Reply::none;
    } else {
        RW_ASSERT(phase_ == Phase::ordering && m.order == Reply::waiting);  // one report per message sent
        m.order = Reply::none;
    }
}

WalkReady RegenerateWalk::step() {
    WalkReady r;
    switch (phase_) {
        case Phase::start:
            // Every node at once: the walk takes one timeout, however many nodes are down.
            for (Member& m : members_) {
                m.query = Reply::waiting;
                r.sends.push_back({m.id, RingQuery{}});
            }
            phase_ = Phase::querying;
            break;
        case Phase::querying:
            if (!waiting(&Member::query)) decide_queries(r);
            break;
        case Phase::ordering:
            if (!waiting(&Member::order)) decide_orders(r);
            break;
        case Phase::over: break;
    }
    return r;
}

std::optional<RegenerateWalk::Order> RegenerateWalk::choose(Epoch after, Reply Member::*which) const {
    const std::uint64_t n = members_.size();
    for (std::uint64_t e = std::uint64_t{after.value} + 1; e <= std::uint64_t{after.value} + n; ++e) {
        if (e > std::numeric_limits<std::uint32_t>::max()) return std::nullopt;
        const Member& m = members_[e % n];
        if (m.*which == Reply::ok) return Order{Epoch{static_cast<std::uint32_t>(e)}, m.id};
    }
    return std::nullopt;
}

void RegenerateWalk::order(Order o, WalkReady& r) {
    RW_ASSERT(!order_ || o.epoch > order_->epoch);  // every round fences the one before
    RW_ASSERT(rounds_ < kMaxOrderRounds);
    ++rounds_;
    order_ = o;
    for (Member& m : members_) {
        if (m.query != Reply::ok) {
            m.order = Reply::not_asked;
            continue;
        }
        m.order = Reply::waiting;
        r.sends.push_back({m.id, RecoverCommand{0, RecoverMode::regenerate, o.epoch, o.issuer, SnapshotId{0}}});
    }
    phase_ = Phase::ordering;
}

void RegenerateWalk::decide_queries(WalkReady& r) {
    Epoch newest{0};
    bool any = false;
    for (const Member& m : members_) {
        if (m.query == Reply::none) r.notes.push_back({WalkNoteKind::silent, m.id, Epoch{0}, NodeId{0}});
        if (m.query != Reply::ok) continue;
        any = true;
        newest = std::max(newest, m.epoch);
    }
    if (!any) return finish(WalkOutcome::nobody_answered, r);
    const auto o = choose(newest, &Member::query);
    if (!o) return finish(WalkOutcome::epochs_exhausted, r);
    RW_ASSERT(o->epoch > newest);  // newer than every node that answered: each of them adopts it
    order(*o, r);
}

void RegenerateWalk::decide_orders(WalkReady& r) {
    RW_ASSERT(order_.has_value());
    bool all_ok = true;
    for (const Member& m : members_) {
        if (m.order == Reply::not_asked) continue;
        RW_ASSERT(m.order != Reply::waiting);
        const WalkNoteKind k = m.order == Reply::ok        ? WalkNoteKind::acknowledged
                               : m.order == Reply::refused ? WalkNoteKind::refused
                                                           : WalkNoteKind::unacknowledged;
        r.notes.push_back({k, m.id, order_->epoch, order_->issuer});
        all_ok &= m.order == Reply::ok;
    }
    if (member(order_->issuer).order == Reply::ok) return finish(all_ok ? WalkOutcome::regenerated : WalkOutcome::regenerated_partly, r);
    // The issuer may or may not have made the token: a newer epoch purges it, if it exists.
    const auto next = rounds_ < kMaxOrderRounds ? choose(order_->epoch, &Member::order) : std::nullopt;
    if (!next) return finish(WalkOutcome::no_token, r);
    r.notes.push_back({WalkNoteKind::reissued, order_->issuer, next->epoch, next->issuer});
    order(*next, r);
}

void RegenerateWalk::finish(WalkOutcome o, WalkReady& r) {
    phase_ = Phase::over;
    r.outcome = o;
}

}  // namespace ringwatch
