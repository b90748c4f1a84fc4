// The simulator's one-shot tool: a by-hand regenerate walked over simulated tool links.
#include "tests/sim/sim_tool.h"

#include "ring/core/check.h"
#include "tests/sim/sim_cluster.h"

#include <fmt/format.h>

namespace ringwatch::sim {

SimRegenerateTool::SimRegenerateTool(EventQueue& events, SimNetwork& net, NodeId self, Incarnation incarnation, std::vector<NodeId> ring,
                                     Mutant mutant)
    : events_(events), net_(net), endpoint_(LinkConfig{}, self, incarnation), walk_(ring), mutant_(mutant) {
    RW_ASSERT(is_tool_id(self));
    for (NodeId n : ring) endpoint_.add_peer(n, events_.now());
}

SimRegenerateTool::~SimRegenerateTool() {
    if (!exited_) net_.detach(endpoint_.self());
}

void SimRegenerateTool::start() {
    net_.attach(endpoint_.self(), [this](NodeId, std::uint32_t, Bytes d) {
        if (exited_) return;
        endpoint_.on_datagram(events_.now(), d);
        pump();
    });
    drive();
}

// One step of the walk, acted on as the CLI does: notes told, messages sent, each with its timeout.
void SimRegenerateTool::drive() {
    WalkReady r = walk_.step();
    for (const auto& n : r.notes)
        if (on_note) on_note(n);
    if (r.outcome) {
        // The process exits: its links go silent, the nodes let them go.
        exited_ = true;
        net_.detach(endpoint_.self());
        wakeup_.cancel();
        if (on_over) on_over(*r.outcome, walk_);
        return;
    }
    for (auto& s : r.sends) {
        Asked a{next_serial_++, 0};
        if (auto* c = std::get_if<RecoverCommand>(&s.what)) {
            c->command_id = a.command_id = next_command_++;
            mutate_walk_order(mutant_, s.to, *c);
        }
        RW_ASSERT(!asked_.contains(s.to));  // one question per node at a time
        asked_[s.to] = a;
        const auto sent = endpoint_.send(s.to, encode_message(s.what));
        RW_ASSERT(sent.has_value());  // every ring member is a peer
        events_.after(kAnswerTimeout, [this, node = s.to, serial = a.serial] { no_answer(node, serial); });
    }
    pump();
}

void SimRegenerateTool::deliver(NodeId from, const Bytes& bytes) {
    Message m;
    if (decode_message(bytes, m) != MessageError::none) return;
    const auto it = asked_.find(from);
    if (it == asked_.end()) return;  // late, or not asked
    if (const auto* st = std::get_if<RingState>(&m); st && it->second.command_id == 0) {
        asked_.erase(it);
        walk_.on_state(from, *st);
        drive();
    } else if (const auto* ack = std::get_if<CommandAck>(&m); ack && ack->command_id == it->second.command_id && it->second.command_id != 0) {
        asked_.erase(it);
        walk_.on_ack(from, ack->ok);
        drive();
    }
}

void SimRegenerateTool::no_answer(NodeId node, std::uint64_t serial) {
    const auto it = asked_.find(node);
    if (exited_ || it == asked_.end() || it->second.serial != serial) return;
    asked_.erase(it);
    walk_.on_no_answer(node);
    drive();
}

// The tool's links, as the endpoint driver runs them: flush, route, re-arm.
void SimRegenerateTool::pump() {
    for (int round = 0; round < 8 && !exited_; ++round) {
        endpoint_.flush(events_.now());
        out_.clear();
        endpoint_.take_output(out_);
        if (out_.datagrams.empty() && out_.delivered.empty() && out_.events.empty()) break;
        for (auto& d : out_.datagrams) net_.send(endpoint_.self(), 0, d.peer, std::move(d.bytes));
        // Taken out first: an answer drives the walk, whose sends pump again.
        const std::vector<Addressed> delivered = std::move(out_.delivered);
        for (const auto& m : delivered) deliver(m.peer, m.bytes);
    }
    if (!exited_) wakeup_.arm(events_, endpoint_.next_deadline(), [this] { pump(); });
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
