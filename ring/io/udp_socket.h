// One UDP socket on the libuv loop: bind, receive in batches, send without a copy when the kernel
// takes the datagram at once, with an owned copy (in order) when it must wait. The socket is ours,
// watched by a uv_poll handle: each readiness notification costs one recvmmsg, where uv_udp reads
// again until EAGAIN (a syscall per datagram saved on a ring's hot path; epoll is level-triggered,
// so a batch left unread is simply reported again).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "ring/io/address.h"
#include "ring/io/uv_handle.h"

namespace ringwatch::io {

struct UdpStats {
    std::uint64_t received = 0;
    std::uint64_t sent = 0;
    std::uint64_t bytes_received = 0;  // of the datagrams received (payload, no IP/UDP headers)
    std::uint64_t bytes_sent = 0;
    std::uint64_t send_errors = 0;
    std::uint64_t send_queued = 0;  // the kernel was busy: sent later from a copy
    std::uint64_t recv_errors = 0;
    std::uint64_t truncated = 0;  // larger than our receive slot: dropped
    std::uint64_t empty = 0;      // zero-length datagrams: dropped
};

class UdpSocket {
public:
    using OnDatagram = std::function<void(std::span<const std::uint8_t> datagram, const sockaddr* from)>;

    // Throws std::system_error naming the call and the address, e.g. "bind 127.0.0.1:7101: address already in use".
    UdpSocket(uv_loop_t* loop, const sockaddr_storage& bind_to, OnDatagram on_datagram);
    ~UdpSocket();
    UdpSocket(const UdpSocket&) = delete;
    UdpSocket& operator=(const UdpSocket&) = delete;

    void send(const sockaddr_storage& to, std::span<const std::uint8_t> datagram);
    sockaddr_storage local_address() const;
    const UdpStats& stats() const { return stats_; }
    void unref() { uv_unref(poll_.base()); }

private:
    struct Pending {
        sockaddr_storage to;
        std::vector<std::uint8_t> data;
    };
    static void on_ready(uv_poll_t* h, int status, int events);
    void receive();
    void send_pending();
    void watch();

    OnDatagram on_datagram_;
    UdpStats stats_;
    struct ReceiveArea;
    std::unique_ptr<ReceiveArea> area_;  // one recvmmsg batch: slots, their headers and addresses
    std::deque<Pending> pending_;        // the kernel was busy: sent in order once it is writable
    bool* destroyed_ = nullptr;          // set while receive() calls handlers: one may destroy us
    int fd_ = -1;                        // closed after the poll handle
    UvHandle<uv_poll_t> poll_;
};

}  // namespace ringwatch::io
