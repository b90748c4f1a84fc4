// Incidents, not alarm storms: the tracker's events for sequences of verdicts.
#include <catch2/catch.hpp>

#include "monitor/core/incidents.h"
#include "monitor/core/verdict_json.h"

using namespace ringwatch;
using namespace std::chrono_literals;

namespace {
const Instant t0 = instant_us(5'000'000);

Verdict verdict(std::uint64_t id, VerdictKind kind) {
    Verdict v;
    v.id = SnapshotId{id};
    v.kind = kind;
    v.tokens = kind == VerdictKind::ok ? 1 : kind == VerdictKind::token_duplicated ? 2 : 0;
    v.epoch = Epoch{1};
    return v;
}
}  // namespace

TEST_CASE("incidents: one alarm while the fault lasts, one resolved when the ring is ok again", "[incidents]") {
    IncidentTracker t;
    t.on_verdict(t0, verdict(1, VerdictKind::ok));
    CHECK(t.take_events().empty());
    t.on_verdict(t0 + 100ms, verdict(2, VerdictKind::token_lost));
    auto e = t.take_events();
    REQUIRE(e.size() == 1);
    CHECK(e[0].kind == IncidentEventKind::alarm);
    CHECK(e[0].fault == VerdictKind::token_lost);
    CHECK(e[0].verdict.id == SnapshotId{2});
    CHECK(
        incident_event_json(e[0], "r5").starts_with("{\"event\":\"alarm\",\"kind\":\"token_lost\",\"incident\":\"r5/1/token_lost\",\"snapshot\":2,"));
    for (std::uint64_t id = 3; id <= 9; ++id)
        t.on_verdict(t0 + id * 100ms, verdict(id, id == 5 ? VerdictKind::inconclusive : VerdictKind::token_lost));
    CHECK(t.take_events().empty());  // no storm: the same condition lasts
    CHECK(t.open());
    t.on_verdict(t0 + 1000ms, verdict(10, VerdictKind::ok));
    e = t.take_events();
    REQUIRE(e.size() == 1);
    CHECK(e[0].kind == IncidentEventKind::resolved);
    CHECK(e[0].first == SnapshotId{2});
    CHECK(e[0].last == SnapshotId{9});
    CHECK(e[0].lasted == 900ms);
    CHECK(how(e[0]) == "by_itself");
    CHECK(incident_event_json(e[0], "r5") ==
          "{\"event\":\"resolved\",\"kind\":\"token_lost\",\"incident\":\"r5/1/"
          "token_lost\",\"first_snapshot\":2,\"last_snapshot\":9,\"snapshot\":10,\"duration_ms\":900,"
          "\"how\":\"by_itself\"}");
    CHECK_FALSE(t.open());
    CHECK(t.stats().opened == 1);
    CHECK(t.stats().resolved == 1);
    CHECK(t.stats().token_lost == 1);
}

TEST_CASE("incidents: a late verdict about an earlier moment neither opens nor ends one", "[incidents]") {
    IncidentTracker t;
    t.on_verdict(t0, verdict(7, VerdictKind::token_duplicated));
    REQUIRE(t.take_events().size() == 1);
    t.on_verdict(t0 + 1ms, verdict(6, VerdictKind::ok));  // snapshot 6 timed out late, or completed after 7
    CHECK(t.take_events().empty());
    CHECK(t.open());
    t.on_verdict(t0 + 2ms, verdict(8, VerdictKind::ok));
    REQUIRE(t.take_events().size() == 1);
    t.on_verdict(t0 + 3ms, verdict(7, VerdictKind::token_duplicated));  // a repeat about the past
    CHECK(t.take_events().empty());
    CHECK_FALSE(t.open());
}

TEST_CASE("incidents: a fault that changes kind ends one incident and opens the next", "[incidents]") {
    IncidentTracker t;
    t.on_verdict(t0, verdict(1, VerdictKind::token_lost));
    t.take_events();
    t.on_verdict(t0 + 100ms, verdict(2, VerdictKind::token_duplicated));
    auto e = t.take_events();
    REQUIRE(e.size() == 2);
    CHECK(e[0].kind == IncidentEventKind::resolved);
    CHECK(how(e[0]) == "became_token_duplicated");
    CHECK(e[1].kind == IncidentEventKind::alarm);
    CHECK(e[1].fault == VerdictKind::token_duplicated);
    CHECK(t.stats().opened == 2);
    CHECK(t.stats().token_duplicated == 1);
}
