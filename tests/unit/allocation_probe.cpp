// What AllocationProbe watches. Under AddressSanitizer, its allocator's hook (every allocation,
// whoever makes it); otherwise a replaced global operator new (one per program, as the standard
// allows; replacing it under ASan would pair ASan's own news with our deletes).
#include "tests/unit/allocation_probe.h"

#include <atomic>
#include <cstdlib>
#include <new>

namespace {
std::atomic<bool> watching{false};
std::atomic<std::size_t> largest_seen{0};

void record(std::size_t n) {
    if (!watching.load(std::memory_order_relaxed)) return;
    std::size_t seen = largest_seen.load(std::memory_order_relaxed);
    while (n > seen && !largest_seen.compare_exchange_weak(seen, n, std::memory_order_relaxed)) {}
}
}  // namespace

#if defined(__SANITIZE_ADDRESS__)
// From the sanitizers' allocator interface (GCC ships the runtime's symbol, not the header).
extern "C" int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void*, std::size_t),
                                                         void (*free_hook)(const volatile void*));

namespace {
void on_malloc(const volatile void*, std::size_t n) { record(n); }
void on_free(const volatile void*) {}
void install() {
    static const bool installed = [] {
        __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
        return true;
    }();
    (void)installed;
}
}  // namespace
#else
namespace {
void install() {}
void* allocate(std::size_t n) {
    record(n);
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
#endif

namespace ringwatch::test {

AllocationProbe::AllocationProbe() {
    install();
    largest_seen = 0;
    watching = true;
}
AllocationProbe::~AllocationProbe() { watching = false; }
std::size_t AllocationProbe::largest() const { return largest_seen.load(); }

}  // namespace ringwatch::test
