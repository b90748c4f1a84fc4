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

// This process start's incarnation: the wall-clock time in microseconds, so a restarted process
// has a greater one than its predecessor (peers refuse anything older: a recording). Never 0.
inline Incarnation new_incarnation() {
    uv_timeval64_t tv{};
    uv_check(uv_gettimeofday(&tv), "uv_gettimeofday");
    const auto us = static_cast<std::uint64_t>(tv.tv_sec) * 1'000'000u + static_cast<std::uint64_t>(tv.tv_usec);
    return Incarnation{us == 0 ? 1 : us};
}

// A random number from the operating system.
inline std::uint64_t random_u64() {
    std::uint64_t v = 0;
    uv_check(uv_random(nullptr, nullptr, &v, sizeof v, 0, nullptr), "uv_random");
    return v;
}

}  // namespace ringwatch::io
