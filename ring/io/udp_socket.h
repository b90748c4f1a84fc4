// One UDP socket on the libuv loop: bind, receive in batches, send without a copy when the kernel
// takes the datagram at once, with an owned copy (in order) when it must wait. The socket is ours,
// watched by a uv_poll handle: each readiness notification costs one recvmmsg, where uv_udp reads
// again until EAGAIN (a syscall per datagram saved on a ring's hot path; epoll is level-triggered,
// so a batch left unread is simply reported again).
//
// Optionally with a quiet twin: a second socket on the same port (SO_REUSEPORT) to which a classic
// BPF program in the kernel steers the frames that may wait (wire::may_wait: pure acknowledgements).
// Unwatched, an ack wakes nobody; it is read whenever the process is awake anyway, by
// drain_quiet(): before the loop blocks again (the datagram port) and before a timer's or a due
// deadline's decision. While the process awaits an answer that comes as a pure ack (a hello's),
// watch_quiet(true) makes it wake as before. Each such datagram comes with the time it entered the
// kernel's queue (SO_TIMESTAMPNS), so round-trip samples measure the path, not how long the ack
// waited to be read. On a ring every hop's ack otherwise wakes the previous node (see the README's
// link section for what that costs).
#pragma once

#include <cstdint>
#include <ctime>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "ring/core/types.h"
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
    std::uint64_t quiet = 0;      // of those received, read from the quiet twin (no wake-up)
};

class UdpSocket {
public:
    using OnDatagram = std::function<void(std::span<const std::uint8_t> datagram, const sockaddr* from)>;
    // A datagram from the quiet twin, with when it arrived (on monotonic_now()'s clock, not later than now).
    using OnQuietDatagram = std::function<void(std::span<const std::uint8_t> datagram, const sockaddr* from, Instant arrived)>;

    // Throws std::system_error naming the call and the address, e.g. "bind 127.0.0.1:7101: address already in use".
    // With on_quiet, the quiet twin too where the kernel allows it (else quiet_active() is false
    // and every datagram comes through on_datagram); the port is still exclusively ours: a second
    // process binding it fails as without.
    UdpSocket(uv_loop_t* loop, const sockaddr_storage& bind_to, OnDatagram on_datagram, OnQuietDatagram on_quiet = {});
    ~UdpSocket();
    UdpSocket(const UdpSocket&) = delete;
    UdpSocket& operator=(const UdpSocket&) = delete;

    void send(const sockaddr_storage& to, std::span<const std::uint8_t> datagram);
    struct Outgoing {
        const sockaddr_storage* to;
        std::span<const std::uint8_t> datagram;
    };
    // Several datagrams, in order, with one sendmmsg where the kernel takes them at once (a token
    // and the ack of its arrival: one system call a hop instead of two).
    void send_many(std::span<const Outgoing> batch);
    sockaddr_storage local_address() const;
    // Reads what waits in the quiet twin (nothing without one). Call before acting on a deadline.
    void drain_quiet();
    // While on, the twin wakes the process like the main socket (an answer is awaited).
    void watch_quiet(bool on);
    bool quiet_active() const { return quiet_fd_ >= 0; }
    const UdpStats& stats() const { return stats_; }
    void unref() { uv_unref(poll_.base()); }

private:
    struct Pending {
        sockaddr_storage to;
        std::vector<std::uint8_t> data;
    };
    static void on_ready(uv_poll_t* h, int status, int events);
    void receive(bool quiet);  // from the main socket, or from the quiet twin
    Instant arrival(std::size_t slot, const timespec& wall, Instant now) const;
    int read_batch(int fd, bool with_arrival_times);
    std::span<const std::uint8_t> accept(std::size_t slot);
    int open_bound(const sockaddr_storage& at, bool reuse_port) const;
    void open_quiet_twin(const sockaddr_storage& at);
    void send_pending();
    void watch();

    OnDatagram on_datagram_;
    OnQuietDatagram on_quiet_;
    UdpStats stats_;
    struct ReceiveArea;
    std::unique_ptr<ReceiveArea> area_;  // one recvmmsg batch: slots, their headers and addresses
    std::deque<Pending> pending_;        // the kernel was busy: sent in order once it is writable
    bool* destroyed_ = nullptr;          // set while receive() calls handlers: one may destroy us
    int fd_ = -1;                        // closed after the poll handle
    int quiet_fd_ = -1;                  // the quiet twin, or -1
    bool quiet_watched_ = false;
    UvHandle<uv_poll_t> poll_;
    UvHandle<uv_poll_t> quiet_poll_;  // of the twin, started only by watch_quiet(true)
};

}  // namespace ringwatch::io
