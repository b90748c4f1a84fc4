// Parses and prints socket addresses with libuv's helpers.
#include "ring/io/address.h"

#include <charconv>
#include <cstring>

#include <uv.h>

#include <fmt/format.h>

namespace ringwatch::io {

std::optional<sockaddr_storage> parse_address(std::string_view text) {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos || colon + 1 >= text.size()) return std::nullopt;
    std::string_view host = text.substr(0, colon);
    const std::string_view port_text = text.substr(colon + 1);
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc{} || end != port_text.data() + port_text.size() || port > 65535) return std::nullopt;
    sockaddr_storage out{};
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        const std::string h(host.substr(1, host.size() - 2));
        if (uv_ip6_addr(h.c_str(), static_cast<int>(port), reinterpret_cast<sockaddr_in6*>(&out)) != 0) return std::nullopt;
        return out;
    }
    const std::string h(host);
    if (h.find(':') != std::string::npos) return std::nullopt;  // IPv6 needs brackets
    if (uv_ip4_addr(h.c_str(), static_cast<int>(port), reinterpret_cast<sockaddr_in*>(&out)) != 0) return std::nullopt;
    return out;
}

std::string format_address(const sockaddr* addr) {
    char host[64] = {};
    if (addr->sa_family == AF_INET6) {
        auto* a6 = reinterpret_cast<const sockaddr_in6*>(addr);
        uv_ip6_name(a6, host, sizeof host);
        return fmt::format("[{}]:{}", host, ntohs(a6->sin6_port));
    }
    auto* a4 = reinterpret_cast<const sockaddr_in*>(addr);
    uv_ip4_name(a4, host, sizeof host);
    return fmt::format("{}:{}", host, ntohs(a4->sin_port));
}

bool same_address(const sockaddr_storage& a, const sockaddr_storage& b) {
    if (a.ss_family != b.ss_family) return false;
    if (a.ss_family == AF_INET) {
        auto& x = reinterpret_cast<const sockaddr_in&>(a);
        auto& y = reinterpret_cast<const sockaddr_in&>(b);
        return x.sin_port == y.sin_port && x.sin_addr.s_addr == y.sin_addr.s_addr;
    }
    auto& x = reinterpret_cast<const sockaddr_in6&>(a);
    auto& y = reinterpret_cast<const sockaddr_in6&>(b);
    return x.sin6_port == y.sin6_port && std::memcmp(&x.sin6_addr, &y.sin6_addr, sizeof x.sin6_addr) == 0;
}

std::uint16_t port_of(const sockaddr_storage& a) {
    if (a.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(a).sin6_port);
    return ntohs(reinterpret_cast<const sockaddr_in&>(a).sin_port);
}

}  // namespace ringwatch::io
