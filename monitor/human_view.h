// The monitor's output for people. On a terminal: one status line rewritten in place (verdicts so
// far, where the latest conclusive snapshot saw the token and how long ago, or that this is
// outdated (TokenFreshness), the last snapshot's duration, the epoch, open incidents, nodes down)
// and a permanent, coloured line for every incident event (alarm, recovery, recovered, resolved,
// node down/up). Piped: one line per incident event and a summary line every 10 s. Verbose: a line
// per snapshot as well. --json does not come here. It reads no clock: every call says when it is.
#pragma once

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include <fmt/color.h>

#include "monitor/core/incidents.h"
#include "monitor/core/leadership.h"
#include "monitor/core/membership.h"
#include "monitor/core/node_liveness.h"
#include "monitor/core/token_freshness.h"

namespace ringwatch {

class HumanView {
public:
    struct Options {
        bool terminal = false;  // stdout is a terminal: the status line is rewritten in place
        bool colour = false;    // a terminal and NO_COLOR unset
        bool verbose = false;   // a line per snapshot too
        // When the token's place is outdated: TokenFreshness::stale_after_for(interval, timeout).
        Duration stale_after = TokenFreshness::stale_after_for(std::chrono::milliseconds(100), std::chrono::milliseconds(1000));
        // Not on a terminal: what starts each line (a log's wall-clock time; empty: nothing).
        std::function<std::string()> stamp = {};
    };
    HumanView(Options o, std::FILE* out);

    void on_verdict(Instant now, const Verdict& v, const std::vector<IncidentEvent>& incidents);
    void on_incidents(Instant now, const std::vector<IncidentEvent>& events);  // with no verdict of theirs (a recovery by hand)
    void on_node_event(Instant now, const NodeEvent& e);
    void on_membership_event(Instant now, const MembershipEvent& e);
    void on_leader_event(Instant now, const LeaderEvent& e);
    // Every 10 s: the summary line when not on a terminal.
    void on_summary_tick(Instant now);
    // Now and then on a terminal: the status line drawn again (the token's age moves with no event).
    void on_refresh(Instant now);
    // Before anything else is printed on stdout (the totals at exit): end the status line.
    void finish();
    // "12 snapshots: 11 ok, 1 token_lost | token held by node 3 (snapshot 40, 0.1 s ago) | last 0.4 ms
    // | epoch 2 | 1 incident(s) open | down: 4"
    std::string status(Instant now) const;
    // The token part alone: "token held by node 3 (snapshot 40, 0.1 s ago)", "token outdated: ...".
    std::string token_status(Instant now) const;
    bool on_terminal() const { return o_.terminal; }

private:
    void event_line(const std::string& text, fmt::text_style style);
    void plain_line(const std::string& text);
    std::string line_start() const;
    void incident_event(const IncidentEvent& e);
    void draw_status(Instant now);
    void clear_status();

    Options o_;
    std::FILE* out_;
    std::uint64_t ok_ = 0, lost_ = 0, duplicated_ = 0, inconclusive_ = 0;
    TokenFreshness freshness_;
    double last_ms_ = 0;
    std::uint32_t epoch_ = 0;
    std::uint64_t open_incidents_ = 0;
    bool status_shown_ = false;
};

}  // namespace ringwatch
