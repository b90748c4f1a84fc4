// ringcheck's explorer: every interleaving of a small ring, over the production process objects
// (NodeProcess, MonitorProcess: links, backlog and core, as `ring node` and `monitor` run them;
// with --walk-at, the simulator's tool process running `ring recover`'s production walk).
//
// A state is every process, each node's state directory, the datagrams on every channel (one FIFO
// per ordered pair of processes) and the virtual time. Its successors: the head datagram of any
// channel delivered (or, within a budget, dropped or delivered twice); the next timer (time moves
// only to the earliest deadline, and never past the moment a datagram on the network must have
// arrived, `max_delay` after it was sent, so every order of deliveries between two timers is tried,
// and every race of a delivery with a timer); in quiet moments, a token fault armed or an
// application message offered at any node; a node crash right after a step of its own or in a
// quiet moment, and its restart from its state directory then or in a later quiet moment; the
// first monitor stopped the same way and resumed in a later quiet moment (all within budgets).
// Before the exploration, one schedule runs up to `settle`; a script puts there what takes longer
// than an exhaustive horizon reaches (a monitor killed or stopped, a node stopped or crashed for
// good, a loss, a regenerate walked by hand); a stopped process resumes at a scripted moment or at any quiet moment explored.
//
// States are merged when every process has been handed the same inputs at the same times (a
// process is deterministic: its inputs are its state) and the channels and the rules' memory agree:
// interleavings that differ only in the order of independent steps are explored once. A state's
// copy shares the processes its step does not touch.
//
// In every state the simulator's ground truth and rules run (TokenOracle, InvariantChecker per
// monitor, MessageLedger, LeadershipRules), minus the checker's time-based truth and false-alarm
// rules, replaced by the explorer's own:
//   cut-truth   a verdict's count was the true count in some state between its start and its
//               verdict (its cut is one of those states);
//   detection   (at the horizon) a fault that took effect two intervals before the end was
//               followed by a judged snapshot begun after it;
//   messages    (at the horizon) a message offered two token rotations before the end, with every
//               node up, one token in every state and no fault since, was delivered;
//   recovery    (at the horizon, with a recovery mode) an alarm far enough before the end, with no
//               fault or crash after it, left exactly one token;
// and, at the horizon, the checker's rules over long stretches: liveness (a node down long enough
// was named) and, with views, healing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ring/core/recovery_mode.h"
#include "ring/core/token.h"
#include "ring/core/types.h"
#include "tests/sim/mutants.h"

namespace ringwatch::sim {

struct ExploreConfig {
    std::size_t nodes = 3;
    std::size_t monitors = 1;  // 2: each judges, one leads (terms; the leadership rules)
    Duration hold = std::chrono::milliseconds(1);
    Duration interval = std::chrono::milliseconds(10);
    Duration timeout = std::chrono::milliseconds(200);
    Duration node_timeout = std::chrono::milliseconds(1000);
    Duration max_delay = std::chrono::microseconds(500);  // a datagram arrives within this of its send
    // The ring runs on one schedule (every datagram delivered at once, in a fixed order) until
    // `settle`, then every interleaving is explored for `horizon` more.
    Duration settle = std::chrono::milliseconds(50);
    Duration horizon = std::chrono::milliseconds(5);
    unsigned drops = 0, duplicates = 0;  // datagram faults, in all
    std::vector<InjectKind> injects;     // token faults armed at any moment, each once
    unsigned crashes = 0;                // node crashes at any step, in all (a crashed node restarts at any later step, or not)
    unsigned monitor_pauses = 0;         // times the monitor is stopped (SIGSTOP) at any step, and resumed at any later one
    unsigned messages = 0;               // application messages offered at quiet moments, at any node, to its predecessor
    // Views: a node silent this long is left out of the ring, and the nodes pass tokens under the
    // leader's lease; on by default, as `monitor` and `ring node` run (`--evict-after 0`: off).
    std::optional<Duration> evict_after = std::chrono::seconds(5);
    // A scripted prefix, for what takes longer than an exhaustive horizon reaches (a takeover after
    // node_timeout, a second fault after a repair): events at fixed moments of the settle phase's
    // single schedule, each before `settle`.
    struct Script {
        std::optional<Duration> kill_monitor;    // the first monitor killed, for good
        std::optional<Duration> stop_monitor;    // the first monitor stopped (SIGSTOP); resumed at any quiet moment of the horizon, or not,
        std::optional<Duration> resume_monitor;  // or resumed then (SIGCONT), at or before `settle`
        std::optional<Duration> stop_node;       // node 1 (the mutants' node) stopped (SIGSTOP); resumed at any quiet moment explored,
        std::optional<Duration> resume_node;     // or then (SIGCONT), at or before `settle`
        std::optional<Duration> crash_node;      // the ring's last node crashed, for good
        std::vector<Duration> losses;            // token losses armed at node 0 (a second one after the first is repaired)
        std::optional<Duration> walk;            // `ring recover` walks a regenerate by hand (a tool process, to every node)
    } script;
    std::size_t max_states = 5'000'000;        // the search stops there (incomplete)
    Mutant mutant = Mutant::none;              // a deliberately broken core (mutants.h)
    RecoveryMode recover = RecoveryMode::off;  // the monitor's repair of a token fault
    // Follows one path instead of exploring: the step chosen at each depth (an index into the
    // steps possible there, as a violation's `choices` gives them), each step and verdict traced.
    std::optional<std::vector<std::size_t>> replay;
    bool shortest = true;  // after a broken rule, find the fewest steps that break one
};

struct ExploreResult {
    std::uint64_t states = 0;        // distinct states
    std::uint64_t transitions = 0;   // steps taken (a step into a known state included)
    std::uint64_t leaves = 0;        // states at the horizon
    std::int64_t settled_count = 0;  // the true token count when the exploration began
    std::size_t max_depth = 0;
    bool complete = false;  // every state of the scope explored
    struct Violation {
        std::string rule;
        std::string detail;
        std::vector<std::string> trace;    // the steps from the start, one line each
        std::vector<std::size_t> choices;  // the same steps for `replay`
    };
    std::optional<Violation> violation;
    std::vector<std::string> replayed;  // with `replay`: every step and verdict of the path
};

ExploreResult explore(const ExploreConfig& config);

}  // namespace ringwatch::sim
