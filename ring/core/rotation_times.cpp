// The token's rotation times at one node.
#include "ring/core/rotation_times.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace ringwatch {

void RotationTimes::on_arrival(Instant now) {
    if (last_ && now >= *last_) kept_[count_++ % kRotationsKept] = now - *last_;
    last_ = now;
}

std::optional<Duration> RotationTimes::quantile(double q) const {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(count_, kRotationsKept));
    if (n == 0) return std::nullopt;
    std::vector<Duration> xs(kept_.begin(), kept_.begin() + static_cast<std::ptrdiff_t>(n));
    const auto rank = static_cast<std::size_t>(std::lround(std::clamp(q, 0.0, 1.0) * static_cast<double>(n - 1)));
    std::nth_element(xs.begin(), xs.begin() + static_cast<std::ptrdiff_t>(rank), xs.end());
    return xs[rank];
}

}  // namespace ringwatch
