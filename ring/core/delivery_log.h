// Which application messages a node has delivered, so that it delivers each one once and in order:
// per source, its last few processes (a restarted source numbers its messages from 1 again), and
// per process a window of message ids above a floor below which everything counts as delivered.
// An id below the highest delivered from its process was overtaken (two tokens, a duplication
// fault, carried a later message faster): it is dropped, as delivering it would break the order.
// Part of the state a rollback restores.
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

    enum class Offer : std::uint8_t { deliver, repeat, overtaken };
    // deliver: (src, inc, id) is new and above every id delivered from that process; repeat: it
    // was delivered already; overtaken: a later one was.
    Offer offer(NodeId src, Incarnation inc, std::uint64_t id);
    bool first_time(NodeId src, Incarnation inc, std::uint64_t id) { return offer(src, inc, id) == Offer::deliver; }

    const std::map<NodeId, PerSource>& sources() const { return sources_; }
    // For the codec that reads a saved state back.
    void put(NodeId src, Incarnation inc, Window w) { sources_[src].emplace_back(inc, std::move(w)); }
    bool operator==(const DeliveryLog&) const = default;

private:
    std::map<NodeId, PerSource> sources_;
};

}  // namespace ringwatch
