// The closing line of drop counters (see drop_report.h).
#include "ring/io/drop_report.h"

#include <fmt/format.h>

namespace ringwatch::io {

std::string drop_report(const UdpStats& udp, const EndpointStats& e, const LinkStats& l) {
    std::string reasons;
    std::uint64_t total = 0;
    auto add = [&](std::string_view name, std::uint64_t n) {
        reasons += fmt::format(" {}={}", name, n);
        total += n;
    };
    add("socket_truncated", udp.truncated);
    add("empty", udp.empty);
    for (std::size_t i = 1; i < wire::kDecodeErrorCount; ++i) add(wire::to_string(static_cast<wire::DecodeError>(i)), e.decode_errors[i]);
    add("misaddressed", e.misaddressed);
    add("unknown_peer", e.unknown_peer);
    add("tool_links_refused", e.tool_links_refused);
    add("no_tool_session", e.no_tool_session);
    add("stale_incarnation", l.stale_incarnation_dropped);
    add("replayed", l.replayed_dropped);
    add("unexpected_data", l.unexpected_data_dropped);
    return fmt::format("dropped={}{} hellos_answered={}", total, reasons, l.hellos_answered);
}

}  // namespace ringwatch::io
