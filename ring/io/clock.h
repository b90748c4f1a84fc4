// The runtime's clock and entropy: what the pure cores are handed, never read by them.
#pragma once

#include <uv.h>

#include "ring/core/types.h"
#include "ring/io/uv_handle.h"

namespace ringwatch::io {

inline Instant monotonic_now() { return instant_us(static_cast<std::int64_t>(uv_hrtime() / 1000)); }

// A fresh random incarnation for this process start; never 0, which means "unknown".
inline Incarnation new_incarnation() {
    std::uint64_t v = 0;
    while (v == 0) uv_check(uv_random(nullptr, nullptr, &v, sizeof v, 0, nullptr), "uv_random");
    return Incarnation{v};
}

}  // namespace ringwatch::io
