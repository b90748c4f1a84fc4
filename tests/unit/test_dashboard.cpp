// The dashboard's feed: what a page is told, and the sentence that explains a verdict.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "monitor/core/dashboard_feed.h"
#include "monitor/core/verdict_explanation.h"

using namespace ringwatch;
using namespace std::chrono_literals;
using Json = nlohmann::json;

namespace {
const Instant t0 = instant_us(9'000'000);

DashboardFeed feed() {
    DashboardInfo info;
    info.ring_name = "five";
    for (std::uint16_t i = 0; i < 3; ++i) info.nodes.push_back({NodeId{i}, "127.0.0.1:700" + std::to_string(i)});
    info.interval = 100ms;
    return DashboardFeed(info, t0);
}

// Node 2 held the token, node 0 recorded one on its channel from node 2 (a duplicate), node 1 is idle.
Verdict verdict(std::uint64_t id, VerdictKind kind, Instant started) {
    Verdict v;
    v.id = SnapshotId{id};
    v.kind = kind;
    v.started = started;
    v.duration = 7ms;
    v.epoch = Epoch{3};
    v.cut = {{NodeId{0}, 0, NodeId{2}, 0, 0, Epoch{3}}, {NodeId{1}, 0, NodeId{0}, 0, 2, Epoch{3}}, {NodeId{2}, 1, NodeId{1}, 0, 0, Epoch{3}}};
    v.holders = {NodeId{2}};
    v.held = 1;
    v.tokens = 1;
    if (kind == VerdictKind::token_duplicated) {
        v.cut[0].in_flight = 1;
        v.channels = {{NodeId{2}, NodeId{0}, 1}};
        v.in_flight = 1;
        v.tokens = 2;
    }
    if (kind == VerdictKind::token_lost) {
        v.cut[2].held = 0;
        v.holders.clear();
        v.held = v.tokens = 0;
    }
    return v;
}
}  // namespace

TEST_CASE("dashboard: a snapshot message carries the cut, the explanation and the detection latency", "[dashboard]") {
    DashboardFeed f = feed();
    const Json ok = Json::parse(f.on_verdict(t0 + 107ms, verdict(1, VerdictKind::ok, t0 + 100ms)));
    CHECK(ok["type"] == "snapshot");
    CHECK(ok["event"] == "snapshot");  // the documented event's keys are all there
    CHECK(ok["verdict"] == "ok");
    CHECK(ok["holders"] == Json::array({2}));
    REQUIRE(ok["cut"].size() == 3);
    CHECK(ok["cut"][1] == Json{{"node", 1}, {"held", 0}, {"channel_from", 0}, {"in_flight", 0}, {"queue", 2}, {"epoch", 3}});
    CHECK(ok["duration_ms"] == 7.0);
    CHECK(ok["started_ms"] == 100.0);
    CHECK_FALSE(ok.contains("detection_ms"));  // only alarms

    const Json dup = Json::parse(f.on_verdict(t0 + 230ms, verdict(2, VerdictKind::token_duplicated, t0 + 200ms)));
    CHECK(dup["verdict"] == "token_duplicated");
    CHECK(dup["cut"][0]["in_flight"] == 1);
    CHECK(dup["detection_ms"] == 130.0);  // from the start of the newest snapshot judged ok
    CHECK(dup["explanation"].get<std::string>().starts_with("token duplicated: 2 tokens = 1 held (node 2) + 1 recorded in flight (1 on 2→0)"));
}

TEST_CASE("dashboard: a page connecting late is brought up to date, oldest first and bounded", "[dashboard]") {
    DashboardFeed f = feed();
    for (std::uint64_t i = 1; i <= DashboardFeed::kSnapshotsKept + 5; ++i) f.on_verdict(t0 + i * 100ms, verdict(i, VerdictKind::ok, t0 + i * 100ms));
    NodeEvent down{NodeEventKind::node_down, NodeId{1}, t0 + 50ms};
    down.address = NodeAddress::port_closed;
    f.on_node_event(t0 + 50ms, down);
    const auto g = f.greeting();
    REQUIRE(g.size() == 1 + 1 + DashboardFeed::kSnapshotsKept + 1);
    const Json hello = Json::parse(g.front());
    CHECK(hello["type"] == "hello");
    CHECK(hello["ring"] == "five");
    CHECK(hello["nodes"].size() == 3);
    CHECK(hello["nodes"][2] == Json{{"id", 2}, {"address", "127.0.0.1:7002"}});
    CHECK(hello["epoch"] == 3);
    CHECK(Json::parse(g[1])["event"] == "node_down");
    CHECK(Json::parse(g[2])["id"] == 6);  // the oldest kept
    CHECK(Json::parse(g[g.size() - 2])["id"] == DashboardFeed::kSnapshotsKept + 5);
    CHECK(Json::parse(g.back())["type"] == "nodes");
}

TEST_CASE("dashboard: node states are up, silent, paused or down, and a message says when they change", "[dashboard]") {
    DashboardFeed f = feed();
    std::map<NodeId, Instant> heard{{NodeId{0}, t0}, {NodeId{1}, t0}, {NodeId{2}, t0}};
    auto last = [&](NodeId n) -> std::optional<Instant> { return heard[n]; };
    auto states = f.on_tick(t0 + 10ms, last);
    REQUIRE(states);
    CHECK(Json::parse(*states)["states"] == Json{{"0", "up"}, {"1", "up"}, {"2", "up"}});
    CHECK_FALSE(f.on_tick(t0 + 20ms, last));  // nothing changed, nothing said

    heard[NodeId{0}] = heard[NodeId{2}] = t0 + 500ms;  // node 1 falls quiet
    states = f.on_tick(t0 + 501ms, last);
    REQUIRE(states);
    CHECK(f.state(NodeId{1}) == DashboardNodeState::silent);

    NodeEvent paused{NodeEventKind::node_down, NodeId{1}, t0 + 1000ms};
    paused.address = NodeAddress::no_answer;  // its port still bound: stopped, not gone
    f.on_node_event(t0 + 1000ms, paused);
    CHECK(f.state(NodeId{1}) == DashboardNodeState::paused);
    heard[NodeId{0}] = heard[NodeId{2}] = t0 + 1000ms;
    CHECK_FALSE(f.on_tick(t0 + 1001ms, last));  // still paused: the event said so already
    NodeEvent gone = paused;
    gone.address = NodeAddress::port_closed;
    f.on_node_event(t0 + 1100ms, gone);
    CHECK(f.state(NodeId{1}) == DashboardNodeState::down);
    // What the page is sent with the event (no tick changes anything to carry it).
    CHECK(Json::parse(f.states_message())["states"]["1"] == "down");

    f.on_node_event(t0 + 2000ms, NodeEvent{NodeEventKind::node_up, NodeId{1}, t0 + 2000ms});
    heard[NodeId{0}] = heard[NodeId{1}] = heard[NodeId{2}] = t0 + 2000ms;
    CHECK(f.state(NodeId{1}) == DashboardNodeState::up);
    CHECK_FALSE(f.on_tick(t0 + 2001ms, last));
}

TEST_CASE("dashboard: the explanation names who held what and why a snapshot was not judged", "[dashboard]") {
    Verdict ok = verdict(1, VerdictKind::ok, t0);
    CHECK(explain_verdict(ok) == "ok: 1 token = 1 held (node 2) + 0 recorded in flight. Exactly one token in the cut.");
    Verdict flight = ok;
    flight.holders.clear();
    flight.held = 0;
    flight.channels = {{NodeId{1}, NodeId{2}, 1}};
    flight.in_flight = 1;
    CHECK(explain_verdict(flight).starts_with("ok: 1 token = 0 held + 1 recorded in flight (1 on 1→2). Exactly one token in the cut. A token"));
    CHECK(explain_verdict(verdict(2, VerdictKind::token_lost, t0)) ==
          "token lost: 0 tokens = 0 held + 0 recorded in flight. No node recorded a token and no channel recorded one in flight.");
    Verdict missing = verdict(3, VerdictKind::inconclusive, t0);
    missing.missing = {NodeId{0}, NodeId{1}};
    missing.silent = {NodeId{1}};
    missing.stale = 1;
    CHECK(explain_verdict(missing) ==
          "inconclusive: nodes 0, 1 did not report before the timeout (node 1 silent on the links). Not judged: 1 token = 1 held (node 2) + 0 "
          "recorded in flight. 1 stale token of an older epoch not counted (discarded where it arrives).");
}

TEST_CASE("dashboard: views are told as membership events, and a page connecting late gets the current view", "[dashboard][views]") {
    DashboardFeed f = feed();
    CHECK_FALSE(Json::parse(f.greeting().front()).contains("view"));  // none yet: the configured ring
    MembershipEvent evicted{.kind = MembershipEventKind::node_evicted, .at = t0, .epoch = Epoch{1}, .members = {}, .node = NodeId{1}};
    const Json e = Json::parse(f.on_membership_event(t0 + 1s, evicted));
    CHECK(e["type"] == "membership");
    CHECK(e["event"] == "node_evicted");
    CHECK(e["node"] == 1);
    MembershipEvent view{.kind = MembershipEventKind::view, .at = t0, .epoch = Epoch{2}, .members = {NodeId{0}, NodeId{2}}, .node = NodeId{2}};
    const Json v = Json::parse(f.on_membership_event(t0 + 2s, view));
    CHECK(v["event"] == "view");
    CHECK(v["members"] == Json::array({0, 2}));
    const auto greeting = f.greeting();
    const Json hello = Json::parse(greeting.front());
    CHECK(hello["view"]["epoch"] == 2);
    CHECK(hello["view"]["members"] == Json::array({0, 2}));
    // Both events are in the history a late page gets.
    std::size_t membership = 0;
    for (const auto& m : greeting) membership += Json::parse(m)["type"] == "membership" ? 1 : 0;
    CHECK(membership == 2);
}

TEST_CASE("dashboard: the page is told which monitor it is and who leads, when that changes and on connecting", "[dashboard][leadership]") {
    DashboardInfo info;
    info.ring_name = "five";
    info.nodes.push_back({NodeId{0}, "127.0.0.1:7000"});
    info.monitor_index = 1;
    info.monitors = 3;
    DashboardFeed f(info, t0);
    CHECK(Json::parse(f.greeting().front())["monitor"] == Json{{"index", 1}, {"of", 3}});
    CHECK(f.greeting().size() == 2);  // hello and the node states: no leader known yet
    const auto first = f.on_leadership({false, 1, 0});
    REQUIRE(first);
    const Json l = Json::parse(*first);
    CHECK(l["type"] == "leadership");
    CHECK(l["leading"] == false);
    CHECK(l["term"] == 1);
    CHECK(l["leader"] == 0);
    CHECK_FALSE(f.on_leadership({false, 1, 0}));  // unchanged: nothing to send
    const auto self = f.on_leadership({true, 2, 1});
    REQUIRE(self);
    CHECK(Json::parse(*self)["leading"] == true);
    const auto unknown = f.on_leadership({false, 3, std::nullopt});
    REQUIRE(unknown);
    CHECK(Json::parse(*unknown)["leader"].is_null());
    // A page connecting late is told the latest, right after the hello.
    const auto greeting = f.greeting();
    REQUIRE(greeting.size() >= 2);
    CHECK(Json::parse(greeting[1])["type"] == "leadership");
    CHECK(Json::parse(greeting[1])["term"] == 3);
}
