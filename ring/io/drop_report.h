// Every datagram a process received and did not use, by reason: as named counts (for `ring
// status`, JSON events, and tests that account for hostile traffic) and as one line of key=value
// pairs (the node's and the monitor's closing totals).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ring/core/endpoint.h"
#include "ring/io/udp_socket.h"

namespace ringwatch::io {

// Every reason, in a fixed order, with its count (zeros included). Zero-length datagrams are not
// among them: they are the monitors' port probes (monitor/io/port_probe.h), counted as `probes`.
std::vector<std::pair<std::string, std::uint64_t>> drop_counts(const UdpStats& udp, const EndpointStats& endpoint, const LinkStats& links);
// "dropped=N reason=n ..." with each reason that counted any, in a fixed order; then
// "hellos_answered=n" and "probes=n" if any were.
std::string drop_report(const UdpStats& udp, const EndpointStats& endpoint, const LinkStats& links);

}  // namespace ringwatch::io
