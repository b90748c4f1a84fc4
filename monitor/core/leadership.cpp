// Claims, promises and hellos: which monitor leads (see leadership.h).
#include "monitor/core/leadership.h"

#include <algorithm>

#include "ring/core/check.h"

namespace ringwatch {

std::string_view to_string(LeaderEventKind k) {
    switch (k) {
        case LeaderEventKind::claimed: return "claimed";
        case LeaderEventKind::leading: return "leading";
        case LeaderEventKind::claim_failed: return "claim_failed";
        case LeaderEventKind::stepped_down: return "stepped_down";
    }
    return "unknown";
}

// A monitor with peers listens for two hellos before its first claim: a leader that is already
// up says so, and a restarted monitor does not take the ring from it.
Leadership::Leadership(LeadershipConfig config, Instant now)
    : config_(std::move(config)), next_claim_(config_.monitors.size() > 1 ? now + 2 * config_.hello_every : now), next_hello_(now) {
    RW_ASSERT(std::find(config_.monitors.begin(), config_.monitors.end(), config_.self) != config_.monitors.end());
    RW_ASSERT(!config_.ring.empty());
    on_timer(now);
}

bool Leadership::in_ring(NodeId n) const { return std::find(config_.ring.begin(), config_.ring.end(), n) != config_.ring.end(); }

// When this monitor may claim: every monitor before it is down, and no leader has been heard of
// for leader_timeout (or the one heard of is down: its death known, nothing to wait for). None
// while it leads or claims, or a monitor before it is up.
std::optional<Instant> Leadership::claim_at() const {
    if (leading_ || claim_) return std::nullopt;
    for (NodeId m : config_.monitors) {
        if (m == config_.self) break;
        if (!down_.contains(m)) return std::nullopt;
    }
    Instant at = next_claim_;
    if (leader_heard_ && !(leader_ && down_.contains(*leader_))) at = std::max(at, *leader_heard_ + config_.leader_timeout);
    return at;
}

void Leadership::claim(Instant now) {
    if (term_ >= kMaxTerm) return;  // every term spent: nobody leads again (a million claims)
    claim_ = Claim{Term{term_.value + 1}, now, {}};
    for (NodeId n : config_.ring) orders_.emplace_back(n, TermClaim{claim_->term, 0});
    events_.push_back({.kind = LeaderEventKind::claimed, .at = now, .term = claim_->term});
}

void Leadership::on_promise(Instant now, NodeId from, const TermPromise& p) {
    if (!in_ring(from)) return;
    floor_ = std::max(floor_, p.epoch);
    if (p.ok && p.round > 0) {
        if (!leading_ || p.term != term_) return;
        const auto open = confirming_.find(p.round);
        if (open == confirming_.end()) return;
        open->second.insert(from);
        if (open->second.size() < majority()) return;
        confirmed_ = std::max(confirmed_, p.round);
        confirming_.erase(confirming_.begin(), std::next(open));  // older rounds are confirmed with it
        if (wanted_ > round_) start_round(now);
        return;
    }
    if (p.ok) {
        if (!claim_ || p.term != claim_->term || p.round != 0) return;
        claim_->promised.insert(from);
        if (claim_->promised.size() < majority()) return;
        const auto promises = static_cast<std::uint32_t>(claim_->promised.size());
        term_ = claim_->term;
        claim_.reset();
        leading_ = true;
        leader_ = config_.self;
        end_rounds();
        claim_backoff_ = config_.claim_timeout;
        events_.push_back({.kind = LeaderEventKind::leading, .at = now, .term = term_, .promises = promises});
        hello(now);  // the standbys hear of it at once
        return;
    }
    // A node promised a later term (or this one, to another monitor's process, or to an earlier
    // process of ours). Leading: we are deposed. Claiming: the claim is lost, and made again above
    // it at once when nobody else can be leading it (our own earlier process, or a monitor known
    // down); otherwise its promised monitor counts as a leader heard of.
    const Term ours = claim_ ? claim_->term : term_;
    if (p.promised < ours || (p.promised == ours && leading_)) return;
    learn(p.promised, p.promised_to, now);
    if (leading_) return step_down(now, p.promised, from);
    if (!claim_ || p.term != claim_->term) return;
    events_.push_back({.kind = LeaderEventKind::claim_failed, .at = now, .term = claim_->term, .later = p.promised, .by = from});
    claim_.reset();
    if (p.promised_to == config_.self || down_.contains(p.promised_to)) {
        leader_heard_.reset();
        next_claim_ = now;
    }
}

// A term heard of: remembered when later than ours, and its leader (when named, and not ourselves)
// counts as heard of now.
void Leadership::learn(Term t, std::optional<NodeId> leader, Instant now) {
    if (t < term_) return;
    if (t > term_) {
        term_ = t;
        leader_.reset();
    }
    if (leader && *leader != config_.self) {
        leader_ = leader;
        leader_heard_ = now;
    }
}

void Leadership::heard_term(Instant now, NodeId from, Term term) {
    if (!in_ring(from) || term <= term_) return;
    const bool was_leading = leading_;
    learn(term, std::nullopt, now);
    leader_heard_ = now;  // someone leads it: give it leader_timeout to be heard
    if (was_leading) step_down(now, term, from);
}

void Leadership::on_hello(Instant now, NodeId from, const MonitorHello& h) {
    if (from == config_.self || std::find(config_.monitors.begin(), config_.monitors.end(), from) == config_.monitors.end()) return;
    if (h.term > term_) {
        const bool was_leading = leading_;
        term_ = h.term;
        leader_.reset();
        if (was_leading) step_down(now, h.term, from);
    }
    if (h.leading && h.term == term_ && !leading_) {
        leader_ = from;
        leader_heard_ = now;
    }
}

void Leadership::step_down(Instant now, Term later, NodeId by) {
    leading_ = false;
    end_rounds();
    if (leader_ == config_.self) leader_.reset();
    events_.push_back({.kind = LeaderEventKind::stepped_down, .at = now, .term = term_, .later = later, .by = by});
    if (!leader_heard_ || *leader_heard_ < now) leader_heard_ = now;
}

void Leadership::claim_next(Instant now) {
    if (!leading_) return;
    leading_ = false;
    end_rounds();
    leader_.reset();
    events_.push_back({.kind = LeaderEventKind::stepped_down, .at = now, .term = term_});
    claim(now);
}

std::uint64_t Leadership::confirm_after(Instant now) {
    RW_ASSERT(leading_);
    wanted_ = round_ + 1;
    if (confirming_.empty()) start_round(now);  // begun after what asked for it: it counts
    return wanted_;
}

void Leadership::start_round(Instant now) {
    ++round_;
    round_at_ = now;
    confirming_[round_];
    while (confirming_.size() > kRoundsOpen) confirming_.erase(confirming_.begin());
    for (NodeId n : config_.ring) orders_.emplace_back(n, TermClaim{term_, round_});
}

void Leadership::end_rounds() {
    round_ = confirmed_ = wanted_ = 0;
    confirming_.clear();
}

void Leadership::monitor_down(NodeId m, bool down) {
    if (down) {
        down_.insert(m);
    } else {
        down_.erase(m);
    }
}

void Leadership::on_timer(Instant now) {
    if (config_.monitors.size() > 1 && now >= next_hello_) hello(now);
    if (claim_ && now >= claim_->at + claim_backoff_) {
        // No majority in time (nodes down or cut off): tried again, each time after twice as long.
        events_.push_back({.kind = LeaderEventKind::claim_failed, .at = now, .term = claim_->term});
        term_ = std::max(term_, claim_->term);  // some node may have promised it: never claimed again
        claim_.reset();
        next_claim_ = now;
        claim_backoff_ = std::min(2 * claim_backoff_, kMaxClaimBackoff);
    }
    if (const auto at = claim_at(); at && now >= *at) claim(now);
    if (leading_ && wanted_ > confirmed_ && now >= round_at_ + kRoundRetry) start_round(now);  // the open ones stay open
}

void Leadership::hello(Instant now) {
    next_hello_ = now + config_.hello_every;
    for (NodeId m : config_.monitors)
        if (m != config_.self)
            orders_.emplace_back(m, leading_ ? MonitorHello{term_, true, view_epoch_, members_, born_} : MonitorHello{term_, false, {}, {}, {}});
}

void Leadership::excuse(Duration stall) {
    if (leader_heard_) *leader_heard_ += stall;
    if (claim_) claim_->at += stall;
}

std::optional<Instant> Leadership::next_deadline() const {
    std::optional<Instant> d;
    auto earliest = [&d](Instant t) {
        if (!d || t < *d) d = t;
    };
    if (config_.monitors.size() > 1) earliest(next_hello_);
    if (claim_) earliest(claim_->at + claim_backoff_);
    if (const auto at = claim_at()) earliest(*at);
    if (leading_ && wanted_ > confirmed_) earliest(round_at_ + kRoundRetry);
    return d;
}

}  // namespace ringwatch
