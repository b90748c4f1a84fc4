// The largest single allocation made while a probe is alive (allocation_probe.cpp says how it is
// watched): how a test shows that a decoder sizes nothing by a count the input merely claims.
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
