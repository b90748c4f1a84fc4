// Where the token was, as the latest conclusive snapshot (ok, token_lost, token_duplicated) saw it,
// and whether that is still news: pure, time comes in as an argument. The status line, the
// dashboard and /healthz all ask this one place, so they never disagree about a stale token.
//
// What was seen is outdated
//   - by age: its snapshot started more than stale_after ago, stale_after = 2 intervals + the
//     snapshot timeout. The next snapshot starts within an interval of it and is decided within
//     the timeout; if that one did not conclude either, the monitor no longer knows where the
//     token is (one interval more is slack for a start skipped while a view was being ordered);
//   - by a node down: a node the monitor reported down after that snapshot started, and not up
//     since (its cut may have put the token on the node now gone). A later conclusive snapshot, in
//     a view without that node, is news again.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "monitor/core/node_liveness.h"
#include "monitor/core/verdict.h"

namespace ringwatch {

struct TokenSighting {
    SnapshotId id;
    VerdictKind kind = VerdictKind::ok;  // never inconclusive
    std::uint32_t tokens = 0;
    std::vector<NodeId> holders;
    std::vector<ChannelTokens> channels;
    Epoch epoch{0};
    Instant started;
};

enum class Freshness : std::uint8_t {
    none,               // no conclusive snapshot yet
    fresh,              // the latest conclusive snapshot is recent and no node went down since
    outdated_age,       // none conclusive for longer than stale_after
    outdated_node_down  // a node went down after it, and none conclusive since
};
std::string_view to_string(Freshness f);

class TokenFreshness {
public:
    static Duration stale_after_for(Duration interval, Duration timeout) { return 2 * interval + timeout; }
    explicit TokenFreshness(Duration stale_after) : stale_after_(stale_after) {}

    void on_verdict(const Verdict& v);
    void on_node_event(const NodeEvent& e);

    const std::optional<TokenSighting>& latest() const { return latest_; }
    Freshness at(Instant now) const;
    bool outdated(Instant now) const { return at(now) != Freshness::fresh; }
    // Since the latest conclusive snapshot started (0 if none).
    Duration age(Instant now) const { return latest_ ? now - latest_->started : Duration{0}; }
    // Nodes down now, and of those the ones that went down after the latest conclusive snapshot.
    std::vector<NodeId> down() const;
    std::vector<NodeId> down_since_latest() const;
    Duration stale_after() const { return stale_after_; }

private:
    Duration stale_after_;
    std::optional<TokenSighting> latest_;
    std::map<NodeId, Instant> down_;  // reported down, not up since: when
};

// "held by node 3", "1 in flight 4->0", "held by node 1, held by node 2", "nowhere".
std::string where_tokens(const std::vector<NodeId>& holders, const std::vector<ChannelTokens>& channels);

}  // namespace ringwatch
