// Random scenarios for simulator sweeps: everything derived from the seed, so a failing seed
// replays exactly with `ringsim --seed N --random-faults`.
#pragma once

#include "tests/sim/sim_cluster.h"

namespace ringwatch::sim {

// Network faults always; about half the seeds also get token faults; some a crash and restart of
// one node or of two adjacent ones (the first and its successor most often: the ring's riskiest
// pair once), some a monitor restart or a monitor pause.
// With several monitors, drawn after everything else: monitor restarts and pauses on any of them,
// and the first (the leader at start) sometimes killed or stopped, another sometimes killed.
SimConfig random_scenario(std::uint64_t seed, Duration duration, std::size_t monitors = 1);

// "lose@10s,duplicate:2@30s" -> injects (node defaults to 1); "3@5s+2s" -> crash node 3 at 5 s,
// restart 2 s later. Return an error message, empty on success.
std::string parse_injects(std::string_view text, std::vector<TimedInject>& out);
std::string parse_crashes(std::string_view text, std::vector<TimedCrash>& out);
// "5s+200ms": the monitor stops at 5 s and a new one starts 200 ms later ("1:5s+200ms": monitor 1).
std::string parse_monitor_restarts(std::string_view text, std::vector<SimConfig::MonitorRestart>& out);
// "5s+2s": the monitor is stopped at 5 s for 2 s (SIGSTOP, then SIGCONT); "1:5s+2s": monitor 1.
std::string parse_monitor_pauses(std::string_view text, std::vector<SimConfig::MonitorPause>& out);
// "0@5s,2@8s": monitors killed for good (kill -9), each at its time.
std::string parse_monitor_kills(std::string_view text, std::vector<SimConfig::MonitorKill>& out);
// "4s,6.5s": times (by-hand regenerates).
std::string parse_times(std::string_view text, std::vector<Duration>& out);
// NODE@TIME+LENGTH, e.g. 2@5s+2s (node 2 stopped at 5 s for 2 s).
std::string parse_node_pauses(std::string_view text, std::vector<SimConfig::NodePause>& out);
// [>][m.]NODE.NODE...@TIME+LENGTH, e.g. 0.1@5s+2s (nodes 0 and 1 cut from the rest and the monitor),
// m.3@4s+1s (the monitor and node 3 cut from the rest), >2@6s+3s (one-way: nothing reaches node 2).
std::string parse_partitions(std::string_view text, std::vector<SimConfig::Partition>& out);
std::string format_partition(const SimConfig::Partition& p);
// "10s", "250ms", "1500us", "2.5s" (whole microseconds)
std::optional<Duration> parse_duration(std::string_view text);

// 250ms, 3s, 1500us: the shortest exact spelling parse_duration() reads back.
std::string format_duration(Duration d);
// The ringsim flags that replay this run exactly (a random scenario by its seed).
std::string replay_flags(const SimConfig& c, bool random_faults);

}  // namespace ringwatch::sim
