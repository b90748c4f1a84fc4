// The drop counters by reason (see drop_report.h).
#include "ring/io/drop_report.h"

#include <fmt/format.h>

namespace ringwatch::io {

std::vector<std::pair<std::string, std::uint64_t>> drop_counts(const UdpStats& udp, const EndpointStats& e, const LinkStats& l) {
    std::vector<std::pair<std::string, std::uint64_t>> out;
    out.emplace_back("socket_truncated", udp.truncated);
    for (std::size_t i = 1; i < wire::kDecodeErrorCount; ++i)
        out.emplace_back(std::string(wire::to_string(static_cast<wire::DecodeError>(i))), e.decode_errors[i]);
    out.emplace_back("misaddressed", e.misaddressed);
    out.emplace_back("unknown_peer", e.unknown_peer);
    out.emplace_back("tool_links_refused", e.tool_links_refused);
    out.emplace_back("no_tool_session", e.no_tool_session);
    out.emplace_back("stale_incarnation", l.stale_incarnation_dropped);
    out.emplace_back("replayed", l.replayed_dropped);
    out.emplace_back("unexpected_data", l.unexpected_data_dropped);
    return out;
}

std::string drop_report(const UdpStats& udp, const EndpointStats& e, const LinkStats& l) {
    std::string reasons;
    std::uint64_t total = 0;
    for (const auto& [name, n] : drop_counts(udp, e, l)) {
        if (n == 0) continue;  // a closing line of zeros says nothing (JSON's `node_stopped` keeps them all)
        reasons += fmt::format(" {}={}", name, n);
        total += n;
    }
    const std::uint64_t hellos = l.hellos_answered + e.tool_challenges;
    return fmt::format("dropped={}{}{}{}", total, reasons, hellos > 0 ? fmt::format(" hellos_answered={}", hellos) : "",
                       udp.empty > 0 ? fmt::format(" probes={}", udp.empty) : "");
}

}  // namespace ringwatch::io
