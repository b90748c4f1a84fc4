// A libuv timer that calls back at a core's next deadline (none: it stays quiet).
#pragma once

#include <functional>
#include <optional>

#include "ring/io/clock.h"
#include "ring/io/uv_handle.h"

namespace ringwatch::io {

class DeadlineTimer {
public:
    DeadlineTimer(uv_loop_t* loop, std::function<void()> on_due) : on_due_(std::move(on_due)), timer_(loop, uv_timer_init) {
        timer_.get()->data = this;
    }
    DeadlineTimer(const DeadlineTimer&) = delete;
    DeadlineTimer& operator=(const DeadlineTimer&) = delete;

    void arm(std::optional<Instant> deadline) {
        if (!deadline) {
            uv_timer_stop(timer_.get());
            return;
        }
        uv_timer_start(
            timer_.get(),
            [](uv_timer_t* t) {
                if (auto* self = static_cast<DeadlineTimer*>(t->data)) self->on_due_();
            },
            ms_until(*deadline), 0);
    }
    uv_handle_t* base() const { return timer_.base(); }

private:
    std::function<void()> on_due_;
    UvHandle<uv_timer_t> timer_;
};

}  // namespace ringwatch::io
