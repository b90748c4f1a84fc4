// The latest conclusive sighting of the token and its freshness (see token_freshness.h).
#include "monitor/core/token_freshness.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace ringwatch {

std::string_view to_string(Freshness f) {
    switch (f) {
        case Freshness::none: return "none";
        case Freshness::fresh: return "fresh";
        case Freshness::outdated_age: return "outdated_age";
        case Freshness::outdated_node_down: return "outdated_node_down";
    }
    return "?";
}

void TokenFreshness::on_verdict(const Verdict& v) {
    if (v.kind == VerdictKind::inconclusive) return;
    // Verdicts may be decided out of start order (a slow one after a quick one): the newest cut wins.
    if (latest_ && v.started < latest_->started) return;
    latest_ = TokenSighting{v.id, v.kind, v.tokens, v.holders, v.channels, v.epoch, v.started};
}

void TokenFreshness::on_node_event(const NodeEvent& e) {
    if (e.kind == NodeEventKind::node_down) {
        down_[e.node] = e.at;
    } else {
        down_.erase(e.node);
    }
}

std::vector<NodeId> TokenFreshness::down() const {
    std::vector<NodeId> out;
    for (const auto& [n, at] : down_) out.push_back(n);
    return out;
}

std::vector<NodeId> TokenFreshness::down_since_latest() const {
    std::vector<NodeId> out;
    for (const auto& [n, at] : down_)
        if (!latest_ || at >= latest_->started) out.push_back(n);
    return out;
}

Freshness TokenFreshness::at(Instant now) const {
    if (!latest_) return Freshness::none;
    if (!down_since_latest().empty()) return Freshness::outdated_node_down;
    if (now - latest_->started > stale_after_) return Freshness::outdated_age;
    return Freshness::fresh;
}

std::string where_tokens(const std::vector<NodeId>& holders, const std::vector<ChannelTokens>& channels) {
    std::vector<std::string> parts;
    for (auto h : holders) parts.push_back(fmt::format("held by node {}", h));
    for (auto& c : channels) parts.push_back(fmt::format("{} in flight {}->{}", c.tokens, c.from, c.to));
    return parts.empty() ? "nowhere" : fmt::format("{}", fmt::join(parts, ", "));
}

}  // namespace ringwatch
