// The ring member's composition of token protocol and snapshot participant (template definitions;
// node.cpp instantiates them for the ring's participant, the checker self-tests for broken ones).
#pragma once

#include <algorithm>
#include <functional>
#include <map>

#include "ring/core/node.h"

namespace ringwatch {

// The ring's epoch as this process starts: what an earlier process of this node kept on disk (its
// saved snapshots), so that a whole ring restarted from its state directories is not taken for a
// fresh one; none (0) otherwise, until a token or the monitor brings it.
inline Epoch starting_epoch(const NodeConfig& config) {
    Epoch e = config.initial_epoch;
    for (const auto& s : config.saved_at_start) e = std::max(e, s.token.epoch);
    return e;
}

template <typename Participant>
BasicNode<Participant>::BasicNode(NodeConfig config, Instant now)
    : config_(config),
      view_{Epoch{0}, config.ring, Neighbours{config.predecessor, config.successor}},
      token_(config.self, config.token, config.incarnation, starting_epoch(config)),
      participant_({config.predecessor}, {config.successor}, config.snapshots),
      kept_(config.keep_snapshots),
      promised_(config.promised_at_start) {
    // Deliveries are numbered on from the record, and past every saved state's count (a record
    // lost while snapshots were kept must not make their counts look ahead of this process).
    DeliveryRecord record = config_.deliveries_at_start.value_or(DeliveryRecord{});
    for (const auto& s : config_.saved_at_start) record.seq = std::max(record.seq, s.token.deliveries);
    token_.remember(std::move(record));
    config_.deliveries_at_start.reset();
    kept_.load(std::move(config_.saved_at_start));
    config_.saved_at_start.clear();
    collect(now);
}

template <typename Participant>
void BasicNode<Participant>::on_message(Instant now, NodeId from, std::span<const std::uint8_t> bytes) {
    Message m;
    if (decode_message(bytes, m) != MessageError::none) {
        ++stats_.malformed;
        return;
    }
    if (const auto pred = predecessor(); pred && from == *pred) {
        handle_ring(now, m);
    } else if (is_monitor(from) || is_tool_id(from)) {
        handle_control(now, from, m);
    } else {
        ++stats_.unexpected;
    }
    collect(now);
}

template <typename Participant>
void BasicNode<Participant>::handle_ring(Instant now, Message& m) {
    if (auto* t = std::get_if<Token>(&m)) {
        participant_.on_message(*predecessor(), *t);
        token_.on_token(now, std::move(*t));
    } else if (auto* mk = std::get_if<MarkerMessage>(&m)) {
        // A snapshot of a monitor process that has been replaced: never gathered. A marker of an
        // era this node has not seen start is anyone's (with one initiator, only the view's first
        // member gets the starts, and each monitor may think another node first).
        const std::uint32_t era = snapshot_era(mk->id);
        if (std::find(retired_eras_.begin(), retired_eras_.end(), era) != retired_eras_.end()) {
            ++stats_.other_era_markers;
            return;
        }
        participant_.on_marker(mk->id, *predecessor(), state_if_begins(mk->id));
    } else {
        ++stats_.unexpected;
    }
}

template <typename Participant>
void BasicNode<Participant>::handle_control(Instant now, NodeId from, Message& m) {
    const bool monitor = is_monitor(from);
    if (auto* s = std::get_if<SnapshotStart>(&m); s && monitor) {
        if (!view_.neighbours) return;  // out of the ring: no part in its snapshots
        const std::uint32_t era = snapshot_era(s->id);
        if (const auto known = eras_.find(from); known == eras_.end() || known->second != era) {
            // A restarted monitor: its predecessor's snapshots will never be gathered, and its own
            // ids must not be mistaken for finished ones. (Another monitor's go on.)
            if (known != eras_.end()) {
                ++stats_.monitor_restarts;
                const std::uint32_t gone = known->second;
                participant_.abandon_if([gone](SnapshotId id) { return snapshot_era(id) == gone; });
                retired_eras_.push_back(gone);
                if (retired_eras_.size() > kRetiredEras) retired_eras_.pop_front();
            }
            eras_[from] = era;
        }
        participant_.abandon_if([&](SnapshotId id) { return snapshot_era(id) == era && id < s->abandon_before; });
        participant_.start(s->id, state_if_begins(s->id));
    } else if (std::holds_alternative<RingQuery>(m)) {
        send(from, RingState{token_.had_token(), token_.epoch()});  // `ring recover` without a monitor asks every node
    } else if (auto* c = std::get_if<TermClaim>(&m); c && monitor) {
        on_claim(from, *c);
    } else if (auto* k = std::get_if<KeepSnapshot>(&m); k && monitor) {
        if (obeys(from, k->term)) kept_.pin(k->id);
    } else if (auto* inj = std::get_if<InjectCommand>(&m)) {
        ++stats_.commands;
        token_.inject(inj->kind);
        send(from, CommandAck{inj->command_id, true});
    } else if (auto* sc = std::get_if<SendCommand>(&m)) {
        ++stats_.commands;
        const bool ok = send_app(now, sc->to, std::move(sc->payload));
        send(from, CommandAck{sc->command_id, ok});
    } else if (auto* im = std::get_if<ImpairCommand>(&m)) {
        ++stats_.commands;
        out_.impair.push_back(*im);
        send(from, CommandAck{im->command_id, true});
    } else if (auto* rc = std::get_if<RecoverCommand>(&m)) {
        ++stats_.commands;
        // A tool's (`ring recover` without a monitor) has no term: its walk is its own fence.
        if (monitor && !obeys(from, rc->term)) return send(from, CommandAck{rc->command_id, false});
        if (rc->mode == RecoverMode::rollback) return rollback(now, from, *rc);
        // Purge and reissue: adopt the new epoch; the issuer makes its one token. A repeat of the
        // command (or one older than what we hold) changes nothing.
        if (token_.adopt_epoch(rc->epoch) && rc->issuer == config_.self) token_.issue(now, rc->epoch);
        send(from, CommandAck{rc->command_id, true});
    } else if (auto* v = std::get_if<ViewOrder>(&m); v && monitor) {
        ++stats_.commands;
        send(from, CommandAck{v->command_id, obeys(from, v->term) && adopt_view(*v)});
    } else if (auto* it = std::get_if<IssueToken>(&m); it && monitor) {
        ++stats_.commands;
        send(from, CommandAck{it->command_id, obeys(from, it->term) && issue_token(now, *it)});
    } else if (auto* g = std::get_if<LeaseGrant>(&m); g && monitor) {
        on_grant(from, now, *g);
    } else {
        ++stats_.unexpected;
    }
}

// Rollback: put back the state saved at the snapshot, in the new epoch, and receive again what the
// snapshot recorded on the channel. Snapshots under way mix the states before and after: dropped.
// The acknowledgement goes first, before anything the restored state does.
template <typename Participant>
void BasicNode<Participant>::rollback(Instant now, NodeId from, const RecoverCommand& rc) {
    const SavedSnapshot* s = kept_.find(rc.snapshot);
    const bool ok = s && token_.restore(now, s->token, s->channel, rc.epoch);
    send(from, CommandAck{rc.command_id, ok});
    if (!ok) {
        ++stats_.rollbacks_refused;
        return;
    }
    participant_.abandon_before(SnapshotId{~std::uint64_t{0}});
}

// A view: the epoch adopted as a regenerate's (older tokens purged), the neighbours taken from it.
// Snapshots under way are dropped: their channels are the old ring's.
template <typename Participant>
bool BasicNode<Participant>::adopt_view(const ViewOrder& v) {
    const auto members = view_members(config_.ring, v.members);
    // Refused (the monitor then orders it again above the epoch this node tells):
    // - an epoch not above the view's it holds, a repeat included: only a new monitor orders an
    //   epoch again (it cannot know the ring's), and the token order that follows would make a
    //   second token of an epoch that has one;
    // - an epoch a token of ours already had (a recovery's, which this view's adoption would not
    //   purge); a process that only knows the epoch (its state directory, a recovery's order) has
    //   no token of it to keep;
    // - an epoch older than ours (a recovery came since), unless this process has taken no view
    //   yet: a new one told the ring's current view takes it, as that view's token was made long
    //   ago (its order would be refused, being of another epoch) and the recovery's is the ring's.
    const bool older = v.epoch < token_.epoch() && view_.epoch != Epoch{0};
    const bool epoch_used = older || (v.epoch == token_.epoch() && token_.held_in() == v.epoch);
    if (!members || members->size() < 2 || v.epoch <= view_.epoch || epoch_used) {  // other members for the same epoch too
        ++stats_.views_refused;
        return false;
    }
    token_.adopt_epoch(v.epoch);  // already there when a token of it came first: nothing to purge
    view_ = NodeView{v.epoch, std::move(*members), {}};
    view_.neighbours = neighbours_in(view_.members, config_.self);
    token_.set_members(view_.members);
    const Neighbours n = view_.neighbours.value_or(Neighbours{config_.predecessor, config_.successor});
    participant_.reconnect({n.predecessor}, {n.successor});
    // A view comes from the monitor that runs now: markers of its snapshots are taken even here,
    // where no start of its era may ever come (with a single initiator, only the view's first
    // member gets starts; this node may have been that, for an earlier monitor).
    eras_.clear();
    ++stats_.views_adopted;
    out_.view_changed = true;
    next_lease_ask_ = Instant{};  // the monitor grants leases to the members of its newest view: ask in this one
    return true;
}

// A grant counts from when this process asked (its stamp), never from when it arrived: a grant
// that waited (in a socket, or while this process was stopped) may already be over.
template <typename Participant>
void BasicNode<Participant>::on_grant(NodeId from, Instant now, const LeaseGrant& g) {
    if (g.stamp > to_us(now)) {
        ++stats_.unexpected;  // no request of ours was made then
        return;
    }
    // Only the leader we promised grants: a lease of an earlier term (a deposed leader's, late or
    // replayed) would let this node pass a token the new leader may already have replaced.
    if (!from_leader(from, g.term)) {
        ++stats_.stale_term_orders;
        return;
    }
    ++stats_.lease_grants;
    granted_ = std::chrono::milliseconds(g.lease_ms);
    const Instant until = instant_us(g.stamp) + granted_;
    if (!lease_until_ || until > *lease_until_) lease_until_ = until;
}

template <typename Participant>
void BasicNode<Participant>::ask_lease(Instant now) {
    if (!config_.lease_required || now < next_lease_ask_) return;
    const LeaseRequest r{to_us(now), view_.epoch, promised_.term};
    if (promised_.term != kNoTerm) {
        send(promised_.monitor, r);
    } else {
        for (NodeId m : config_.monitors) send(m, r);  // no leader known yet: whichever leads grants
    }
    ++stats_.lease_requests;
    next_lease_ask_ = now + (leased(now) ? std::max<Duration>(granted_ / 4, kLeaseRetry) : kLeaseRetry);
}

template <typename Participant>
std::optional<Instant> BasicNode<Participant>::next_deadline() const {
    const std::optional<Instant> token = token_.next_deadline();
    if (!config_.lease_required) return token;
    // A token waiting for a lease waits for the next ask (and its grant), not its own release.
    if (token && !waiting_lease_ && *token < next_lease_ask_) return token;
    return next_lease_ask_;
}

template <typename Participant>
bool BasicNode<Participant>::is_monitor(NodeId n) const {
    return is_monitor_id(n) && std::find(config_.monitors.begin(), config_.monitors.end(), n) != config_.monitors.end();
}

// A term is promised once, to one monitor: a claim (round 0) of a later term is promised, and a
// lease of the earlier one given up (the new leader may replace the token without this node). A
// later round asks again for the term promised to that monitor (a leader checking it still
// leads): confirmed. Anything else is refused.
template <typename Participant>
void BasicNode<Participant>::on_claim(NodeId from, const TermClaim& c) {
    bool ok = false;
    if (c.round == 0 && c.term > promised_.term) {
        promise(from, c.term);
        ok = true;
    } else {
        ok = c.round > 0 && c.term == promised_.term && from == promised_.monitor;
        if (!ok) ++stats_.claims_refused;
    }
    send(from, TermPromise{c.term, c.round, ok, promised_.term, promised_.monitor, token_.epoch()});
}

template <typename Participant>
bool BasicNode<Participant>::obeys(NodeId from, Term term) {
    if (term > promised_.term) {
        promise(from, term);  // a leader this node did not hear claim: a majority promised it
        return true;
    }
    if (from_leader(from, term)) return true;
    ++stats_.stale_term_orders;
    send(from, TermPromise{term, 0, false, promised_.term, promised_.monitor, token_.epoch()});  // the claimant's term is past
    return false;
}

template <typename Participant>
void BasicNode<Participant>::promise(NodeId to, Term term) {
    promised_ = PromisedTerm{term, to};
    out_.promised = promised_;
    ++stats_.promises;
    lease_until_.reset();
    next_lease_ask_ = Instant{};  // ask the new leader at once
}

template <typename Participant>
std::vector<NodeId> BasicNode<Participant>::report_to(SnapshotId id) const {
    std::vector<NodeId> to;
    for (const auto& [monitor, era] : eras_)
        if (era == snapshot_era(id)) to.push_back(monitor);
    return to.empty() ? config_.monitors : to;
}

// The one token of the view's epoch, made once by this process however often it is ordered.
template <typename Participant>
bool BasicNode<Participant>::issue_token(Instant now, const IssueToken& c) {
    if (c.epoch != view_.epoch || c.epoch != token_.epoch() || !view_.neighbours) return false;
    if (issued_in_ == c.epoch) return true;
    issued_in_ = c.epoch;
    token_.issue(now, c.epoch);
    return true;
}

template <typename Participant>
void BasicNode<Participant>::on_timer(Instant now) {
    collect(now);
}

template <typename Participant>
bool BasicNode<Participant>::send_app(Instant, NodeId to, Bytes payload) {
    return token_.enqueue(to, std::move(payload));
}

template <typename Participant>
void BasicNode<Participant>::inject(Instant now, InjectKind kind) {
    token_.inject(kind);
    collect(now);
}

// The recorded tokens by epoch, newest first; the oldest beyond the first few lumped as Epoch{0}.
inline std::vector<EpochCount> epoch_counts(const std::vector<TokenSummary>& tokens) {
    std::map<Epoch, std::uint32_t, std::greater<>> by_epoch;
    for (const auto& t : tokens) ++by_epoch[t.epoch];
    std::vector<EpochCount> out;
    for (const auto& [e, n] : by_epoch) {
        if (out.size() < kMaxEpochCounts) {
            out.push_back({e, n});
        } else if (out.size() == kMaxEpochCounts) {
            out.push_back({Epoch{0}, n});
        } else {
            out.back().tokens += n;
        }
    }
    return out;
}

// Drains the parts in causal order: markers emitted by this input come before tokens released
// after it (a released token was part of the recorded state).
template <typename Participant>
void BasicNode<Participant>::collect(Instant now) {
    for (auto& mk : participant_.take_markers()) send(mk.to, MarkerMessage{mk.id});
    ask_lease(now);
    if (leased(now)) {
        waiting_lease_ = false;
        token_.on_timer(now);
    } else if (const auto due = token_.next_deadline(); due && *due <= now && !waiting_lease_) {
        waiting_lease_ = true;  // held (and counted by the snapshots as held) until a grant comes
        ++stats_.lease_waits;
    }
    for (auto& t : token_.take_forward()) {
        if (view_.neighbours) {
            send(view_.neighbours->successor, t);
        } else {
            ++stats_.passed_outside;  // left out of the ring: whatever it held is no token of the ring's
        }
    }
    for (auto& e : token_.take_events()) out_.token_events.push_back(std::move(e));
    if (token_.take_deliveries_changed() && config_.keep_delivery_record) out_.deliveries = token_.deliveries();
    for (auto& c : participant_.take_completed()) {
        SavedSnapshot saved{c.id, std::move(c.state.saved), {}};
        for (auto& ch : c.channels) saved.channel.insert(saved.channel.end(), ch.messages.begin(), ch.messages.end());
        SnapshotReport r;
        r.id = c.id;
        r.node = config_.self;
        r.incarnation = config_.incarnation;
        r.state = std::move(c.state.summary);
        r.channel_from = *predecessor();  // only members take part in snapshots
        for (const auto& t : saved.channel) r.in_flight.push_back(summarize(t));
        kept_.add(std::move(saved));
        if (const SavedSnapshot* oldest = kept_.oldest()) token_.forget_journals_before(oldest->token);
        r.kept = kept_.ids();
        r.pinned = kept_.pinned();
        r.in_flight_epochs = epoch_counts(r.in_flight);
        // Counts stay true; the lists are cut to what a report carries.
        r.in_flight_count = static_cast<std::uint32_t>(r.in_flight.size());
        if (r.in_flight.size() > kMaxTokensInReport) r.in_flight.resize(kMaxTokensInReport);
        if (r.state.held.size() > kMaxTokensInReport) r.state.held.resize(kMaxTokensInReport);
        for (NodeId m : report_to(r.id)) send(m, r);
        ++stats_.snapshots_reported;
    }
    for (auto& s : kept_.take_written()) out_.saved.push_back(std::move(s));
    for (auto id : kept_.take_erased()) out_.erased.push_back(id);
}

template <typename Participant>
void BasicNode<Participant>::take_output(NodeOutput& out) {
    for (auto& m : out_.messages) out.messages.push_back(std::move(m));
    for (auto& e : out_.token_events) out.token_events.push_back(std::move(e));
    for (auto& i : out_.impair) out.impair.push_back(i);
    for (auto& s : out_.saved) out.saved.push_back(std::move(s));
    for (auto id : out_.erased) out.erased.push_back(id);
    if (out_.deliveries) out.deliveries = std::move(out_.deliveries);
    out.view_changed |= out_.view_changed;
    if (out_.promised) out.promised = out_.promised;
    out_.clear();
}

}  // namespace ringwatch
