// When what the latest conclusive snapshot saw of the token is outdated (TokenFreshness), and what
// /healthz answers from it (judge_health): one rule for the status line, the dashboard and /healthz.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "monitor/core/health.h"
#include "monitor/core/token_freshness.h"

using namespace ringwatch;
using namespace std::chrono_literals;
using Json = nlohmann::json;

namespace {
const Instant t0 = instant_us(3'000'000);

Verdict verdict(std::uint64_t id, VerdictKind kind, Instant started) {
    Verdict v;
    v.id = SnapshotId{id};
    v.kind = kind;
    v.started = started;
    if (kind == VerdictKind::ok) {
        v.holders = {NodeId{4}};
        v.tokens = 1;
    }
    return v;
}
NodeEvent node(NodeEventKind kind, std::uint16_t n, Instant at) { return NodeEvent{kind, NodeId{n}, at}; }
}  // namespace

TEST_CASE("freshness: stale after 2 intervals + the snapshot timeout", "[freshness]") {
    CHECK(TokenFreshness::stale_after_for(100ms, 1000ms) == Duration{1200ms});
    CHECK(TokenFreshness::stale_after_for(5s, 1s) == Duration{11s});  // a slow schedule: longer than one interval, always
}

TEST_CASE("freshness: the latest conclusive snapshot, by age and by nodes down since it", "[freshness]") {
    TokenFreshness f(1200ms);
    CHECK(f.at(t0) == Freshness::none);
    f.on_verdict(verdict(1, VerdictKind::inconclusive, t0));
    CHECK(f.at(t0 + 10ms) == Freshness::none);  // inconclusive verdicts see nothing

    f.on_verdict(verdict(2, VerdictKind::ok, t0 + 100ms));
    REQUIRE(f.latest());
    CHECK(f.latest()->id == SnapshotId{2});
    CHECK(f.age(t0 + 400ms) == Duration{300ms});
    struct Row {
        Duration after_start;
        Freshness expected;
    };
    for (const Row& r :
         {Row{0ms, Freshness::fresh}, Row{1200ms, Freshness::fresh}, Row{1201ms, Freshness::outdated_age}, Row{1h, Freshness::outdated_age}})
        CHECK(f.at(t0 + 100ms + r.after_start) == r.expected);

    // Lost and duplicated are conclusive too; an older cut decided late does not replace a newer one.
    f.on_verdict(verdict(4, VerdictKind::token_lost, t0 + 300ms));
    f.on_verdict(verdict(3, VerdictKind::ok, t0 + 200ms));
    CHECK(f.latest()->id == SnapshotId{4});
    CHECK(f.latest()->kind == VerdictKind::token_lost);

    // A node down after it: outdated at once, whatever the age; up again: the age rule alone.
    f.on_node_event(node(NodeEventKind::node_down, 1, t0 + 350ms));
    CHECK(f.at(t0 + 360ms) == Freshness::outdated_node_down);
    CHECK(f.down() == std::vector<NodeId>{NodeId{1}});
    CHECK(f.down_since_latest() == std::vector<NodeId>{NodeId{1}});
    f.on_node_event(node(NodeEventKind::node_up, 1, t0 + 500ms));
    CHECK(f.at(t0 + 510ms) == Freshness::fresh);
    CHECK(f.down().empty());

    // A node down before the latest conclusive snapshot started: the ring went on without it.
    f.on_node_event(node(NodeEventKind::node_down, 2, t0 + 600ms));
    CHECK(f.at(t0 + 610ms) == Freshness::outdated_node_down);
    f.on_verdict(verdict(9, VerdictKind::ok, t0 + 700ms));
    CHECK(f.at(t0 + 710ms) == Freshness::fresh);
    CHECK(f.down() == std::vector<NodeId>{NodeId{2}});
    CHECK(f.down_since_latest().empty());
}

TEST_CASE("freshness: where the tokens were, in words", "[freshness]") {
    CHECK(where_tokens({}, {}) == "nowhere");
    CHECK(where_tokens({NodeId{3}}, {}) == "held by node 3");
    CHECK(where_tokens({NodeId{1}}, {{NodeId{4}, NodeId{0}, 1}}) == "held by node 1, 1 in flight 4->0");
}

TEST_CASE("/healthz: 200 while the loop reports and a conclusive snapshot is recent, 503 saying why otherwise", "[health]") {
    HealthReport r;
    r.at = t0;
    r.leading = true;
    r.term = 2;
    r.leader = 0;
    r.since_conclusive = 100ms;
    r.stale_after = 1200ms;
    r.down = {NodeId{4}};

    const HealthAnswer ok = judge_health(t0 + 200ms, r);
    CHECK(ok.status == 200);
    const Json body = Json::parse(ok.body);
    CHECK(body["healthy"] == true);
    CHECK(body["role"] == "leader");
    CHECK(body["term"] == 2);
    CHECK(body["since_conclusive_s"] == Approx(0.3));  // the report's own age added
    CHECK(body["nodes_down"] == Json::array({4}));     // a node down alone is no 503
    CHECK_FALSE(body.contains("why"));

    struct Row {
        const char* what;
        Instant now;
        std::optional<Duration> since;
        const char* why;
    };
    for (const Row& row : {Row{"no conclusive snapshot yet", t0, std::nullopt, "no conclusive snapshot yet"},
                           Row{"too old by itself", t0, 1201ms, "no conclusive snapshot for longer"},
                           Row{"too old with the report's age", t0 + 200ms, 1001ms, "no conclusive snapshot for longer"},
                           Row{"the loop silent", t0 + 1001ms, 0ms, "the monitor's loop has not reported"}}) {
        INFO(row.what);
        HealthReport bad = r;
        bad.since_conclusive = row.since;
        const HealthAnswer a = judge_health(row.now, bad);
        CHECK(a.status == 503);
        const Json j = Json::parse(a.body);
        CHECK(j["healthy"] == false);
        CHECK(j["why"].get<std::string>().starts_with(row.why));
    }
    CHECK(judge_health(t0, std::nullopt).status == 503);  // nothing published yet

    HealthReport standby = r;
    standby.leading = false;
    standby.leader = 1;
    CHECK(Json::parse(judge_health(t0, standby).body)["role"] == "standby");
    CHECK(Json::parse(judge_health(t0, standby).body)["leader"] == 1);
}
