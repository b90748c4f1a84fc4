// Which monitor acts (monitor/core/leadership.h): a term claimed from every node, led once a
// majority promised it, given up as soon as a later term is heard of; standbys claim only when
// every monitor before them is down and no leader is heard of. And the monitor core acts only
// while it leads: views, token births, recoveries and keep orders carry its term.
#include <catch2/catch.hpp>

#include "monitor/core/leadership.h"
#include "ring/core/view.h"
#include "tests/unit/monitor_taps.h"

using namespace ringwatch;
using namespace std::chrono_literals;

namespace {

const Instant t0 = instant_us(1'000'000);
const std::vector<NodeId> kRing{NodeId{0}, NodeId{1}, NodeId{2}, NodeId{3}, NodeId{4}};
const NodeId kFirst = monitor_id(0), kSecond = monitor_id(1), kThird = monitor_id(2);

LeadershipConfig config(NodeId self, std::vector<NodeId> monitors = {kMonitorId}) {
    LeadershipConfig c;
    c.self = self;
    c.monitors = std::move(monitors);
    c.ring = kRing;
    return c;
}

std::vector<std::pair<NodeId, TermClaim>> claims(Leadership& l) {
    std::vector<std::pair<NodeId, TermClaim>> v;
    for (const auto& [to, m] : l.take_orders())
        if (const auto* c = std::get_if<TermClaim>(&m)) v.emplace_back(to, *c);
    return v;
}

std::vector<LeaderEventKind> kinds(Leadership& l) {
    std::vector<LeaderEventKind> v;
    for (const auto& e : l.take_events()) v.push_back(e.kind);
    return v;
}

MonitorHello leader_hello(Term t) { return MonitorHello{t, true, Epoch{0}, {}, Epoch{0}}; }

TermPromise promised(Term t, NodeId to, Epoch e = Epoch{0}) { return TermPromise{t, 0, true, t, to, e}; }
TermPromise refused(Term claimed, Term later, NodeId to) { return TermPromise{claimed, 0, false, later, to, Epoch{0}}; }

}  // namespace

TEST_CASE("leadership: a lone monitor claims term 1 of every node at start and leads once a majority promised it", "[leadership]") {
    Leadership l(config(kMonitorId), t0);
    const auto c = claims(l);
    REQUIRE(c.size() == kRing.size());
    for (const auto& [to, claim] : c) CHECK(claim == TermClaim{Term{1}, 0});
    CHECK_FALSE(l.leading());
    l.on_promise(t0, NodeId{0}, promised(Term{1}, kMonitorId, Epoch{12}));
    l.on_promise(t0, NodeId{1}, promised(Term{1}, kMonitorId));
    l.on_promise(t0, NodeId{1}, promised(Term{1}, kMonitorId));  // a repeat is one promise
    CHECK_FALSE(l.leading());
    l.on_promise(t0, NodeId{9}, promised(Term{1}, kMonitorId));  // no node of the ring
    CHECK_FALSE(l.leading());
    l.on_promise(t0, NodeId{4}, promised(Term{1}, kMonitorId));
    CHECK(l.leading());
    CHECK(l.term() == Term{1});
    CHECK(l.leader() == kMonitorId);
    CHECK(l.floor() == Epoch{12});  // the newest epoch a promise told
    CHECK(kinds(l) == std::vector<LeaderEventKind>{LeaderEventKind::claimed, LeaderEventKind::leading});
}

TEST_CASE("leadership: a claim refused for a term promised to our own earlier process is made again above it at once", "[leadership]") {
    Leadership l(config(kMonitorId), t0);
    claims(l);
    l.on_promise(t0, NodeId{2}, refused(Term{1}, Term{6}, kMonitorId));
    CHECK_FALSE(l.leading());
    CHECK(l.term() == Term{6});
    CHECK(kinds(l) == std::vector<LeaderEventKind>{LeaderEventKind::claimed, LeaderEventKind::claim_failed});
    l.on_timer(t0);
    const auto c = claims(l);
    REQUIRE(c.size() == kRing.size());
    CHECK(c[0].second.term == Term{7});
    for (NodeId n : {NodeId{0}, NodeId{1}, NodeId{2}}) l.on_promise(t0, n, promised(Term{7}, kMonitorId));
    CHECK(l.leading());
    CHECK(l.term() == Term{7});
}

TEST_CASE("leadership: a claim without a majority in time is made again in the next term, each time after twice as long", "[leadership]") {
    Leadership l(config(kMonitorId), t0);
    claims(l);
    l.on_promise(t0, NodeId{0}, promised(Term{1}, kMonitorId));
    l.on_promise(t0, NodeId{1}, promised(Term{1}, kMonitorId));  // two of five: no majority
    CHECK(l.next_deadline() == t0 + 2s);
    l.on_timer(t0 + 1999ms);
    CHECK(claims(l).empty());
    l.on_timer(t0 + 2s);
    auto c = claims(l);
    REQUIRE(c.size() == kRing.size());
    CHECK(c[0].second.term == Term{2});  // term 1 may be promised to us by some: never claimed again
    CHECK(l.next_deadline() == t0 + 6s);
    l.on_timer(t0 + 6s);
    c = claims(l);
    REQUIRE(c.size() == kRing.size());
    CHECK(c[0].second.term == Term{3});
    CHECK(l.next_deadline() == t0 + 14s);  // then every 8 s at most
}

TEST_CASE("leadership: a leader steps down when a node names a later term, and does not claim while that leader is heard of", "[leadership]") {
    Leadership l(config(kFirst, {kFirst, kSecond}), t0);
    CHECK(claims(l).empty());  // with peers: it listens for a leader first
    l.on_timer(t0 + 200ms);
    REQUIRE(claims(l).size() == kRing.size());
    for (NodeId n : {NodeId{0}, NodeId{1}, NodeId{2}}) l.on_promise(t0 + 200ms, n, promised(Term{1}, kFirst));
    REQUIRE(l.leading());
    kinds(l);
    // A node refuses an order: it promised term 2 to the second monitor.
    l.on_promise(t0 + 300ms, NodeId{3}, refused(Term{1}, Term{2}, kSecond));
    CHECK_FALSE(l.leading());
    CHECK(l.term() == Term{2});
    CHECK(l.leader() == kSecond);
    CHECK(kinds(l) == std::vector<LeaderEventKind>{LeaderEventKind::stepped_down});
    // The first monitor is first in the list, but a leader is heard of: no claim for leader_timeout.
    l.on_timer(t0 + 1299ms);
    CHECK(claims(l).empty());
    l.on_hello(t0 + 1200ms, kSecond, leader_hello(Term{2}));  // and its hellos keep it so
    l.on_timer(t0 + 2199ms);
    CHECK(claims(l).empty());
    l.on_timer(t0 + 2200ms);
    const auto c = claims(l);
    REQUIRE(c.size() == kRing.size());
    CHECK(c[0].second.term == Term{3});
    // A lease request naming a later term deposes a leader as well.
    for (NodeId n : {NodeId{0}, NodeId{1}, NodeId{2}}) l.on_promise(t0 + 2200ms, n, promised(Term{3}, kFirst));
    REQUIRE(l.leading());
    l.heard_term(t0 + 2300ms, NodeId{4}, Term{4});
    CHECK_FALSE(l.leading());
    CHECK(l.term() == Term{4});
}

TEST_CASE("leadership: a standby claims only when every monitor before it is down and no leader is heard of", "[leadership]") {
    Leadership l(config(kThird, {kFirst, kSecond, kThird}), t0);
    l.on_timer(t0 + 5s);
    CHECK(claims(l).empty());
    l.monitor_down(kFirst, true);
    l.on_timer(t0 + 5s);
    CHECK(claims(l).empty());                     // the second is up
    CHECK(l.next_deadline() == t0 + 5s + 100ms);  // its hellos only
    l.on_hello(t0 + 5s, kSecond, leader_hello(Term{4}));
    l.monitor_down(kSecond, true);  // the leader's death is known: no leader_timeout to wait
    l.on_timer(t0 + 5s + 1ms);
    const auto c = claims(l);
    REQUIRE(c.size() == kRing.size());
    CHECK(c[0].second.term == Term{5});
    // Its hellos say its term, and then that it leads.
    for (NodeId n : {NodeId{0}, NodeId{1}, NodeId{2}}) l.on_promise(t0 + 5s + 2ms, n, promised(Term{5}, kThird));
    REQUIRE(l.leading());
    std::vector<std::pair<NodeId, MonitorHello>> hellos;
    for (const auto& [to, m] : l.take_orders())
        if (const auto* h = std::get_if<MonitorHello>(&m)) hellos.emplace_back(to, *h);
    REQUIRE(hellos.size() == 2);
    CHECK(hellos[0] == std::pair{kFirst, leader_hello(Term{5})});
    CHECK(hellos[1] == std::pair{kSecond, leader_hello(Term{5})});
    // A hello of a later term from a monitor back up: stepped down.
    l.on_hello(t0 + 6s, kFirst, leader_hello(Term{6}));
    CHECK_FALSE(l.leading());
    CHECK(l.leader() == kFirst);
}

TEST_CASE("leadership: the monitor core orders nothing until it leads, then every order carries its term", "[leadership][monitor]") {
    MonitorConfig c;
    c.ring = kRing;
    c.liveness = liveness_for(c.interval, 1000ms);
    c.evict_after = 5s;
    test::TappedMonitor m(c, t0, false);
    // Claimed, not led: no take-over view yet, and a recovery by hand is refused, saying why.
    CHECK(m.take_view_orders().empty());
    CHECK_FALSE(m.leading());
    CHECK_FALSE(m.recover_by_hand(t0, RecoverMode::regenerate));
    const auto said = m.take_incident_events();
    REQUIRE(said.size() == 1);
    CHECK(said[0].note.find("no monitor leads yet") != std::string::npos);
    CHECK(m.take_recover_commands().empty());
    // A majority promises (one with a newer epoch than any this monitor knew): it leads, takes the
    // ring over with a view in its own term's first epoch, every order carrying the term.
    const auto claims_made = m.take_term_orders();
    REQUIRE(claims_made.size() == kRing.size());
    for (std::size_t i = 0; i < 3; ++i) {
        const auto* claim = std::get_if<TermClaim>(&claims_made[i].second);
        REQUIRE(claim);
        m.on_promise(t0, claims_made[i].first, TermPromise{claim->term, 0, true, claim->term, kMonitorId, Epoch{7}});
    }
    CHECK(m.leading());
    const auto views = m.take_view_orders();
    REQUIRE(views.size() == kRing.size());
    for (const auto& [to, o] : views) {
        const auto* v = std::get_if<ViewOrder>(&o);
        REQUIRE(v);
        CHECK(v->term == Term{1});
        CHECK(v->epoch == Epoch{8});  // above the newest epoch the promises told
    }
    // Deposed: the view is dropped, and nothing more is ordered.
    m.on_promise(t0 + 1ms, NodeId{3}, TermPromise{Term{1}, 0, false, Term{2}, kSecond, Epoch{0}});
    CHECK_FALSE(m.leading());
    CHECK(m.membership() == nullptr);
    CHECK_FALSE(m.recover_by_hand(t0 + 2ms, RecoverMode::regenerate));
    CHECK(m.take_recover_commands().empty());
    CHECK(m.stats().not_leading == 2);
}

TEST_CASE("leadership: a standby judges the leader's view, and no cut without a token in an epoch not yet said born", "[leadership][monitor]") {
    MonitorConfig c;
    c.ring = {NodeId{0}, NodeId{1}, NodeId{2}, NodeId{3}};
    c.liveness = liveness_for(c.interval, 1000ms);
    c.evict_after = 5s;
    c.recover = RecoveryMode::regenerate;
    c.leadership.self = kSecond;
    c.leadership.monitors = {kFirst, kSecond};
    test::TappedMonitor m(c, t0, false);
    Instant now = t0;
    auto heard_all = [&] {
        for (NodeId n : c.ring) m.on_heard(n, now);
    };
    // The leader says its view (node 2 left out, epoch 4098) and that epoch 4097's token is born.
    MonitorHello hello{Term{2}, true, Epoch{4098}, view_bitmap(c.ring, {NodeId{0}, NodeId{1}, NodeId{3}}), Epoch{4097}};
    m.on_hello(now, kFirst, hello);
    CHECK(m.ring_now() == std::vector<NodeId>{NodeId{0}, NodeId{1}, NodeId{3}});
    CHECK(m.leadership().leader() == kFirst);
    // A cut with no token in 4098 (its token not yet said born): not judged. The leader then says
    // it is born: the next such cut is a loss; the standby raises the alarm but orders nothing.
    auto cut = [&](Epoch e) {
        now += 100ms;
        heard_all();
        m.on_hello(now, kFirst, hello);
        m.on_timer(now);
        const auto starts = m.take_commands();
        REQUIRE(starts.size() == 3);
        const SnapshotId id = starts[0].start.id;
        m.on_report(now, NodeId{0}, test::report(id, NodeId{0}, NodeId{3}, 0, e));
        m.on_report(now, NodeId{1}, test::report(id, NodeId{1}, NodeId{0}, 0, e));
        m.on_report(now, NodeId{3}, test::report(id, NodeId{3}, NodeId{1}, 0, e));
        const auto v = m.take_verdicts();
        REQUIRE(v.size() == 1);
        return v[0];
    };
    const Verdict unborn = cut(Epoch{4098});
    CHECK(unborn.kind == VerdictKind::inconclusive);
    CHECK(unborn.unborn);
    CHECK(unborn.members == std::vector<NodeId>{NodeId{0}, NodeId{1}, NodeId{3}});
    hello.born = Epoch{4098};
    const Verdict lost = cut(Epoch{4098});
    CHECK(lost.kind == VerdictKind::token_lost);
    CHECK_FALSE(lost.unborn);
    CHECK(m.take_recover_commands().empty());  // the leader's to repair
    CHECK(m.stats().not_leading >= 1);
    CHECK_FALSE(m.leading());
    CHECK(m.take_term_orders().size() >= 1);  // its hellos; no claim while the first monitor is up
    // The first monitor's port is closed: its death is known, and the standby claims at once.
    m.on_probe_refused(now, kFirst);
    now += 1ms;
    m.on_timer(now);
    std::vector<TermClaim> claimed;
    for (const auto& [to, o] : m.take_term_orders())
        if (const auto* tc = std::get_if<TermClaim>(&o)) claimed.push_back(*tc);
    REQUIRE(claimed.size() == c.ring.size());
    CHECK(claimed[0].term == Term{3});
}

TEST_CASE("leadership: a lease is granted only after a majority confirmed the term in a round begun after the request",
          "[leadership][monitor][lease]") {
    MonitorConfig c;
    c.ring = kRing;
    c.liveness = liveness_for(c.interval, 1000ms);
    c.evict_after.reset();  // no views: any member may hold a lease
    test::TappedMonitor m(c, t0);
    REQUIRE(m.leading());
    m.confirm_leases = false;
    auto rounds = [&m] {
        std::vector<std::pair<NodeId, TermClaim>> v;
        for (const auto& [to, o] : m.take_term_orders())
            if (const auto* claim = std::get_if<TermClaim>(&o)) v.emplace_back(to, *claim);
        return v;
    };
    auto grants = [&m] {
        std::vector<NodeId> to;
        for (const auto& [n, o] : m.take_view_orders())
            if (std::holds_alternative<LeaseGrant>(o)) to.push_back(n);
        return to;
    };
    auto confirm = [&m](Instant at, NodeId n, std::uint64_t round) {
        m.on_promise(at, n, TermPromise{Term{1}, round, true, Term{1}, kMonitorId, Epoch{0}});
    };
    // Node 0 asks: a round (1) begins to every node, and nothing is granted until a majority confirms it.
    m.on_lease_request(t0 + 1ms, NodeId{0}, LeaseRequest{100, Epoch{0}, Term{1}});
    auto r = rounds();
    REQUIRE(r.size() == kRing.size());
    for (const auto& [to, claim] : r) CHECK(claim == TermClaim{Term{1}, 1});
    CHECK(grants().empty());
    // Node 1 asks while round 1 is open: round 1 began before its request, so it waits for round 2.
    m.on_lease_request(t0 + 2ms, NodeId{1}, LeaseRequest{200, Epoch{0}, Term{1}});
    CHECK(rounds().empty());  // one round at a time
    confirm(t0 + 3ms, NodeId{0}, 1);
    confirm(t0 + 3ms, NodeId{1}, 1);
    CHECK(grants().empty());  // two of five
    confirm(t0 + 3ms, NodeId{2}, 1);
    CHECK(grants() == std::vector<NodeId>{NodeId{0}});
    r = rounds();  // the next round, for node 1's request
    REQUIRE(r.size() == kRing.size());
    CHECK(r[0].second.round == 2);
    for (NodeId n : {NodeId{2}, NodeId{3}, NodeId{4}}) confirm(t0 + 4ms, n, 2);
    CHECK(grants() == std::vector<NodeId>{NodeId{1}});
    // A round no majority answers (cut off): begun again after a while, nothing granted meanwhile.
    m.on_lease_request(t0 + 5ms, NodeId{2}, LeaseRequest{300, Epoch{0}, Term{1}});
    REQUIRE(rounds().size() == kRing.size());
    m.on_timer(t0 + 300ms);
    r = rounds();
    REQUIRE(r.size() == kRing.size());
    CHECK(r[0].second.round == 4);
    CHECK(grants().empty());
    // A majority has promised a later term to another monitor: the round is refused, the leader
    // steps down, and the lease waiting for it is never granted.
    m.on_promise(t0 + 301ms, NodeId{3}, TermPromise{Term{1}, 4, false, Term{2}, kSecond, Epoch{0}});
    CHECK_FALSE(m.leading());
    for (NodeId n : {NodeId{0}, NodeId{1}}) confirm(t0 + 302ms, n, 3);  // late answers to an earlier round
    CHECK(grants().empty());
    CHECK(m.stats().leases_granted == 2);
    CHECK(m.stats().leases_refused == 1);
}
