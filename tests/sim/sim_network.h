// The simulated network: every fault is a named, seeded input (loss, duplication, reordering, delay,
// partition); none is a global. Datagrams are delivered through the event queue in virtual time.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <utility>

#include "ring/core/types.h"
#include "tests/sim/event_queue.h"
#include "tests/sim/prng.h"

namespace ringwatch::sim {

using namespace std::chrono_literals;

struct NetworkFaults {
    double loss = 0;       // chance a datagram vanishes
    double duplicate = 0;  // chance a datagram is delivered twice (the copy with its own delay)
    double reorder = 0;    // chance a datagram is held back by up to reorder_delay_max
    Duration delay_min = 20us;
    Duration delay_max = 100us;
    Duration reorder_delay_max = 3ms;
};

struct NetworkStats {
    std::uint64_t sent = 0;
    std::uint64_t lost = 0;
    std::uint64_t duplicated = 0;
    std::uint64_t reordered = 0;
    std::uint64_t partitioned = 0;
    std::uint64_t undeliverable = 0;  // nobody attached at the destination (crashed)
    std::uint64_t delivered = 0;
};

class SimNetwork {
public:
    // `from_gen`: which generation (process start) of the sender sent it; the simulator's oracle
    // uses it to tell a crashed process's late datagrams from its successor's.
    using Receiver = std::function<void(NodeId from, std::uint32_t from_gen, Bytes datagram)>;

    SimNetwork(EventQueue& events, Prng& prng, NetworkFaults faults) : events_(events), prng_(prng), faults_(faults) {}

    void attach(NodeId node, Receiver r) { receivers_[node] = std::move(r); }
    void detach(NodeId node) { receivers_.erase(node); }
    void set_faults(NetworkFaults f) { faults_ = f; }
    const NetworkFaults& faults() const { return faults_; }
    // Faults for one direction only, overriding the network-wide ones.
    void set_link_faults(NodeId from, NodeId to, NetworkFaults f) { link_faults_[{from, to}] = f; }
    void clear_link_faults() { link_faults_.clear(); }
    void partition(NodeId a, NodeId b) { cut_.insert(key(a, b)); }
    void heal(NodeId a, NodeId b) { cut_.erase(key(a, b)); }
    // Only datagrams from `from` to `to` are lost (a one-way fault: `to` still reaches `from`).
    void partition_one_way(NodeId from, NodeId to) { one_way_.insert({from, to}); }
    void heal_one_way(NodeId from, NodeId to) { one_way_.erase({from, to}); }
    void heal_all() {
        cut_.clear();
        one_way_.clear();
    }

    void send(NodeId from, std::uint32_t from_gen, NodeId to, Bytes datagram);
    const NetworkStats& stats() const { return stats_; }
    // The longest a datagram sent now can spend in the network (the faults in force).
    Duration max_delay() const;

private:
    static std::pair<NodeId, NodeId> key(NodeId a, NodeId b) { return a < b ? std::pair{a, b} : std::pair{b, a}; }
    void schedule(const NetworkFaults& f, NodeId from, std::uint32_t from_gen, NodeId to, Bytes datagram);

    EventQueue& events_;
    Prng& prng_;
    NetworkFaults faults_;
    std::map<std::pair<NodeId, NodeId>, NetworkFaults> link_faults_;
    std::set<std::pair<NodeId, NodeId>> one_way_;  // (from, to)
    std::set<std::pair<NodeId, NodeId>> cut_;
    std::map<NodeId, Receiver> receivers_;
    NetworkStats stats_;
};

}  // namespace ringwatch::sim
