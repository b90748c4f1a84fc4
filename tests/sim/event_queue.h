// Virtual time: events ordered by (time, insertion number). An event scheduled by a handler for the
// current instant runs after every event already queued for that instant, never inside the pass.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <queue>
#include <vector>

#include "ring/core/types.h"

namespace ringwatch::sim {

class EventQueue {
public:
    using Action = std::function<void()>;

    Instant now() const { return now_; }
    void at(Instant t, Action a) { queue_.push(Event{t < now_ ? now_ : t, next_id_++, std::move(a)}); }
    void after(Duration d, Action a) { at(now_ + d, std::move(a)); }
    bool empty() const { return queue_.empty(); }
    std::size_t size() const { return queue_.size(); }
    std::optional<Instant> next_time() const {
        if (queue_.empty()) return std::nullopt;
        return queue_.top().time;
    }

    // Runs the earliest event; false when none is left.
    bool step() {
        if (queue_.empty()) return false;
        // Moving out of a priority_queue's top is safe: the element is popped right after.
        Event e = std::move(const_cast<Event&>(queue_.top()));
        queue_.pop();
        now_ = e.time;
        e.action();
        return true;
    }
    // Runs events up to and including time t, then sets the clock to t.
    void run_until(Instant t) {
        while (!queue_.empty() && queue_.top().time <= t) step();
        if (now_ < t) now_ = t;
    }

private:
    struct Event {
        Instant time;
        std::uint64_t id;
        Action action;
        bool operator>(const Event& o) const { return time != o.time ? time > o.time : id > o.id; }
    };
    std::priority_queue<Event, std::vector<Event>, std::greater<>> queue_;
    Instant now_{};
    std::uint64_t next_id_ = 0;
};

}  // namespace ringwatch::sim
