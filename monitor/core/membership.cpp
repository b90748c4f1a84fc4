// The ring's views: evictions, rejoins, and the two-step order of each view.
#include "monitor/core/membership.h"

#include <algorithm>

#include "ring/core/check.h"
#include "ring/core/view.h"

namespace ringwatch {

std::string_view to_string(MembershipEventKind k) {
    switch (k) {
        case MembershipEventKind::view: return "view";
        case MembershipEventKind::node_evicted: return "node_evicted";
        case MembershipEventKind::node_rejoined: return "node_rejoined";
        case MembershipEventKind::link_fault: return "link_fault";
    }
    return "unknown";
}

// A new tracker takes the ring over at once: a view of every configured node not known gone, in
// an epoch of its own term (above the ring's), in which alone it grants leases. It cannot know what
// an earlier leader granted: every lease counts as running for one more lease from now.
Membership::Membership(MembershipConfig config, Instant now, Epoch floor, const std::vector<NodeEvent>& down)
    : config_(std::move(config)), members_(config_.ring), floor_(floor), next_command_id_(config_.first_command_id) {
    RW_ASSERT(config_.ring.size() >= 2);
    for (NodeId n : config_.ring) lease_over_[n] = now + lease_margin(config_.lease);
    for (const NodeEvent& e : down) {
        if (e.kind != NodeEventKind::node_down || std::find(config_.ring.begin(), config_.ring.end(), e.node) == config_.ring.end()) continue;
        if (e.address == NodeAddress::port_closed) {
            evict(now, e.node, NodeAddress::port_closed);
        } else {
            silent_.try_emplace(e.node, Silent{e.at - e.silent_for});
        }
    }
    reconsider(now);
}

std::optional<LeaseGrant> Membership::grant(Instant now, NodeId n, const LeaseRequest& r) {
    const auto over = lease_over_.find(n);
    if (over == lease_over_.end() || evicted_.contains(n)) return std::nullopt;
    const auto in = [n](const std::vector<NodeId>& m) { return std::find(m.begin(), m.end(), n) != m.end(); };
    const bool adopted_change = change_ && r.view_epoch == change_->epoch && in(change_->members);
    const bool in_current = ordered_a_view_ && r.view_epoch == epoch_ && in(members_);
    if (!adopted_change && !in_current) return std::nullopt;
    over->second = std::max(over->second, now + lease_margin(config_.lease));
    return LeaseGrant{r.stamp, static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::milliseconds>(config_.lease).count()),
                      config_.term};
}

bool Membership::member(NodeId n) const { return std::find(members_.begin(), members_.end(), n) != members_.end(); }

void Membership::on_node_event(Instant now, const NodeEvent& e) {
    if (std::find(config_.ring.begin(), config_.ring.end(), e.node) == config_.ring.end()) return;
    if (e.kind == NodeEventKind::node_down) {
        if (evicted_.contains(e.node)) return;
        if (e.address == NodeAddress::port_closed) {
            evict(now, e.node, NodeAddress::port_closed);  // its process is gone: nothing to wait for
        } else {
            silent_.try_emplace(e.node, Silent{e.at - e.silent_for});
        }
    } else {
        silent_.erase(e.node);
        // Back: the next view names it again (one left out for not acknowledging, once its
        // back-off has passed: heard() then).
        if (const auto it = evicted_.find(e.node); it != evicted_.end() && may_rejoin(it->second, now)) rejoin(e.node);
    }
    reconsider(now);
}

void Membership::heard(Instant now, NodeId n, Instant at) {
    const auto it = evicted_.find(n);
    if (it == evicted_.end() || at <= it->second.at || !may_rejoin(it->second, now)) return;
    rejoin(n);
    reconsider(now);
}

// Left out for not acknowledging: not before a view without it is complete and its back-off has
// run from then (a view that took it back while the one leaving it out waited for its lease would
// supersede that one, and the ring would never have a token without it).
bool Membership::may_rejoin(const Evicted& e, Instant now) const { return now >= e.rejoin_from && (e.backoff == Duration{0} || e.view_done); }

void Membership::rejoin(NodeId n) {
    if (evicted_.erase(n) > 0) silent_.erase(n);
}

void Membership::link_fault(Instant now, NodeId from, NodeId to) {
    if (!member(to) || evicted_.contains(to)) return;
    events_.push_back(MembershipEvent{.kind = MembershipEventKind::link_fault, .at = now, .epoch = epoch_, .members = {}, .node = to, .from = from});
    evict(now, to, NodeAddress::no_answer, true);
    reconsider(now);
}

void Membership::restarted(NodeId n) {
    if (epoch_ == Epoch{0} || !member(n)) return;  // it starts in the configured ring, which is the ring's
    ++stats_.resent;
    orders_.emplace_back(n, ViewOrder{next_command_id_++, epoch_, view_bitmap(config_.ring, members_), config_.term});
}

void Membership::on_ack(Instant now, NodeId from, std::uint64_t command_id, bool ok) {
    if (issue_ && issue_->issuer == from && issue_->command_id == command_id) {
        issue_.reset();
        if (ok) born_ = std::max(born_, epoch_);
        if (!ok && !change_) {
            // The issuer's epoch moved past the view's before it could make the token (a recovery
            // raced it): the same members in a newer epoch, whose token it may then make.
            ++stats_.refusals;
            orders_.emplace_back(from, RingQuery{});
            floor_ = Epoch{floor_.value + 1};
            order_view(now, members_);
        }
        return;
    }
    if (!change_) return;
    const auto it = change_->command_ids.find(from);
    if (it == change_->command_ids.end() || it->second != command_id || !change_->awaiting.contains(from)) return;
    if (!ok) {
        // Its epoch moved past the view's (a recovery raced it): the same members, a newer epoch.
        // A node that keeps refusing cannot take views (another ring's configuration): left out.
        ++stats_.refusals;
        if (++refused_[from] > kMaxRefusals) {
            evict(now, from, NodeAddress::no_answer);
            reconsider(now);
            return;
        }
        orders_.emplace_back(from, RingQuery{});  // its answer says how far its epoch has moved
        floor_ = Epoch{floor_.value + 1};
        std::vector<NodeId> members = change_->members;
        change_.reset();
        order_view(now, std::move(members));
        return;
    }
    change_->awaiting.erase(from);
    complete_when_due(now);
}

Instant Membership::token_due() const {
    RW_ASSERT(change_);
    Instant due = change_->ordered_at;
    for (const auto& [n, over] : lease_over_)
        if (std::find(change_->members.begin(), change_->members.end(), n) == change_->members.end()) due = std::max(due, over);
    return due;
}

void Membership::complete_when_due(Instant now) {
    if (change_ && change_->awaiting.empty() && now >= token_due()) complete(now);
}

void Membership::on_epoch_heard(Instant now, NodeId from, Epoch e) {
    if (std::find(config_.ring.begin(), config_.ring.end(), from) == config_.ring.end()) return;
    raise_floor(e);
    if (!change_ || change_->epoch > e) return;
    std::vector<NodeId> members = change_->members;
    change_.reset();
    order_view(now, std::move(members));
}

void Membership::on_timer(Instant now) {
    for (auto it = silent_.begin(); it != silent_.end();) {
        const NodeId n = it->first;
        const bool due = now >= it->second.since + config_.evict_after;
        ++it;
        if (due) evict(now, n, NodeAddress::no_answer);
    }
    if (change_ && now >= change_->ordered_at + config_.ack_timeout) {
        const std::set<NodeId> late = change_->awaiting;
        for (NodeId n : late) evict(now, n, NodeAddress::no_answer, true);
    }
    reconsider(now);
    complete_when_due(now);
}

void Membership::excuse(Duration stall) {
    if (change_) change_->ordered_at += stall;
    for (auto& [n, s] : silent_) s.since += stall;
}

std::optional<Instant> Membership::next_deadline() const {
    std::optional<Instant> d;
    auto earliest = [&d](Instant t) {
        if (!d || t < *d) d = t;
    };
    for (const auto& [n, s] : silent_) earliest(s.since + config_.evict_after);
    if (change_) earliest(change_->awaiting.empty() ? token_due() : change_->ordered_at + config_.ack_timeout);
    return d;
}

void Membership::evict(Instant now, NodeId n, NodeAddress address, bool unacknowledged) {
    silent_.erase(n);
    // Its process is gone: whatever it was granted went with it (a new one starts with no lease).
    if (address == NodeAddress::port_closed) lease_over_[n] = std::min(lease_over_[n], now);
    Instant rejoin_from = now;
    if (unacknowledged) {
        Duration& b = backoff_[n];
        b = b == Duration{0} ? config_.rejoin_backoff : std::min(2 * b, config_.max_rejoin_backoff);
        rejoin_from = now + b;
    }
    if (!evicted_.try_emplace(n, Evicted{now, rejoin_from, rejoin_from - now}).second) return;
    left_out_.insert(n);
    ++stats_.evicted;
    events_.push_back(MembershipEvent{.kind = MembershipEventKind::node_evicted,
                                      .at = now,
                                      .epoch = epoch_,
                                      .members = {},
                                      .node = n,
                                      .address = address,
                                      .unacknowledged = unacknowledged});
}

void Membership::reconsider(Instant now) {
    std::vector<NodeId> target;
    for (NodeId n : config_.ring)
        if (!evicted_.contains(n)) target.push_back(n);
    // Fewer than two: no ring to make (the token is lost, and the verdicts say so); a node coming
    // back makes one again. A view being ordered is given up: it waits for nobody.
    if (target.size() < 2) {
        change_.reset();
        for (auto& [n, e] : evicted_) e.view_done = true;  // no view without them can come: nothing to wait for
        return;
    }
    // Until a view of its own is complete (its take-over came to nothing: too few were left, say),
    // the configured ring is no view this tracker ordered: it grants no lease in it, so it orders one.
    if (change_ ? target == change_->members : (ordered_a_view_ && target == members_)) return;
    order_view(now, std::move(target));
}

void Membership::order_view(Instant now, std::vector<NodeId> members) {
    const std::optional<Epoch> next = next_epoch_in(config_.term, std::max({floor_, epoch_, change_ ? change_->epoch : Epoch{0}}));
    if (!next) {
        term_spent_ = true;
        change_.reset();
        return;
    }
    const Epoch epoch = *next;
    floor_ = epoch;
    Change c{epoch, std::move(members), {}, {}, now};
    const Bytes bitmap = view_bitmap(config_.ring, c.members);
    for (NodeId m : c.members) {
        const std::uint64_t id = next_command_id_++;
        c.awaiting.insert(m);
        c.command_ids[m] = id;
        orders_.emplace_back(m, ViewOrder{id, epoch, bitmap, config_.term});
    }
    change_ = std::move(c);
}

// Every member holds the view and no token of an older epoch: the epoch's one token is ordered,
// from the member its epoch names (the same node for the same view, whoever orders it).
void Membership::complete(Instant now) {
    RW_ASSERT(change_ && change_->awaiting.empty());
    members_ = std::move(change_->members);
    epoch_ = change_->epoch;
    change_.reset();
    ordered_a_view_ = true;
    // The back-off of a node left out runs from here too: the ring has had a token without it.
    for (auto& [n, e] : evicted_) {
        if (e.view_done || member(n)) continue;
        e.view_done = true;
        e.rejoin_from = std::max(e.rejoin_from, now + e.backoff);
    }
    refused_.clear();
    for (NodeId n : members_) backoff_.erase(n);
    const NodeId issuer = members_[epoch_.value % members_.size()];
    issue_ = Issue{issuer, next_command_id_++};
    orders_.emplace_back(issuer, IssueToken{issue_->command_id, epoch_, config_.term});
    ++stats_.views;
    events_.push_back(
        MembershipEvent{.kind = MembershipEventKind::view, .at = now, .epoch = epoch_, .members = members_, .node = issuer, .address = {}});
    for (NodeId n : members_) {
        if (left_out_.erase(n) == 0) continue;
        ++stats_.rejoined;
        events_.push_back(
            MembershipEvent{.kind = MembershipEventKind::node_rejoined, .at = now, .epoch = epoch_, .members = {}, .node = n, .address = {}});
    }
}

}  // namespace ringwatch
