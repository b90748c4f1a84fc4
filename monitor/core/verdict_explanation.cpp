#include "monitor/core/verdict_explanation.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace ringwatch {

namespace {
std::string nodes(const std::vector<NodeId>& v) {
    std::vector<std::uint16_t> ids;
    for (NodeId n : v) ids.push_back(n.value);
    return fmt::format("{} {}", v.size() == 1 ? "node" : "nodes", fmt::join(ids, ", "));
}
std::string plural(std::uint32_t n, std::string_view one) { return fmt::format("{} {}{}", n, one, n == 1 ? "" : "s"); }

// "1 held (node 3) + 1 recorded in flight (2→3)"
std::string count(const Verdict& v) {
    std::string held = v.holders.empty() ? "0 held" : fmt::format("{} held ({})", v.held, nodes(v.holders));
    std::vector<std::string> channels;
    for (const auto& c : v.channels) channels.push_back(fmt::format("{} on {}→{}", c.tokens, c.from.value, c.to.value));
    const std::string flight =
        channels.empty() ? "0 recorded in flight" : fmt::format("{} recorded in flight ({})", v.in_flight, fmt::join(channels, ", "));
    return fmt::format("{} = {} + {}", plural(v.tokens, "token"), held, flight);
}
}  // namespace

std::string explain_verdict(const Verdict& v) {
    std::string why;
    switch (v.kind) {
        case VerdictKind::ok:
            why = fmt::format("ok: {}. Exactly one token in the cut.", count(v));
            if (v.in_flight > 0)
                why +=
                    " A token recorded on a channel was sent before its sender recorded its state and received after its receiver did: "
                    "it is in flight in the cut, held by no one, and counted once.";
            break;
        case VerdictKind::token_lost:
            why = fmt::format("token lost: {}. No node recorded a token and no channel recorded one in flight.", count(v));
            break;
        case VerdictKind::token_duplicated: why = fmt::format("token duplicated: {}. More than one token in one consistent cut.", count(v)); break;
        case VerdictKind::inconclusive: {
            std::vector<std::string> reasons;
            if (!v.missing.empty())
                reasons.push_back(fmt::format("{} did not report before the timeout{}", nodes(v.missing),
                                              v.silent.empty() ? "" : fmt::format(" ({} silent on the links)", nodes(v.silent))));
            if (!v.restarted.empty()) reasons.push_back(fmt::format("{} restarted during the snapshot", nodes(v.restarted)));
            if (v.forming) reasons.push_back("the ring is still forming: no node has held a token yet");
            if (v.unborn)
                reasons.push_back(fmt::format("epoch {}'s token was not known born when it began (the cut may precede its birth)", v.epoch.value));
            if (v.stale_view) reasons.push_back("a node outside the members it asked took part: the ring's view had changed");
            if (v.epoch_change) reasons.push_back(fmt::format("some nodes recorded their state before adopting epoch {}", v.epoch.value));
            why = fmt::format("inconclusive: {}. Not judged: {}.", fmt::join(reasons, "; "), count(v));
            break;
        }
    }
    if (v.stale > 0) why += fmt::format(" {} of an older epoch not counted (discarded where it arrives).", plural(v.stale, "stale token"));
    return why;
}

}  // namespace ringwatch
