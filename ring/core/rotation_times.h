// How long the token takes to come round, as one node sees it: the time between consecutive token
// arrivals, the last kRotationsKept of them. Pure (the caller passes the arrival time). With one
// token in the ring this is the rotation time (`ring status`, the hop-latency benchmark); two
// tokens halve it, and a lost one shows as a gap until the next arrives.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "ring/core/types.h"

namespace ringwatch {

class RotationTimes {
public:
    static constexpr std::size_t kRotationsKept = 4096;

    void on_arrival(Instant now);
    // The q-quantile (0..1, nearest rank) of the rotations kept; none before two arrivals.
    std::optional<Duration> quantile(double q) const;
    // Rotations measured since the start (those kept are the last kRotationsKept of them).
    std::uint64_t count() const { return count_; }
    // When the token last arrived (none yet).
    std::optional<Instant> last_arrival() const { return last_; }

private:
    std::optional<Instant> last_;
    std::array<Duration, kRotationsKept> kept_{};
    std::uint64_t count_ = 0;
};

}  // namespace ringwatch
