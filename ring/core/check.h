// RW_ASSERT: the project's assertion, on in every build (Debug, Release, fuzz, simulator). A broken
// invariant stops the process at once, naming the condition and the line, rather than running on
// with corrupt state (a second token, a message delivered twice). NDEBUG does not touch it.
//
// Cost: one predicted-not-taken branch; the failure path is a cold, out-of-line call. Keep the
// conditions O(1) on hot paths; a check that walks a container belongs behind a cheaper guard.
#pragma once

namespace ringwatch {

[[noreturn]] void assertion_failed(const char* condition, const char* file, int line) noexcept;

}  // namespace ringwatch

#define RW_ASSERT(condition) \
    (__builtin_expect(static_cast<bool>(condition), 1) ? void(0) : ::ringwatch::assertion_failed(#condition, __FILE__, __LINE__))
