// The simulator's one-shot tool: a by-hand regenerate walked over simulated tool links.
#include "tests/sim/sim_tool.h"

#include "ring/core/check.h"
#include "tests/sim/sim_cluster.h"

#include <fmt/format.h>

namespace ringwatch::sim {

SimRegenerateTool::SimRegenerateTool(EventQueue& events, SimNetwork& net, NodeId self, Incarnation incarnation, std::vector<NodeId> ring,
                                     Mutant mutant)
    : events_(events), net_(net), process_(self, incarnation, std::move(ring), mutant, events.now()) {}

SimRegenerateTool::~SimRegenerateTool() {
    if (!exited_) net_.detach(process_.self());
}

void SimRegenerateTool::start() {
    net_.attach(process_.self(), [this](NodeId, std::uint32_t, Bytes d) {
        if (exited_) return;
        process_.on_datagram(events_.now(), d);
        pump();
    });
    pump();
}

// The process's steps, acted on as the CLI does: notes told, datagrams sent, the next timer armed.
void SimRegenerateTool::pump() {
    ToolReady r = process_.step(events_.now());
    for (auto& d : r.datagrams) net_.send(process_.self(), 0, d.peer, std::move(d.bytes));
    for (const auto& n : r.notes)
        if (on_note) on_note(n);
    if (r.outcome) {
        // The process exits: its links go silent, the nodes let them go.
        exited_ = true;
        net_.detach(process_.self());
        wakeup_.cancel();
        if (on_over) on_over(*r.outcome, process_.walk());
        return;
    }
    wakeup_.arm(events_, process_.next_deadline(), [this] {
        process_.on_timer(events_.now());
        pump();
    });
}

// A tool process starts: it walks the regenerate by hand (the CLI asked the monitor first; here
// the scenario stops or pauses the monitor). What it says it did is checked against the oracle: a
// walk done in epoch E made the token of E.
void SimCluster::regenerate_by_hand() {
    const Instant started = events_.now();
    std::vector<NodeId> ring;
    for (std::size_t i = 0; i < config_.nodes; ++i) ring.push_back(id_of(i));
    auto& tool = *tools_.emplace_back(
        std::make_unique<SimRegenerateTool>(events_, net_, NodeId{kToolIdFirst}, start_incarnation(started), std::move(ring), config_.mutant));
    ++counts_.walks;
    tool.on_over = [this, started](WalkOutcome o, const RegenerateWalk& w) {
        if (o != WalkOutcome::regenerated && o != WalkOutcome::regenerated_partly) return;
        ++counts_.walks_regenerated;
        if (!oracle_.born_by_order(w.epoch()->value))
            violations_.add(rule::recovery, fmt::format("at {} us the by-hand regenerate started at {} us said {} in epoch {} (node {} issuing), but "
                                                        "no token of epoch {} was born",
                                                        to_us(events_.now()), to_us(started), to_string(o), *w.epoch(), *w.issuer(), *w.epoch()));
    };
    tool.start();
}

}  // namespace ringwatch::sim
