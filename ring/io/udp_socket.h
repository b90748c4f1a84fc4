// Wraps one libuv UDP socket: bind, receive in batches (recvmmsg), send without a copy when the
// kernel takes the datagram at once, with an owned copy when it must wait.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>

#include "ring/io/address.h"
#include "ring/io/uv_handle.h"

namespace ringwatch::io {

struct UdpStats {
    std::uint64_t received = 0;
    std::uint64_t sent = 0;
    std::uint64_t send_errors = 0;
    std::uint64_t send_queued = 0;  // the kernel was busy: sent later from a copy
    std::uint64_t recv_errors = 0;
    std::uint64_t truncated = 0;    // larger than our receive slot: dropped
    std::uint64_t empty = 0;        // zero-length datagrams: dropped
};

class UdpSocket {
public:
    using OnDatagram = std::function<void(std::span<const std::uint8_t> datagram, const sockaddr* from)>;

    // Throws std::system_error naming the call and the address, e.g. "uv_udp_bind 127.0.0.1:7101: address already in use".
    UdpSocket(uv_loop_t* loop, const sockaddr_storage& bind_to, OnDatagram on_datagram);

    void send(const sockaddr_storage& to, std::span<const std::uint8_t> datagram);
    sockaddr_storage local_address() const;
    const UdpStats& stats() const { return stats_; }
    void unref() { uv_unref(handle_.base()); }

private:
    static void on_alloc(uv_handle_t* h, std::size_t suggested, uv_buf_t* buf);
    static void on_recv(uv_udp_t* h, ssize_t nread, const uv_buf_t* buf, const sockaddr* addr, unsigned flags);

    OnDatagram on_datagram_;
    UdpStats stats_;
    // One receive area for a whole recvmmsg batch; libuv slices it into 64 KiB slots.
    std::unique_ptr<char[]> recv_area_;
    UvHandle<uv_udp_t> handle_;
};

}  // namespace ringwatch::io
