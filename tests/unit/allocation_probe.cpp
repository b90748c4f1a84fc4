// The replaced global operator new behind AllocationProbe (one per program, as the standard allows).
#include "tests/unit/allocation_probe.h"

#include <atomic>
#include <cstdlib>
#include <new>

namespace {
std::atomic<bool> watching{false};
std::atomic<std::size_t> largest_seen{0};

void* allocate(std::size_t n) {
    if (watching.load(std::memory_order_relaxed)) {
        std::size_t seen = largest_seen.load(std::memory_order_relaxed);
        while (n > seen && !largest_seen.compare_exchange_weak(seen, n, std::memory_order_relaxed)) {
        }
    }
    if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
    throw std::bad_alloc();
}
}  // namespace

void* operator new(std::size_t n) { return allocate(n); }
void* operator new[](std::size_t n) { return allocate(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace ringwatch::test {

AllocationProbe::AllocationProbe() {
    largest_seen = 0;
    watching = true;
}
AllocationProbe::~AllocationProbe() { watching = false; }
std::size_t AllocationProbe::largest() const { return largest_seen.load(); }

}  // namespace ringwatch::test
