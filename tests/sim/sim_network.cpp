// Decides, from the seeded PRNG, what happens to each datagram, and schedules its delivery.
#include "tests/sim/sim_network.h"

namespace ringwatch::sim {

void SimNetwork::send(NodeId from, std::uint32_t from_gen, NodeId to, Bytes datagram) {
    ++stats_.sent;
    if (cut_.contains(key(from, to)) || one_way_.contains({from, to})) {
        ++stats_.partitioned;
        return;
    }
    auto it = link_faults_.find({from, to});
    const NetworkFaults& f = it != link_faults_.end() ? it->second : faults_;
    if (prng_.chance(f.loss)) {
        ++stats_.lost;
        return;
    }
    if (prng_.chance(f.duplicate)) {
        ++stats_.duplicated;
        schedule(f, from, from_gen, to, datagram);
    }
    schedule(f, from, from_gen, to, std::move(datagram));
}

void SimNetwork::schedule(const NetworkFaults& f, NodeId from, std::uint32_t from_gen, NodeId to, Bytes datagram) {
    Duration delay{prng_.between(f.delay_min.count(), f.delay_max.count())};
    if (prng_.chance(f.reorder)) {
        ++stats_.reordered;
        delay += Duration{prng_.between(0, f.reorder_delay_max.count())};
    }
    events_.after(delay, [this, from, from_gen, to, d = std::move(datagram)]() mutable {
        auto r = receivers_.find(to);
        if (r == receivers_.end()) {
            ++stats_.undeliverable;
            return;
        }
        ++stats_.delivered;
        r->second(from, from_gen, std::move(d));
    });
}

Duration SimNetwork::max_delay() const {
    auto longest = [](const NetworkFaults& f) { return f.delay_max + (f.reorder > 0 ? f.reorder_delay_max : Duration{0}); };
    Duration d = longest(faults_);
    for (const auto& [k, f] : link_faults_) d = std::max(d, longest(f));
    return d;
}

}  // namespace ringwatch::sim
