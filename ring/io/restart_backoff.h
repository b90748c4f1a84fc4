// When `ring up --restart` starts a dead child again: after 1 s, doubling for each death that comes
// soon after its start (up to 30 s), back to 1 s once a child has run for a minute. A child that
// dies at once again and again (a port in use, a bad key) is retried ever more slowly instead of
// spinning; one that crashes once a day comes back in a second. Pure: the caller passes the time.
#pragma once

#include <algorithm>
#include <chrono>

#include "ring/core/types.h"

namespace ringwatch::io {

struct BackoffConfig {
    Duration first{std::chrono::seconds(1)};
    Duration cap{std::chrono::seconds(30)};
    Duration healthy_after{std::chrono::seconds(60)};  // ran this long: its next death starts over at `first`
};

class RestartBackoff {
public:
    explicit RestartBackoff(BackoffConfig c = {}) : c_(c), next_(c.first) {}

    void started(Instant now) { started_ = now; }
    // The child died at `now`: how long to wait before starting it again.
    Duration died(Instant now) {
        if (now - started_ >= c_.healthy_after) next_ = c_.first;
        const Duration wait = next_;
        next_ = std::min(c_.cap, 2 * next_);
        ++restarts_;
        return wait;
    }
    int restarts() const { return restarts_; }

private:
    BackoffConfig c_;
    Duration next_;
    Instant started_{};
    int restarts_ = 0;
};

}  // namespace ringwatch::io
