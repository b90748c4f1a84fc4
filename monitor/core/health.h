// /healthz, pure: whether this monitor is doing its job, judged from what its loop last published
// and when (the web thread answers, so a stuck monitor loop still gets an answer: 503).
//
// 200 when both hold:
//   - the monitor's loop published a report within kLoopSilentAfter (it publishes every 250 ms);
//   - the latest conclusive snapshot started no more than stale_after ago (TokenFreshness's age
//     rule: 2 intervals + the snapshot timeout).
// 503 otherwise, saying why: no report yet, the loop silent, no conclusive snapshot yet, or none for
// too long. Nodes down are listed but are not a 503 by themselves: a ring that goes on without a
// dead node (a view without it) is watched fine, and the node_down alert is for that. The body is
// JSON and holds nothing secret: /healthz is read-only and needs no secret.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ring/core/types.h"

namespace ringwatch {

struct HealthReport {
    Instant at;  // when the monitor's loop made it
    bool leading = false;
    std::uint32_t term = 0;
    std::optional<std::size_t> leader;         // the leading monitor's place in the config, if known
    std::optional<Duration> since_conclusive;  // at `at`: the latest conclusive snapshot's age (none yet: empty)
    Duration stale_after{0};
    std::vector<NodeId> down;
};

struct HealthAnswer {
    int status = 503;
    std::string body;  // one JSON object and a newline
};

inline constexpr Duration kLoopSilentAfter = std::chrono::seconds(1);

HealthAnswer judge_health(Instant now, const std::optional<HealthReport>& report);

}  // namespace ringwatch
