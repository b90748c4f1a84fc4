// The by-hand regenerate's tool process: the walk's steps acted on as the CLI does.
#include "tests/sim/tool_process.h"

#include "ring/core/check.h"

namespace ringwatch::sim {

RegenerateToolProcess::RegenerateToolProcess(NodeId self, Incarnation incarnation, std::vector<NodeId> ring, Mutant mutant, Instant now)
    : endpoint_(LinkConfig{}, self, incarnation), walk_(ring), mutant_(mutant) {
    RW_ASSERT(is_tool_id(self));
    for (NodeId n : ring) endpoint_.add_peer(n, now);
}

void RegenerateToolProcess::on_datagram(Instant now, std::span<const std::uint8_t> datagram) {
    if (!over_) endpoint_.on_datagram(now, datagram);
}

// A question not answered in time is reported as such (the CLI's timeout).
void RegenerateToolProcess::on_timer(Instant now) {
    for (auto it = asked_.begin(); it != asked_.end();) {
        if (it->second.deadline > now) {
            ++it;
            continue;
        }
        const NodeId node = it->first;
        it = asked_.erase(it);
        walk_.on_no_answer(node);
    }
}

ToolReady RegenerateToolProcess::step(Instant now) {
    ToolReady ready;
    while (!over_) {
        // The walk's step, acted on: notes told, messages sent, each with its timeout.
        WalkReady r = walk_.step();
        for (const auto& n : r.notes) ready.notes.push_back(n);
        if (r.outcome) {
            over_ = true;  // the process exits: its links go silent, the nodes let them go
            ready.outcome = r.outcome;
            asked_.clear();
            break;
        }
        for (auto& s : r.sends) {
            Asked a{0, now + kAnswerTimeout};
            if (auto* c = std::get_if<RecoverCommand>(&s.what)) {
                c->command_id = a.command_id = next_command_++;
                mutate_walk_order(mutant_, s.to, *c);
            }
            RW_ASSERT(!asked_.contains(s.to));  // one question per node at a time
            asked_[s.to] = a;
            const auto sent = endpoint_.send(s.to, encode_message(s.what));
            RW_ASSERT(sent.has_value());  // every ring member is a peer
        }
        // The links, as the endpoint driver runs them; an answer drives the walk again.
        endpoint_.flush(now);
        out_.clear();
        endpoint_.take_output(out_);
        for (auto& d : out_.datagrams) ready.datagrams.push_back(std::move(d));
        if (out_.delivered.empty()) break;
        for (const auto& m : out_.delivered) answer(m.peer, m.bytes);
    }
    return ready;
}

void RegenerateToolProcess::answer(NodeId from, const Bytes& bytes) {
    Message m;
    if (decode_message(bytes, m) != MessageError::none) return;
    const auto it = asked_.find(from);
    if (it == asked_.end()) return;  // late, or not asked
    if (const auto* st = std::get_if<RingState>(&m); st && it->second.command_id == 0) {
        asked_.erase(it);
        walk_.on_state(from, *st);
    } else if (const auto* ack = std::get_if<CommandAck>(&m); ack && ack->command_id == it->second.command_id && it->second.command_id != 0) {
        asked_.erase(it);
        walk_.on_ack(from, ack->ok);
    }
}

std::optional<Instant> RegenerateToolProcess::next_deadline() const {
    if (over_) return std::nullopt;
    std::optional<Instant> t = endpoint_.next_deadline();
    for (const auto& [node, a] : asked_)
        if (!t || a.deadline < *t) t = a.deadline;
    return t;
}

}  // namespace ringwatch::sim
