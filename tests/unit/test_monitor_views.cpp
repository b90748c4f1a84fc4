// The monitor core with views (MonitorConfig::evict_after): a node found dead is left out, the
// snapshots and recoveries follow the view's members, and nothing is judged while a view is being
// ordered (the ring has no token then, on purpose).
#include <catch2/catch.hpp>

#include "ring/core/view.h"
#include "tests/unit/monitor_taps.h"

using namespace ringwatch;
using namespace std::chrono_literals;

namespace {

const Instant t0 = instant_us(1'000'000);
const std::vector<NodeId> kRing{NodeId{0}, NodeId{1}, NodeId{2}, NodeId{3}};

MonitorConfig views_config() {
    MonitorConfig c;
    c.ring = kRing;
    c.interval = 100ms;
    c.timeout = 1000ms;
    c.liveness = liveness_for(c.interval, 1000ms);
    c.evict_after = 5s;
    return c;
}

using test::report;

struct Orders {
    std::vector<std::pair<NodeId, ViewOrder>> views;
    std::vector<std::pair<NodeId, IssueToken>> issues;
    std::vector<NodeId> queried;
};
Orders orders(test::TappedMonitor& m) {
    Orders o;
    for (auto& [n, msg] : m.take_view_orders()) {
        if (auto* v = std::get_if<ViewOrder>(&msg)) o.views.emplace_back(n, *v);
        if (auto* i = std::get_if<IssueToken>(&msg)) o.issues.emplace_back(n, *i);
        if (std::holds_alternative<RingQuery>(msg)) o.queried.push_back(n);
    }
    return o;
}

std::vector<NodeId> started_at(test::TappedMonitor& m) {
    std::vector<NodeId> to;
    for (const auto& s : m.take_commands()) to.push_back(s.node);
    return to;
}

// Every node heard (each report of a running ring), so that none is suspected meanwhile; but a
// dead one.
void hear_all(test::TappedMonitor& m, Instant at, std::optional<NodeId> dead = std::nullopt) {
    for (NodeId n : kRing)
        if (n != dead) m.on_heard(n, at);
}

// A new monitor first takes the ring over: a view of every configured node, in an epoch of its own
// (it cannot know what an earlier monitor ordered or granted). Every node acknowledges it here.
void take_over(test::TappedMonitor& m, Instant at) {
    const Orders o = orders(m);
    REQUIRE(o.views.size() == kRing.size());
    for (const auto& [n, v] : o.views) {
        CHECK(view_members(kRing, v.members) == kRing);
        m.on_ack(at, n, v.command_id, true);
    }
    REQUIRE(orders(m).issues.size() == 1);
    const auto ev = m.take_membership_events();
    REQUIRE(ev.size() == 1);
    CHECK(ev[0].kind == MembershipEventKind::view);
}

}  // namespace

TEST_CASE("monitor views: a node whose port is closed is left out, the ring is judged over the view's members", "[monitor][views]") {
    test::TappedMonitor m(views_config(), t0);
    take_over(m, t0);
    hear_all(m, t0);
    m.on_timer(t0 + 100ms);
    REQUIRE(started_at(m) == kRing);
    // Node 2 dies: its probe is refused. The snapshot under way is given up (no verdict), and the
    // three others are ordered a view without it.
    m.on_probe_refused(t0 + 150ms, NodeId{2});
    auto ev = m.take_membership_events();
    REQUIRE(ev.size() == 1);
    CHECK(ev[0].kind == MembershipEventKind::node_evicted);
    CHECK(ev[0].node == NodeId{2});
    Orders o = orders(m);
    REQUIRE(o.views.size() == 3);
    const std::vector<NodeId> three{NodeId{0}, NodeId{1}, NodeId{3}};
    for (const auto& [n, v] : o.views) {
        CHECK(n != NodeId{2});
        CHECK(view_members(kRing, v.members) == three);
    }
    CHECK(o.issues.empty());
    CHECK(m.in_flight() == 0);
    CHECK(m.stats().abandoned_for_view == 1);
    // No snapshot while the view is being ordered: the ring has no token on purpose.
    hear_all(m, t0 + 199ms, NodeId{2});
    m.on_timer(t0 + 200ms);
    CHECK(started_at(m).empty());
    CHECK(m.stats().skipped_view_change == 1);
    // A recovery meanwhile would race the view's own token: refused, saying why.
    CHECK_FALSE(m.recover_by_hand(t0 + 210ms, RecoverMode::regenerate));
    CHECK(m.take_recover_commands().empty());
    // Every member acknowledges: one token, from the member the epoch names.
    const Epoch epoch = o.views[0].second.epoch;
    for (const auto& [n, v] : o.views) m.on_ack(t0 + 220ms, n, v.command_id, true);
    o = orders(m);
    REQUIRE(o.issues.size() == 1);
    CHECK(o.issues[0].first == three[epoch.value % 3]);
    CHECK(o.issues[0].second.epoch == epoch);
    ev = m.take_membership_events();
    REQUIRE(ev.size() == 1);
    CHECK(ev[0].kind == MembershipEventKind::view);
    CHECK(ev[0].members == three);
    CHECK(m.epoch() == epoch);
    // Snapshots go to the members; their three reports make a verdict.
    hear_all(m, t0 + 299ms, NodeId{2});
    m.on_timer(t0 + 300ms);
    const auto starts = m.take_commands();
    REQUIRE(starts.size() == 3);
    const SnapshotId id = starts[0].start.id;
    m.on_report(t0 + 301ms, NodeId{0}, report(id, NodeId{0}, NodeId{3}, 1, epoch));
    m.on_report(t0 + 301ms, NodeId{1}, report(id, NodeId{1}, NodeId{0}, 0, epoch));
    m.on_report(t0 + 302ms, NodeId{3}, report(id, NodeId{3}, NodeId{1}, 0, epoch));
    const auto v = m.take_verdicts();
    REQUIRE(v.size() == 1);
    CHECK(v[0].kind == VerdictKind::ok);
    CHECK(v[0].members == three);
    // A report from the node left out is no part of any snapshot now.
    m.on_report(t0 + 303ms, NodeId{2}, report(id, NodeId{2}, NodeId{1}, 0, epoch));
    CHECK(m.stats().late_reports + m.stats().unexpected_reports >= 1);
}

TEST_CASE("monitor views: a silent node (perhaps paused) is left out only after evict_after", "[monitor][views]") {
    test::TappedMonitor m(views_config(), t0);
    take_over(m, t0);
    // Node 1 is silent from the start; the others are heard every 100 ms.
    Instant now = t0;
    std::optional<Instant> evicted_at;
    while (now < t0 + 8s && !evicted_at) {
        now += 100ms;
        for (NodeId n : kRing)
            if (n != NodeId{1}) m.on_heard(n, now);
        m.on_timer(now);
        m.take_commands();
        for (const auto& e : m.take_membership_events())
            if (e.kind == MembershipEventKind::node_evicted) evicted_at = now;
    }
    REQUIRE(evicted_at);
    // Reported down after 1 s of silence (node_timeout); left out 5 s after it was last heard.
    CHECK(*evicted_at >= t0 + 5s);
    CHECK(*evicted_at <= t0 + 5s + 200ms);
}

TEST_CASE("monitor views: a node heard again before evict_after stays in, one left out and heard again rejoins", "[monitor][views]") {
    test::TappedMonitor m(views_config(), t0);
    take_over(m, t0);
    Instant now = t0;
    auto run_until = [&](Instant end, bool node1_speaks) {
        while (now < end) {
            now += 100ms;
            for (NodeId n : kRing)
                if (n != NodeId{1} || node1_speaks) m.on_heard(n, now);
            m.on_timer(now);
            m.take_commands();
        }
    };
    run_until(t0 + 3s, false);  // a 3 s pause: down, but not left out
    run_until(t0 + 4s, true);
    CHECK(m.take_membership_events().empty());
    CHECK(orders(m).views.empty());
    run_until(t0 + 10s, false);  // a long one: left out
    auto ev = m.take_membership_events();
    REQUIRE(ev.size() == 1);
    CHECK(ev[0].kind == MembershipEventKind::node_evicted);
    Orders o = orders(m);
    for (const auto& [n, v] : o.views) m.on_ack(now, n, v.command_id, true);
    CHECK(m.membership()->members().size() == 3);
    m.take_membership_events();
    orders(m);
    // It speaks again: a new view with it, ordered to all four.
    run_until(now + 200ms, true);
    o = orders(m);
    REQUIRE(o.views.size() == 4);
    for (const auto& [n, v] : o.views) m.on_ack(now, n, v.command_id, true);
    ev = m.take_membership_events();
    REQUIRE(ev.size() == 2);
    CHECK(ev[0].kind == MembershipEventKind::view);
    CHECK(ev[0].members == kRing);
    CHECK(ev[1].kind == MembershipEventKind::node_rejoined);
    CHECK(ev[1].node == NodeId{1});
}

TEST_CASE("monitor views: a view refused for its epoch is ordered again above the epoch the node says it has", "[monitor][views]") {
    test::TappedMonitor m(views_config(), t0);
    take_over(m, t0);
    hear_all(m, t0);
    m.on_probe_refused(t0 + 10ms, NodeId{3});
    Orders o = orders(m);
    REQUIRE(o.views.size() == 3);
    // Node 0 is in epoch 40 already (this monitor started after the ring had run): it refuses.
    m.on_ack(t0 + 20ms, NodeId{0}, o.views[0].second.command_id, false);
    o = orders(m);
    REQUIRE(o.queried == std::vector<NodeId>{NodeId{0}});
    m.on_epoch_heard(t0 + 21ms, NodeId{0}, Epoch{40});
    o = orders(m);
    REQUIRE(o.views.size() == 3);
    CHECK(o.views[0].second.epoch > Epoch{40});
    for (const auto& [n, v] : o.views) m.on_ack(t0 + 30ms, n, v.command_id, true);
    o = orders(m);
    REQUIRE(o.issues.size() == 1);
    CHECK(o.issues[0].second.epoch > Epoch{40});
    CHECK(m.epoch() > Epoch{40});
}

TEST_CASE("monitor views: a member's new process is told the current view", "[monitor][views]") {
    test::TappedMonitor m(views_config(), t0);
    take_over(m, t0);
    hear_all(m, t0);
    for (NodeId n : kRing) m.on_link_event(t0, n, LinkEvent{LinkEventKind::connected, Incarnation{10u + n.value}});
    m.on_probe_refused(t0 + 10ms, NodeId{3});
    Orders o = orders(m);
    for (const auto& [n, v] : o.views) m.on_ack(t0 + 20ms, n, v.command_id, true);
    orders(m);
    // Node 1 restarted before anything noticed it gone: its new process starts in the configured
    // ring, so it is told the view (the same epoch and members).
    m.on_link_event(t0 + 30ms, NodeId{1}, LinkEvent{LinkEventKind::session_reset, Incarnation{99}});
    o = orders(m);
    REQUIRE(o.views.size() == 1);
    CHECK(o.views[0].first == NodeId{1});
    CHECK(o.views[0].second.epoch == m.membership()->epoch());
    CHECK(view_members(kRing, o.views[0].second.members) == m.membership()->members());
}

TEST_CASE("monitor views: without evict_after the ring is always the configured one", "[monitor][views]") {
    MonitorConfig c = views_config();
    c.evict_after.reset();
    test::TappedMonitor m(c, t0);
    hear_all(m, t0);
    m.on_probe_refused(t0 + 10ms, NodeId{2});
    CHECK(m.membership() == nullptr);
    CHECK(m.take_view_orders().empty());
    CHECK(m.take_membership_events().empty());
    m.on_timer(t0 + 100ms);
    CHECK(started_at(m) == kRing);
}

TEST_CASE("monitor views: a link that carries nothing while both ends are heard is a link_fault, the ring goes round it", "[monitor][views]") {
    test::TappedMonitor m(views_config(), t0);
    take_over(m, t0);
    // Node 2 receives nothing (its predecessor's markers never arrive) but is heard; every other
    // node reports. Each snapshot times out missing node 2 alone.
    Instant now = t0;
    std::vector<MembershipEvent> events;
    while (now < t0 + 6s && events.empty()) {
        now += 100ms;
        hear_all(m, now);
        m.on_timer(now);
        for (const auto& s : m.take_commands())
            if (s.node != NodeId{2}) {
                const NodeId pred{static_cast<std::uint16_t>((s.node.value + 3) % 4)};
                m.on_report(now, s.node, report(s.start.id, s.node, pred, s.node == NodeId{0} ? 1 : 0, Epoch{1}));
            }
        events = m.take_membership_events();
    }
    REQUIRE(events.size() >= 2);
    CHECK(events[0].kind == MembershipEventKind::link_fault);
    CHECK(events[0].from == NodeId{1});
    CHECK(events[0].node == NodeId{2});
    CHECK(events[1].kind == MembershipEventKind::node_evicted);
    CHECK(events[1].unacknowledged);
    // Not before the snapshots had been stuck for three snapshot timeouts (a lossy link's backed-off
    // retransmissions make a few time out together), and not much after.
    CHECK(now >= t0 + 4s);
    CHECK(now <= t0 + 4s + 300ms);
    const Orders o = orders(m);
    REQUIRE(o.views.size() == 3);
    CHECK(view_members(kRing, o.views[0].second.members) == std::vector<NodeId>{NodeId{0}, NodeId{1}, NodeId{3}});
}

namespace {

std::vector<std::pair<NodeId, LeaseGrant>> grants(test::TappedMonitor& m) {
    std::vector<std::pair<NodeId, LeaseGrant>> g;
    for (auto& [n, msg] : m.take_view_orders())
        if (auto* lg = std::get_if<LeaseGrant>(&msg)) g.emplace_back(n, *lg);
    return g;
}

}  // namespace

TEST_CASE("monitor views: leases go only to members of a view this monitor ordered, in its epoch", "[monitor][views][lease]") {
    test::TappedMonitor m(views_config(), t0);
    const Orders o = orders(m);
    REQUIRE(o.views.size() == 4);
    // Before its own view is complete a new monitor grants nothing: an earlier one may have left
    // some node out and given the ring a token without it.
    m.on_lease_request(t0 + 1ms, NodeId{1}, LeaseRequest{111, Epoch{0}});
    CHECK(grants(m).empty());
    // A node that has adopted the view being ordered may hold the lease (it purged older tokens).
    const Epoch e = o.views[0].second.epoch;
    m.on_lease_request(t0 + 2ms, NodeId{1}, LeaseRequest{222, e});
    auto g = grants(m);
    REQUIRE(g.size() == 1);
    CHECK(g[0].first == NodeId{1});
    CHECK(g[0].second.stamp == 222);  // the node's own clock, echoed: its lease counts from when it asked
    CHECK(g[0].second.lease_ms == 3000);
    for (const auto& [n, v] : o.views) m.on_ack(t0 + 3ms, n, v.command_id, true);
    m.on_lease_request(t0 + 4ms, NodeId{2}, LeaseRequest{333, e});
    CHECK(grants(m).size() == 1);
    // An older view's member is not granted (it may still hold that view's token).
    m.on_lease_request(t0 + 5ms, NodeId{2}, LeaseRequest{444, Epoch{e.value - 1}});
    CHECK(grants(m).empty());
    CHECK(m.stats().leases_refused == 2);
}

TEST_CASE("monitor views: a view that leaves a node out has its token only once that node's lease is over", "[monitor][views][lease]") {
    test::TappedMonitor m(views_config(), t0);
    take_over(m, t0);
    const Epoch e = m.membership()->epoch();
    hear_all(m, t0 + 1ms);
    // Node 3 holds a lease granted at t0 + 10 ms (3 s, counted over by the monitor 3.375 s later).
    m.on_lease_request(t0 + 10ms, NodeId{3}, LeaseRequest{1, e});
    REQUIRE(grants(m).size() == 1);
    // Node 0 dies: a view of 1, 2, 3, which node 3 never acknowledges (it is cut off from the
    // monitor): left out after the ack timeout, a view of 1 and 2.
    m.on_probe_refused(t0 + 20ms, NodeId{0});
    Orders o = orders(m);
    REQUIRE(o.views.size() == 3);
    for (const auto& [n, v] : o.views)
        if (n != NodeId{3}) m.on_ack(t0 + 30ms, n, v.command_id, true);
    Instant now = t0 + 30ms;
    std::optional<Instant> second_view, issued;
    while (now < t0 + 5s && !issued) {
        now += 10ms;
        hear_all(m, now, NodeId{0});
        m.on_timer(now);
        o = orders(m);
        if (!o.issues.empty()) issued = now;
        for (const auto& [n, v] : o.views) {
            CHECK(n != NodeId{3});
            second_view = now;
            m.on_ack(now, n, v.command_id, true);
        }
        o = orders(m);
        if (!o.issues.empty()) issued = now;
        m.take_commands();
    }
    REQUIRE(second_view);
    CHECK(*second_view >= t0 + 2s);  // the ack timeout
    REQUIRE(issued);
    // Not before node 3's lease is surely over; at once after (the next timer).
    CHECK(*issued >= t0 + 10ms + 3375ms);
    CHECK(*issued <= t0 + 10ms + 3375ms + 20ms);
}

TEST_CASE("monitor views: a node whose port is closed holds no lease: the view without it has its token at once", "[monitor][views][lease]") {
    test::TappedMonitor m(views_config(), t0);
    take_over(m, t0);
    hear_all(m, t0 + 1ms);
    m.on_lease_request(t0 + 10ms, NodeId{2}, LeaseRequest{1, m.membership()->epoch()});
    REQUIRE(grants(m).size() == 1);
    m.on_probe_refused(t0 + 20ms, NodeId{2});
    Orders o = orders(m);
    REQUIRE(o.views.size() == 3);
    for (const auto& [n, v] : o.views) m.on_ack(t0 + 30ms, n, v.command_id, true);
    CHECK(orders(m).issues.size() == 1);
    // Left out, it is granted nothing (a new process of it neither).
    m.on_lease_request(t0 + 40ms, NodeId{2}, LeaseRequest{2, Epoch{0}});
    CHECK(grants(m).empty());
}
