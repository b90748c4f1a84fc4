// The impairment shim for tests, demos and benchmarks: decides, from its own seeded generator,
// what happens to each outgoing datagram (lost, duplicated, reordered, delayed). Per process, with
// optional per-peer overrides. Never on unless asked for.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <random>
#include <vector>

#include "ring/core/types.h"

namespace ringwatch::io {

struct ImpairmentConfig {
    double loss = 0;       // chance a datagram is dropped
    double duplicate = 0;  // chance a datagram is sent twice
    double reorder = 0;    // chance a datagram is held back by up to reorder_max
    Duration delay{0};     // added to every datagram
    Duration reorder_max{std::chrono::milliseconds(2)};
    bool active() const { return loss > 0 || duplicate > 0 || reorder > 0 || delay.count() > 0; }
};

struct ImpairmentStats {
    std::uint64_t dropped = 0;
    std::uint64_t duplicated = 0;
    std::uint64_t reordered = 0;
    std::uint64_t delayed = 0;
};

class Impairment {
public:
    explicit Impairment(std::uint64_t seed = 1) : rng_(seed) {}

    void set_default(ImpairmentConfig c) { default_ = c; }
    void set_for_peer(NodeId peer, ImpairmentConfig c) { per_peer_[peer] = c; }
    const ImpairmentConfig& config_for(NodeId peer) const;
    bool active() const;

    // The delays after which copies of one datagram go out: none = dropped; 0 = at once.
    // Fills `out`, cleared first.
    void decide(NodeId peer, std::vector<Duration>& out);
    const ImpairmentStats& stats() const { return stats_; }

private:
    double unit() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_); }

    ImpairmentConfig default_;
    std::map<NodeId, ImpairmentConfig> per_peer_;
    std::mt19937_64 rng_;
    ImpairmentStats stats_;
};

}  // namespace ringwatch::io
