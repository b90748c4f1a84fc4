// Node liveness: heard, probed, down, up.
#include "monitor/core/node_liveness.h"

#include <algorithm>

namespace ringwatch {

std::string_view to_string(NodeEventKind k) { return k == NodeEventKind::node_down ? "node_down" : "node_up"; }
std::string_view to_string(NodeAddress a) { return a == NodeAddress::port_closed ? "port_closed" : "no_answer"; }

NodeLiveness::NodeLiveness(const std::vector<NodeId>& nodes, LivenessConfig config, Instant now) : config_(config) {
    // Until a node is first heard its silence counts from the monitor's start.
    for (NodeId n : nodes) {
        State& s = nodes_[n] = State{now, false, {}, false, {}, false, now + config_.suspect_after, std::nullopt};
        reindex(n, s);
    }
}

void NodeLiveness::reindex(NodeId n, State& s) {
    std::optional<Instant> at;
    if (!s.down) at = std::min(s.next_probe, s.last_heard + config_.node_timeout);
    if (at == s.indexed) return;  // heard again at the same time: nothing moves
    if (s.indexed && at) {
        auto entry = due_.extract({*s.indexed, n});  // moved, not freed and allocated again
        entry.value().first = *at;
        due_.insert(std::move(entry));
    } else if (s.indexed) {
        due_.erase({*s.indexed, n});
    } else {
        due_.insert({*at, n});
    }
    s.indexed = at;
}

void NodeLiveness::heard(Instant now, NodeId n, Incarnation incarnation) {
    auto it = nodes_.find(n);
    if (it == nodes_.end()) return;
    State& s = it->second;
    // Heard at or before it was reported down (a late datagram, a stale link time): no news.
    if ((s.down && now <= s.down_at) || (s.ever_heard && now < s.last_heard)) return;
    const bool restarted = s.ever_heard && incarnation != kUnknownIncarnation && s.incarnation != kUnknownIncarnation && incarnation != s.incarnation;
    if (s.down) {
        s.down = false;
        ++stats_.node_up;
        NodeEvent e{NodeEventKind::node_up, n, now};
        e.down_for = now - s.down_at;
        e.restarted = restarted;
        events_.push_back(e);
    }
    s.last_heard = now;
    s.ever_heard = true;
    if (incarnation != kUnknownIncarnation) s.incarnation = incarnation;
    s.refused = false;
    s.next_probe = now + config_.suspect_after;
    reindex(n, s);
}

void NodeLiveness::probe_refused(Instant now, NodeId n) {
    auto it = nodes_.find(n);
    if (it == nodes_.end()) return;
    State& s = it->second;
    ++stats_.refused;
    // A refusal is exact only about a process that was there: before a node was ever heard, it
    // may simply not have started yet (the ring and the monitor start together); the timeout says.
    if (!s.ever_heard) return;
    s.refused = true;
    if (!s.down) go_down(now, n, s);
}

void NodeLiveness::excuse(Instant now, Duration stall) {
    for (auto& [n, s] : nodes_) {
        if (s.down) continue;
        s.last_heard = std::min(now, s.last_heard + stall);
        reindex(n, s);
    }
}

void NodeLiveness::on_timer(Instant now) {
    // Only a node whose deadline has come has anything to do; they act in node order.
    for (auto it = due_.begin(); it != due_.end() && it->first <= now; ++it) due_now_.push_back(it->second);
    std::sort(due_now_.begin(), due_now_.end());
    for (NodeId n : due_now_) {
        State& s = nodes_.at(n);
        if (now - s.last_heard >= config_.node_timeout) {
            go_down(now, n, s);
            continue;
        }
        if (now >= s.next_probe) {
            probes_.push_back(n);
            ++stats_.probes;
            s.next_probe = now + config_.probe_every;
            reindex(n, s);
        }
    }
    due_now_.clear();
}

void NodeLiveness::go_down(Instant now, NodeId n, State& s) {
    s.down = true;
    s.down_at = now;
    ++stats_.node_down;
    NodeEvent e{NodeEventKind::node_down, n, now};
    e.silent_for = now - s.last_heard;
    e.address = s.refused ? NodeAddress::port_closed : NodeAddress::no_answer;
    e.ever_heard = s.ever_heard;
    events_.push_back(e);
    reindex(n, s);
}

std::optional<Instant> NodeLiveness::next_deadline() const {
    if (due_.empty()) return std::nullopt;
    return due_.begin()->first;
}

bool NodeLiveness::down(NodeId n) const {
    auto it = nodes_.find(n);
    return it != nodes_.end() && it->second.down;
}

bool NodeLiveness::ever_heard(NodeId n) const {
    auto it = nodes_.find(n);
    return it != nodes_.end() && it->second.ever_heard;
}

std::vector<NodeId> NodeLiveness::down_nodes() const {
    std::vector<NodeId> out;
    for (const auto& [n, s] : nodes_)
        if (s.down) out.push_back(n);
    return out;
}

}  // namespace ringwatch
