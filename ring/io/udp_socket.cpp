// The UDP socket wrapper; protocol-free.
#include "ring/io/udp_socket.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace ringwatch::io {

namespace {
constexpr std::size_t kSlotBytes = 64 * 1024;  // the largest UDP datagram fits a slot
constexpr std::size_t kSlots = 32;             // datagrams per recvmmsg call
constexpr int kSocketBufferBytes = 4 << 20;
constexpr std::size_t kMaxPending = 8192;  // datagrams waiting for a busy kernel; more are dropped (counted)

socklen_t length_of(const sockaddr_storage& a) { return a.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in); }
}  // namespace

struct UdpSocket::ReceiveArea {
    std::unique_ptr<char[]> bytes{new char[kSlotBytes * kSlots]};
    std::array<iovec, kSlots> iov{};
    std::array<sockaddr_storage, kSlots> from{};
    std::array<mmsghdr, kSlots> msgs{};
};

UdpSocket::UdpSocket(uv_loop_t* loop, const sockaddr_storage& bind_to, OnDatagram on_datagram)
    : on_datagram_(std::move(on_datagram)), area_(std::make_unique<ReceiveArea>()) {
    const std::string where = format_address(bind_to);
    fd_ = ::socket(bind_to.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw uv_error(-errno, fmt::format("socket {}", where));
    int size = kSocketBufferBytes;  // best effort: the kernel may cap them
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    if (::bind(fd_, reinterpret_cast<const sockaddr*>(&bind_to), length_of(bind_to)) != 0) {
        const int e = errno;
        ::close(fd_);
        throw uv_error(-e, fmt::format("bind {}", where));
    }
    try {
        poll_ = UvHandle<uv_poll_t>(loop, uv_poll_init_socket, fd_);
    } catch (...) {
        ::close(fd_);
        throw;
    }
    poll_.get()->data = this;
    watch();
}

UdpSocket::~UdpSocket() {
    if (destroyed_) *destroyed_ = true;
    poll_.reset();  // stops watching the descriptor before it is closed
    if (fd_ >= 0) ::close(fd_);
}

void UdpSocket::watch() {
    const int events = UV_READABLE | (pending_.empty() ? 0 : UV_WRITABLE);
    uv_check(uv_poll_start(poll_.get(), events, on_ready), "uv_poll_start");
}

void UdpSocket::on_ready(uv_poll_t* h, int status, int events) {
    auto* self = static_cast<UdpSocket*>(h->data);
    if (!self) return;
    if (status < 0) {
        ++self->stats_.recv_errors;  // EBADF and the like: nothing to read this time
        return;
    }
    if (events & UV_WRITABLE) self->send_pending();
    if (events & UV_READABLE) self->receive();
}

// One recvmmsg per notification; a full batch is read again at once (more may be waiting).
void UdpSocket::receive() {
    bool destroyed = false;
    destroyed_ = &destroyed;
    ReceiveArea& a = *area_;
    for (;;) {
        for (std::size_t i = 0; i < kSlots; ++i) {
            a.iov[i] = iovec{a.bytes.get() + i * kSlotBytes, kSlotBytes};
            a.msgs[i] = mmsghdr{};
            a.msgs[i].msg_hdr.msg_iov = &a.iov[i];
            a.msgs[i].msg_hdr.msg_iovlen = 1;
            a.msgs[i].msg_hdr.msg_name = &a.from[i];
            a.msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
        }
        const int n = ::recvmmsg(fd_, a.msgs.data(), kSlots, MSG_DONTWAIT, nullptr);
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) ++stats_.recv_errors;
            break;
        }
        for (int i = 0; i < n; ++i) {
            const mmsghdr& m = a.msgs[static_cast<std::size_t>(i)];
            if (m.msg_hdr.msg_flags & MSG_TRUNC) {
                ++stats_.truncated;
                continue;
            }
            if (m.msg_len == 0) {
                ++stats_.empty;
                continue;
            }
            ++stats_.received;
            stats_.bytes_received += m.msg_len;
            on_datagram_(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(a.iov[static_cast<std::size_t>(i)].iov_base), m.msg_len),
                         reinterpret_cast<const sockaddr*>(&a.from[static_cast<std::size_t>(i)]));
            if (destroyed) return;  // the handler let this socket go: touch nothing of it
        }
        if (static_cast<std::size_t>(n) < kSlots) break;
    }
    destroyed_ = nullptr;
}

void UdpSocket::send(const sockaddr_storage& to, std::span<const std::uint8_t> datagram) {
    if (pending_.empty()) {
        const ssize_t rc = ::sendto(fd_, datagram.data(), datagram.size(), MSG_DONTWAIT, reinterpret_cast<const sockaddr*>(&to), length_of(to));
        if (rc >= 0) {
            ++stats_.sent;
            stats_.bytes_sent += datagram.size();
            return;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS) {
            ++stats_.send_errors;
            return;
        }
    }
    // The kernel's queue is full (or others wait before this one): keep a copy, in order.
    if (pending_.size() >= kMaxPending) {
        ++stats_.send_errors;
        return;
    }
    ++stats_.send_queued;
    pending_.push_back(Pending{to, std::vector<std::uint8_t>(datagram.begin(), datagram.end())});
    if (pending_.size() == 1) watch();
}

void UdpSocket::send_pending() {
    while (!pending_.empty()) {
        const Pending& p = pending_.front();
        const ssize_t rc = ::sendto(fd_, p.data.data(), p.data.size(), MSG_DONTWAIT, reinterpret_cast<const sockaddr*>(&p.to), length_of(p.to));
        if (rc < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) return;  // still busy: wait for the next notification
        if (rc < 0) {
            ++stats_.send_errors;
        } else {
            ++stats_.sent;
            stats_.bytes_sent += p.data.size();
        }
        pending_.pop_front();
    }
    watch();  // nothing waits: readable only
}

sockaddr_storage UdpSocket::local_address() const {
    sockaddr_storage a{};
    socklen_t len = sizeof a;
    if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) throw uv_error(-errno, "getsockname");
    return a;
}

}  // namespace ringwatch::io
