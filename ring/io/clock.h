// The runtime's clock and entropy: what the pure cores are handed, never read by them.
#pragma once

#include <uv.h>

#include "ring/core/types.h"
#include "ring/io/uv_handle.h"

namespace ringwatch::io {

inline Instant monotonic_now() { return instant_us(static_cast<std::int64_t>(uv_hrtime() / 1000)); }

// Milliseconds for a libuv timer to fire at `deadline`. libuv counts whole milliseconds from its
// cached, coarse loop clock; measuring from our precise clock makes the timer fire at most one tick
// early, never late: an early wake-up finds nothing due and re-arms. (Measuring from uv_now was
// tried: timers fired up to a tick late and the p99 round trip under loss doubled.)
inline std::uint64_t ms_until(Instant deadline) {
    const Instant now = monotonic_now();
    if (deadline <= now) return 0;
    return static_cast<std::uint64_t>((deadline - now + Duration{999}).count() / 1000);
}

// A fresh random incarnation for this process start; never 0, which means "unknown".
inline Incarnation new_incarnation() {
    std::uint64_t v = 0;
    while (v == 0) uv_check(uv_random(nullptr, nullptr, &v, sizeof v, 0, nullptr), "uv_random");
    return Incarnation{v};
}

}  // namespace ringwatch::io
