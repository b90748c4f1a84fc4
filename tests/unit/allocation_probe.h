// The largest single allocation made through operator new while a probe is alive (this test
// binary replaces the global operator new to watch it): how a test shows that a decoder sizes
// nothing by a count the input merely claims.
#pragma once

#include <cstddef>

namespace ringwatch::test {

class AllocationProbe {
public:
    AllocationProbe();
    ~AllocationProbe();
    std::size_t largest() const;
};

}  // namespace ringwatch::test
