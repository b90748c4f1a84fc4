// The simulator's rules over verdicts and the oracle's truth.
#include "tests/sim/invariants.h"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace ringwatch::sim {

namespace {
constexpr std::uint64_t kReportsKept = 4096;
constexpr Duration kRestartNoticed = std::chrono::seconds(5);
std::string ids(const std::vector<NodeId>& v) {
    std::vector<std::uint16_t> raw;
    for (NodeId n : v) raw.push_back(n.value);
    return fmt::format("[{}]", fmt::join(raw, ","));
}
}  // namespace

InvariantChecker::InvariantChecker(std::vector<NodeId> ring, DetectionBound bound, const TokenOracle& oracle, Violations& violations)
    : ring_(std::move(ring)), bound_(bound), oracle_(&oracle), violations_(&violations) {}

void InvariantChecker::node_down(Instant now, NodeId n) {
    outages_[n].push_back({now, std::nullopt});
    reached_monitor_.erase(n);  // what the crashed process sent says nothing of the node from now on
}

void InvariantChecker::node_up(Instant now, NodeId n, std::uint32_t gen) {
    auto& spans = outages_[n];
    if (!spans.empty() && !spans.back().second) spans.back().second = now;
    boots_[n].push_back({now, gen});
}

void InvariantChecker::snapshot_started(SnapshotId id) {
    auto [it, fresh] = at_start_.try_emplace(id);
    if (!fresh) return;
    for (NodeId n : ring_) {
        AtStart& a = it->second[n];
        if (const auto b = boots_.find(n); b != boots_.end() && !b->second.empty()) {
            a.gen = b->second.back().second;
            a.boots = b->second.size();
        }
        const auto o = outages_.find(n);
        a.up = a.boots > 0 && (o == outages_.end() || o->second.empty() || o->second.back().second.has_value());
    }
    if (id.value > kReportsKept) at_start_.erase(at_start_.begin(), at_start_.lower_bound(SnapshotId{id.value - kReportsKept}));
}

void InvariantChecker::report_handed(SnapshotId id, NodeId node, std::uint32_t gen, std::optional<TokenOracle::Cut> cut) {
    reports_[id].try_emplace(node, HandedReport{gen, std::move(cut)});  // the monitor keeps the first report of each node
}

std::optional<InvariantChecker::CutCount> InvariantChecker::count_cut(const std::map<NodeId, HandedReport>& reports) {
    CutCount c;
    for (const auto& [n, r] : reports) {
        if (!r.cut) return std::nullopt;
        c.epoch = std::max(c.epoch, r.cut->epoch);
        for (const auto& [e, k] : r.cut->in_flight) c.epoch = std::max(c.epoch, e);
    }
    for (const auto& [n, r] : reports) {
        if (r.cut->epoch == c.epoch) c.tokens += r.cut->held;
        c.straddles |= r.cut->epoch < c.epoch;
        if (auto it = r.cut->in_flight.find(c.epoch); it != r.cut->in_flight.end()) c.tokens += it->second;
    }
    return c;
}

std::uint32_t InvariantChecker::generation_at(NodeId n, Instant t) const {
    std::uint32_t gen = 0;
    auto it = boots_.find(n);
    if (it != boots_.end())
        for (const auto& [at, g] : it->second)
            if (at <= t) gen = g;
    return gen;
}

// A process of n other than its first started in [a, b].
bool InvariantChecker::restarted_within(NodeId n, Instant a, Instant b) const {
    auto it = boots_.find(n);
    if (it == boots_.end()) return false;
    for (const auto& [at, g] : it->second)
        if (g > 1 && at >= a && at <= b) return true;
    return false;
}

std::optional<TokenCount> InvariantChecker::constant_over(Instant a, Instant b) const {
    const auto& tl = oracle_->timeline();
    std::optional<TokenCount> c;
    for (const auto& [since, count] : tl) {
        if (since <= a) {
            c = count;
        } else if (since <= b) {
            if (c && !(count == *c)) return std::nullopt;
        } else {
            break;
        }
    }
    return c;
}

bool InvariantChecker::exactly_one_at_some_point(Instant a, Instant b) const {
    const auto& tl = oracle_->timeline();
    for (std::size_t i = 0; i < tl.size(); ++i) {
        const Instant begin = tl[i].first;
        const bool ends_before_a = i + 1 < tl.size() && tl[i + 1].first <= a;
        if (begin > b || ends_before_a) continue;
        if (tl[i].second.exactly(1) || tl[i].second.open > 0) return true;  // 1, or maybe 1
    }
    return false;
}

bool InvariantChecker::down_throughout(NodeId n, Instant a, Instant b) const {
    auto it = outages_.find(n);
    if (it == outages_.end()) return false;
    for (const auto& [down, up] : it->second)
        if (down <= a && (!up || *up >= b)) return true;
    return false;
}

bool InvariantChecker::disturbed_since(Instant t) const {
    for (const auto& e : oracle_->fault_effects())
        if (e.at >= t) return true;
    if (crashed_since(t)) return true;
    const auto& tl = oracle_->timeline();
    for (std::size_t i = 0; i < tl.size(); ++i) {
        const bool ends_before = i + 1 < tl.size() && tl[i + 1].first <= t;
        if (!ends_before && !tl[i].second.exactly(1)) return true;
    }
    return false;
}

void InvariantChecker::verdict(const Verdict& v, Instant now) {
    const Instant from = v.started;
    decided_.push_back({v.id, v.kind, from, now, v.members});
    auto node_reports = std::move(reports_[v.id]);
    reports_.erase(v.id);
    // Late reports of long-decided snapshots are not kept forever.
    if (v.id.value > kReportsKept) reports_.erase(reports_.begin(), reports_.lower_bound(SnapshotId{v.id.value - kReportsKept}));

    // Each node's process when the snapshot began, by the order of events when the start was seen.
    std::optional<std::map<NodeId, AtStart>> at_start;
    if (const auto started = at_start_.find(v.id); started != at_start_.end()) {
        at_start = std::move(started->second);
        at_start_.erase(started);
    }
    auto gen_at_start = [&](NodeId n) {
        if (at_start && at_start->contains(n)) return at_start->at(n).gen;
        return generation_at(n, from);
    };
    auto down_all_along = [&](NodeId n) {
        if (at_start && at_start->contains(n)) {
            const AtStart& a = at_start->at(n);
            const auto b = boots_.find(n);
            return !a.up && (b == boots_.end() ? 0 : b->second.size()) == a.boots;
        }
        return down_throughout(n, from, now);
    };
    // The ring it was taken in: the view's members (a node left out of the view owes no report).
    const std::vector<NodeId>& ring = v.members.empty() ? ring_ : v.members;
    for (NodeId n : ring) {
        if (down_all_along(n) && (v.kind != VerdictKind::inconclusive || std::find(v.missing.begin(), v.missing.end(), n) == v.missing.end())) {
            violations_->add(rule::outage, fmt::format("snapshot {} is {} (missing {}) although node {} was down throughout", v.id, to_string(v.kind),
                                                       ids(v.missing), n));
        }
    }
    std::vector<NodeId> unreported;
    for (NodeId n : ring)
        if (!node_reports.contains(n)) unreported.push_back(n);

    if (v.kind == VerdictKind::inconclusive) {
        std::vector<NodeId> named = v.missing;
        std::sort(named.begin(), named.end());
        if (named != unreported) {
            violations_->add(rule::naming, fmt::format("snapshot {} is inconclusive naming {}; the nodes that did not report are {}", v.id,
                                                       ids(v.missing), ids(unreported)));
        }
        // The monitor learns a process from its link: a restart (possibly noticed a little before
        // the snapshot), or every node anew when the monitor itself has just started.
        bool monitor_new = false;
        for (Instant t : monitor_starts_) monitor_new |= t >= from - kRestartNoticed && t <= now;
        for (NodeId n : v.restarted) {
            // A monitor that started while the node could not be heard (paused, cut off) first hears
            // its process whenever it can again, perhaps during this snapshot.
            bool first_heard = monitor_new;
            for (Instant t : monitor_starts_) first_heard |= t <= from && unreachable_at_some_point(n, t, from);
            // Or its link first connected after the snapshot began (a lossy network can hold the
            // first handshake back for seconds): the monitor had no process of it to compare.
            const auto connected = first_connected_.find(n);
            first_heard |= connected == first_connected_.end() || connected->second >= from - kRestartNoticed;
            if (!first_heard && !restarted_within(n, from - kRestartNoticed, now)) {
                violations_->add(rule::naming, fmt::format("snapshot {} names node {} as restarted, but no new process of it (or of the "
                                                           "monitor) started between {} and {} us",
                                                           v.id, n, to_us(from - kRestartNoticed), to_us(now)));
            }
        }
        if (v.forming) forming_verdict(v, from, now);
        if (v.stale_view) {
            // Only when a node outside the members it asked did take part (its cut lacks it).
            const bool outsider = std::any_of(node_reports.begin(), node_reports.end(),
                                              [&ring](const auto& r) { return std::find(ring.begin(), ring.end(), r.first) == ring.end(); });
            if (!outsider)
                violations_->add(rule::verdict,
                                 fmt::format("snapshot {} says its view was stale, but only its members {} reported it", v.id, ids(ring)));
        }
        if (v.epoch_change && !v.stale_view) {
            // Only a cut that truly straddles an epoch change and does not find one token.
            const auto cc = count_cut(node_reports);
            if (cc && (!cc->straddles || cc->tokens == 1)) {
                violations_->add(rule::verdict, fmt::format("snapshot {} is inconclusive for an epoch change, but its cut {} and counts {} token(s) "
                                                            "of epoch {}",
                                                            v.id, cc->straddles ? "straddles one" : "does not straddle one", cc->tokens, cc->epoch));
            }
        }
        return;
    }
    if (!unreported.empty()) {
        violations_->add(rule::verdict, fmt::format("snapshot {} is {} without a report from {}", v.id, to_string(v.kind), ids(unreported)));
        return;
    }
    const auto cc = count_cut(node_reports);
    const bool known = cc.has_value();
    const std::uint32_t expected = cc ? cc->tokens : 0;
    if (cc && cc->straddles && cc->tokens != 1) {
        violations_->add(rule::verdict, fmt::format("snapshot {} says {} although its cut straddles the change to epoch {} and finds {} of its "
                                                    "tokens (nodes that had not adopted it yet may have purged theirs)",
                                                    v.id, to_string(v.kind), cc->epoch, cc->tokens));
    }
    if (cc && v.epoch.value != cc->epoch) {
        violations_->add(rule::verdict, fmt::format("snapshot {} counts epoch {}; its cut's newest epoch is {}", v.id, v.epoch, cc->epoch));
    }
    for (const auto& [n, r] : node_reports) {
        // A cut is taken against the processes alive when the snapshot began (a process started
        // later may have joined it afresh, on a delayed marker).
        if (const auto gen = gen_at_start(n); gen != 0 && r.gen != gen) {
            violations_->add(rule::verdict, fmt::format("snapshot {} is {} although node {}'s report came from a process started after "
                                                        "the snapshot began",
                                                        v.id, to_string(v.kind), n));
        }
    }
    const VerdictKind right_kind = verdict_for(v.tokens);
    if (known && v.tokens != expected) {
        violations_->add(rule::verdict, fmt::format("snapshot {} counts {} token(s); its nodes' recorded cut holds {}", v.id, v.tokens, expected));
    } else if (v.kind != right_kind) {
        violations_->add(rule::verdict, fmt::format("snapshot {} counts {} token(s) but says {}", v.id, v.tokens, to_string(v.kind)));
    }
    // A cut may come before the birth of its epoch's token (a view's issuer records on a marker
    // that overtook the order to make it): no token in it, and none lost. An alarm then, while the
    // token has lived on since its birth, is false.
    if (const auto born = oracle_->born_at(v.epoch.value); v.kind == VerdictKind::token_lost && born && *born > from) {
        if (auto c = constant_over(*born, now); c && c->open == 0 && c->certain == 1)
            violations_->add(rule::false_alarm, fmt::format("snapshot {} says token_lost in epoch {}, whose token was born at {} us, after the "
                                                            "snapshot began ({} us), and lived on: its cut came before the birth",
                                                            v.id, v.epoch, to_us(*born), to_us(from)));
    }
    if (auto c = constant_over(from, now); c && c->open == 0 && v.tokens != c->certain) {
        violations_->add(c->certain == 1 ? rule::false_alarm : rule::truth,
                         fmt::format("snapshot {} says {} token(s) ({}); the true count was {} for its whole life ({} to {} us)", v.id, v.tokens,
                                     to_string(v.kind), c->certain, to_us(from), to_us(now)));
    }
}

// "Still forming" is only true of a ring that has no token: the count is 0 and stayed 0.
void InvariantChecker::forming_verdict(const Verdict& v, Instant from, Instant now) {
    if (v.tokens != 0 || !v.missing.empty()) {
        violations_->add(rule::verdict,
                         fmt::format("snapshot {} says the ring is forming with {} token(s) and missing {}", v.id, v.tokens, ids(v.missing)));
    }
    if (auto c = constant_over(from, now); c && !c->exactly(0)) {
        violations_->add(rule::truth, fmt::format("snapshot {} says the ring is still forming (no token yet); the true count was {} (+{} "
                                                  "undecided) for its whole life",
                                                  v.id, c->certain, c->open));
    }
}

void InvariantChecker::incident(const IncidentEvent& e) {
    if (e.kind == IncidentEventKind::recovery || e.kind == IncidentEventKind::recovered) {
        if (!open_incident_) {
            violations_->add(rule::incidents, fmt::format("a {} event (snapshot {}) with no incident open", to_string(e.kind), e.verdict.id));
        }
        if (e.kind == IncidentEventKind::recovery && e.issuer) recoveries_.push_back(e);
        return;
    }
    if (e.kind == IncidentEventKind::alarm) {
        if (!e.verdict.alarm() || e.verdict.kind != e.fault) {
            violations_->add(rule::incidents, fmt::format("an alarm {} raised by snapshot {}, whose verdict is {}", to_string(e.fault), e.verdict.id,
                                                          to_string(e.verdict.kind)));
        }
        if (open_incident_) {
            violations_->add(rule::incidents, fmt::format("a second alarm ({} at snapshot {}) while the incident raised at snapshot {} is "
                                                          "still open",
                                                          to_string(e.fault), e.verdict.id, open_incident_->verdict.id));
        }
        open_incident_ = e;
        return;
    }
    if (!open_incident_) {
        violations_->add(rule::incidents, fmt::format("snapshot {} resolved an incident that was not open", e.verdict.id));
        return;
    }
    const bool ends_it = e.verdict.kind == VerdictKind::ok || (e.verdict.alarm() && e.verdict.kind != open_incident_->fault);
    if (!ends_it || e.verdict.id <= open_incident_->verdict.id || e.fault != open_incident_->fault) {
        violations_->add(rule::incidents, fmt::format("snapshot {} ({}) resolved the {} incident raised at snapshot {}", e.verdict.id,
                                                      to_string(e.verdict.kind), to_string(e.fault), open_incident_->verdict.id));
    }
    open_incident_.reset();
}

bool InvariantChecker::down_at_some_point(NodeId n, Instant a, Instant b) const {
    auto it = outages_.find(n);
    if (it == outages_.end()) return false;
    for (const auto& [down, up] : it->second)
        if (down <= b && (!up || *up >= a)) return true;
    return false;
}

// A closed port is exact: the node had no process at some moment between when it was last heard
// and the event.
void InvariantChecker::node_event(const NodeEvent& e) {
    node_events_.push_back(e);
    if (e.kind == NodeEventKind::node_down && e.address == NodeAddress::port_closed && !down_at_some_point(e.node, e.at - e.silent_for, e.at)) {
        violations_->add(rule::node_events, fmt::format("node {} reported down with its port closed at {} us, but it was up from {} us on", e.node,
                                                        to_us(e.at), to_us(e.at - e.silent_for)));
    }
    // Silence is the node's, never the monitor's: a datagram from the node's current process reached
    // the monitor's socket less than a node timeout of the monitor's running time ago (its pauses
    // do not count: the datagram waited there for it).
    if (e.kind == NodeEventKind::node_down) {
        if (const auto it = reached_monitor_.find(e.node); it != reached_monitor_.end() && it->second <= e.at) {
            const Duration running = (e.at - it->second) - paused_within(it->second, e.at);
            if (running + jitter_ < liveness_.node_timeout) {
                violations_->add(rule::node_events, fmt::format("node {} reported down ({}) at {} us, but a datagram of its process reached the "
                                                                "monitor at {} us, {} ms of the monitor's running time before (node timeout {} ms)",
                                                                e.node, to_string(e.address), to_us(e.at), to_us(it->second), running.count() / 1000,
                                                                liveness_.node_timeout.count() / 1000));
            }
        }
    }
    if (e.kind == NodeEventKind::node_down && lossless_ && !down_at_some_point(e.node, e.at - e.silent_for, e.at) &&
        !unreachable_at_some_point(e.node, e.at - e.silent_for, e.at)) {
        violations_->add(rule::node_events, fmt::format("node {} reported down ({}) at {} us on a network that loses nothing, but it was up "
                                                        "throughout its {} ms of silence",
                                                        e.node, to_string(e.address), to_us(e.at), e.silent_for.count() / 1000));
    }
}

// A node left out for its silence (not for a view it failed to acknowledge, not for a closed port)
// was silent for evict_after: for at least half of it in one stretch, it could not be heard at all
// (a lossy network alone does not silence a node's links for seconds). That stretch may have
// ended shortly before: the monitor hears a node back only when an answer to its probes gets
// through, and a monitor that has just won a term leaves out at once the nodes it has not heard
// for evict_after, perhaps just as a partition heals.
void InvariantChecker::membership_event(const MembershipEvent& e) {
    if (e.kind != MembershipEventKind::node_evicted || e.address != NodeAddress::no_answer || e.unacknowledged || !evict_after_) return;
    if (!silenced(e.node, *evict_after_ / 2, e.at - liveness_.suspect_after, e.at)) {
        violations_->add(rule::eviction, fmt::format("node {} left out for its silence at {} us, but it was not cut off for {} ms in one "
                                                     "stretch ending after {} us (evict_after {} ms)",
                                                     e.node, to_us(e.at), evict_after_->count() / 2000, to_us(e.at - liveness_.suspect_after),
                                                     evict_after_->count() / 1000));
    }
}

bool InvariantChecker::silenced(NodeId n, Duration length, Instant ended_by, Instant at) const {
    for (const auto* spans : {&outages_, &unreachable_}) {
        const auto it = spans->find(n);
        if (it == spans->end()) continue;
        for (const auto& [from, to] : it->second) {
            const Instant end = to ? std::min(*to, at) : at;
            if (end >= ended_by && end - from >= length) return true;
        }
    }
    return false;
}

void InvariantChecker::finish_healing(Instant end, bool lossy) {
    if (!evict_after_ || lossy) return;
    // Noticed (a probe of a suspect refused), a view ordered and acknowledged, then a snapshot.
    const Duration heal = liveness_.suspect_after + 2 * liveness_.probe_every + ack_timeout_ + bound_.value();
    auto overlaps = [](const std::vector<std::pair<Instant, std::optional<Instant>>>& spans, Instant a, Instant b) {
        for (const auto& [from, to] : spans)
            if (from <= b && (!to || *to >= a)) return true;
        return false;
    };
    for (const auto& [n, spans] : outages_) {
        for (const auto& [down, up] : spans) {
            const Instant due = down + heal;
            if ((up && *up < due) || due > end) continue;
            // Nothing else disturbing the ring from a bound before the crash to the healing's due time.
            const Instant from = down - bound_.value();
            bool quiet = !overlaps(monitor_outages_, from, due) && !overlaps(monitor_pauses_, from, due);
            std::size_t live = 0;
            for (NodeId m : ring_) {
                if (m == n) continue;
                const auto o = outages_.find(m);
                const auto u = unreachable_.find(m);
                quiet &= (o == outages_.end() || !overlaps(o->second, from, due)) && (u == unreachable_.end() || !overlaps(u->second, from, due));
                ++live;
            }
            for (const auto& e : oracle_->fault_effects()) quiet &= e.at < from || e.at > due;
            if (!quiet || live < 2) continue;
            const bool healed = std::any_of(decided_.begin(), decided_.end(), [&](const Decided& d) {
                return d.kind == VerdictKind::ok && d.started > down && d.decided <= due &&
                       std::find(d.members.begin(), d.members.end(), n) == d.members.end();
            });
            if (!healed) {
                violations_->add(rule::healing, fmt::format("node {} crashed at {} us and stayed down, but no ok verdict of a ring without it came "
                                                            "by {} us ({} ms later)",
                                                            n, to_us(down), to_us(due), heal.count() / 1000));
            }
        }
    }
}

bool InvariantChecker::unreachable_at_some_point(NodeId n, Instant a, Instant b) const {
    const auto it = unreachable_.find(n);
    if (it == unreachable_.end()) return false;
    for (const auto& [from, to] : it->second)
        if (from <= b && (!to || *to >= a)) return true;
    return false;
}

Duration InvariantChecker::paused_within(Instant a, Instant b) const {
    Duration d{0};
    for (const auto& [from, to] : monitor_pauses_) {
        const Instant lo = std::max(a, from), hi = std::min(b, to.value_or(b));
        if (hi > lo) d += hi - lo;
    }
    return d;
}

void InvariantChecker::finish_liveness(Instant end) {
    // Heard at most a report's round trip before the crash; then the timeout; then a probe's slack.
    const Duration slack = liveness_.node_timeout + liveness_.probe_every + bound_.value();
    for (const auto& [n, spans] : outages_) {
        for (const auto& [down, up] : spans) {
            const Instant until = up.value_or(end);
            if (until - down < slack) continue;
            // Only while one monitor process ran throughout the outage's first `slack`.
            bool monitor_gap = false;
            for (const auto& [md, mu] : monitor_outages_) monitor_gap |= md <= down + slack && (!mu || *mu >= down);
            for (Instant t : monitor_starts_) monitor_gap |= t >= down && t <= down + slack;
            for (const auto& [mp, mr] : monitor_pauses_) monitor_gap |= mp <= down + slack && (!mr || *mr >= down);
            if (monitor_gap) continue;
            bool reported = false;
            for (const auto& e : node_events_) reported |= e.kind == NodeEventKind::node_down && e.node == n && e.at >= down && e.at <= down + slack;
            if (!reported) {
                violations_->add(rule::node_events, fmt::format("node {} was down from {} to {} us and no node_down named it within {} ms", n,
                                                                to_us(down), to_us(until), slack.count() / 1000));
            }
        }
    }
}

bool InvariantChecker::crashed_since(Instant t) const {
    for (const auto& [n, spans] : outages_)
        for (const auto& [down, up] : spans)
            if (!up || *up >= t) return true;
    return false;
}

bool InvariantChecker::unseen_fault_since(Instant t) const {
    for (const auto& e : oracle_->fault_effects()) {
        if (e.at < t) continue;
        const bool alarmed = std::any_of(decided_.begin(), decided_.end(), [&](const Decided& d) {
            return d.decided >= e.at && (d.kind == VerdictKind::token_lost || d.kind == VerdictKind::token_duplicated);
        });
        if (!alarmed) return true;
    }
    return false;
}

void InvariantChecker::finish_recovery(Instant end, Instant healed_at, bool lossy, bool all_up) {
    const auto count_at = [this](Instant t) {
        TokenCount c;
        for (const auto& [since, count] : oracle_->timeline()) {
            if (since > t) break;
            c = count;
        }
        return c;
    };
    // Another fault or crash in (a, b], or a monitor's take-over: that one's own checkpoint covers it.
    const auto disturbed_within = [this](Instant a, Instant b) {
        for (const auto& e : oracle_->fault_effects())
            if (e.at > a && e.at <= b) return true;
        for (Instant t : takeovers_)
            if (t > a && t <= b) return true;
        for (const auto& [n, spans] : outages_)
            for (const auto& [down, up] : spans)
                if ((down > a && down <= b) || (up && *up > a && *up <= b) || (!up && down <= b)) return true;
        return false;
    };
    std::vector<std::pair<Instant, std::string>> checkpoints;
    for (const auto& e : oracle_->fault_effects()) checkpoints.push_back({e.at, fmt::format("the {} fault at node {}", to_string(e.kind), e.node)});
    for (const auto& [n, spans] : outages_)
        for (const auto& [down, up] : spans)
            if (up) checkpoints.push_back({*up, fmt::format("node {}'s restart", n)});
    for (const auto& [t, what] : checkpoints) {
        const auto ready = ready_after(t, healed_at, lossy);
        if (!ready) continue;
        const Instant due = *ready + 2 * bound_.value();
        if (due > end || disturbed_within(t, due)) continue;
        if (const TokenCount c = count_at(due); !c.exactly(1)) {
            violations_->add(rule::recovery, fmt::format("after {} at {} us the ring held {} token(s) (+{} undecided) at {} us, two detection "
                                                         "bounds after every node was up{}",
                                                         what, to_us(t), c.certain, c.open, to_us(due), lossy ? " and the network healed" : ""));
        }
    }
    if (all_up && !oracle_->count().exactly(1)) {
        violations_->add(rule::recovery, fmt::format("the run ended with {} token(s) (+{} undecided), every node up and recovery on",
                                                     oracle_->count().certain, oracle_->count().open));
    }
}

std::optional<Instant> InvariantChecker::ready_after(Instant t, Instant healed_at, bool lossy) const {
    Instant ready = lossy ? std::max(t, healed_at) : t;
    auto push_past = [&](const std::vector<std::pair<Instant, std::optional<Instant>>>& spans, bool& moved) {
        for (const auto& [down, up] : spans) {
            if (down > ready + bound_.value() || (up && *up <= ready)) continue;
            if (!up) return false;  // down for good: no conclusive verdict can come
            ready = *up;
            moved = true;
        }
        return true;
    };
    for (bool moved = true; moved;) {
        moved = false;
        for (const auto& [n, spans] : outages_)
            if (!push_past(spans, moved)) return std::nullopt;
        for (const auto& [n, spans] : unreachable_)
            if (!push_past(spans, moved)) return std::nullopt;
        if (!push_past(monitor_outages_, moved)) return std::nullopt;
        if (!push_past(monitor_pauses_, moved)) return std::nullopt;
    }
    return ready;
}

std::optional<Instant> InvariantChecker::last_deadline(Instant healed_at, bool lossy) const {
    std::optional<Instant> last;
    auto consider = [&](Instant t) {
        if (auto r = ready_after(t, healed_at, lossy)) last = std::max(last.value_or(*r), *r + bound_.value());
    };
    for (const auto& e : oracle_->fault_effects()) consider(e.at);
    consider(healed_at);
    return last;
}

void InvariantChecker::check_checkpoint(Instant t, std::string_view what, Instant end, Instant healed_at, bool lossy) {
    const auto ready = ready_after(t, healed_at, lossy);
    if (!ready || *ready + bound_.value() > end) return;  // a node stayed down, or the run ended first
    const Instant due = *ready + bound_.value();
    for (const auto& d : decided_) {
        if (d.started <= t || d.kind == VerdictKind::inconclusive) continue;
        if (d.decided > due) break;
        const bool alarm = d.kind == VerdictKind::token_lost || d.kind == VerdictKind::token_duplicated;
        if (alarm && what != "healing") ++faults_detected_;
        if (!alarm && !exactly_one_at_some_point(d.started, d.decided)) {
            violations_->add(rule::detection, fmt::format("{} at {} us was not caught by snapshot {}, the first conclusive one after it "
                                                          "(it says {}; the true count was never 1 during it)",
                                                          what, to_us(t), d.id, to_string(d.kind)));
        }
        return;
    }
    violations_->add(rule::detection,
                     fmt::format("{} at {} us: no conclusive verdict for a snapshot started after it by {} us (bound {} ms "
                                 "from {} us, when every node was up{})",
                                 what, to_us(t), to_us(due), bound_.value().count() / 1000, to_us(*ready), lossy ? " and the network healed" : ""));
}

void InvariantChecker::finish(Instant end, Instant healed_at, bool lossy) {
    for (const auto& e : oracle_->fault_effects())
        check_checkpoint(e.at, fmt::format("the {} fault at node {}", to_string(e.kind), e.node), end, healed_at, lossy);
    check_checkpoint(healed_at, "healing", end, healed_at, lossy);
}

}  // namespace ringwatch::sim
