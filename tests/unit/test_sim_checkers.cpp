// The simulator's rules have teeth: for each rule, a deliberately broken core (tests/sim/mutants.h)
// that the rule must catch, while the same scenario with the ring's own cores breaks nothing.
#include <catch2/catch.hpp>

#include "tests/sim/scenarios.h"

using namespace ringwatch;
using namespace ringwatch::sim;
using namespace std::chrono_literals;

namespace {

std::string why(const SimSummary& s) {
    std::string w;
    for (const auto& [rule, n] : s.violation_counts) w += fmt::format("\n  {} x [{}]", n, rule);
    for (const auto& v : s.violations) w += "\n  [" + v.rule + "] " + v.what;
    return w;
}

SimConfig scenario(Mutant m) {
    SimConfig c;
    c.seed = 21;
    c.nodes = 5;
    c.duration = 5s;
    c.net.loss = 0.05;
    // A rotation (5 x 7 ms) that does not divide the snapshot interval: snapshots find the token
    // at every node, the broken one (node 1) included. Enough traffic for every node to send.
    c.hold = 7ms;
    c.app_messages_per_s = 20;
    c.mutant = m;
    return c;
}

// Runs `c` with the mutant and without: the clean run keeps every rule, the mutant breaks `rule`.
void require_caught(SimConfig c, std::string_view rule) {
    const Mutant m = c.mutant;
    c.mutant = Mutant::none;
    const SimSummary clean = run_simulation(c);
    INFO("clean run: build/bin/ringsim " << replay_flags(c, false) << why(clean));
    REQUIRE(clean.ok_run());
    c.mutant = m;
    const SimSummary broken = run_simulation(c);
    INFO("mutant " << to_string(m) << ": build/bin/ringsim " << replay_flags(c, false) << why(broken));
    CHECK(broken.count(rule) > 0);
}

// A token lost while the monitor runs (alarm), the monitor stopped, `ring recover` walking a
// regenerate by hand, a new monitor started later.
SimConfig by_hand(Mutant m) {
    SimConfig c = scenario(m);
    c.injects.push_back({1500ms, 2, InjectKind::lose});
    c.monitor_restarts.push_back({2s, 3s});
    c.regenerates_by_hand.push_back(2500ms);
    return c;
}

}  // namespace

TEST_CASE("checkers: a by-hand regenerate that names every node it orders the issuer breaks the birth rule", "[sim][checkers][walk]") {
    require_caught(by_hand(Mutant::walk_names_many_issuers), rule::birth);
}

TEST_CASE("checkers: a by-hand regenerate that orders the epoch before its choice (says done, makes no token) breaks the recovery rule",
          "[sim][checkers][walk]") {
    require_caught(by_hand(Mutant::walk_reuses_epoch), rule::recovery);
}

TEST_CASE("checkers: a monitor that hides alarms breaks the naming and detection rules", "[sim][checkers]") {
    SimConfig c = scenario(Mutant::monitor_hides_alarms);
    c.injects.push_back({2s, 2, InjectKind::lose});
    require_caught(c, rule::naming);
    require_caught(c, rule::detection);
}

TEST_CASE("checkers: a monitor that never reports a dead node breaks the node-events rule", "[sim][checkers]") {
    SimConfig c = scenario(Mutant::monitor_misses_dead_nodes);
    c.duration = 8s;
    c.crashes.push_back({2s, 3, std::nullopt});
    require_caught(c, rule::node_events);
}

TEST_CASE("checkers: a monitor that calls a merely silent node's port closed breaks the node-events rule", "[sim][checkers]") {
    // Half the datagrams lost on every link into the monitor: reports stop for longer than the
    // node timeout while every node is up, so a node_down can only say `no_answer`.
    SimConfig c = scenario(Mutant::monitor_guesses_port_closed);
    c.net.loss = 0.6;
    c.node_timeout = 300ms;
    require_caught(c, rule::node_events);
}

TEST_CASE("checkers: a recovery that makes no new token breaks the recovery rule", "[sim][checkers]") {
    SimConfig c = scenario(Mutant::monitor_orders_no_token);
    c.recover = RecoveryMode::regenerate;
    c.injects.push_back({2s, 2, InjectKind::lose});
    require_caught(c, rule::recovery);
}

TEST_CASE("checkers: a rollback to a snapshot not judged ok breaks the recovery rule", "[sim][checkers]") {
    SimConfig c = scenario(Mutant::monitor_restores_bad_snapshot);
    c.recover = RecoveryMode::rollback;
    c.injects.push_back({2s, 2, InjectKind::lose});
    require_caught(c, rule::recovery);
}

TEST_CASE("checkers: a monitor that stops after its first alarm breaks the detection rule", "[sim][checkers]") {
    SimConfig c = scenario(Mutant::monitor_stops_after_alarm);
    c.injects.push_back({2s, 2, InjectKind::duplicate});
    require_caught(c, rule::detection);
}

TEST_CASE("checkers: a monitor that alarms on every bad verdict breaks the incidents rule", "[sim][checkers]") {
    SimConfig c = scenario(Mutant::monitor_alarm_storm);
    c.injects.push_back({2s, 2, InjectKind::lose});
    require_caught(c, rule::incidents);
}

TEST_CASE("checkers: a monitor that decides without the missing reports breaks the outage and verdict rules", "[sim][checkers]") {
    SimConfig c = scenario(Mutant::monitor_ignores_missing);
    c.crashes.push_back({2s, 3, std::nullopt});
    require_caught(c, rule::outage);
    require_caught(c, rule::verdict);
}

TEST_CASE("checkers: a monitor that miscounts breaks the verdict and false-alarm rules", "[sim][checkers]") {
    SimConfig c = scenario(Mutant::monitor_miscounts);
    c.hold = 1ms;  // tokens are often in flight at the cut
    require_caught(c, rule::verdict);
    require_caught(c, rule::false_alarm);
}

TEST_CASE("checkers: a participant that does not record its channel breaks the cut rule", "[sim][checkers]") {
    SimConfig c = scenario(Mutant::participant_skips_channel);
    c.hold = 0ms;  // the token is on a link most of the time
    require_caught(c, rule::cut);
}

TEST_CASE("checkers: a participant that closes its channel late breaks the cut rule", "[sim][checkers]") {
    SimConfig c = scenario(Mutant::participant_closes_late);
    c.hold = 0ms;
    require_caught(c, rule::cut);
}

TEST_CASE("checkers: a participant that records a stale state (the wrong cut) breaks the cut rule", "[sim][checkers]") {
    SimConfig c = scenario(Mutant::participant_stale_state);
    require_caught(c, rule::cut);
}

TEST_CASE("checkers: a node that delivers twice breaks the message rule", "[sim][checkers]") {
    SimConfig c = scenario(Mutant::node_delivers_twice);
    require_caught(c, rule::messages);
}

TEST_CASE("checkers: a node that forgets accepted messages breaks the liveness rule", "[sim][checkers]") {
    SimConfig c = scenario(Mutant::node_drops_messages);
    require_caught(c, rule::liveness);
}

TEST_CASE("checkers: a node that makes a token out of nothing breaks the birth rule", "[sim][checkers]") {
    SimConfig c = scenario(Mutant::node_conjures_token);
    require_caught(c, rule::birth);
}

TEST_CASE("checkers: the first node making a token of its own (the rule before births were ordered) breaks the birth rule", "[sim][checkers]") {
    SimConfig c = scenario(Mutant::node_makes_first_token);
    require_caught(c, rule::birth);
    // The restarts that made a second token with the old rule: caught there too, clean without it.
    for (const auto& crashes :
         {std::vector<TimedCrash>{{5200ms, 0, 10ms}, {5200ms, 1, 10ms}}, std::vector<TimedCrash>{{5200ms, 1, 10ms}, {5600ms, 0, 10ms}}}) {
        SimConfig r;
        r.seed = 3;
        r.nodes = 5;
        r.hold = 300ms;
        r.duration = 8s;
        r.crashes = crashes;
        r.mutant = Mutant::node_makes_first_token;
        require_caught(r, rule::birth);
    }
}

TEST_CASE("checkers: a restarted node that forgot what its earlier process delivered breaks the message rule", "[sim][checkers]") {
    // Node 1 killed again and again, with many messages for it: one it had copied comes again to
    // its next process, from a sender whose token died with it (and was regenerated) or was
    // rolled back. With its delivery record (state_dir) that process drops it, or says
    // `redelivered` after a rollback; without, it delivers it a second time.
    // A kill must come between a copy and the sender's freeing: twenty seeds, some runs have one
    // (with regenerate, seeds 36 and 47; the timing moves with the link's, as it did when its
    // round-trip samples were mended).
    for (const RecoveryMode mode : {RecoveryMode::regenerate, RecoveryMode::rollback}) {
        std::size_t caught = 0;
        for (std::uint64_t seed = 30; seed < 50; ++seed) {
            SimConfig c = scenario(Mutant::none);
            c.seed = seed;
            c.recover = mode;
            c.duration = 8s;
            c.app_messages_per_s = 40;
            for (int i = 0; i < 10; ++i) c.crashes.push_back({1s + i * 600ms, 1, 20ms});
            const SimSummary clean = run_simulation(c);
            INFO("clean run: build/bin/ringsim " << replay_flags(c, false) << why(clean));
            REQUIRE(clean.ok_run());
            c.mutant = Mutant::node_forgets_deliveries;
            caught += run_simulation(c).count(rule::messages) > 0;
        }
        INFO("recovery " << to_string(mode));
        CHECK(caught > 0);
    }
}

TEST_CASE("checkers: a node_down for a node whose datagrams reached the paused monitor breaks the node-events rule", "[sim][checkers]") {
    // The rule on its own: a monitor that judged its own pause as the node's silence is caught.
    Violations violations;
    const std::vector<NodeId> ring{NodeId{0}, NodeId{1}};
    TokenOracle oracle(ring, violations);
    InvariantChecker checker(ring, DetectionBound{100ms, 1000ms, 1000ms}, oracle, violations);
    checker.set_liveness(liveness_for(100ms, 1000ms), false);
    const Instant t0 = instant_us(1'000'000);
    checker.node_up(t0, NodeId{1}, 1);
    checker.reached_monitor(t0 + 1s, NodeId{1});
    checker.monitor_paused(t0 + 1100ms, t0 + 3100ms);
    NodeEvent down{NodeEventKind::node_down, NodeId{1}, t0 + 3100ms};
    down.silent_for = 2100ms;
    checker.node_event(down);
    CHECK(violations.count(rule::node_events) == 1);
    // A node_down a node timeout of running time after its last datagram is fair.
    down.at = t0 + 3100ms + 1000ms;
    checker.node_event(down);
    CHECK(violations.count(rule::node_events) == 1);
}

TEST_CASE("checkers: a node that keeps a token without a fault breaks the cut rule", "[sim][checkers]") {
    SimConfig c = scenario(Mutant::node_swallows_token);
    require_caught(c, rule::cut);
}

TEST_CASE("checkers: over the sweep's seeds, a monitor that hides alarms fails every seed that had an alarm", "[sim][checkers]") {
    // The mutant changes only what the monitor says, so each seed's run is otherwise the same.
    int with_alarms = 0;
    for (std::uint64_t seed = 0; seed < 40; ++seed) {
        SimConfig c = random_scenario(seed, 10s);
        const SimSummary clean = run_simulation(c);
        if (clean.token_lost + clean.token_duplicated == 0) continue;
        ++with_alarms;
        c.mutant = Mutant::monitor_hides_alarms;
        const SimSummary broken = run_simulation(c);
        INFO("seed " << seed);
        CHECK(broken.count(rule::naming) + broken.count(rule::detection) > 0);
    }
    CHECK(with_alarms > 8);
}

// Views: the monitor leaves a dead node out and the ring goes on without it. Node 3 killed for good.
SimConfig crash_for_good(Mutant m, Duration run) {
    SimConfig c = scenario(m);
    c.evict_after = 5s;
    c.duration = run;
    c.crashes.push_back({2s, 3, std::nullopt});
    return c;
}

TEST_CASE("checkers: a view whose token is ordered from two members breaks the birth rule", "[sim][checkers][views]") {
    require_caught(crash_for_good(Mutant::monitor_issues_twice, 6s), rule::birth);
}

TEST_CASE("checkers: a monitor that never sends its views breaks the healing rule", "[sim][checkers][views]") {
    require_caught(crash_for_good(Mutant::monitor_orders_no_views, 12s), rule::healing);
}

// Views on (evict_after 5 s), one node stopped for a while.
SimConfig node_paused(Mutant m, Duration run, SimConfig::NodePause pause) {
    SimConfig c = scenario(m);
    c.evict_after = 5s;
    c.duration = run;
    c.node_pauses.push_back(pause);
    return c;
}

TEST_CASE("checkers: a monitor that leaves a node out as soon as it is silent breaks the eviction rule", "[sim][checkers][views]") {
    // A 2 s pause, well under evict_after: reported down, never left out.
    require_caught(node_paused(Mutant::monitor_evicts_at_once, 6s, {2s, 2, 2s}), rule::eviction);
}

TEST_CASE("checkers: a node that passes tokens on without the monitor's lease breaks the partition rule", "[sim][checkers][views]") {
    // Node 1 stopped for 7 s while it holds the token, past evict_after: the ring goes on without
    // it in a new view with a token of its own. Back, under the lease it holds the old view's
    // token until the monitor takes it back in a later view (which purges it); the mutant passes
    // it on at once, to a ring that has another. The stop begins at a dozen moments 3 ms apart,
    // over a whole rotation (5 x 7 ms and the links' delays): some find node 1 holding the token,
    // wherever the run's other timings put it.
    std::size_t caught = 0;
    for (int ms = 2000; ms < 2040; ms += 3) {
        SimConfig c = node_paused(Mutant::none, 14s, {std::chrono::milliseconds(ms), 1, 7s});
        const SimSummary clean = run_simulation(c);
        INFO("clean run: build/bin/ringsim " << replay_flags(c, false) << why(clean));
        REQUIRE(clean.ok_run());
        c.mutant = Mutant::node_ignores_lease;
        caught += run_simulation(c).count(rule::partition) > 0;
    }
    CHECK(caught > 0);
}

// Three monitors on the scenario's ring (views on); the first leads at start.
SimConfig three_monitors(Mutant m, Duration run) {
    SimConfig c = scenario(m);
    c.monitors = 3;
    c.evict_after = 5s;
    c.duration = run;
    return c;
}

TEST_CASE("checkers: a leader that gives orders in the term before its own breaks the one-leader rule", "[sim][checkers][monitors]") {
    // The first monitor killed at 2 s: the second leads term 2, and the mutant's orders (its views,
    // keep orders, leases) carry term 1, which the first led. The nodes refuse them; the rule sees
    // a monitor act in a term it does not lead.
    SimConfig c = three_monitors(Mutant::monitor_orders_old_term, 8s);
    c.monitor_kills.push_back({2s, 0});
    require_caught(c, rule::one_leader);
}

TEST_CASE("checkers: standbys that order a recovery of the fault they see break the repaired-once rule", "[sim][checkers][monitors]") {
    // A token lost at 3 s with recovery on: every monitor alarms; only the leader may repair it.
    SimConfig c = three_monitors(Mutant::monitor_standby_recovers, 8s);
    c.recover = RecoveryMode::regenerate;
    c.injects.push_back({3s, 1, InjectKind::lose});
    require_caught(c, rule::repaired_once);
}

TEST_CASE("checkers: standbys that judge nothing break the detection rule (detection goes on while any monitor lives)", "[sim][checkers][monitors]") {
    // The leader killed at 2 s, a token lost at 2.1 s (recovery off): a standby must see the loss
    // within the bound, leader or not yet.
    SimConfig c = three_monitors(Mutant::monitor_standby_blind, 8s);
    c.monitor_kills.push_back({2s, 0});
    c.injects.push_back({2100ms, 1, InjectKind::lose});
    require_caught(c, rule::detection);
}

TEST_CASE("checkers: a node that confirms a term older than its promise breaks the old-term rule", "[sim][checkers][monitors]") {
    // The first monitor stopped 2 s: the second leads term 2 and the nodes obey it. Resumed, the
    // first runs its overdue timers before it reads of term 2: a confirmation round of term 1 for
    // the leases it was asked. A node that confirms it would let a deposed leader grant a lease.
    SimConfig c = three_monitors(Mutant::node_confirms_old_terms, 8s);
    c.monitor_pauses.push_back({2s, 2s, 0});
    require_caught(c, rule::old_term);
}
