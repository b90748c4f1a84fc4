// The sliding anti-replay window (see replay_window.h).
#include "ring/core/replay_window.h"

namespace ringwatch {

bool ReplayWindow::accept(std::uint64_t counter) {
    if (counter == 0) return false;
    if (counter > highest_) {
        // Clear the words the window slides over (all of them after a long jump), keeping one word
        // of slack so that the live bits always span at least kBits - 64 values.
        const std::uint64_t old_word = highest_ / 64;
        const std::uint64_t new_word = counter / 64;
        const std::uint64_t steps = new_word - old_word;
        for (std::uint64_t i = 1; i <= steps && i <= kWords; ++i) bits_[(old_word + i) % kWords] = 0;
        highest_ = counter;
        mark(counter);
        return true;
    }
    if (highest_ - counter >= kBits - 64) return false;  // too old to tell: refuse
    if (seen(counter)) return false;
    mark(counter);
    return true;
}

void ReplayWindow::reset_above(std::uint64_t floor) {
    reset();
    if (floor == 0) return;
    bits_.fill(~std::uint64_t{0});
    // In the floor's own word, the values above it are still to come.
    const unsigned in_word = floor % 64;
    bits_[(floor / 64) % kWords] = in_word == 63 ? ~std::uint64_t{0} : (std::uint64_t{2} << in_word) - 1;
    highest_ = floor;
}

}  // namespace ringwatch
