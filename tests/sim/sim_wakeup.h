// A simulated process's wake-up: one pending timer event at the earliest deadline asked for.
// Asking for a later deadline keeps the earlier wake-up; cancel() (a crash) voids the pending one.
#pragma once

#include <functional>
#include <optional>

#include "tests/sim/event_queue.h"

namespace ringwatch::sim {

class SimWakeup {
public:
    // Runs `action` at `deadline` (at least 1 us from now: time must move), unless an earlier
    // wake-up is already queued. The wake-up must outlive the queue's pending events that it owns.
    void arm(EventQueue& events, std::optional<Instant> deadline, std::function<void()> action) {
        if (!deadline) return;
        if (*deadline <= events.now()) deadline = events.now() + Duration{1};
        if (at_ && *at_ <= *deadline) return;
        at_ = *deadline;
        const std::uint64_t gen = ++gen_;
        events.at(*deadline, [this, gen, action = std::move(action)] {
            if (gen != gen_) return;
            at_.reset();
            action();
        });
    }
    void cancel() {
        ++gen_;
        at_.reset();
    }

private:
    std::optional<Instant> at_;
    std::uint64_t gen_ = 0;
};

// The earlier of two optional deadlines.
inline std::optional<Instant> earliest(std::optional<Instant> a, std::optional<Instant> b) {
    if (!a) return b;
    if (!b) return a;
    return std::min(*a, *b);
}

}  // namespace ringwatch::sim
