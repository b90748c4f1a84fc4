// `ring recover` without a monitor, in the simulator: the tool process (tool_process.h: the
// production walk over its own tool links) driven over the simulated faulty network, to the nodes'
// production processes, which let it in as they let in any tool (a challenge, then a link).
#pragma once

#include <functional>
#include <vector>

#include "tests/sim/event_queue.h"
#include "tests/sim/mutants.h"
#include "tests/sim/sim_network.h"
#include "tests/sim/sim_wakeup.h"
#include "tests/sim/tool_process.h"

namespace ringwatch::sim {

class SimRegenerateTool {
public:
    static constexpr Duration kAnswerTimeout = RegenerateToolProcess::kAnswerTimeout;

    // A tool process with id `self` (in the tool range) and `incarnation` (its start), for the ring
    // `ring`; a walk mutant (mutants.h) rewrites the orders it sends.
    SimRegenerateTool(EventQueue& events, SimNetwork& net, NodeId self, Incarnation incarnation, std::vector<NodeId> ring, Mutant mutant);
    SimRegenerateTool(const SimRegenerateTool&) = delete;
    SimRegenerateTool& operator=(const SimRegenerateTool&) = delete;
    ~SimRegenerateTool();

    void start();
    // Called once, when the walk is over (the tool process then exits).
    std::function<void(WalkOutcome, const RegenerateWalk&)> on_over;
    std::function<void(const WalkNote&)> on_note;

private:
    void pump();

    EventQueue& events_;
    SimNetwork& net_;
    RegenerateToolProcess process_;
    SimWakeup wakeup_;
    bool exited_ = false;
};

}  // namespace ringwatch::sim
