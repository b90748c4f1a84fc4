// `ring demo` until the ring exists: two link endpoints on 127.0.0.1 streaming numbered messages
// through the impairment shim, showing that loss, duplication and reordering are repaired.
#pragma once

#include <cstdint>

namespace ringwatch {

struct LinkDemoOptions {
    std::uint64_t messages = 20'000;
    double loss = 0.3;
    double duplicate = 0.05;
    double reorder = 0.05;
};

// Returns the process exit code.
int run_link_demo(const LinkDemoOptions& options);

}  // namespace ringwatch
