// node_down / node_up from the monitor's pure liveness core.
#include <catch2/catch.hpp>

#include "monitor/core/node_liveness.h"

using namespace ringwatch;
using namespace std::chrono_literals;

namespace {
const Instant t0 = instant_us(1'000'000);
const std::vector<NodeId> ring{NodeId{0}, NodeId{1}, NodeId{2}};
LivenessConfig config() {
    LivenessConfig c;
    c.node_timeout = 1000ms;
    c.suspect_after = 200ms;
    c.probe_every = 100ms;
    return c;
}
// Drives the core to `until` in 10 ms steps, as a timer would; `heard` nodes report every step.
void run(NodeLiveness& l, Instant& now, Instant until, std::vector<NodeId> heard, std::vector<NodeId>* probed = nullptr) {
    while (now < until) {
        now += 10ms;
        for (NodeId n : heard) l.heard(now, n, Incarnation{n.value + 100u});
        l.on_timer(now);
        for (NodeId p : l.take_probes())
            if (probed) probed->push_back(p);
    }
}
}  // namespace

TEST_CASE("liveness: a node whose port is closed is down at once, named, with how long it was silent", "[liveness]") {
    NodeLiveness l(ring, config(), t0);
    Instant now = t0;
    run(l, now, t0 + 500ms, ring);
    CHECK(l.take_events().empty());
    std::vector<NodeId> probed;
    run(l, now, t0 + 800ms, {NodeId{0}, NodeId{2}}, &probed);  // node 1 falls silent at 500 ms
    REQUIRE_FALSE(probed.empty());
    CHECK(std::all_of(probed.begin(), probed.end(), [](NodeId n) { return n == NodeId{1}; }));
    CHECK(l.take_events().empty());  // probed, but nothing refused yet and not timed out
    l.probe_refused(now, NodeId{1});
    auto ev = l.take_events();
    REQUIRE(ev.size() == 1);
    CHECK(ev[0].kind == NodeEventKind::node_down);
    CHECK(ev[0].node == NodeId{1});
    CHECK(ev[0].address == NodeAddress::port_closed);
    CHECK(ev[0].silent_for == 300ms);
    CHECK(l.down(NodeId{1}));
    // Down once: more refusals and the timeout add nothing.
    l.probe_refused(now, NodeId{1});
    run(l, now, t0 + 3s, {NodeId{0}, NodeId{2}});
    CHECK(l.take_events().empty());
    // Back as a new process.
    l.heard(now, NodeId{1}, Incarnation{999});
    ev = l.take_events();
    REQUIRE(ev.size() == 1);
    CHECK(ev[0].kind == NodeEventKind::node_up);
    CHECK(ev[0].restarted);
    CHECK(ev[0].down_for == 2200ms);
}

TEST_CASE("liveness: a silent node whose port does not refuse is down only after the timeout, and up as the same process", "[liveness]") {
    NodeLiveness l(ring, config(), t0);
    Instant now = t0;
    run(l, now, t0 + 100ms, ring);
    run(l, now, t0 + 1090ms, {NodeId{0}, NodeId{1}});
    CHECK(l.take_events().empty());
    run(l, now, t0 + 1100ms, {NodeId{0}, NodeId{1}});
    auto ev = l.take_events();
    REQUIRE(ev.size() == 1);
    CHECK(ev[0].node == NodeId{2});
    CHECK(ev[0].address == NodeAddress::no_answer);
    CHECK(ev[0].silent_for == 1000ms);
    l.heard(now, NodeId{2}, Incarnation{102});  // a datagram as old as the verdict: no news
    CHECK(l.take_events().empty());
    l.heard(now + 5ms, NodeId{2}, Incarnation{102});
    ev = l.take_events();
    REQUIRE(ev.size() == 1);
    CHECK(ev[0].kind == NodeEventKind::node_up);
    CHECK_FALSE(ev[0].restarted);
}

TEST_CASE("liveness: a refusal before a node was ever heard is not taken as death (it may not have started yet)", "[liveness]") {
    NodeLiveness l(ring, config(), t0);
    Instant now = t0;
    l.probe_refused(now, NodeId{1});
    CHECK(l.take_events().empty());
    run(l, now, t0 + 1000ms, {NodeId{0}, NodeId{2}});
    auto ev = l.take_events();
    REQUIRE(ev.size() == 1);
    CHECK(ev[0].node == NodeId{1});
    CHECK_FALSE(ev[0].ever_heard);
    CHECK(ev[0].address == NodeAddress::no_answer);
}

// The monitor of a large ring wakes for the one node whose time has come, not for a pass over all.
TEST_CASE("liveness: the next deadline is the earliest node's, and only the nodes due act, in node order", "[liveness]") {
    std::vector<NodeId> many;
    for (std::uint16_t i = 0; i < 1000; ++i) many.push_back(NodeId{i});
    NodeLiveness l(many, config(), t0);
    CHECK(l.next_deadline() == t0 + 200ms);  // none heard yet: every one suspect 200 ms after the start
    // Heard at staggered times, in reverse order: node 999 first, node 0 last.
    for (std::uint16_t i = 0; i < 1000; ++i) l.heard(t0 + Duration{1000 - i}, NodeId{i}, Incarnation{1});
    CHECK(l.next_deadline() == t0 + 1us + 200ms);  // node 999's probe
    l.on_timer(t0 + 1us + 200ms - 1us);
    CHECK(l.take_probes().empty());
    l.heard(t0 + 50ms, NodeId{999}, Incarnation{1});
    CHECK(l.next_deadline() == t0 + 2us + 200ms);  // node 998's, now
    l.on_timer(t0 + 3us + 200ms);                  // 998 and 997 are due
    CHECK(l.take_probes() == std::vector<NodeId>{NodeId{997}, NodeId{998}});
    CHECK(l.next_deadline() == t0 + 4us + 200ms);
    // Silent past the timeout: down, and out of the deadlines until heard again.
    l.on_timer(t0 + 1000ms + 1000us);
    const auto events = l.take_events();
    CHECK(events.size() == 999);  // all but node 999, heard at 50 ms (and probed now)
    CHECK(l.take_probes() == std::vector<NodeId>{NodeId{999}});
    CHECK(l.next_deadline() == t0 + 50ms + 1000ms);  // node 999's timeout, before its next probe
    CHECK(l.down_nodes().size() == 999);
    l.on_timer(t0 + 1050ms);
    CHECK(l.take_events().size() == 1);
    CHECK_FALSE(l.next_deadline());  // every node down: nothing to wake up for
    l.heard(t0 + 2s, NodeId{5}, Incarnation{1});
    CHECK(l.next_deadline() == t0 + 2s + 200ms);
}
