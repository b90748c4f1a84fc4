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
    void at(Instant t, Action a) {
        std::uint32_t slot;
        if (free_.empty()) {
            slot = static_cast<std::uint32_t>(actions_.size());
            actions_.push_back(std::move(a));
        } else {
            slot = free_.back();
            free_.pop_back();
            actions_[slot] = std::move(a);
        }
        queue_.push(Event{t < now_ ? now_ : t, next_id_++, slot});
    }
    void after(Duration d, Action a) { at(now_ + d, std::move(a)); }
    bool empty() const { return queue_.empty(); }
    std::size_t size() const { return queue_.size(); }
    // Events run so far (what a benchmark divides by the wall time).
    std::uint64_t executed() const { return executed_; }
    std::optional<Instant> next_time() const {
        if (queue_.empty()) return std::nullopt;
        return queue_.top().time;
    }

    // Runs the earliest event; false when none is left.
    bool step() {
        if (queue_.empty()) return false;
        const Event e = queue_.top();
        queue_.pop();
        now_ = e.time;
        ++executed_;
        Action a = std::move(actions_[e.slot]);
        actions_[e.slot] = nullptr;
        free_.push_back(e.slot);  // the action may schedule more: its slot is free already
        a();
        return true;
    }
    // Runs events up to and including time t, then sets the clock to t.
    void run_until(Instant t) {
        while (!queue_.empty() && queue_.top().time <= t) step();
        if (now_ < t) now_ = t;
    }

private:
    // The heap holds small plain entries; the actions stay put in slots (reused once run), so
    // keeping the heap in order never moves a std::function.
    struct Event {
        Instant time;
        std::uint64_t id;
        std::uint32_t slot;
        bool operator>(const Event& o) const { return time != o.time ? time > o.time : id > o.id; }
    };
    std::priority_queue<Event, std::vector<Event>, std::greater<>> queue_;
    std::vector<Action> actions_;
    std::vector<std::uint32_t> free_;
    Instant now_{};
    std::uint64_t next_id_ = 0;
    std::uint64_t executed_ = 0;
};

}  // namespace ringwatch::sim
