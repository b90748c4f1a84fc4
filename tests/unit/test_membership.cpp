// The monitor's membership decisions (monitor/core/membership.h): who is evicted when, and how each
// new view is ordered: to every member, the token only once every one has acknowledged.
#include <catch2/catch.hpp>

#include "monitor/core/membership.h"
#include "ring/core/view.h"

using namespace ringwatch;
using namespace std::chrono_literals;

namespace {

const Instant t0 = instant_us(1'000'000);
const std::vector<NodeId> kRing{NodeId{0}, NodeId{1}, NodeId{2}, NodeId{3}, NodeId{4}};

MembershipConfig config() {
    MembershipConfig c;
    c.ring = kRing;
    c.evict_after = 5s;
    c.ack_timeout = 2s;
    return c;
}

NodeEvent down(std::uint16_t n, Instant at, NodeAddress address, Duration silent_for = 1s) {
    NodeEvent e{NodeEventKind::node_down, NodeId{n}, at};
    e.address = address;
    e.silent_for = silent_for;
    return e;
}
NodeEvent up(std::uint16_t n, Instant at) { return NodeEvent{NodeEventKind::node_up, NodeId{n}, at}; }

struct Ordered {
    std::vector<std::pair<NodeId, ViewOrder>> views;
    std::vector<std::pair<NodeId, IssueToken>> issues;
};
Ordered take(Membership& m) {
    Ordered o;
    for (auto& [n, msg] : m.take_orders()) {
        if (auto* v = std::get_if<ViewOrder>(&msg)) o.views.emplace_back(n, *v);
        if (auto* i = std::get_if<IssueToken>(&msg)) o.issues.emplace_back(n, *i);
    }
    return o;
}
std::vector<NodeId> members_of(const ViewOrder& v) { return view_members(kRing, v.members).value(); }
void ack_all(Membership& m, Instant now, const Ordered& o, std::optional<NodeId> except = std::nullopt) {
    for (const auto& [n, v] : o.views)
        if (n != except) m.on_ack(now, n, v.command_id, true);
}

// A new tracker takes the ring over first: a view of every configured node (it cannot know what an
// earlier monitor ordered), acknowledged here by all, its token ordered.
void take_over(Membership& m, Instant at) {
    const Ordered o = take(m);
    REQUIRE(o.views.size() == kRing.size());
    CHECK(m.changing());
    ack_all(m, at, o);
    REQUIRE(take(m).issues.size() == 1);
    REQUIRE(m.take_events().size() == 1);
    CHECK(m.epoch() == o.views[0].second.epoch);
}

}  // namespace

TEST_CASE("membership: a node whose port is closed is evicted at once, the token is ordered once every member holds the view", "[membership]") {
    Membership m(config(), t0);
    take_over(m, t0);
    m.raise_floor(Epoch{3});
    m.on_node_event(t0 + 100ms, down(2, t0 + 100ms, NodeAddress::port_closed, 40ms));
    auto ev = m.take_events();
    REQUIRE(ev.size() == 1);
    CHECK(ev[0].kind == MembershipEventKind::node_evicted);
    CHECK(ev[0].node == NodeId{2});
    CHECK(ev[0].address == NodeAddress::port_closed);
    const Ordered o = take(m);
    REQUIRE(o.views.size() == 4);  // to every member of the new view, and only to them
    CHECK(o.issues.empty());
    for (const auto& [n, v] : o.views) {
        CHECK(n != NodeId{2});
        CHECK(v.epoch == Epoch{4});  // above every epoch the monitor knows
        CHECK(members_of(v) == std::vector<NodeId>{NodeId{0}, NodeId{1}, NodeId{3}, NodeId{4}});
    }
    CHECK(m.changing());
    ack_all(m, t0 + 110ms, o, NodeId{4});
    CHECK(take(m).issues.empty());  // one member still to acknowledge: no token yet
    CHECK(m.take_events().empty());
    m.on_ack(t0 + 111ms, NodeId{4}, o.views[3].second.command_id + 1000, true);  // not the order's id
    CHECK(take(m).issues.empty());
    m.on_ack(t0 + 112ms, NodeId{4}, o.views[3].second.command_id, true);
    const Ordered t = take(m);
    REQUIRE(t.issues.size() == 1);
    CHECK(t.issues[0].first == NodeId{0});  // epoch 4 of 4 members: position 0
    CHECK(t.issues[0].second.epoch == Epoch{4});
    CHECK_FALSE(m.changing());
    CHECK(m.epoch() == Epoch{4});
    CHECK(m.members() == std::vector<NodeId>{NodeId{0}, NodeId{1}, NodeId{3}, NodeId{4}});
    ev = m.take_events();
    REQUIRE(ev.size() == 1);
    CHECK(ev[0].kind == MembershipEventKind::view);
    CHECK(ev[0].epoch == Epoch{4});
    // Acknowledged again: nothing more.
    ack_all(m, t0 + 120ms, o);
    CHECK(take(m).issues.empty());
}

TEST_CASE("membership: a silent node (it may be paused) is evicted only after evict_after of silence", "[membership]") {
    Membership m(config(), t0);
    take_over(m, t0);
    // Silent since t0 (node_down after 1 s): back at t0 + 2.5 s, as after a 2 s pause: never evicted.
    m.on_node_event(t0 + 1s, down(3, t0 + 1s, NodeAddress::no_answer, 1s));
    CHECK(take(m).views.empty());
    REQUIRE(m.next_deadline() == t0 + 5s);
    m.on_timer(t0 + 4999ms);
    CHECK(take(m).views.empty());
    m.on_node_event(t0 + 2500ms, up(3, t0 + 2500ms));
    CHECK_FALSE(m.next_deadline());
    m.on_timer(t0 + 6s);
    CHECK(take(m).views.empty());
    CHECK(m.take_events().empty());
    // Silent again, for good: evicted at 5 s of silence.
    m.on_node_event(t0 + 8s, down(3, t0 + 8s, NodeAddress::no_answer, 1s));
    m.on_timer(t0 + 11999ms);
    CHECK(take(m).views.empty());
    m.on_timer(t0 + 12s);
    const Ordered o = take(m);
    REQUIRE(o.views.size() == 4);
    CHECK(members_of(o.views[0].second) == std::vector<NodeId>{NodeId{0}, NodeId{1}, NodeId{2}, NodeId{4}});
    const auto ev = m.take_events();
    REQUIRE(ev.size() == 1);
    CHECK(ev[0].kind == MembershipEventKind::node_evicted);
    CHECK(ev[0].address == NodeAddress::no_answer);
}

TEST_CASE("membership: an evicted node heard again rejoins in a later view", "[membership]") {
    Membership m(config(), t0);
    take_over(m, t0);
    m.on_node_event(t0, down(1, t0, NodeAddress::port_closed));
    Ordered o = take(m);
    ack_all(m, t0 + 10ms, o);
    const Epoch first = take(m).issues.at(0).second.epoch;
    m.take_events();
    CHECK(m.left_out() == 1);
    m.on_node_event(t0 + 3s, up(1, t0 + 3s));  // restarted
    o = take(m);
    REQUIRE(o.views.size() == 5);  // the returning node is told too, and must acknowledge
    CHECK(m.left_out() == 1);      // until the view with it is complete
    CHECK(o.views[0].second.epoch > first);
    CHECK(members_of(o.views[0].second) == kRing);
    ack_all(m, t0 + 3010ms, o, NodeId{1});
    CHECK(take(m).issues.empty());  // not before the returning node has adopted the view
    m.on_ack(t0 + 3011ms, NodeId{1}, o.views[1].second.command_id, true);
    CHECK(take(m).issues.size() == 1);
    const auto ev = m.take_events();
    REQUIRE(ev.size() == 2);
    CHECK(ev[0].kind == MembershipEventKind::view);
    CHECK(ev[1].kind == MembershipEventKind::node_rejoined);
    CHECK(ev[1].node == NodeId{1});
    CHECK(m.stats().rejoined == 1);
    CHECK(m.left_out() == 0);
    // Left out again, back, and out again before the view with it completes: one node out, though
    // two evictions and no rejoin were counted.
    m.on_node_event(t0 + 4s, down(1, t0 + 4s, NodeAddress::port_closed));
    ack_all(m, t0 + 4010ms, take(m));
    m.on_node_event(t0 + 5s, up(1, t0 + 5s));
    take(m);
    m.on_node_event(t0 + 5001ms, down(1, t0 + 5001ms, NodeAddress::port_closed));
    CHECK(m.stats().evicted - m.stats().rejoined == 2);
    CHECK(m.left_out() == 1);
}

TEST_CASE("membership: a member that does not acknowledge is left out of the next view, a newer change supersedes", "[membership]") {
    Membership m(config(), t0);
    take_over(m, t0);
    m.on_node_event(t0, down(4, t0, NodeAddress::port_closed));
    const Ordered first = take(m);
    // While it is being ordered, node 0's port closes too: a newer view, the older one's acks ignored.
    m.on_node_event(t0 + 5ms, down(0, t0 + 5ms, NodeAddress::port_closed));
    const Ordered second = take(m);
    REQUIRE(second.views.size() == 3);
    CHECK(second.views[0].second.epoch > first.views[0].second.epoch);
    ack_all(m, t0 + 10ms, first);
    CHECK(take(m).issues.empty());
    // Node 3 never acknowledges: after ack_timeout it is left out too.
    ack_all(m, t0 + 10ms, second, NodeId{3});
    CHECK(take(m).issues.empty());
    REQUIRE(m.next_deadline() == t0 + 5ms + 2s);
    m.on_timer(t0 + 5ms + 2s);
    const Ordered third = take(m);
    REQUIRE(third.views.size() == 2);
    CHECK(members_of(third.views[0].second) == std::vector<NodeId>{NodeId{1}, NodeId{2}});
    ack_all(m, t0 + 3s, third);
    // Node 3 may hold a lease from an earlier monitor (granted before this one started): the
    // token waits until any such lease is surely over.
    CHECK(take(m).issues.empty());
    REQUIRE(m.next_deadline() == t0 + lease_margin(config().lease));
    m.on_timer(t0 + lease_margin(config().lease));
    CHECK(take(m).issues.size() == 1);
    // One member left: no ring to make, no view ordered.
    m.on_node_event(t0 + 4s, down(1, t0 + 4s, NodeAddress::port_closed));
    CHECK(take(m).views.empty());
    CHECK(m.members().size() == 2);
}

TEST_CASE("membership: a refused view is ordered again in a newer epoch, a member that keeps refusing is left out", "[membership]") {
    Membership m(config(), t0);
    take_over(m, t0);
    m.on_node_event(t0, down(2, t0, NodeAddress::port_closed));
    Ordered o = take(m);
    m.on_ack(t0, NodeId{0}, o.views[0].second.command_id, false);  // its epoch moved past the view's
    Ordered again = take(m);
    REQUIRE(again.views.size() == 4);
    CHECK(again.views[0].second.epoch.value >= o.views[0].second.epoch.value + 2);
    CHECK(m.stats().refusals == 1);
    for (int i = 0; i < 3; ++i) {
        m.on_ack(t0, NodeId{0}, again.views[0].second.command_id, false);
        again = take(m);
    }
    REQUIRE(again.views.size() == 3);  // node 0 left out after its fourth refusal
    CHECK(members_of(again.views[0].second) == std::vector<NodeId>{NodeId{1}, NodeId{3}, NodeId{4}});
}

TEST_CASE("membership: when too few are left for a ring, the view being ordered is given up (nothing waits on it)", "[membership]") {
    MembershipConfig c = config();
    c.ring = {NodeId{0}, NodeId{1}, NodeId{2}};
    Membership m(c, t0);
    // Two of three left out at once: the view of two ordered for the first is dropped at the second.
    m.on_node_event(t0, down(2, t0, NodeAddress::port_closed));
    CHECK(m.changing());
    m.on_node_event(t0, down(0, t0, NodeAddress::port_closed));
    CHECK_FALSE(m.changing());
    CHECK_FALSE(m.next_deadline());
    // Both back: a view of three, and each said to have rejoined.
    m.take_events();
    m.take_orders();
    m.on_node_event(t0 + 1s, up(2, t0 + 1s));
    CHECK(take(m).views.size() == 2);  // a ring of 1 and 2, superseded at once
    m.on_node_event(t0 + 1s, up(0, t0 + 1s));
    const Ordered o = take(m);
    REQUIRE(o.views.size() == 3);
    ack_all(m, t0 + 1s, o);
    std::vector<NodeId> rejoined;
    for (const auto& e : m.take_events())
        if (e.kind == MembershipEventKind::node_rejoined) rejoined.push_back(e.node);
    std::sort(rejoined.begin(), rejoined.end());
    CHECK(rejoined == std::vector<NodeId>{NodeId{0}, NodeId{2}});
}

TEST_CASE("membership: a node left out for not acknowledging rejoins only after its back-off from the view without it", "[membership][lease]") {
    // Node 3 is heard throughout but never acknowledges (a one-way fault): the view without it
    // waits for its lease, and a rejoin meanwhile would supersede that view before it has a token.
    Membership m(config(), t0);
    take_over(m, t0);
    m.on_node_event(t0, down(4, t0, NodeAddress::port_closed));  // some change, which node 3 cannot take
    ack_all(m, t0 + 10ms, take(m), NodeId{3});
    // Granted a lease just before (it still asks in the view it holds), over 3.375 s later.
    REQUIRE(m.grant(t0 + 1900ms, NodeId{3}, LeaseRequest{1, m.epoch()}));
    m.on_timer(t0 + 2s);  // its ack timeout: left out, back-off 2 s
    const Ordered without = take(m);
    REQUIRE(without.views.size() == 3);
    ack_all(m, t0 + 2010ms, without);
    CHECK(take(m).issues.empty());
    m.heard(t0 + 4500ms, NodeId{3}, t0 + 4500ms);  // past its back-off from the eviction: not yet
    CHECK(take(m).views.empty());
    const Instant done = t0 + 1900ms + lease_margin(config().lease);
    m.on_timer(done);
    CHECK(take(m).issues.size() == 1);
    m.heard(done + 1999ms, NodeId{3}, done + 1999ms);
    CHECK(take(m).views.empty());
    m.heard(done + 2s, NodeId{3}, done + 2s);
    const Ordered back = take(m);
    REQUIRE(back.views.size() == 4);
    CHECK(members_of(back.views[0].second) == std::vector<NodeId>{NodeId{0}, NodeId{1}, NodeId{2}, NodeId{3}});
}

TEST_CASE("membership: a take-over that came to nothing is ordered again once there is a ring to order", "[membership][lease]") {
    // A monitor starting while one of two nodes is dead: its view of both is given up (a ring of
    // one is none). The node back, the configured ring is what the tracker wants, but it never
    // ordered it: it orders it now (it grants leases only in a view of its own).
    MembershipConfig c = config();
    c.ring = {NodeId{0}, NodeId{1}};
    Membership m(c, t0);
    REQUIRE(take(m).views.size() == 2);
    m.on_node_event(t0 + 10ms, down(1, t0 + 10ms, NodeAddress::port_closed));
    CHECK_FALSE(m.changing());
    CHECK_FALSE(m.grant(t0 + 20ms, NodeId{0}, LeaseRequest{1, Epoch{0}}));
    m.on_node_event(t0 + 1s, up(1, t0 + 1s));
    const Ordered o = take(m);
    REQUIRE(o.views.size() == 2);
    ack_all(m, t0 + 1010ms, o);
    CHECK(take(m).issues.size() == 1);
    CHECK(m.grant(t0 + 1020ms, NodeId{0}, LeaseRequest{2, m.epoch()}));
}
