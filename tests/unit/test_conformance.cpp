// The exercise simulator with random topologies, scripts and delays: every snapshot it records
// through our participant conserves the system's tokens.
#include <catch2/catch.hpp>

#include "tests/conformance/cl_replay.h"

using namespace ringwatch;
using namespace ringwatch::cl;

TEST_CASE("clreplay: random cases conserve tokens in every snapshot", "[conformance][property]") {
    for (std::uint64_t seed = 0; seed < 500; ++seed) {
        sim::Prng p(seed);
        const int n = 2 + static_cast<int>(p.below(6));
        Topology top;
        for (int i = 0; i < n; ++i) top.balances[fmt::format("S{}", i * 7 % 11)] = static_cast<int>(p.below(10));
        std::vector<std::string> ids;
        for (auto& [id, b] : top.balances) ids.push_back(id);
        std::set<std::pair<std::string, std::string>> links;
        for (std::size_t i = 0; i < ids.size(); ++i) links.insert({ids[i], ids[(i + 1) % ids.size()]});  // strongly connected
        for (int k = 0; k < n; ++k) {
            auto a = ids[p.below(ids.size())], b = ids[p.below(ids.size())];
            if (a != b) links.insert({a, b});
        }
        top.links.assign(links.begin(), links.end());
        std::map<std::string, int> bal = top.balances;
        std::vector<Command> script;
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
