// /healthz's rule (see health.h).
#include "monitor/core/health.h"

#include <nlohmann/json.hpp>

namespace ringwatch {

namespace {
double seconds(Duration d) { return static_cast<double>(d.count()) / 1e6; }
}  // namespace

HealthAnswer judge_health(Instant now, const std::optional<HealthReport>& report) {
    using Json = nlohmann::ordered_json;
    if (!report) return {503, Json{{"healthy", false}, {"why", "the monitor has not reported yet"}}.dump() + "\n"};
    const HealthReport& r = *report;
    const Duration loop_age = now > r.at ? now - r.at : Duration{0};
    std::optional<Duration> since = r.since_conclusive;
    if (since) *since += loop_age;  // the report's age counts too: the web thread answers later than it was made
    std::string why;
    if (loop_age > kLoopSilentAfter) {
        why = "the monitor's loop has not reported for more than 1 s";
    } else if (!since) {
        why = "no conclusive snapshot yet";
    } else if (*since > r.stale_after) {
        why = "no conclusive snapshot for longer than 2 intervals + the snapshot timeout";
    }
    Json j{{"healthy", why.empty()}, {"role", r.leading ? "leader" : "standby"}, {"term", r.term}, {"leader", nullptr}};
    if (r.leader) j["leader"] = *r.leader;
    j["since_conclusive_s"] = since ? Json(seconds(*since)) : Json(nullptr);
    j["stale_after_s"] = seconds(r.stale_after);
    Json down = Json::array();
    for (NodeId n : r.down) down.push_back(n.value);
    j["nodes_down"] = std::move(down);
    j["loop_report_age_s"] = seconds(loop_age);
    if (!why.empty()) j["why"] = why;
    return {why.empty() ? 200 : 503, j.dump() + "\n"};
}

}  // namespace ringwatch
