// Snapshot scheduling, report gathering and verdicts.
#include "monitor/core/monitor_core.h"

#include <algorithm>

#include "ring/core/view.h"

#include <fmt/format.h>

namespace ringwatch {

std::string_view to_string(VerdictKind v) {
    switch (v) {
        case VerdictKind::ok: return "ok";
        case VerdictKind::token_lost: return "token_lost";
        case VerdictKind::token_duplicated: return "token_duplicated";
        case VerdictKind::inconclusive: return "inconclusive";
    }
    return "unknown";
}

MonitorCore::MonitorCore(MonitorConfig config, Instant now)
    : config_(std::move(config)),
      members_([this] {
          auto m = config_.ring;
          std::sort(m.begin(), m.end());
          return m;
      }()),
      next_start_(now + config_.interval),
      next_id_(first_snapshot_of_era(config_.era)),
      liveness_(config_.ring, config_.liveness, now),
      leadership_(
          [this] {
              LeadershipConfig l = config_.leadership;
              l.ring = config_.ring;
              l.leader_timeout = config_.liveness.node_timeout;
              l.hello_every = config_.interval;
              return l;
          }(),
          now) {
    std::vector<NodeId> others;
    for (NodeId m : config_.leadership.monitors)
        if (m != config_.leadership.self) others.push_back(m);
    if (!others.empty()) monitors_.emplace(others, config_.liveness, now);
    follow_leadership(now);
}

void MonitorCore::on_monitor_link_event(Instant now, NodeId monitor, const LinkEvent& e) {
    account_stall(now);
    if (monitors_ && e.kind != LinkEventKind::peer_silent && e.kind != LinkEventKind::window_open) monitors_->heard(now, monitor, e.peer_incarnation);
    settle(now);
}

// A leader's hellos say its view and the newest epoch whose token it knows is born: told to the
// leadership when they change (a bitmap per input would cost a large ring dearly).
void MonitorCore::tell_hello_view() {
    if (!leading() || !monitors_) return;
    const Epoch view = membership_ ? membership_->epoch() : Epoch{0};
    if (membership_) born_ = std::max(born_, membership_->born());
    if (told_view_ == std::pair{view, born_}) return;
    told_view_ = {view, born_};
    leadership_.set_view(view, view == Epoch{0} ? Bytes{} : view_bitmap(config_.ring, membership_->members()), born_);
}

// A monitor that starts to lead takes the ring over (a view of its own, when views are on); one
// that stops drops its views (the new leader orders its own). Its snapshots go on either way.
void MonitorCore::follow_leadership(Instant now) {
    tell_hello_view();
    for (auto& o : leadership_.take_orders()) out_.term_orders.push_back(std::move(o));
    for (auto& e : leadership_.take_events()) out_.leader_events.push_back(std::move(e));
    if (!leadership_.leading()) {
        if (membership_) {
            membership_.reset();
            changing_to_.reset();
        }
        return;
    }
    epoch_ = std::max(epoch_, leadership_.floor());
    leader_view_.clear();  // its own, from now on
    if (membership_ && membership_->term_spent()) {
        membership_.reset();
        leadership_.claim_next(now);
        return follow_leadership(now);
    }
    if (membership_ || !config_.evict_after || config_.ring.size() < 2) return;
    MembershipConfig m;
    m.ring = config_.ring;
    m.evict_after = *config_.evict_after;
    m.ack_timeout = view_ack_timeout(config_.timeout);
    m.lease = lease_for(*config_.evict_after);
    m.term = leadership_.term();
    std::vector<NodeEvent> down;
    for (const auto& [n, e] : down_) down.push_back(e);
    membership_.emplace(std::move(m), now, epoch_, down);
    for (auto& o : membership_->take_orders()) out_.view_orders.push_back(std::move(o));  // the take-over view
    for (auto& e : membership_->take_events()) out_.membership_events.push_back(std::move(e));
    view_ordered();
}

bool MonitorCore::in_ring(NodeId n) const { return std::binary_search(members_.begin(), members_.end(), n); }

// The newest epoch whose token is known born when a snapshot starts: a cut without a token in a
// later epoch may have been taken before its birth (a view's issuer records on a marker that
// overtook the order to make the token), so it is judged inconclusive, not a loss. A standby knows
// it from the leader's hellos; a leader with views from its issuers' acknowledgements (a view's
// order and its token's are apart). A recovery's issuer adopts the epoch and makes its token in
// one step, so a cut wholly in that epoch has it: no such doubt without views.
std::optional<Epoch> MonitorCore::born_at_start() const {
    if (!leading()) return monitors_ ? std::optional(leader_born_) : std::nullopt;
    if (!membership_) return std::nullopt;
    return std::max(born_, membership_->born());
}

void MonitorCore::start_snapshot(Instant now) {
    if (pending_.size() >= config_.max_in_flight) {
        ++stats_.skipped_in_flight_bound;
        return;
    }
    if (membership_ && membership_->changing()) {
        ++stats_.skipped_view_change;
        return;
    }
    const SnapshotId id = next_id_;
    ++next_id_.value;
    const std::vector<NodeId>& members = ring_now();
    pending_.emplace(id, Pending{now, members, {}, incarnations_, {}, born_at_start()});
    ++stats_.started;
    const SnapshotId abandon_before = pending_.begin()->first;
    if (config_.single_initiator) {
        out_.starts.push_back({members.front(), SnapshotStart{id, abandon_before}});
    } else {
        for (NodeId n : members) out_.starts.push_back({n, SnapshotStart{id, abandon_before}});
    }
}

// The caller runs this core by next_deadline(): an input later than that means this process was
// not running meanwhile (SIGSTOP, a starved CPU). Nodes could not be heard over that time, so it
// does not count as their silence. (Snapshots under way are not given it back: reports that waited
// at the socket are taken before the overdue timer, as the loop polls before it runs timers again.)
void MonitorCore::account_stall(Instant now) {
    if (!due_ || now <= *due_ + kStallMin) return;
    // It may have been stopped at any moment since its last input (while it waited for its next
    // deadline, say): all of that is excused, at the cost of noticing a dead node that much later.
    const Duration stall = now - last_input_;
    due_.reset();
    ++stats_.stalls;
    stats_.stalled += stall;
    liveness_.excuse(now, stall);
    if (monitors_) monitors_->excuse(now, stall);
    leadership_.excuse(stall);
    if (membership_) membership_->excuse(stall);
}

// After an input: when the caller is due next. Work overdue now (only on_timer does it) is due now,
// so a second input at the same moment is no stall.
void MonitorCore::note_due(Instant now) {
    due_ = std::max(now, next_deadline().value_or(now));
    last_input_ = now;
}

void MonitorCore::settle(Instant now) {
    if (membership_)
        for (const auto& [n, at] : heard_) membership_->heard(now, n, at);
    heard_.clear();
    if (monitors_)
        for (const NodeEvent& e : monitors_->take_events()) leadership_.monitor_down(e.node, e.kind == NodeEventKind::node_down);
    auto events = liveness_.take_events();
    for (auto& e : events) {
        if (e.kind == NodeEventKind::node_down) {
            down_.insert_or_assign(e.node, e);
        } else {
            down_.erase(e.node);
        }
        if (membership_) {
            membership_->raise_floor(epoch_);
            membership_->on_node_event(now, e);
        }
        out_.node_events.push_back(std::move(e));
    }
    if (membership_) {
        for (auto& o : membership_->take_orders()) out_.view_orders.push_back(std::move(o));
        for (auto& e : membership_->take_events()) out_.membership_events.push_back(std::move(e));
        view_ordered();
    }
    follow_leadership(now);
    grant_confirmed_leases(now);
    note_due(now);
}

// A new view being ordered: the snapshots under way were begun in the old ring (its members drop
// them as they adopt it) and are given no verdict, and no snapshot of the old ring may be restored
// into the new one. A view complete: its epoch is the ring's.
void MonitorCore::view_ordered() {
    const std::optional<Epoch> to = membership_->changing_to();
    if (to && to != changing_to_) {
        stats_.abandoned_for_view += pending_.size();
        pending_.clear();
        restorable_ok_.clear();
        last_judged_.reset();
    }
    changing_to_ = to;
    if (!to) epoch_ = std::max(epoch_, membership_->epoch());
}

void MonitorCore::on_ack(Instant now, NodeId from, std::uint64_t command_id, bool ok) {
    account_stall(now);
    if (membership_ && membership_->owns(command_id)) {
        membership_->raise_floor(epoch_);
        membership_->on_ack(now, from, command_id, ok);
    }
    settle(now);
}

void MonitorCore::on_epoch_heard(Instant now, NodeId from, Epoch e) {
    account_stall(now);
    if (membership_) membership_->on_epoch_heard(now, from, std::max(e, epoch_));
    settle(now);
}

void MonitorCore::on_promise(Instant now, NodeId from, const TermPromise& p) {
    account_stall(now);
    leadership_.on_promise(now, from, p);
    settle(now);
}

void MonitorCore::on_hello(Instant now, NodeId from, const MonitorHello& h) {
    account_stall(now);
    if (monitors_) monitors_->heard(now, from, kUnknownIncarnation);
    leadership_.on_hello(now, from, h);
    if (h.leading && !leading() && leadership_.leader() == from) {
        const auto members = h.members.empty() ? std::optional(config_.ring) : view_members(config_.ring, h.members);
        if (members) leader_view_ = *members;
        leader_born_ = std::max(leader_born_, h.born);
    }
    settle(now);
}

// A lease is granted once a confirmation round begun after the request has shown that a
// majority still promises our term (leadership.h): a leader deposed behind a partition grants none
// that the new leader does not wait out.
void MonitorCore::on_lease_request(Instant now, NodeId from, const LeaseRequest& r) {
    account_stall(now);
    leadership_.heard_term(now, from, r.term);
    if (!in_ring(from) || !leadership_.leading()) {
        ++stats_.leases_refused;
    } else {
        lease_asked_.insert_or_assign(from, LeaseAsked{r, leadership_.confirm_after(now)});  // a node's newest request stands
    }
    settle(now);
}

void MonitorCore::grant_confirmed_leases(Instant now) {
    if (!leadership_.leading()) {
        stats_.leases_refused += lease_asked_.size();
        lease_asked_.clear();
        return;
    }
    for (auto it = lease_asked_.begin(); it != lease_asked_.end();) {
        if (it->second.round > leadership_.confirmed()) {
            ++it;
            continue;
        }
        const auto [from, r] = std::pair{it->first, it->second.request};
        it = lease_asked_.erase(it);
        if (!membership_) {
            // No views: no token is ever replaced without a node, so any member may have one.
            out_.view_orders.emplace_back(from, LeaseGrant{r.stamp, kLeaseWithoutViewsMs, leadership_.term()});
            ++stats_.leases_granted;
        } else if (auto g = membership_->grant(now, from, r)) {
            out_.view_orders.emplace_back(from, *g);
            ++stats_.leases_granted;
        } else {
            ++stats_.leases_refused;
        }
    }
}

void MonitorCore::on_report(Instant now, NodeId from, const SnapshotReport& report) {
    account_stall(now);
    on_report_after_stall(now, from, report);
    settle(now);
}

void MonitorCore::on_report_after_stall(Instant now, NodeId from, const SnapshotReport& report) {
    if (!in_ring(from) || report.node != from) {
        ++stats_.unexpected_reports;
        return;
    }
    liveness_.heard(now, from, report.incarnation);
    if (membership_) membership_->heard(now, from, now);
    last_report_[from] = now;
    catch_up(from, report);
    kept_[from] = {report.incarnation, report.kept, report.pinned};
    auto it = pending_.find(report.id);
    if (it == pending_.end()) {
        ++stats_.late_reports;
        return;
    }
    const auto& members = it->second.members;
    if (std::find(members.begin(), members.end(), from) == members.end()) {
        it->second.outsider = true;  // it recorded: it was a member of the ring the snapshot ran in
        ++stats_.unexpected_reports;
        return;
    }
    if (!it->second.reports.emplace(from, report).second) {
        ++stats_.unexpected_reports;
        return;
    }
    // A process that started after this snapshot began may have joined it afresh (a delayed marker
    // reaches the new process): its part of the cut was not taken against the same process.
    auto inc = it->second.incarnations.find(from);
    if (inc != it->second.incarnations.end() && inc->second != report.incarnation) it->second.mark_restarted(from);
    if (it->second.reports.size() == members.size()) {
        decide(now, it->first, it->second, false);
        pending_.erase(it);
    }
}

void MonitorCore::set_node_silent(NodeId node, bool silent) {
    if (silent) {
        silent_.insert(node);
    } else {
        silent_.erase(node);
    }
}

void MonitorCore::on_link_event(Instant now, NodeId node, const LinkEvent& e) {
    account_stall(now);
    switch (e.kind) {
        case LinkEventKind::peer_silent: set_node_silent(node, true); break;
        case LinkEventKind::connected:
        case LinkEventKind::session_reset:
            // A process the snapshots under way did not begin with (restarted, or first heard of
            // now): their cut may mix it with its predecessor, so they are not judged.
            for (auto& [id, p] : pending_) {
                auto it = p.incarnations.find(node);
                if (it == p.incarnations.end() || it->second != e.peer_incarnation) p.mark_restarted(node);
            }
            // A member's new process starts in the configured ring: it is told the current view.
            if (const auto known = incarnations_.find(node);
                membership_ && known != incarnations_.end() && known->second != e.peer_incarnation && e.peer_incarnation != kUnknownIncarnation)
                membership_->restarted(node);
            incarnations_[node] = e.peer_incarnation;
            // A new process keeps what an earlier one saved, but not which of it to keep longest.
            if (!restorable_ok_.empty()) out_.keeps.push_back({node, KeepSnapshot{restorable_ok_.back()}});
            set_node_silent(node, false);
            liveness_.heard(now, node, e.peer_incarnation);
            if (membership_) membership_->heard(now, node, now);
            break;
        case LinkEventKind::peer_alive:
            set_node_silent(node, false);
            liveness_.heard(now, node, kUnknownIncarnation);
            if (membership_) membership_->heard(now, node, now);
            break;
        case LinkEventKind::window_open: break;
    }
    settle(now);
}

void MonitorCore::take_output(MonitorOutput& out) {
    auto append = [](auto& to, auto& from) {
        if (to.empty()) {
            to.swap(from);
        } else {
            for (auto& x : from) to.push_back(std::move(x));
        }
        from.clear();
    };
    append(out.starts, out_.starts);
    append(out.recover_commands, out_.recover_commands);
    append(out.keeps, out_.keeps);
    auto probes = liveness_.take_probes();
    append(out.probes, probes);
    if (monitors_) {
        auto monitor_probes = monitors_->take_probes();
        append(out.probes, monitor_probes);
    }
    append(out.node_events, out_.node_events);
    append(out.verdicts, out_.verdicts);
    auto incident_events = incidents_.take_events();
    append(out.incident_events, incident_events);
    append(out.view_orders, out_.view_orders);
    append(out.membership_events, out_.membership_events);
    append(out.term_orders, out_.term_orders);
    append(out.leader_events, out_.leader_events);
}

void MonitorCore::on_timer(Instant now) {
    account_stall(now);
    liveness_.on_timer(now);
    if (monitors_) monitors_->on_timer(now);
    leadership_.on_timer(now);
    if (membership_) settle(now);  // node events first: an eviction they cause is due now (settling may end our leadership)
    if (membership_) {
        membership_->raise_floor(epoch_);
        membership_->on_timer(now);
        settle(now);
    }
    for (auto it = pending_.begin(); it != pending_.end();) {
        if (now - it->second.started >= config_.timeout) {
            decide(now, it->first, it->second, true);
            it = pending_.erase(it);
        } else {
            ++it;
        }
    }
    // One start per call even after a long pause: no burst of catch-up snapshots.
    if (now >= next_start_) {
        start_snapshot(now);
        next_start_ = std::max(next_start_ + config_.interval, now);
        if (next_start_ <= now) next_start_ = now + config_.interval;
    }
    settle(now);
}

void MonitorCore::decide(Instant now, SnapshotId id, Pending& p, bool timed_out) {
    Verdict v;
    v.id = id;
    v.started = p.started;
    v.duration = now - p.started;
    v.members = p.members;
    if (timed_out) {
        for (NodeId n : p.members) {
            if (p.reports.contains(n)) continue;
            v.missing.push_back(n);
            if (silent_.contains(n)) v.silent.push_back(n);
        }
    }
    count_tokens(p, v);
    v.restarted = p.restarted;
    if (membership_) watch_links(now, p, v);
    // No node has an epoch: a ring still forming (or every node restarted and not yet told the
    // ring's epoch), with no token to lose. If it never ran while this monitor watched, its first
    // token is the monitor's to order; otherwise the nodes are told the epoch, and the next cut judges.
    v.forming = v.tokens == 0 && v.stale == 0 && v.missing.empty() && v.epoch == Epoch{0};
    if (v.forming && !ring_ran_ && !membership_) order_first_token(now, v);  // with views, a view's token is the first
    // A standby cannot know whether a view's token has been ordered yet: a cut with no token in an
    // epoch the leader had not said was born is not judged (the leader's next hello says so).
    v.unborn = p.born && v.tokens == 0 && v.epoch > *p.born;
    // A node outside the members it asked took part: the ring's view changed while this monitor
    // thought otherwise (a standby's view is the leader's, as its hellos last said), so the cut
    // may lack a member, and that member's token.
    v.stale_view = p.outsider;
    v.kind = !v.missing.empty() || !v.restarted.empty() || v.forming || v.epoch_change || v.unborn || v.stale_view ? VerdictKind::inconclusive
                                                                                                                   : verdict_for(v.tokens);
    if (v.kind != VerdictKind::inconclusive && v.tokens > 0) born_ = std::max(born_, v.epoch);  // a token of it was seen
    switch (v.kind) {
        case VerdictKind::ok: ++stats_.ok; break;
        case VerdictKind::token_lost: ++stats_.token_lost; break;
        case VerdictKind::token_duplicated: ++stats_.token_duplicated; break;
        case VerdictKind::inconclusive: ++stats_.inconclusive; break;
    }
    // A verdict about an epoch a recovery has replaced says nothing about the ring now.
    if (v.epoch < epoch_ && v.kind != VerdictKind::inconclusive) {
        ++stats_.past_epoch_verdicts;
    } else {
        epoch_ = std::max(epoch_, v.epoch);
        incidents_.on_verdict(now, v);
        if (v.kind != VerdictKind::inconclusive && (!last_judged_ || last_judged_->id < v.id)) last_judged_ = v;
        if (v.alarm() && config_.recover == RecoveryMode::regenerate) regenerate(now, v);
        if (v.alarm() && config_.recover == RecoveryMode::rollback) rollback(now, v);
        if (v.kind == VerdictKind::ok && v.stale == 0 && (restorable_ok_.empty() || restorable_ok_.back() < v.id)) {
            restorable_ok_.push_back(v.id);
            if (restorable_ok_.size() > kRestorableRemembered) restorable_ok_.pop_front();
            if (leading())
                for (NodeId n : ring_now()) out_.keeps.push_back({n, KeepSnapshot{v.id, leadership_.term()}});
        }
    }
    out_.verdicts.push_back(std::move(v));
}

void MonitorCore::watch_links(Instant now, const Pending& p, const Verdict& v) {
    const auto heard = [this](NodeId x) { return !silent_.contains(x) && !liveness_.down(x); };
    const std::size_t n = p.members.size();
    for (std::size_t i = 0; i < n; ++i) {
        const NodeId m = p.members[i], pred = p.members[(i + n - 1) % n];
        const bool stuck = std::find(v.missing.begin(), v.missing.end(), m) != v.missing.end() && p.reports.contains(pred) && heard(m) &&
                           heard(pred) && std::find(v.restarted.begin(), v.restarted.end(), m) == v.restarted.end();
        if (!stuck) {
            stuck_since_.erase(m);
            continue;
        }
        const Instant since = stuck_since_.try_emplace(m, p.started).first->second;
        if (p.started - since >= kLinkFaultTimeouts * config_.timeout && !membership_->changing()) {
            stuck_since_.erase(m);
            membership_->raise_floor(epoch_);
            membership_->link_fault(now, pred, m);
        }
    }
}

// Counts the cut's tokens of its newest epoch; older ones are stale (every node discards them). A
// cut where some node recorded before adopting that epoch (the recovery's order reached it late)
// may miss the new token or see a node that has purged but not yet been passed the new one: it is
// judged only if it finds exactly one.
void MonitorCore::count_tokens(const Pending& p, Verdict& v) const {
    Epoch top{0};
    for (const auto& [node, r] : p.reports) {
        top = std::max(top, r.state.epoch);
        for (const auto& ec : r.in_flight_epochs) top = std::max(top, ec.epoch);
    }
    v.epoch = top;
    bool straddles = false;
    for (const auto& [node, r] : p.reports) {
        // Counts come from the reports' counts; the lists only say where (and may be cut short).
        if (r.state.epoch == top) {
            for (std::size_t i = 0; i < r.state.held_count && i < kMaxTokensInReport; ++i) v.holders.push_back(node);
            v.held += r.state.held_count;
        } else {
            v.stale += r.state.held_count;
            straddles = true;
        }
        std::uint32_t current = 0;
        for (const auto& ec : r.in_flight_epochs) (ec.epoch == top ? current : v.stale) += ec.tokens;
        if (current > 0) {
            v.channels.push_back({r.channel_from, node, current});
            v.in_flight += current;
        }
        v.truncated |= r.state.held.size() < r.state.held_count || r.in_flight.size() < r.in_flight_count;
    }
    for (NodeId n : p.members) {
        const auto it = p.reports.find(n);
        if (it == p.reports.end()) continue;
        const SnapshotReport& r = it->second;
        v.cut.push_back({n, r.state.held_count, r.channel_from, r.in_flight_count, r.state.queue_length, r.state.epoch});
    }
    v.tokens = v.held + v.in_flight;
    v.epoch_change = straddles && v.tokens != 1;
}

// A fresh ring's first token, born by order like every other: a new epoch for every node, one
// token at the first node that is up. Ordered again only if a timeout passed and the ring is still
// forming (the order reached nobody, or its issuer died); the new epoch fences the older order.
void MonitorCore::order_first_token(Instant now, Verdict& v) {
    if (first_token_ordered_ && now - *first_token_ordered_ < config_.timeout) return;
    if (!leading()) {
        ++stats_.not_leading;
        return;
    }
    const auto& members = ring_now();
    const auto issuer = std::find_if(members.begin(), members.end(), [this](NodeId n) { return !liveness_.down(n); });
    if (issuer == members.end() || !order_everyone(now, RecoverMode::regenerate, *issuer, SnapshotId{0})) return;
    first_token_ordered_ = now;
    ++stats_.first_tokens_ordered;
    v.first_token = FirstTokenOrder{epoch_, *issuer};
}

// A node behind the ring's epoch (a process started after the change, which no token of the new
// epoch has reached: perhaps none exists) is told the epoch, without a token. Until then every cut
// would straddle the change, and a lost token would never be judged.
void MonitorCore::catch_up(NodeId node, const SnapshotReport& r) {
    ring_ran_ |= r.state.epoch > Epoch{0};
    epoch_ = std::max(epoch_, r.state.epoch);
    if (r.state.epoch >= epoch_) return;
    if (membership_ && (membership_->changing() || !membership_->member(node))) return;  // the view brings it
    if (!leading()) return;                                                              // the leader tells it
    auto& told = told_epoch_[node];
    if (told == std::pair{r.incarnation, epoch_}) return;  // already told this process
    told = {r.incarnation, epoch_};
    ++stats_.catch_up_orders;
    out_.recover_commands.push_back(
        {node, RecoverCommand{next_command_id_++, RecoverMode::regenerate, epoch_, kNoIssuer, SnapshotId{0}, leadership_.term()}});
}

// Whether this monitor may recover now: the leader does; a standby leaves it to the leader (said
// only when a person asked: a standby's own verdicts are the leader's to act on).
bool MonitorCore::may_recover(Instant now, const Verdict& cause, RecoverMode mode, bool by_hand) {
    if (leading()) return true;
    ++stats_.not_leading;
    if (by_hand) {
        const auto leader = leadership_.leader();
        incidents_.on_recovery(now, cause, mode, epoch_, std::nullopt, std::nullopt,
                               leader ? fmt::format("this monitor does not lead: the monitor {} leads term {}", *leader, leadership_.term())
                                      : std::string("no monitor leads yet (a majority of the nodes has promised none a term)"),
                               by_hand);
    }
    return false;
}

// A recovery's note when order_everyone() found this term's epochs spent.
constexpr const char* kTermSpent = "this term has made all its epochs: the next term is being claimed";

// Purge and reissue: a new epoch everywhere, one new token at the first node that is up.
bool MonitorCore::regenerate(Instant now, const Verdict& cause, bool by_hand, std::string note) {
    if (!may_recover(now, cause, RecoverMode::regenerate, by_hand)) return false;
    if (membership_ && membership_->changing()) {
        incidents_.on_recovery(now, cause, RecoverMode::regenerate, epoch_, std::nullopt, std::nullopt,
                               "a new view is being ordered: its token comes with it", by_hand);
        return false;
    }
    std::optional<NodeId> issuer;
    for (NodeId n : ring_now()) {
        if (!liveness_.down(n)) {
            issuer = n;
            break;
        }
    }
    if (!issuer) {
        incidents_.on_recovery(now, cause, RecoverMode::regenerate, epoch_, std::nullopt, std::nullopt, "no node is up to issue a token", by_hand);
        return false;
    }
    if (!order_everyone(now, RecoverMode::regenerate, *issuer, SnapshotId{0})) {
        incidents_.on_recovery(now, cause, RecoverMode::regenerate, epoch_, std::nullopt, std::nullopt, kTermSpent, by_hand);
        return false;
    }
    incidents_.on_recovery(now, cause, RecoverMode::regenerate, epoch_, issuer, std::nullopt, std::move(note), by_hand);
    return true;
}

// A new epoch of this leader's term, ordered to every node (none of them needs a catch-up order
// for it afterwards).
bool MonitorCore::order_everyone(Instant now, RecoverMode mode, NodeId issuer, SnapshotId snapshot) {
    const std::optional<Epoch> next = next_epoch();
    if (!next) {
        membership_.reset();
        leadership_.claim_next(now);
        return false;
    }
    epoch_ = *next;
    born_ = std::max(born_, epoch_);  // made where the order names, or restored, as each node adopts it
    if (membership_) membership_->raise_floor(epoch_);
    for (NodeId n : ring_now()) {
        out_.recover_commands.push_back({n, RecoverCommand{next_command_id_++, mode, epoch_, issuer, snapshot, leadership_.term()}});
        const auto inc = incarnations_.find(n);
        told_epoch_[n] = {inc == incarnations_.end() ? kUnknownIncarnation : inc->second, epoch_};
    }
    return true;
}

// The newest snapshot judged ok (with no stale token) that every node's current process says it
// keeps; failing that (a monitor restarted since), one an earlier monitor judged ok and named to
// the nodes, if every node keeps it.
std::optional<SnapshotId> MonitorCore::restorable() const {
    const auto everywhere = [this](SnapshotId id) {
        const auto& members = ring_now();
        return std::all_of(members.begin(), members.end(), [&](NodeId n) {
            const auto k = kept_.find(n);
            if (k == kept_.end()) return false;
            const auto inc = incarnations_.find(n);
            if (inc != incarnations_.end() && inc->second != k->second.incarnation) return false;  // said by a process that is gone
            return std::find(k->second.ids.begin(), k->second.ids.end(), id) != k->second.ids.end();
        });
    };
    for (auto it = restorable_ok_.rbegin(); it != restorable_ok_.rend(); ++it)
        if (everywhere(*it)) return *it;
    std::optional<SnapshotId> named;
    for (const auto& [n, k] : kept_)
        if (k.pinned != SnapshotId{0} && everywhere(k.pinned) && (!named || *named < k.pinned)) named = k.pinned;
    return named;
}

// Restore: every node puts back its state of the newest snapshot judged ok that all of them keep.
bool MonitorCore::rollback(Instant now, const Verdict& cause, bool by_hand) {
    if (!may_recover(now, cause, RecoverMode::rollback, by_hand)) return false;
    if (membership_ && membership_->changing()) {
        incidents_.on_recovery(now, cause, RecoverMode::rollback, epoch_, std::nullopt, std::nullopt,
                               "a new view is being ordered: its token comes with it", by_hand);
        return false;
    }
    for (NodeId n : ring_now()) {
        if (liveness_.down(n)) {
            incidents_.on_recovery(now, cause, RecoverMode::rollback, epoch_, std::nullopt, std::nullopt,
                                   fmt::format("node {} is down and cannot restore", n), by_hand);
            return false;
        }
    }
    const auto snapshot = restorable();
    if (!snapshot && !by_hand) {
        // Nothing to restore, and nothing will be: snapshots are kept only when judged ok, which
        // no verdict is while the token is missing. A fresh token is the only way back.
        return regenerate(now, cause, false, "no snapshot judged ok is kept by every node: regenerated instead");
    }
    if (!snapshot) {
        incidents_.on_recovery(now, cause, RecoverMode::rollback, epoch_, std::nullopt, std::nullopt, "no snapshot judged ok is kept by every node",
                               by_hand);
        return false;
    }
    if (!order_everyone(now, RecoverMode::rollback, kNoIssuer, *snapshot)) {
        incidents_.on_recovery(now, cause, RecoverMode::rollback, epoch_, std::nullopt, std::nullopt, kTermSpent, by_hand);
        return false;
    }
    incidents_.on_recovery(now, cause, RecoverMode::rollback, epoch_, std::nullopt, snapshot, {}, by_hand);
    return true;
}

bool MonitorCore::recover_by_hand(Instant now, RecoverMode mode) {
    const Verdict cause = last_judged_.value_or(Verdict{});
    return mode == RecoverMode::rollback ? rollback(now, cause, true) : regenerate(now, cause, true);
}

std::optional<Instant> MonitorCore::next_deadline() const {
    Instant d = next_start_;
    if (auto l = liveness_.next_deadline()) d = std::min(d, *l);
    if (membership_)
        if (auto m = membership_->next_deadline()) d = std::min(d, *m);
    if (auto l = leadership_.next_deadline()) d = std::min(d, *l);
    if (monitors_)
        if (auto m = monitors_->next_deadline()) d = std::min(d, *m);
    for (const auto& [id, p] : pending_) d = std::min(d, p.started + config_.timeout);
    return d;
}

}  // namespace ringwatch
