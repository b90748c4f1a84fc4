// `ring up --restart`'s back-off: retried ever more slowly while a child dies at once, at once
// again after it has run for a while.
#include <catch2/catch.hpp>

#include "ring/io/restart_backoff.h"

using namespace ringwatch;
using namespace std::chrono_literals;

TEST_CASE("restart back-off: doubles while the child dies soon after each start, up to the cap", "[restart_backoff]") {
    io::RestartBackoff b;
    Instant t{};
    std::vector<Duration> waits;
    for (int i = 0; i < 8; ++i) {
        b.started(t);
        t += 100ms;  // dies 0.1 s after each start
        waits.push_back(b.died(t));
        t += waits.back();
    }
    CHECK(waits == std::vector<Duration>{1s, 2s, 4s, 8s, 16s, 30s, 30s, 30s});
    CHECK(b.restarts() == 8);
}

TEST_CASE("restart back-off: a child that ran for a minute starts over at 1 s", "[restart_backoff]") {
    io::RestartBackoff b;
    Instant t{};
    b.started(t);
    CHECK(b.died(t + 1s) == 1s);
    b.started(t + 2s);
    CHECK(b.died(t + 3s) == 2s);
    b.started(t + 5s);
    CHECK(b.died(t + 5s + 60s) == 1s);  // healthy for 60 s: back to the first wait
    b.started(t + 70s);
    CHECK(b.died(t + 71s) == 2s);
}
