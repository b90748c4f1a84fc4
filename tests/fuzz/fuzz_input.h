// What the fuzz targets read their decisions from: the input, a byte at a time (zeros once it runs
// out, so every input is a complete run), and the check that fails a run.
#pragma once

#include <cstdint>
#include <cstdlib>

#include "ring/core/types.h"

namespace ringwatch::fuzz {

struct Input {
    const std::uint8_t* p;
    std::size_t n;
    bool empty() const { return n == 0; }
    std::uint8_t byte() {
        if (n == 0) return 0;
        --n;
        return *p++;
    }
    std::uint16_t u16() { return static_cast<std::uint16_t>(byte() << 8 | byte()); }
    std::uint32_t u32() { return static_cast<std::uint32_t>(u16()) << 16 | u16(); }
    std::uint64_t u64() { return static_cast<std::uint64_t>(u32()) << 32 | u32(); }
    // Small values more often than large ones: 0..15, or anything.
    std::uint64_t number() { return byte() & 0x80 ? u64() : byte() & 0x0f; }
    // Up to `len` bytes (fewer if the input runs out).
    Bytes bytes(std::size_t len) {
        Bytes b;
        while (len-- && n) b.push_back(byte());
        return b;
    }
};

inline void check(bool ok) {
    if (!ok) std::abort();
}

}  // namespace ringwatch::fuzz
