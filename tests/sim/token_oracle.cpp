// Token identities from birth to death, and the cut each node recorded.
#include "tests/sim/token_oracle.h"

#include <algorithm>

#include <fmt/format.h>

namespace ringwatch::sim {

namespace {
constexpr std::size_t kRecordingsKept = 4096;  // per node generation; older ones are never reported
}

TokenOracle::TokenOracle(std::vector<NodeId> ring, Violations& violations) : ring_(ring), violations_(&violations) {
    for (std::size_t i = 0; i < ring.size(); ++i) {
        nodes_[ring[i]].pred = ring[(i + ring.size() - 1) % ring.size()];
        nodes_[ring[i]].members = ring;
    }
    timeline_.push_back({Instant{}, count_});
}

TokenOracle::Uid TokenOracle::born(Instant now, std::uint32_t epoch) {
    const Uid uid = next_uid_++;
    epoch_of_[uid] = epoch;
    if (counted(uid)) {
        ++count_.certain;
        note(now);
    }
    return uid;
}

void TokenOracle::died(Instant now, Uid uid, bool open_before) {
    const bool was_counted = counted(uid);
    epoch_of_.erase(uid);
    if (!was_counted) return;  // a stale token's end changes nothing
    if (open_before) {
        --count_.open;
    } else {
        --count_.certain;
    }
    note(now);
}

// The epoch rule: a node that adopts a newer epoch discards what it holds (every token it holds is
// of its old epoch). The newest epoch adopted anywhere is the current one; the count is of its tokens.
void TokenOracle::adopt(Instant now, NodeTruth& n, std::uint32_t epoch) {
    if (epoch <= n.epoch) return;
    n.epoch = epoch;
    for (Uid uid : n.held) died(now, uid, false);
    n.held.clear();
    if (epoch > current_) {
        current_ = epoch;
        recount(now);
    }
}

void TokenOracle::recount(Instant now) {
    TokenCount c;
    for (const auto& [id, n] : nodes_)
        for (Uid uid : n.held) c.certain += counted(uid) ? 1 : 0;
    for (const auto& [key, q] : links_)
        for (const Entry& e : q)
            if (counted(e.uid)) ++(e.open ? c.open : c.certain);
    count_ = c;
    note(now);
}

void TokenOracle::note(Instant now) {
    if (timeline_.back().second == count_) return;
    if (timeline_.back().first == now) {
        timeline_.back().second = count_;  // several changes at one instant: the last one stands
        if (timeline_.size() > 1 && timeline_[timeline_.size() - 2].second == count_) timeline_.pop_back();
    } else {
        timeline_.push_back({now, count_});
    }
}

void TokenOracle::booted(NodeId n, std::uint32_t epoch) {
    NodeTruth& t = nodes_.at(n);
    ++t.gen;
    // A new process's links start new sessions with the current processes of its peers, or, where
    // a peer's process is dead, with the next one to start.
    std::erase_if(connected_, [n](const auto& kv) { return kv.first.first == n; });  // its links meet their peers anew
    for (auto& [key, g] : session_gen_) {
        if (key.first != n) continue;
        const NodeTruth& peer = nodes_.at(key.second);
        g = peer.up ? peer.gen : peer.gen + 1;
    }
    t.up = true;
    t.held.clear();
    pending_orders_[n].clear();  // orders to the dead process: never acknowledged
    t.armed_lose = t.armed_duplicate = 0;
    t.copy_next = false;
    // It starts in the configured ring, whatever view its predecessor took.
    t.view_epoch = 0;
    t.members = ring_;
    t.in_view = true;
    t.issued_in.reset();
    const auto at = std::find(ring_.begin(), ring_.end(), n);
    t.pred = ring_[(static_cast<std::size_t>(at - ring_.begin()) + ring_.size() - 1) % ring_.size()];
    // A new process starts with no epoch, or the one its state directory kept, and adopts newer
    // ones from tokens and orders. It holds nothing, and makes nothing on its own.
    t.epoch = epoch;
}

void TokenOracle::crashed(Instant now, NodeId n) {
    NodeTruth& t = nodes_.at(n);
    t.up = false;
    pending_rollbacks_.erase(n);
    // What it held dies with it.
    for (Uid uid : t.held) died(now, uid, false);
    t.held.clear();
    for (auto& [key, q] : links_) {
        if (key.second == n) {
            // On a link to the dead process: if the sender's link had a session with it, it will
            // never hand these to a later generation; if it had none yet (the sender's process is
            // new and the handshake never completed), the next process it meets gets them.
            const auto met = connected_.find(key);
            const bool session = met != connected_.end() && met->second == t.gen;
            for (auto it = q.begin(); it != q.end();) {
                if (it->to_gen == t.gen && !session && nodes_.at(key.first).up && it->from_gen == nodes_.at(key.first).gen) {
                    it->to_gen = t.gen + 1;
                    ++it;
                } else if (it->to_gen == t.gen) {
                    died(now, it->uid, it->open);
                    it = q.erase(it);
                } else {
                    ++it;
                }
            }
        } else if (key.first == n) {
            // Sent by it: only what is still in the network may yet arrive.
            for (auto& e : q) {
                if (e.from_gen == t.gen && !e.open) {
                    e.open = true;
                    if (counted(e.uid)) {
                        --count_.certain;
                        ++count_.open;
                    }
                }
            }
        }
    }
    note(now);
}

void TokenOracle::sender_gone(Instant now, NodeId n, std::uint32_t gen) {
    for (auto& [key, q] : links_) {
        if (key.first != n) continue;
        for (auto it = q.begin(); it != q.end();) {
            if (it->from_gen == gen && it->open) {
                died(now, it->uid, true);
                it = q.erase(it);
            } else {
                ++it;
            }
        }
    }
}

void TokenOracle::link_reset(Instant now, NodeId from, NodeId to) {
    auto& q = links_[{from, to}];
    for (const Entry& e : q) died(now, e.uid, e.open);
    q.clear();
    session_gen_[{from, to}] = nodes_.at(to).gen;
    connected_[{from, to}] = nodes_.at(to).gen;
}

void TokenOracle::link_connected(NodeId from, NodeId to) {
    const std::uint32_t gen = nodes_.at(to).gen, from_gen = nodes_.at(from).gen;
    session_gen_[{from, to}] = gen;
    connected_[{from, to}] = gen;
    for (Entry& e : links_[{from, to}])
        if (e.from_gen == from_gen && e.to_gen < gen) e.to_gen = gen;
}

void TokenOracle::armed(NodeId n, InjectKind kind) {
    NodeTruth& t = nodes_.at(n);
    if (kind == InjectKind::lose) {
        ++t.armed_lose;
    } else {
        ++t.armed_duplicate;
    }
}

void TokenOracle::made(Instant now, NodeId n) {
    NodeTruth& t = nodes_.at(n);
    t.held.push_back(born(now, t.epoch));
}

void TokenOracle::record(Instant now, NodeTruth& n, NodeId id, SnapshotId snap, bool by_marker) {
    auto& recs = recordings_[{id, n.gen}];
    auto [it, fresh] = recs.try_emplace(snap);
    const Recording& r = it->second;
    const bool closes = by_marker && (fresh || it->second.channel_open);
    if (fresh) {
        it->second.held = static_cast<std::uint32_t>(n.held.size());
        it->second.epoch = n.epoch;
        it->second.channel_open = !by_marker;  // the channel a first marker came on is recorded empty
        if (observer_) observer_->recorded(now, id, snap, r.held, by_marker);
        if (on_recorded) on_recorded(id, snap);
    } else if (by_marker) {
        it->second.channel_open = false;
    }
    if (closes && observer_) observer_->cut_closed(now, id, snap, r.held, r.in_flight);
    if (fresh && recs.size() > kRecordingsKept) recs.erase(recs.begin());
}

void TokenOracle::took_effect(const FaultEffect& e) {
    effects_.push_back(e);
    if (observer_) observer_->fault_took_effect(e);
}

void TokenOracle::handed(Instant now, NodeId to, NodeId from, std::uint32_t from_gen, const oracle_wire::Read& m) {
    NodeTruth& t = nodes_.at(to);
    if (m.kind == oracle_wire::Kind::start && is_monitor_id(from)) {
        record(now, t, to, SnapshotId{m.snapshot}, false);
        return;
    }
    if (m.kind == oracle_wire::Kind::recover && m.rollback && (is_monitor_id(from) || is_tool_id(from))) {
        // Restore: what happens depends on whether the node keeps that snapshot; its answer says.
        pending_rollbacks_[to].push_back({m.command, SnapshotId{m.snapshot}, m.epoch});
        return;
    }
    if (m.kind == oracle_wire::Kind::recover && (is_monitor_id(from) || is_tool_id(from))) {
        // Purge and reissue, if the node obeys it (its answer says).
        pending_orders_[to][{from, m.command}] = PendingOrder{PendingOrder::Kind::regenerate, m.epoch, std::nullopt, m.issuer, m.term};
        return;
    }
    if (m.kind == oracle_wire::Kind::view && is_monitor_id(from)) return view_ordered(from, to, m);
    if (m.kind == oracle_wire::Kind::issue && is_monitor_id(from)) {
        pending_orders_[to][{from, m.command}] = PendingOrder{PendingOrder::Kind::issue, m.epoch, std::nullopt, 0, m.term};
        return;
    }
    if (from != t.pred || !t.in_view) {
        // Not from its predecessor in its view (a node it no longer follows, or any node while it is
        // in no view): a token is dropped where it arrives.
        if (m.kind == oracle_wire::Kind::token)
            if (const auto e = arrived(now, from, to, from_gen)) died(now, e->uid, e->open);
        return;
    }
    if (m.kind == oracle_wire::Kind::marker) {
        record(now, t, to, SnapshotId{m.snapshot}, true);
        return;
    }
    if (m.kind != oracle_wire::Kind::token) return;

    const std::optional<Entry> e = arrived(now, from, to, from_gen);
    Uid uid;
    if (!e) {
        violations_->add(rule::conservation, fmt::format("at {} us node {} was handed a token from node {} that node {} never passed on "
                                                         "(or that was already delivered)",
                                                         to_us(now), to, from, from));
        uid = born(now, m.epoch);
    } else {
        uid = e->uid;
        if (e->open && counted(uid)) {
            --count_.open;
            ++count_.certain;
            note(now);
        }
        if (e->to_gen != t.gen) {
            violations_->add(rule::conservation, fmt::format("at {} us a token node {} passed on to incarnation {} of node {} reached its "
                                                             "incarnation {}",
                                                             to_us(now), from, e->to_gen, to, t.gen));
        }
    }
    // Every snapshot still recording this channel records it in flight, whatever happens next.
    for (auto& [id, r] : recordings_[{to, t.gen}]) {
        if (!r.channel_open) continue;
        ++r.in_flight;
        ++r.in_flight_by_epoch[m.epoch];
        if (observer_) observer_->recorded_in_flight(now, to, id);
    }
    // The epoch rule before any fault: an older epoch's token is discarded on arrival; a newer one
    // makes the node adopt its epoch.
    if (m.epoch < t.epoch) {
        died(now, uid, false);
        return;
    }
    adopt(now, t, m.epoch);
    if (t.armed_lose > 0) {
        --t.armed_lose;
        took_effect({now, to, InjectKind::lose});
        died(now, uid, false);
        return;
    }
    t.held.push_back(uid);
}

std::optional<TokenOracle::Entry> TokenOracle::arrived(Instant now, NodeId from, NodeId to, std::uint32_t from_gen) {
    auto& q = links_[{from, to}];
    while (!q.empty()) {
        const Entry front = q.front();
        q.pop_front();
        if (front.from_gen == from_gen) return front;
        died(now, front.uid, front.open);
    }
    return std::nullopt;
}

// A node takes a view as the README says: refused when its bitmap does not fit the configured ring
// or names fewer than two nodes, or its epoch is not above the node's view and token epochs (a
// repeat of the view it holds is no change). Taking it discards the older epochs' tokens and the
// snapshots under way; it then follows its predecessor in the view, or nobody when left out.
void TokenOracle::view_ordered(NodeId monitor, NodeId id, const oracle_wire::Read& m) {
    std::vector<NodeId> members;
    bool fits = m.members.size() == (ring_.size() + 7) / 8;
    for (std::size_t i = 0; fits && i < m.members.size() * 8; ++i) {
        if (!(m.members[i / 8] & (1u << (i % 8)))) continue;
        if (i >= ring_.size()) {
            fits = false;
        } else {
            members.push_back(ring_[i]);
        }
    }
    pending_orders_[id][{monitor, m.command}] =
        PendingOrder{PendingOrder::Kind::view, m.epoch, fits ? std::optional(members) : std::nullopt, 0, m.term};
}

// Purge and reissue, obeyed: a newer epoch is adopted (what is held is discarded) and its issuer
// makes the one new token; an order for an epoch not newer changes nothing.
void TokenOracle::regenerated(Instant now, NodeTruth& t, NodeId id, const PendingOrder& o) {
    if (o.epoch <= t.epoch) return;
    adopt(now, t, o.epoch);
    if (o.issuer != id.value) return;
    // The only birth there is: one token per epoch, where the order names.
    birth_at_.emplace(o.epoch, now);
    if (!ordered_births_.insert(o.epoch).second)
        violations_->add(rule::birth, fmt::format("at {} us node {} was ordered to make a token of epoch {}, which already had its "
                                                  "birth: two tokens born in one epoch",
                                                  to_us(now), id, o.epoch));
    t.held.push_back(born(now, o.epoch));
    born_in_view_of(t);
}

// Taken (acknowledged ok): the view's epoch adopted as a regenerate's (older tokens purged), its
// neighbours followed. A view not of our ring, or of fewer than two, taken: the node is wrong.
void TokenOracle::view_taken(Instant now, NodeTruth& t, NodeId id, const std::vector<NodeId>& members, std::uint32_t epoch) {
    if (epoch == t.view_epoch && members == t.members) return;  // a repeat
    if (epoch > t.epoch) adopt(now, t, epoch);
    t.view_epoch = epoch;
    t.members = members;
    const auto at = std::find(members.begin(), members.end(), id);
    t.in_view = at != members.end();
    if (t.in_view) t.pred = members[(static_cast<std::size_t>(at - members.begin()) + members.size() - 1) % members.size()];
    // The snapshots under way are dropped, and stay seen: none is recorded again.
    for (auto& [snap, r] : recordings_[{id, t.gen}]) r.channel_open = false;
}

// The view's one token, made by the member named, once per process.
void TokenOracle::issue_taken(Instant now, NodeTruth& t, NodeId id, std::uint32_t epoch) {
    if (t.issued_in == epoch) return;
    t.issued_in = epoch;
    birth_at_.emplace(epoch, now);
    if (!ordered_births_.insert(epoch).second)
        violations_->add(rule::birth, fmt::format("at {} us node {} was ordered to make the token of view epoch {}, which already had its "
                                                  "birth: two tokens born in one epoch",
                                                  to_us(now), id, epoch));
    t.held.push_back(born(now, epoch));
    born_in_view_of(t);
}

// A token born by order, in the view its issuer holds: the nodes that view leaves out may pass
// nothing on from now on (the partition rule).
void TokenOracle::born_in_view_of(const NodeTruth& issuer) {
    if (issuer.view_epoch <= born_view_epoch_ || issuer.members.empty()) return;
    born_view_epoch_ = issuer.view_epoch;
    born_view_members_ = issuer.members;
}

// Terms fence the monitors: once a node obeyed an order of term t, it obeys none of an older term
// (README, Terms). A node's promise is on disk: this holds across its restarts.
void TokenOracle::obeyed(Instant now, NodeId node, NodeId monitor, std::uint32_t term, std::string_view what) {
    std::uint32_t& newest = obeyed_term_[node];
    if (term < newest)
        violations_->add(rule::old_term, fmt::format("at {} us node {} {} term {} from monitor {}, after obeying term {}", to_us(now), node, what,
                                                     term, monitor_index(monitor), newest));
    newest = std::max(newest, term);
}

void TokenOracle::passed(Instant now, NodeId from, NodeId to, const oracle_wire::Read& m, bool taken) {
    if (m.kind == oracle_wire::Kind::promise && m.ok && is_monitor_id(to)) {
        // A promise (round 0) makes its term the node's; a confirmation (a later round) of a term
        // older than one it obeyed would let a deposed leader act (grant leases).
        if (m.round > 0) return obeyed(now, from, to, m.term, "confirmed");
        obeyed_term_[from] = std::max(obeyed_term_[from], m.term);
        return;
    }
    if (m.kind == oracle_wire::Kind::ack) {
        if (auto& orders = pending_orders_[from]; orders.contains({to, m.command})) {
            const PendingOrder o = orders[{to, m.command}];
            orders.erase({to, m.command});
            NodeTruth& t = nodes_.at(from);
            if (!m.ok) return;
            if (is_monitor_id(to)) obeyed(now, from, to, o.term, "obeyed an order of");
            if (o.kind == PendingOrder::Kind::regenerate) return regenerated(now, t, from, o);
            if (o.kind == PendingOrder::Kind::issue) return issue_taken(now, t, from, o.epoch);
            if (!o.members || o.members->size() < 2)
                violations_->add(rule::birth, fmt::format("at {} us node {} took a view that is no ring of ours", to_us(now), from));
            if (o.members) view_taken(now, t, from, *o.members, o.epoch);
            return;
        }
        auto& pending = pending_rollbacks_[from];
        auto it = std::find_if(pending.begin(), pending.end(), [&](const PendingRollback& p) { return p.command == m.command; });
        if (it == pending.end()) return;
        const PendingRollback p = *it;
        pending.erase(it);
        if (m.ok) restored(now, from, p);
        return;
    }
    if (m.kind != oracle_wire::Kind::token) return;
    if (born_view_epoch_ != 0 && std::find(born_view_members_.begin(), born_view_members_.end(), from) == born_view_members_.end())
        violations_->add(rule::partition, fmt::format("at {} us node {} passed on a token of epoch {} although the view of epoch {}, which left "
                                                      "it out, had its token: two usable tokens",
                                                      to_us(now), from, m.epoch, born_view_epoch_));
    NodeTruth& t = nodes_.at(from);
    Uid uid;
    if (t.copy_next) {
        t.copy_next = false;
        took_effect({now, from, InjectKind::duplicate});
        uid = born(now, m.epoch);
    } else if (!t.held.empty()) {
        uid = t.held.front();
        t.held.pop_front();
        if (t.armed_duplicate > 0) {
            --t.armed_duplicate;
            t.copy_next = true;
        }
    } else {
        violations_->add(rule::birth, fmt::format("at {} us node {} passed on a token it did not hold: a token born without the monitor's "
                                                  "order",
                                                  to_us(now), from));
        uid = born(now, m.epoch);
    }
    if (!taken) {
        violations_->add(rule::conservation,
                         fmt::format("at {} us node {}'s token for node {} was dropped: its link would not take it", to_us(now), from, to));
        died(now, uid, false);
        return;
    }
    const NodeTruth& dst = nodes_.at(to);
    if (dst.gen == 0) {
        // Not started yet (the ring's processes start together): its first incarnation will get it.
        links_[{from, to}].push_back(Entry{uid, t.gen, 1, false});
        return;
    }
    if (!dst.up) {
        // Passed on to a crashed process. If the sender's link had a session with it, the token is
        // dropped when that link meets the next process (link_reset); if it had none (the sender
        // started after the crash, say), the next process to answer gets it. Undecided until then.
        if (counted(uid)) {
            --count_.certain;
            ++count_.open;
            note(now);
        }
        links_[{from, to}].push_back(Entry{uid, t.gen, dst.gen + 1, true});
        return;
    }
    auto [sg, fresh] = session_gen_.try_emplace({from, to}, 1);
    const bool undecided = sg->second < dst.gen;  // the sender's link may still speak to the old process
    if (undecided && counted(uid)) {
        --count_.certain;
        ++count_.open;
        note(now);
    }
    links_[{from, to}].push_back(Entry{uid, t.gen, dst.gen, undecided});
}

std::optional<TokenOracle::Cut> TokenOracle::reported(NodeId node, std::uint32_t gen, const SnapshotReport& r) {
    auto& recs = recordings_[{node, gen}];
    auto it = recs.find(r.id);
    if (it == recs.end()) {
        violations_->add(rule::cut, fmt::format("node {} reported snapshot {}, which it was never asked to record", node, r.id));
        return std::nullopt;
    }
    const Recording rec = it->second;
    if (!several_reports_) recs.erase(it);
    if (keep_reported_cuts_) {
        auto& cuts = reported_cuts_[node];
        cuts[r.id] = rec;
        if (cuts.size() > kRecordingsKept) cuts.erase(cuts.begin());
    }
    if (rec.channel_open) {
        violations_->add(rule::cut, fmt::format("node {} reported snapshot {} before its predecessor's marker arrived", node, r.id));
    }
    if (r.state.held_count != rec.held || r.in_flight_count != rec.in_flight) {
        violations_->add(rule::cut, fmt::format("node {} reported snapshot {} with {} held and {} in flight; it held {} when it recorded "
                                                "and {} arrived on its channel before the marker",
                                                node, r.id, r.state.held_count, r.in_flight_count, rec.held, rec.in_flight));
    }
    if (r.state.epoch.value != rec.epoch) {
        violations_->add(rule::cut, fmt::format("node {} reported snapshot {} recorded in epoch {}; it was in epoch {} when it recorded", node, r.id,
                                                r.state.epoch, rec.epoch));
    }
    std::map<std::uint32_t, std::uint32_t> reported_epochs;
    for (const auto& ec : r.in_flight_epochs) reported_epochs[ec.epoch.value] += ec.tokens;
    if (reported_epochs.size() <= kMaxEpochCounts && reported_epochs != rec.in_flight_by_epoch) {
        violations_->add(rule::cut,
                         fmt::format("node {} reported snapshot {} with its channel's tokens by epoch other than what arrived", node, r.id));
    }
    return Cut{rec.epoch, rec.held, rec.in_flight_by_epoch};
}

// A rollback, as the seed describes it: the node's tokens are what it held when it recorded the
// snapshot, then what its channel brought before the marker, by the epoch rules as they arrived (an
// older epoch's token discarded, a newer one adopted, dropping what was held), all made the new
// epoch; tokens of the new epoch it already holds (passed on by neighbours that restored first)
// stay; anything older it holds is gone.
void TokenOracle::restored(Instant now, NodeId id, const PendingRollback& p) {
    if (on_restored) on_restored(id, p.snapshot);
    NodeTruth& t = nodes_.at(id);
    const auto cuts = reported_cuts_.find(id);
    const auto cut = cuts == reported_cuts_.end() ? std::map<SnapshotId, Recording>::const_iterator{} : cuts->second.find(p.snapshot);
    if (cuts == reported_cuts_.end() || cut == cuts->second.end()) {
        violations_->add(rule::conservation,
                         fmt::format("at {} us node {} restored snapshot {}, which it never reported recording", to_us(now), id, p.snapshot));
        return;
    }
    const Recording& rec = cut->second;
    std::uint32_t top = rec.epoch;
    for (const auto& [e, n] : rec.in_flight_by_epoch) top = std::max(top, e);
    std::uint32_t survivors = 0;
    if (top == rec.epoch) survivors += rec.held;
    if (auto in = rec.in_flight_by_epoch.find(top); in != rec.in_flight_by_epoch.end()) survivors += in->second;

    std::deque<Uid> kept;
    for (Uid uid : t.held) {
        if (t.epoch == p.epoch) {
            kept.push_back(uid);
        } else {
            died(now, uid, false);
        }
    }
    t.held.clear();
    t.epoch = p.epoch;
    if (p.epoch > current_) {
        current_ = p.epoch;
        recount(now);
    }
    for (std::uint32_t i = 0; i < survivors; ++i) t.held.push_back(born(now, p.epoch));
    for (Uid uid : kept) t.held.push_back(uid);
}

}  // namespace ringwatch::sim
