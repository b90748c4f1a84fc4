// host:port text <-> socket addresses (IPv4 "1.2.3.4:5", IPv6 "[::1]:5").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <netinet/in.h>
#include <sys/socket.h>

namespace ringwatch::io {

std::optional<sockaddr_storage> parse_address(std::string_view text);
std::string format_address(const sockaddr* addr);
inline std::string format_address(const sockaddr_storage& addr) { return format_address(reinterpret_cast<const sockaddr*>(&addr)); }
bool same_address(const sockaddr_storage& a, const sockaddr_storage& b);
// The port, in host order.
std::uint16_t port_of(const sockaddr_storage& a);

}  // namespace ringwatch::io
