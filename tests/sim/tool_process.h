// The by-hand regenerate's tool process, sans I/O: the production walk (ring/core/regenerate_walk.h)
// over one tool endpoint (an Endpoint, as ring/io's ToolClient has) with the CLI's wait for each
// answer. Datagrams and a clock in, datagrams, notes and the outcome out; copyable, so the explorer
// (explorer.h) holds it as a state's process, and the simulator's driver (sim_tool.h) runs it over
// its faulty network.
#pragma once

#include <map>
#include <optional>
#include <vector>

#include "ring/core/endpoint.h"
#include "ring/core/regenerate_walk.h"
#include "tests/sim/mutants.h"

namespace ringwatch::sim {

// What one step produced.
struct ToolReady {
    std::vector<Addressed> datagrams;
    std::vector<WalkNote> notes;
    std::optional<WalkOutcome> outcome;  // set once: the walk is over, and the process exits
};

class RegenerateToolProcess {
public:
    // The CLI's wait for each answer.
    static constexpr Duration kAnswerTimeout = std::chrono::seconds(3);

    // A tool with id `self` (in the tool range) and `incarnation` (its start), for the ring `ring`;
    // a walk mutant (mutants.h) rewrites the orders it sends.
    RegenerateToolProcess(NodeId self, Incarnation incarnation, std::vector<NodeId> ring, Mutant mutant, Instant now);

    void on_datagram(Instant now, std::span<const std::uint8_t> datagram);
    void on_timer(Instant now);
    // Runs the walk and the links until quiet; after the outcome, nothing more.
    ToolReady step(Instant now);
    std::optional<Instant> next_deadline() const;
    bool over() const { return over_; }
    NodeId self() const { return endpoint_.self(); }
    const RegenerateWalk& walk() const { return walk_; }

private:
    struct Asked {
        std::uint64_t command_id;  // 0 for the query
        Instant deadline;
    };
    void answer(NodeId from, const Bytes& message);

    Endpoint endpoint_;
    EndpointOutput out_;
    RegenerateWalk walk_;
    Mutant mutant_;
    std::map<NodeId, Asked> asked_;  // what each node has yet to answer
    std::uint64_t next_command_ = 1;
    bool over_ = false;
};

}  // namespace ringwatch::sim
