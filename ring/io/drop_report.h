// Every datagram a process received and did not use, by reason: as named counts (for `ring
// status`) and as one line of key=value pairs (for the node's and the monitor's closing totals,
// and for tests that account for hostile traffic).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ring/core/endpoint.h"
#include "ring/io/udp_socket.h"

namespace ringwatch::io {

// Every reason, in a fixed order, with its count (zeros included).
std::vector<std::pair<std::string, std::uint64_t>> drop_counts(const UdpStats& udp, const EndpointStats& endpoint, const LinkStats& links);
// "dropped=N reason=n ..." with every reason named, in a fixed order; then "hellos_answered=n".
std::string drop_report(const UdpStats& udp, const EndpointStats& endpoint, const LinkStats& links);

}  // namespace ringwatch::io
