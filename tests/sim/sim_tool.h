// `ring recover` without a monitor, in the simulator: a one-shot tool process that walks the
// regenerate by hand with the production core (ring/core/regenerate_walk.h), over its own tool
// links (an Endpoint, as ring/io's ToolClient has) and the simulated faulty network, to the nodes'
// production processes, which let it in as they let in any tool (a challenge, then a link).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <vector>

#include "ring/core/endpoint.h"
#include "ring/core/regenerate_walk.h"
#include "tests/sim/event_queue.h"
#include "tests/sim/mutants.h"
#include "tests/sim/sim_network.h"
#include "tests/sim/sim_wakeup.h"

namespace ringwatch::sim {

class SimRegenerateTool {
public:
    // The CLI's wait for each answer.
    static constexpr Duration kAnswerTimeout = std::chrono::seconds(3);

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
    struct Asked {
        std::uint64_t serial;
        std::uint64_t command_id;  // 0 for the query
    };
    void drive();
    void deliver(NodeId from, const Bytes& message);
    void answered(NodeId node);
    void no_answer(NodeId node, std::uint64_t serial);
    void pump();

    EventQueue& events_;
    SimNetwork& net_;
    Endpoint endpoint_;
    EndpointOutput out_;
    SimWakeup wakeup_;
    RegenerateWalk walk_;
    Mutant mutant_;
    std::map<NodeId, Asked> asked_;  // what each node has yet to answer
    std::uint64_t next_serial_ = 1, next_command_ = 1;
    bool exited_ = false;
};

}  // namespace ringwatch::sim
