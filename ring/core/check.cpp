// The failure path of RW_ASSERT: say what broke, then abort (a core dump, and the sanitizers'
// stack trace under test).
#include "ring/core/check.h"

#include <cstdio>
#include <cstdlib>

#include <fmt/core.h>

namespace ringwatch {

void assertion_failed(const char* condition, const char* file, int line) noexcept {
    fmt::print(stderr, "ringwatch: invariant broken at {}:{}: {}\n", file, line, condition);
    std::fflush(stderr);
    std::abort();
}

}  // namespace ringwatch
