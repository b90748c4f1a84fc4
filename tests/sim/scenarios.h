// Random scenarios for simulator sweeps: everything derived from the seed, so a failing seed
// replays exactly with `ringsim --seed N --random-faults`.
#pragma once

#include "tests/sim/sim_cluster.h"

namespace ringwatch::sim {

// Network faults always; about half the seeds also get token faults, a few a crash and restart.
SimConfig random_scenario(std::uint64_t seed, Duration duration);

// "lose@10s,duplicate:2@30s" -> injects (node defaults to 1); "3@5s+2s" -> crash node 3 at 5 s,
// restart 2 s later. Return an error message, empty on success.
std::string parse_injects(std::string_view text, std::vector<TimedInject>& out);
std::string parse_crashes(std::string_view text, std::vector<TimedCrash>& out);
// "10s", "250ms", "1500us"
std::optional<Duration> parse_duration(std::string_view text);

}  // namespace ringwatch::sim
