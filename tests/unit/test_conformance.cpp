// The exercise simulator with random topologies, scripts and delays: every snapshot it records
// through our participant conserves the system's tokens, and its diagram shows what it recorded.
#include <catch2/catch.hpp>

#include <algorithm>

#include "tests/conformance/cl_diagram.h"
#include "tests/conformance/cl_replay.h"

using namespace ringwatch;
using namespace ringwatch::cl;

namespace {

// A random strongly connected topology and a script of sends, snapshots and ticks, from the seed.
struct RandomCase {
    Topology top;
    std::vector<Command> script;
    std::vector<std::string> ids;
};

RandomCase random_case(std::uint64_t seed) {
    Topology top;
    std::vector<Command> script;
    std::vector<std::string> ids;
    sim::Prng p(seed);
    const int n = 2 + static_cast<int>(p.below(6));
    for (int i = 0; i < n; ++i) top.balances[fmt::format("S{}", i * 7 % 11)] = static_cast<int>(p.below(10));
    for (auto& [id, b] : top.balances) ids.push_back(id);
    std::set<std::pair<std::string, std::string>> links;
    for (std::size_t i = 0; i < ids.size(); ++i) links.insert({ids[i], ids[(i + 1) % ids.size()]});  // strongly connected
    for (int k = 0; k < n; ++k) {
        auto a = ids[p.below(ids.size())], b = ids[p.below(ids.size())];
        if (a != b) links.insert({a, b});
    }
    top.links.assign(links.begin(), links.end());
    std::map<std::string, int> bal = top.balances;
    for (int k = 0; k < 60; ++k) {
        const auto r = p.below(10);
        if (r < 5) {
            auto [a, b] = top.links[p.below(top.links.size())];
            if (bal[a] > 0) {
                const int t = 1 + static_cast<int>(p.below(static_cast<std::uint64_t>(bal[a])));
                bal[a] -= t;
                script.emplace_back().what.emplace<SendCmd>(SendCmd{a, b, t});
            }
        } else if (r < 6) {
            script.emplace_back().what.emplace<SnapshotCmd>(SnapshotCmd{ids[p.below(ids.size())]});
        } else {
            script.emplace_back().what.emplace<TickCmd>(TickCmd{1 + static_cast<int>(p.below(3))});
        }
    }
    return {std::move(top), std::move(script), std::move(ids)};
}

}  // namespace

TEST_CASE("clreplay: random cases conserve tokens in every snapshot", "[conformance][property]") {
    for (std::uint64_t seed = 0; seed < 500; ++seed) {
        const auto [top, script, ids] = random_case(seed);
        Replay replay(top, DelaySource::seeded(seed));
        replay.run(script, "random.events");
        for (const auto& s : replay.snapshots()) {
            int sum = 0;
            for (auto& [id, b] : s.balances) sum += b;
            for (auto& [ch, tokens] : s.in_flight)
                for (int t : tokens) sum += t;
            INFO("seed " << seed << " snapshot " << s.id);
            REQUIRE(sum == replay.total_tokens());
            REQUIRE(s.balances.size() == ids.size());
        }
    }
}

TEST_CASE("clreplay: the diagram of random cases shows exactly what each snapshot recorded", "[conformance][diagram][property]") {
    for (std::uint64_t seed = 0; seed < 500; ++seed) {
        const auto [top, script, ids] = random_case(seed);
        Replay replay(top, DelaySource::seeded(seed));
        replay.trace();
        replay.run(script, "random.events");
        const auto snapshots = replay.snapshots();
        const auto d = replay_diagram(top, replay.traced(), snapshots, "random");
        for (const auto& s : snapshots) {
            INFO("seed " << seed << " snapshot " << s.id);
            const std::string id = fmt::format("{}", s.id);
            std::map<std::string, std::string> points;
            for (const auto& r : d.records)
                if (r.snapshot == id) points[d.lanes[r.lane].id] = r.state;
            std::map<std::string, std::string> balances;
            for (const auto& [server, b] : s.balances) balances[server] = fmt::format("{}", b);
            REQUIRE(points == balances);
            // Per channel, the tokens drawn as recorded by this snapshot, in arrival order.
            std::map<std::pair<std::string, std::string>, std::vector<std::pair<diagram::When, std::string>>> arrived;
            for (const auto& a : d.arrows)
                if (std::count(a.recorded_by.begin(), a.recorded_by.end(), id))
                    arrived[{d.lanes[a.from].id, d.lanes[a.to].id}].push_back({*a.received, a.label});
            std::map<std::pair<std::string, std::string>, std::vector<std::string>> drawn, recorded;
            for (auto& [ch, v] : arrived) {
                std::sort(v.begin(), v.end());
                for (const auto& [w, label] : v) drawn[ch].push_back(label);
            }
            for (const auto& [ch, tokens] : s.in_flight)
                for (int t : tokens) recorded[ch].push_back(fmt::format("token({})", t));
            REQUIRE(drawn == recorded);
        }
    }
}

TEST_CASE("clreplay: formats reject malformed files naming file and line", "[conformance]") {
    auto top_error = [](const std::string& text) {
        try {
            parse_topology(text, "t.top");
        } catch (const std::runtime_error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    CHECK(top_error("") == "t.top:1: empty topology: expected the number of servers");
    CHECK(top_error("x\n") == "t.top:1: expected the number of servers, got 'x'");
    CHECK(top_error("2\nA 1\n") == "t.top:2: 2 servers announced, 1 listed");
    CHECK(top_error("1\nA -1\n") == "t.top:2: expected '<id> <tokens>', got 'A -1'");
    CHECK(top_error("2\nA 1\nA 2\n") == "t.top:3: server 'A' listed twice");
    CHECK(top_error("2\n# comment\nA 1\n\nB 2\nA A\n") == "t.top:6: link from 'A' to itself");
    CHECK(top_error("2\nA 1\nB 2\nA B\nA B\n") == "t.top:5: link 'A B' listed twice");
    Topology t = parse_topology("2\nA 1\nB 0\nA B\n", "t.top");
    auto ev_error = [&](const std::string& text) {
        try {
            parse_events(text, "e.events", t);
        } catch (const std::runtime_error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    CHECK(ev_error("send B A 1\n") == "e.events:1: no link from 'B' to 'A'");
    CHECK(ev_error("send A B 0\n") == "e.events:1: expected 'send <src> <dest> <tokens>' with tokens >= 1, got 'send A B 0'");
    CHECK(ev_error("snapshot C\n") == "e.events:1: unknown server 'C'");
    CHECK(ev_error("tick 0\n") == "e.events:1: expected 'tick' or 'tick <k>' with k >= 1, got 'tick 0'");
    CHECK(ev_error("tick\nsnapshot A\ntick 2\n") == "no error");
}
