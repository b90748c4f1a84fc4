// Every datagram a process received and did not use, by reason, as one line of key=value pairs
// (for the node's and the monitor's closing totals, and for tests that account for hostile traffic).
#pragma once

#include <string>

#include "ring/core/endpoint.h"
#include "ring/io/udp_socket.h"

namespace ringwatch::io {

// "dropped=N reason=n ..." with every reason named, in a fixed order; then "hellos_answered=n".
std::string drop_report(const UdpStats& udp, const EndpointStats& endpoint, const LinkStats& links);

}  // namespace ringwatch::io
