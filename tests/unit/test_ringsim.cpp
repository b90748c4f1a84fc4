// The whole system in the simulator: a sweep of random scenarios with every invariant checked,
// explicit fault scenarios, replay determinism, and proof that the checker catches a broken cut.
#include <catch2/catch.hpp>

#include "tests/sim/scenarios.h"

using namespace ringwatch;
using namespace ringwatch::sim;
using namespace std::chrono_literals;

namespace {

constexpr std::uint64_t kSeedsPerShard = 100;

void sweep_shard(std::uint64_t shard) {
    for (std::uint64_t seed = shard * kSeedsPerShard; seed < (shard + 1) * kSeedsPerShard; ++seed) {
        const SimSummary s = run_simulation(random_scenario(seed, 10s));
        std::string why;
        for (const auto& v : s.violations) why += "\n  " + v;
        INFO("replay: build/bin/ringsim --seed " << seed << " --random-faults --duration 10s" << why);
        REQUIRE(s.ok_run());
        REQUIRE(s.snapshots > 0);
    }
}

std::vector<Verdict> run_collect(const SimConfig& c, SimSummary* summary = nullptr) {
    std::vector<Verdict> out;
    SimSummary s = run_simulation(c, [&](const Verdict& v) { out.push_back(v); });
    if (summary) *summary = s;
    std::string why;
    for (const auto& v : s.violations) why += "\n  " + v;
    INFO("seed " << c.seed << why);
    CHECK(s.ok_run());
    return out;
}

}  // namespace

#define RINGSIM_SHARD(n) \
    TEST_CASE("ringsim sweep: random faults keep every invariant for seeds " #n "00 to " #n "99", "[sim][property]") { sweep_shard(n); }
RINGSIM_SHARD(0)
RINGSIM_SHARD(1)
RINGSIM_SHARD(2)
RINGSIM_SHARD(3)
RINGSIM_SHARD(4)

TEST_CASE("ringsim: network faults alone never raise an alarm and every message arrives once", "[sim]") {
    SimConfig c;
    c.seed = 11;
    c.nodes = 8;
    c.duration = 30s;
    c.net.loss = 0.3;
    c.net.duplicate = 0.1;
    c.net.reorder = 0.2;
    SimSummary s;
    auto verdicts = run_collect(c, &s);
    CHECK(s.token_lost == 0);
    CHECK(s.token_duplicated == 0);
    CHECK(s.ok > 200);
    CHECK(s.app_sent > 100);
    CHECK(s.app_delivered == s.app_sent);
    CHECK(s.datagrams_lost > 1000);  // the faults were real
}

TEST_CASE("ringsim: a lost token is caught by the first snapshot after the loss", "[sim]") {
    SimConfig c;
    c.seed = 12;
    c.duration = 10s;
    c.net.loss = 0.1;
    c.injects.push_back({3s, 2, InjectKind::lose});
    SimSummary s;
    auto verdicts = run_collect(c, &s);
    CHECK(s.faults_taken_effect == 1);
    CHECK(s.faults_detected == 1);
    bool ok_before = false, alarm_after = false;
    for (const auto& v : verdicts) {
        if (v.started < Instant{} + 3s) ok_before |= v.kind == VerdictKind::ok;
        if (v.kind == VerdictKind::token_lost) {
            alarm_after = true;
            CHECK(v.tokens == 0);
            CHECK(v.holders.empty());
        }
    }
    CHECK(ok_before);
    CHECK(alarm_after);
}

TEST_CASE("ringsim: a duplicated token is caught and located", "[sim]") {
    SimConfig c;
    c.seed = 13;
    c.nodes = 6;
    c.duration = 10s;
    c.hold = 0ms;  // tokens spend most of their time on links: the alarm must find them there
    c.injects.push_back({2s, 4, InjectKind::duplicate});
    SimSummary s;
    auto verdicts = run_collect(c, &s);
    CHECK(s.faults_detected == 1);
    bool found = false;
    for (const auto& v : verdicts) {
        if (v.kind != VerdictKind::token_duplicated) continue;
        found = true;
        CHECK(v.tokens == 2);
        CHECK(v.holders.size() + v.in_flight == 2);
        std::uint32_t on_channels = 0;
        for (auto& ch : v.channels) on_channels += ch.tokens;
        CHECK(on_channels == v.in_flight);
    }
    CHECK(found);
    CHECK(s.token_duplicated > 0);
}

TEST_CASE("ringsim: a crashed node makes snapshots inconclusive naming it, never a false verdict", "[sim]") {
    SimConfig c;
    c.seed = 14;
    c.nodes = 5;
    c.duration = 8s;
    c.crashes.push_back({2s, 3, std::nullopt});
    SimSummary s;
    auto verdicts = run_collect(c, &s);
    int inconclusive_naming_3 = 0;
    for (const auto& v : verdicts) {
        if (v.started >= Instant{} + 2s + 10ms) {
            REQUIRE(v.kind == VerdictKind::inconclusive);
            // 4 waits for 3's marker, so it cannot report either; the links say which one is silent.
            CHECK(v.missing == std::vector<NodeId>{NodeId{3}, NodeId{4}});
            ++inconclusive_naming_3;
            // The monitor's link notices the silence after silent_after (1 s).
            if (v.started >= Instant{} + 3500ms) CHECK(v.silent == std::vector<NodeId>{NodeId{3}});
        }
    }
    CHECK(inconclusive_naming_3 > 40);
}

TEST_CASE("ringsim: one initiator and many initiators reach the same verdicts", "[sim]") {
    for (bool single : {false, true}) {
        SimConfig c;
        c.seed = 15;
        c.nodes = 10;
        c.duration = 6s;
        c.single_initiator = single;
        c.net.loss = 0.05;
        c.injects.push_back({3s, 1, InjectKind::lose});
        SimSummary s;
        run_collect(c, &s);
        INFO("single initiator: " << single);
        CHECK(s.ok > 10);
        CHECK(s.token_lost > 10);
        CHECK(s.faults_detected == 1);
    }
}

TEST_CASE("ringsim: one seed replays bit for bit", "[sim]") {
    auto c = random_scenario(4242, 5s);
    std::vector<std::string> a, b;
    run_simulation(c, [&](const Verdict& v) { a.push_back(fmt::format("{} {} {} {}", v.id, to_string(v.kind), v.tokens, v.duration.count())); });
    run_simulation(c, [&](const Verdict& v) { b.push_back(fmt::format("{} {} {} {}", v.id, to_string(v.kind), v.tokens, v.duration.count())); });
    CHECK(a.size() > 10);
    CHECK(a == b);
}

TEST_CASE("ringsim: the invariant checker catches snapshots that do not record channels", "[sim]") {
    int caught = 0;
    for (std::uint64_t seed = 0; seed < 10; ++seed) {
        SimConfig c;
        c.seed = seed;
        c.nodes = 4;
        c.duration = 500ms;
        c.heal_within = 2s;
        c.hold = 0ms;  // the token is on a link most of the time
        c.sabotage_channel_recording = true;
        caught += run_simulation(c).ok_run() ? 0 : 1;
    }
    CHECK(caught >= 8);
}

TEST_CASE("ringsim: fault scripts parse and report their errors", "[sim]") {
    std::vector<TimedInject> inj;
    CHECK(parse_injects("lose@10s,duplicate:3@250ms", inj).empty());
    REQUIRE(inj.size() == 2);
    CHECK(inj[0].node == 1);
    CHECK(inj[0].at == 10s);
    CHECK(inj[1].kind == InjectKind::duplicate);
    CHECK(inj[1].node == 3);
    CHECK(inj[1].at == 250ms);
    CHECK_FALSE(parse_injects("melt@1s", inj).empty());
    CHECK_FALSE(parse_injects("lose@soon", inj).empty());
    std::vector<TimedCrash> cr;
    CHECK(parse_crashes("2@5s+3s", cr).empty());
    REQUIRE(cr.size() == 1);
    CHECK(cr[0].restart_after == Duration{3s});
    CHECK_FALSE(parse_crashes("x@1s", cr).empty());
}
