// The by-hand regenerate walk (ring/core/regenerate_walk.h) as transcripts: what each step sends
// and tells, for the answers given.
#include <catch2/catch.hpp>

#include <limits>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "ring/core/regenerate_walk.h"
#include "tests/sim/scenarios.h"

using namespace ringwatch;

namespace {

std::vector<NodeId> ring_of(std::initializer_list<std::uint16_t> ids) {
    std::vector<NodeId> v;
    for (auto i : ids) v.push_back(NodeId{i});
    return v;
}

// One line per thing a step produced: "query N", "order N epoch E issuer I", "silent N",
// "acknowledged N epoch E issuer I" (refused, unacknowledged alike), "reissued N epoch E issuer I",
// "outcome O".
std::vector<std::string> transcript(const WalkReady& r) {
    std::vector<std::string> out;
    for (const auto& s : r.sends) {
        if (std::holds_alternative<RingQuery>(s.what)) {
            out.push_back(fmt::format("query {}", s.to));
        } else {
            const auto& c = std::get<RecoverCommand>(s.what);
            REQUIRE(c.mode == RecoverMode::regenerate);
            out.push_back(fmt::format("order {} epoch {} issuer {}", s.to, c.epoch, c.issuer));
        }
    }
    for (const auto& n : r.notes) {
        switch (n.kind) {
            case WalkNoteKind::silent: out.push_back(fmt::format("silent {}", n.node)); break;
            case WalkNoteKind::acknowledged: out.push_back(fmt::format("acknowledged {} epoch {} issuer {}", n.node, n.epoch, n.issuer)); break;
            case WalkNoteKind::refused: out.push_back(fmt::format("refused {} epoch {} issuer {}", n.node, n.epoch, n.issuer)); break;
            case WalkNoteKind::unacknowledged: out.push_back(fmt::format("unacknowledged {} epoch {} issuer {}", n.node, n.epoch, n.issuer)); break;
            case WalkNoteKind::reissued: out.push_back(fmt::format("reissued {} epoch {} issuer {}", n.node, n.epoch, n.issuer)); break;
        }
    }
    if (r.outcome) out.push_back(fmt::format("outcome {}", to_string(*r.outcome)));
    return out;
}

using Lines = std::vector<std::string>;

// Starts a walk and answers its queries: an epoch per node, or nullopt for no answer.
WalkReady queried(RegenerateWalk& w, std::vector<std::optional<std::uint32_t>> epochs, std::vector<NodeId> ring) {
    const WalkReady first = w.step();
    REQUIRE(first.sends.size() == ring.size());
    for (std::size_t i = 0; i < ring.size(); ++i) {
        if (epochs[i]) {
            w.on_state(ring[i], RingState{true, Epoch{*epochs[i]}});
        } else {
            w.on_no_answer(ring[i]);
        }
    }
    return w.step();
}

// Answers the orders of the round: ok, refused, or nullopt for no answer, per ring member.
void acks(RegenerateWalk& w, const std::vector<NodeId>& ring, std::vector<std::optional<bool>> answers) {
    for (std::size_t i = 0; i < ring.size(); ++i) answers[i] ? w.on_ack(ring[i], *answers[i]) : w.on_no_answer(ring[i]);
}

}  // namespace

TEST_CASE("regenerate walk: every node asked at once, nothing more until every answer is in", "[walk]") {
    const auto ring = ring_of({0, 1, 2});
    RegenerateWalk w(ring);
    CHECK(transcript(w.step()) == Lines{"query 0", "query 1", "query 2"});
    w.on_state(NodeId{2}, RingState{true, Epoch{4}});
    w.on_state(NodeId{0}, RingState{true, Epoch{4}});
    CHECK(transcript(w.step()).empty());
    w.on_state(NodeId{1}, RingState{true, Epoch{4}});
    // Epoch 5: position 5 mod 3 = 2.
    CHECK(transcript(w.step()) == Lines{"order 0 epoch 5 issuer 2", "order 1 epoch 5 issuer 2", "order 2 epoch 5 issuer 2"});
    w.on_ack(NodeId{0}, true);
    w.on_ack(NodeId{2}, true);
    CHECK(transcript(w.step()).empty());
    CHECK_FALSE(w.over());
}

TEST_CASE("regenerate walk: the normal walk, newest + 1 to everyone, one issuer", "[walk]") {
    const auto ring = ring_of({0, 1, 2, 3, 4});
    RegenerateWalk w(ring);
    CHECK(transcript(queried(w, {2, 2, 1, 2, 2}, ring)) == Lines{"order 0 epoch 3 issuer 3", "order 1 epoch 3 issuer 3", "order 2 epoch 3 issuer 3",
                                                                 "order 3 epoch 3 issuer 3", "order 4 epoch 3 issuer 3"});
    for (auto id : ring) w.on_ack(id, true);
    CHECK(transcript(w.step()) == Lines{"acknowledged 0 epoch 3 issuer 3", "acknowledged 1 epoch 3 issuer 3", "acknowledged 2 epoch 3 issuer 3",
                                        "acknowledged 3 epoch 3 issuer 3", "acknowledged 4 epoch 3 issuer 3", "outcome regenerated"});
    CHECK(w.over());
    CHECK(w.epoch() == Epoch{3});
    CHECK(w.issuer() == NodeId{3});
    CHECK(transcript(w.step()).empty());
}

TEST_CASE("regenerate walk: nodes down are told in ring order, not ordered, and never issue", "[walk]") {
    const auto ring = ring_of({0, 1, 2, 3, 4});
    RegenerateWalk w(ring);
    w.step();
    // Answers in any order; the notes come in ring order.
    w.on_no_answer(NodeId{3});
    w.on_state(NodeId{4}, RingState{true, Epoch{2}});
    w.on_no_answer(NodeId{1});
    w.on_state(NodeId{0}, RingState{true, Epoch{2}});
    w.on_state(NodeId{2}, RingState{true, Epoch{2}});
    // Epoch 3 would be node 3's, which is down: epoch 4, node 4.
    CHECK(transcript(w.step()) == Lines{"order 0 epoch 4 issuer 4", "order 2 epoch 4 issuer 4", "order 4 epoch 4 issuer 4", "silent 1", "silent 3"});
    for (auto id : {0, 2, 4}) w.on_ack(NodeId{static_cast<std::uint16_t>(id)}, true);
    CHECK(transcript(w.step()) ==
          Lines{"acknowledged 0 epoch 4 issuer 4", "acknowledged 2 epoch 4 issuer 4", "acknowledged 4 epoch 4 issuer 4", "outcome regenerated"});
}

TEST_CASE("regenerate walk: no node answers, nothing is ordered", "[walk]") {
    const auto ring = ring_of({0, 1, 2});
    RegenerateWalk w(ring);
    CHECK(transcript(queried(w, {std::nullopt, std::nullopt, std::nullopt}, ring)) ==
          Lines{"silent 0", "silent 1", "silent 2", "outcome nobody_answered"});
    CHECK(w.over());
    CHECK_FALSE(w.epoch().has_value());
}

TEST_CASE("regenerate walk: a node that refuses or misses its order (not the issuer) leaves the walk done in part", "[walk]") {
    const auto ring = ring_of({0, 1, 2, 3});
    RegenerateWalk w(ring);
    CHECK(transcript(queried(w, {1, 1, 1, 1}, ring)).size() == 4);  // epoch 2: node 2 issues
    acks(w, ring, {false, std::nullopt, true, true});
    CHECK(transcript(w.step()) == Lines{"refused 0 epoch 2 issuer 2", "unacknowledged 1 epoch 2 issuer 2", "acknowledged 2 epoch 2 issuer 2",
                                        "acknowledged 3 epoch 2 issuer 2", "outcome regenerated_partly"});
}

TEST_CASE("regenerate walk: an issuer that misses its order is replaced in a newer epoch, by one that acknowledged", "[walk]") {
    const auto ring = ring_of({0, 1, 2, 3});
    RegenerateWalk w(ring);
    queried(w, {1, 1, 1, 1}, ring);  // epoch 2, node 2
    acks(w, ring, {true, true, std::nullopt, true});
    // It may have made epoch 2's token: epoch 3 (node 3, which acknowledged) purges it.
    CHECK(transcript(w.step()) == Lines{"order 0 epoch 3 issuer 3", "order 1 epoch 3 issuer 3", "order 2 epoch 3 issuer 3",
                                        "order 3 epoch 3 issuer 3", "acknowledged 0 epoch 2 issuer 2", "acknowledged 1 epoch 2 issuer 2",
                                        "unacknowledged 2 epoch 2 issuer 2", "acknowledged 3 epoch 2 issuer 2", "reissued 2 epoch 3 issuer 3"});
    for (auto id : ring) w.on_ack(id, true);
    CHECK(transcript(w.step()) == Lines{"acknowledged 0 epoch 3 issuer 3", "acknowledged 1 epoch 3 issuer 3", "acknowledged 2 epoch 3 issuer 3",
                                        "acknowledged 3 epoch 3 issuer 3", "outcome regenerated"});
    CHECK(w.issuer() == NodeId{3});
}

TEST_CASE("regenerate walk: a refusing issuer is replaced, the new epoch's issuer skips nodes that did not acknowledge", "[walk]") {
    const auto ring = ring_of({0, 1, 2, 3});
    RegenerateWalk w(ring);
    queried(w, {1, 1, 1, 1}, ring);  // epoch 2, node 2
    acks(w, ring, {true, true, false, std::nullopt});
    // Epoch 3 would be node 3's, which did not acknowledge: epoch 4, node 0.
    const Lines t = transcript(w.step());
    CHECK(t.front() == "order 0 epoch 4 issuer 0");
    CHECK(t.back() == "reissued 2 epoch 4 issuer 0");
}

TEST_CASE("regenerate walk: no issuer acknowledges within the rounds, or nobody can take over: no token", "[walk]") {
    SECTION("the only node that answered is the issuer, and it misses its order") {
        const auto ring = ring_of({0, 1});
        RegenerateWalk w(ring);
        CHECK(transcript(queried(w, {std::nullopt, 5}, ring)) == Lines{"order 1 epoch 7 issuer 1", "silent 0"});
        w.on_no_answer(NodeId{1});
        CHECK(transcript(w.step()) == Lines{"unacknowledged 1 epoch 7 issuer 1", "outcome no_token"});
    }
    SECTION("every issuer misses its order") {
        const auto ring = ring_of({0, 1, 2});
        RegenerateWalk w(ring);
        queried(w, {0, 0, 0}, ring);  // epoch 1, node 1
        for (int round = 1; round <= RegenerateWalk::kMaxOrderRounds; ++round) {
            const NodeId issuer = *w.issuer();
            for (auto id : ring) id == issuer ? w.on_no_answer(id) : w.on_ack(id, true);
            const WalkReady r = w.step();
            if (round < RegenerateWalk::kMaxOrderRounds) {
                CHECK_FALSE(r.outcome.has_value());
                CHECK(w.epoch() == Epoch{static_cast<std::uint32_t>(round + 1)});
            } else {
                CHECK(r.outcome == WalkOutcome::no_token);
            }
        }
        CHECK(w.over());
    }
}

TEST_CASE("regenerate walk: a node whose epoch is ahead sets the epoch for everyone", "[walk]") {
    const auto ring = ring_of({0, 1, 2, 3, 4});
    RegenerateWalk w(ring);
    // Epoch 8: position 3.
    CHECK(transcript(queried(w, {2, 7, 0, std::nullopt, 2}, ring)).front() == "order 0 epoch 9 issuer 4");
    CHECK(w.epoch() == Epoch{9});  // 8 is node 3's, which did not answer
}

TEST_CASE("regenerate walk: the issuer is a function of the epoch, so walks at once never name two issuers of one epoch", "[walk]") {
    const auto ring = ring_of({10, 20, 30, 40});
    // Walk A hears everyone; walk B does not hear node 30, the issuer of epoch 6.
    RegenerateWalk a(ring), b(ring), c(ring);
    queried(a, {5, 5, 5, 5}, ring);
    queried(b, {5, 5, std::nullopt, 5}, ring);
    queried(c, {5, 4, 5, 5}, ring);
    CHECK(a.epoch() == Epoch{6});
    CHECK(a.issuer() == NodeId{30});  // position 6 mod 4
    CHECK(b.epoch() == Epoch{7});     // another epoch: the newer one fences the older
    CHECK(b.issuer() == NodeId{40});
    CHECK(c.epoch() == a.epoch());  // the same epoch: the same issuer
    CHECK(c.issuer() == a.issuer());
}

TEST_CASE("regenerate walk: at the last epoch there is nothing to choose", "[walk]") {
    const auto ring = ring_of({0, 1});
    constexpr std::uint32_t top = std::numeric_limits<std::uint32_t>::max();
    RegenerateWalk w(ring);
    CHECK(transcript(queried(w, {top, 1}, ring)) == Lines{"outcome epochs_exhausted"});
    RegenerateWalk v(ring);
    // top is odd: position 1, which answered.
    CHECK(transcript(queried(v, {top - 1, std::nullopt}, ring)) == Lines{"silent 1", "outcome epochs_exhausted"});
    RegenerateWalk u(ring);
    CHECK(transcript(queried(u, {std::nullopt, top - 1}, ring)) == Lines{"order 1 epoch 4294967295 issuer 1", "silent 0"});
}

TEST_CASE("regenerate walk in the simulator: a lost token regenerated by hand while the monitor is stopped", "[sim][walk]") {
    using namespace std::chrono_literals;
    sim::SimConfig c;
    c.seed = 5;
    c.nodes = 5;
    c.duration = 5s;
    c.net.loss = 0.05;
    c.injects.push_back({1500ms, 2, InjectKind::lose});
    c.monitor_restarts.push_back({2s, 3s});
    c.regenerates_by_hand.push_back(2500ms);
    const sim::SimSummary s = sim::run_simulation(c);
    std::string why;
    for (const auto& v : s.violations) why += "\n  [" + v.rule + "] " + v.what;
    INFO("build/bin/ringsim " << sim::replay_flags(c, false) << why);
    CHECK(s.ok_run());
    CHECK(s.walks == 1);
    CHECK(s.walks_regenerated == 1);
    CHECK(s.faults_taken_effect == 1);
    CHECK(s.tokens_at_end.exactly(1));
    CHECK(s.token_lost >= 1);  // seen by the first monitor; the second finds the ring whole
}
