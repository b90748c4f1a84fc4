// Anti-replay for one sender's datagram counters (the sliding window of IPsec, RFC 4303 section
// 3.4.3, and WireGuard): each counter value is accepted at most once, values older than the window
// behind the highest seen are refused, and newer ones slide the window forward. Reordering within
// the window is tolerated, so a genuine datagram the network delays is still accepted.
#pragma once

#include <array>
#include <cstdint>

namespace ringwatch {

class ReplayWindow {
public:
    static constexpr std::uint64_t kBits = 2048;

    // True the first time `counter` is seen (and it is not too old); 0 is never valid.
    bool accept(std::uint64_t counter);
    void reset() { *this = ReplayWindow{}; }
    // Starts over with every counter up to `floor` taken (seen before the session began).
    void reset_above(std::uint64_t floor);
    std::uint64_t highest() const { return highest_; }

private:
    bool seen(std::uint64_t counter) const { return (bits_[(counter / 64) % kWords] >> (counter % 64)) & 1u; }
    void mark(std::uint64_t counter) { bits_[(counter / 64) % kWords] |= std::uint64_t{1} << (counter % 64); }

    static constexpr std::uint64_t kWords = kBits / 64;
    std::uint64_t highest_ = 0;
    std::array<std::uint64_t, kWords> bits_{};
};

}  // namespace ringwatch
