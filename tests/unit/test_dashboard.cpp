// The dashboard's feed: what a page is told, and the sentence that explains a verdict.
#include <catch2/catch.hpp>

#include <set>

#include <nlohmann/json.hpp>

#include "monitor/core/dashboard_feed.h"
#include "monitor/core/verdict_explanation.h"

using namespace ringwatch;
using namespace std::chrono_literals;
using Json = nlohmann::json;

namespace {
const Instant t0 = instant_us(9'000'000);
constexpr std::int64_t kUnix0 = 1'700'000'000'000;  // the wall clock at t0, in ms

// A moment `d` after t0, on both clocks.
Moment at(Duration d) { return {t0 + d, kUnix0 + std::chrono::duration_cast<std::chrono::milliseconds>(d).count()}; }

DashboardFeed feed() {
    DashboardInfo info;
    info.ring_name = "five";
    for (std::uint16_t i = 0; i < 3; ++i) info.nodes.push_back({NodeId{i}, "127.0.0.1:700" + std::to_string(i)});
    info.interval = 100ms;
    info.timeout = 1000ms;
    return DashboardFeed(info);
}

// The messages of `messages` of one type.
std::vector<Json> of_type(const std::vector<std::string>& messages, std::string_view type) {
    std::vector<Json> out;
    for (const auto& m : messages)
        if (Json j = Json::parse(m); j["type"] == type) out.push_back(std::move(j));
    return out;
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

TEST_CASE("dashboard: a snapshot message carries the cut, the explanation, wall-clock times and the detection latency", "[dashboard]") {
    DashboardFeed f = feed();
    const auto first = f.on_verdict(at(107ms), verdict(1, VerdictKind::ok, t0 + 100ms));
    REQUIRE(first.size() == 2);  // the snapshot, then the token as it saw it
    const Json ok = Json::parse(first[0]);
    CHECK(ok["type"] == "snapshot");
    CHECK(ok["event"] == "snapshot");  // the documented event's keys are all there
    CHECK(ok["verdict"] == "ok");
    CHECK(ok["holders"] == Json::array({2}));
    REQUIRE(ok["cut"].size() == 3);
    CHECK(ok["cut"][1] == Json{{"node", 1}, {"held", 0}, {"channel_from", 0}, {"in_flight", 0}, {"queue", 2}, {"epoch", 3}});
    CHECK(ok["duration_ms"] == 7.0);
    CHECK(ok["at_unix_ms"] == kUnix0 + 107);
    CHECK(ok["started_unix_ms"] == kUnix0 + 100);  // placed on the wall clock by its distance from now
    CHECK_FALSE(ok.contains("detection_ms"));      // only alarms

    const Json dup = Json::parse(f.on_verdict(at(230ms), verdict(2, VerdictKind::token_duplicated, t0 + 200ms))[0]);
    CHECK(dup["verdict"] == "token_duplicated");
    CHECK(dup["cut"][0]["in_flight"] == 1);
    CHECK(dup["detection_ms"] == 130.0);  // from the start of the newest snapshot judged ok
    CHECK(dup["explanation"].get<std::string>().starts_with("token duplicated: 2 tokens = 1 held (node 2) + 1 recorded in flight (1 on 2→0)"));
}

TEST_CASE("dashboard: a page connecting late is brought up to date, oldest first and bounded", "[dashboard]") {
    DashboardFeed f = feed();
    for (std::uint64_t i = 1; i <= DashboardFeed::kSnapshotsKept + 5; ++i) f.on_verdict(at(i * 100ms), verdict(i, VerdictKind::ok, t0 + i * 100ms));
    NodeEvent down{NodeEventKind::node_down, NodeId{1}, t0 + 50ms};
    down.address = NodeAddress::port_closed;
    f.on_node_event(at(50ms), down);
    const auto g = f.greeting(at(12600ms));
    REQUIRE(g.size() == 1 + 1 + DashboardFeed::kSnapshotsKept + 4);
    const Json hello = Json::parse(g.front());
    CHECK(hello["type"] == "hello");
    CHECK(hello["ring"] == "five");
    CHECK(hello["nodes"].size() == 3);
    CHECK(hello["nodes"][2] == Json{{"id", 2}, {"address", "127.0.0.1:7002"}});
    CHECK(hello["epoch"] == 3);
    CHECK(Json::parse(g[1])["event"] == "node_down");
    CHECK(Json::parse(g[1])["at_unix_ms"] == kUnix0 + 50);
    CHECK(Json::parse(g[2])["id"] == 6);  // the oldest kept
    CHECK(Json::parse(g[g.size() - 5])["id"] == DashboardFeed::kSnapshotsKept + 5);
    CHECK(Json::parse(g[g.size() - 4])["type"] == "nodes");
    CHECK(Json::parse(g[g.size() - 3])["type"] == "token");
    CHECK(Json::parse(g[g.size() - 2])["type"] == "totals");
    CHECK(Json::parse(g.back())["type"] == "greeted");  // the page drops what it was not told again
}

TEST_CASE("dashboard: node states come from the monitor's node events, never from a node's reports", "[dashboard]") {
    DashboardFeed f = feed();
    std::set<NodeId> heard;
    auto heard_of = [&](NodeId n) { return heard.contains(n); };
    CHECK(f.on_tick(at(10ms), heard_of).empty());  // nothing heard yet, nothing changed
    CHECK(f.state(NodeId{0}) == DashboardNodeState::unheard);
    heard = {NodeId{0}, NodeId{1}, NodeId{2}};
    auto states = of_type(f.on_tick(at(20ms), heard_of), "nodes");
    REQUIRE(states.size() == 1);
    CHECK(states[0]["states"] == Json{{"0", "up"}, {"1", "up"}, {"2", "up"}});
    CHECK(of_type(f.on_tick(at(30ms), heard_of), "nodes").empty());  // nothing changed, nothing said

    // A live node sending no report for seconds (a successor waiting for a dead predecessor's
    // marker) stays up: only the monitor's node_down changes it.
    CHECK(of_type(f.on_tick(at(5s), heard_of), "nodes").empty());
    CHECK(f.state(NodeId{2}) == DashboardNodeState::up);

    NodeEvent paused{NodeEventKind::node_down, NodeId{1}, t0 + 6s};
    paused.address = NodeAddress::no_answer;  // its port still bound: stopped, not gone
    const auto told = f.on_node_event(at(6s), paused);
    CHECK(f.state(NodeId{1}) == DashboardNodeState::paused);
    REQUIRE(of_type(told, "nodes").size() == 1);  // what the page is sent with the event
    CHECK(of_type(told, "nodes")[0]["states"]["1"] == "paused");
    CHECK(of_type(f.on_tick(at(6100ms), heard_of), "nodes").empty());  // still paused: the event said so already
    NodeEvent gone = paused;
    gone.address = NodeAddress::port_closed;
    f.on_node_event(at(6200ms), gone);
    CHECK(f.state(NodeId{1}) == DashboardNodeState::down);

    f.on_node_event(at(7s), NodeEvent{NodeEventKind::node_up, NodeId{1}, t0 + 7s});
    CHECK(f.state(NodeId{1}) == DashboardNodeState::up);
    CHECK(of_type(f.on_tick(at(7100ms), heard_of), "nodes").empty());
}

TEST_CASE("dashboard: the token as the latest conclusive snapshot saw it, with its age, and outdated when old or after a node down",
          "[dashboard][freshness]") {
    DashboardFeed f = feed();
    Json token = Json::parse(f.token_message(at(0ms)));
    CHECK(token["freshness"] == "none");
    CHECK(token["outdated"] == true);
    CHECK_FALSE(token.contains("snapshot"));

    token = of_type(f.on_verdict(at(110ms), verdict(1, VerdictKind::ok, t0 + 100ms)), "token").at(0);
    CHECK(token["freshness"] == "fresh");
    CHECK(token["outdated"] == false);
    CHECK(token["snapshot"] == 1);
    CHECK(token["verdict"] == "ok");
    CHECK(token["tokens"] == 1);
    CHECK(token["holders"] == Json::array({2}));
    CHECK(token["where"] == "held by node 2");
    CHECK(token["age_ms"] == 10.0);
    CHECK(token["started_unix_ms"] == kUnix0 + 100);
    CHECK(token["stale_after_ms"] == 1200.0);  // 2 intervals + the timeout

    // Inconclusive verdicts change nothing the page is told of the token...
    token = of_type(f.on_verdict(at(1200ms), verdict(2, VerdictKind::inconclusive, t0 + 200ms)), "token").at(0);
    CHECK(token["snapshot"] == 1);
    CHECK(token["freshness"] == "fresh");
    // ...and once the sighting is older than 1.2 s a tick says it is outdated, once.
    CHECK(f.on_tick(at(1300ms), [](NodeId) { return false; }).empty());
    auto ticked = of_type(f.on_tick(at(1301ms), [](NodeId) { return false; }), "token");
    REQUIRE(ticked.size() == 1);
    CHECK(ticked[0]["freshness"] == "outdated_age");
    CHECK(ticked[0]["outdated"] == true);
    CHECK(ticked[0]["snapshot"] == 1);  // what was last seen stays said, with its age
    CHECK(ticked[0]["age_ms"] == 1201.0);
    CHECK(f.on_tick(at(1400ms), [](NodeId) { return false; }).empty());

    // Fresh again; then a node down: outdated at once, until a conclusive snapshot started after it.
    f.on_verdict(at(1510ms), verdict(3, VerdictKind::ok, t0 + 1500ms));
    NodeEvent down{NodeEventKind::node_down, NodeId{2}, t0 + 1600ms};
    down.address = NodeAddress::port_closed;
    token = of_type(f.on_node_event(at(1600ms), down), "token").at(0);
    CHECK(token["freshness"] == "outdated_node_down");
    CHECK(token["down"] == Json::array({2}));
    CHECK(token["down_since"] == Json::array({2}));
    // A snapshot started before the node went down and decided after: still the old news.
    token = of_type(f.on_verdict(at(1650ms), verdict(4, VerdictKind::ok, t0 + 1590ms)), "token").at(0);
    CHECK(token["freshness"] == "outdated_node_down");
    token = of_type(f.on_verdict(at(1710ms), verdict(5, VerdictKind::ok, t0 + 1700ms)), "token").at(0);
    CHECK(token["freshness"] == "fresh");
    CHECK(token["down"] == Json::array({2}));  // still down, but the ring went on without it
    CHECK(token["down_since"] == Json::array());
}

TEST_CASE("dashboard: the counters are the monitor's totals, so a page opened late shows the same numbers", "[dashboard]") {
    DashboardFeed f = feed();
    MonitorStats verdicts;
    IncidentStats incidents;
    LivenessStats nodes;
    verdicts.ok = 500;
    verdicts.token_lost = 4;
    verdicts.inconclusive = 7;
    incidents.opened = 2;
    incidents.token_lost = 2;
    incidents.resolved = 1;
    nodes.node_down = 1;
    f.on_verdict(at(100ms), verdict(511, VerdictKind::token_lost, t0 + 90ms));
    IncidentEvent alarm{};
    alarm.kind = IncidentEventKind::alarm;
    alarm.fault = VerdictKind::token_lost;
    f.on_incident(at(100ms), alarm);
    const auto told = f.on_totals(totals_of(verdicts, incidents, nodes));
    REQUIRE(told);
    const Json t = Json::parse(*told);
    CHECK(t["type"] == "totals");
    CHECK(t["snapshot"] == 511);  // the totals include this verdict
    CHECK(t["verdicts"] == Json{{"ok", 500}, {"token_lost", 4}, {"token_duplicated", 0}, {"inconclusive", 7}});
    CHECK(t["incidents"]["opened"] == 3);  // token incidents and node_down, as the monitor's totals line counts them
    CHECK(t["incidents"]["resolved"] == 1);
    CHECK(t["open"] == Json::array({Json{{"what", "token_lost"}, {"since_unix_ms", kUnix0 + 100}}}));
    CHECK_FALSE(f.on_totals(totals_of(verdicts, incidents, nodes)));  // unchanged: nothing to send
    // A page connecting now is sent the same.
    const auto late = of_type(f.greeting(at(200ms)), "totals");
    REQUIRE(late.size() == 1);
    CHECK(late[0] == t);
}

TEST_CASE("dashboard: /healthz's report says the role, the sighting's age and the nodes down", "[dashboard][health]") {
    DashboardFeed f = feed();
    CHECK_FALSE(f.health(t0).since_conclusive);
    f.on_leadership({true, 2, 0});
    f.on_verdict(at(110ms), verdict(1, VerdictKind::ok, t0 + 100ms));
    NodeEvent down{NodeEventKind::node_down, NodeId{1}, t0 + 150ms};
    f.on_node_event(at(150ms), down);
    const HealthReport r = f.health(t0 + 300ms);
    CHECK(r.at == t0 + 300ms);
    CHECK(r.leading);
    CHECK(r.term == 2);
    CHECK(r.since_conclusive == Duration{200ms});
    CHECK(r.stale_after == Duration{1200ms});
    CHECK(r.down == std::vector<NodeId>{NodeId{1}});
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
    CHECK_FALSE(Json::parse(f.greeting(at(0ms)).front()).contains("view"));  // none yet: the configured ring
    MembershipEvent evicted{.kind = MembershipEventKind::node_evicted, .at = t0, .epoch = Epoch{1}, .members = {}, .node = NodeId{1}};
    const Json e = Json::parse(f.on_membership_event(at(1s), evicted));
    CHECK(e["type"] == "membership");
    CHECK(e["event"] == "node_evicted");
    CHECK(e["node"] == 1);
    MembershipEvent view{.kind = MembershipEventKind::view, .at = t0, .epoch = Epoch{2}, .members = {NodeId{0}, NodeId{2}}, .node = NodeId{2}};
    const Json v = Json::parse(f.on_membership_event(at(2s), view));
    CHECK(v["event"] == "view");
    CHECK(v["members"] == Json::array({0, 2}));
    const auto greeting = f.greeting(at(3s));
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
    DashboardFeed f(info);
    CHECK(Json::parse(f.greeting(at(0ms)).front())["monitor"] == Json{{"index", 1}, {"of", 3}});
    CHECK(f.greeting(at(0ms)).size() == 5);  // hello, node states, token, totals, greeted: no leader known yet
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
    const auto greeting = f.greeting(at(3s));
    REQUIRE(greeting.size() >= 2);
    CHECK(Json::parse(greeting[1])["type"] == "leadership");
    CHECK(Json::parse(greeting[1])["term"] == 3);
}
