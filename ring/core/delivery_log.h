// Which application messages a node has delivered, so that it delivers each one once: per source,
// its last few processes (a restarted source numbers its messages from 1 again), and per process
// a window of message ids above a floor below which everything counts as delivered (ids may arrive
// out of order after a purge). Part of the state a rollback restores.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <utility>

#include "ring/core/types.h"

namespace ringwatch {

class DeliveryLog {
public:
    static constexpr std::size_t kIncarnationsPerSource = 4;
    static constexpr std::size_t kWindow = 4096;

    struct Window {
        std::uint64_t floor = 0;
        std::set<std::uint64_t> above;
        bool operator==(const Window&) const = default;
    };
    using PerSource = std::deque<std::pair<Incarnation, Window>>;

    // True the first time (src, inc, id) is offered; false for a repeat.
    bool first_time(NodeId src, Incarnation inc, std::uint64_t id);

    const std::map<NodeId, PerSource>& sources() const { return sources_; }
    // For the codec that reads a saved state back.
    void put(NodeId src, Incarnation inc, Window w) { sources_[src].emplace_back(inc, std::move(w)); }
    bool operator==(const DeliveryLog&) const = default;

private:
    std::map<NodeId, PerSource> sources_;
};

}  // namespace ringwatch
