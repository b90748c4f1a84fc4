// Terms: which monitor may give the ring orders. A monitor leads a term once a majority of the
// configured nodes has promised it that term (TermClaim / TermPromise in messages.h); each node
// promises a term once, to one monitor, and from then on obeys no order of a lower term. Two
// monitors therefore never lead the same term, and a monitor whose term a majority has moved past
// (it was paused, or cut off) can no longer be obeyed by that majority.
//
// Epochs are made from terms: the top 20 bits of an epoch are its maker's term less one, the low
// 12 count that term's epochs from 1. Term 1 (a ring's first monitor) makes epochs 1, 2, 3, ...;
// term 2 starts at 4097. Two leaders cannot make the same epoch, and a later term's epochs are
// newer than any of an earlier term's, so adopting one purges every token an older leader made. A
// leader that has made its term's 4095 epochs claims the next term.
#pragma once

#include <cstdint>
#include <optional>

#include "ring/core/types.h"

namespace ringwatch {

struct TermTag {};
using Term = StrongInt<TermTag, std::uint32_t>;

inline constexpr Term kNoTerm{0};  // no term promised yet
inline constexpr int kEpochSeqBits = 12;
inline constexpr std::uint32_t kEpochsPerTerm = (1u << kEpochSeqBits) - 1;
inline constexpr Term kMaxTerm{1u << (32 - kEpochSeqBits)};

// What a node promised last: a term, to one monitor. Kept on disk with the state directory, so a
// restarted process does not promise an older term again.
struct PromisedTerm {
    Term term{0};
    NodeId monitor{0};
    bool operator==(const PromisedTerm&) const = default;
};

// The term whose leader made `e` (epoch 0, "none", belongs to no term).
inline constexpr Term epoch_term(Epoch e) { return e.value == 0 ? kNoTerm : Term{(e.value >> kEpochSeqBits) + 1}; }
inline constexpr Epoch first_epoch_of(Term t) { return Epoch{((t.value - 1) << kEpochSeqBits) | 1}; }
inline constexpr Epoch last_epoch_of(Term t) { return Epoch{((t.value - 1) << kEpochSeqBits) | kEpochsPerTerm}; }

// The next epoch a leader of `t` makes above `floor` (the newest it knows of): none when its term
// has no epoch left above the floor (the floor is of a later term, or this term's are spent), and
// the leader must claim a later term first.
inline constexpr std::optional<Epoch> next_epoch_in(Term t, Epoch floor) {
    if (t == kNoTerm || t > kMaxTerm || floor >= last_epoch_of(t)) return std::nullopt;
    return floor < first_epoch_of(t) ? first_epoch_of(t) : Epoch{floor.value + 1};
}

}  // namespace ringwatch
