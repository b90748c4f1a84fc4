// The UDP socket wrapper; protocol-free.
#include "ring/io/udp_socket.h"

#include <fcntl.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "ring/core/wire.h"
#include "ring/io/clock.h"

namespace ringwatch::io {

namespace {
constexpr std::size_t kSlotBytes = 64 * 1024;  // the largest UDP datagram fits a slot
constexpr std::size_t kSlots = 32;             // datagrams per recvmmsg call
constexpr int kSocketBufferBytes = 4 << 20;
constexpr std::size_t kMaxPending = 8192;  // datagrams waiting for a busy kernel; more are dropped (counted)

socklen_t length_of(const sockaddr_storage& a) { return a.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in); }
}  // namespace

struct UdpSocket::ReceiveArea {
    struct alignas(cmsghdr) Control {
        char bytes[CMSG_SPACE(sizeof(timespec))];
    };
    std::unique_ptr<char[]> bytes{new char[kSlotBytes * kSlots]};
    std::array<iovec, kSlots> iov{};
    std::array<sockaddr_storage, kSlots> from{};
    std::array<mmsghdr, kSlots> msgs{};
    std::array<Control, kSlots> control{};  // the quiet twin's arrival times

    void prepare(bool with_control) {
        for (std::size_t i = 0; i < kSlots; ++i) {
            iov[i] = iovec{bytes.get() + i * kSlotBytes, kSlotBytes};
            msgs[i] = mmsghdr{};
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
            msgs[i].msg_hdr.msg_name = &from[i];
            msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
            if (with_control) {
                msgs[i].msg_hdr.msg_control = control[i].bytes;
                msgs[i].msg_hdr.msg_controllen = sizeof control[i].bytes;
            }
        }
    }
};

UdpSocket::UdpSocket(uv_loop_t* loop, const sockaddr_storage& bind_to, OnDatagram on_datagram, OnQuietDatagram on_quiet)
    : on_datagram_(std::move(on_datagram)), on_quiet_(std::move(on_quiet)), area_(std::make_unique<ReceiveArea>()) {
    sockaddr_storage at = bind_to;
    if (on_quiet_) {
        // A plain bind first: a port in use (a twin pair's too) fails here exactly as it would
        // without the twin, and port 0 gets its number; then the pair binds that port.
        const int probe = open_bound(bind_to, false);
        socklen_t len = sizeof at;
        const int rc = ::getsockname(probe, reinterpret_cast<sockaddr*>(&at), &len);
        const int e = errno;
        ::close(probe);
        if (rc != 0) throw uv_error(-e, fmt::format("getsockname {}", format_address(bind_to)));
    }
    fd_ = open_bound(at, static_cast<bool>(on_quiet_));
    if (on_quiet_) open_quiet_twin(at);
    try {
        poll_ = UvHandle<uv_poll_t>(loop, uv_poll_init_socket, fd_);
        if (quiet_fd_ >= 0) {
            quiet_poll_ = UvHandle<uv_poll_t>(loop, uv_poll_init_socket, quiet_fd_);
            quiet_poll_.get()->data = this;
        }
    } catch (...) {
        ::close(fd_);
        if (quiet_fd_ >= 0) ::close(quiet_fd_);
        throw;
    }
    poll_.get()->data = this;
    watch();
}

int UdpSocket::open_bound(const sockaddr_storage& at, bool reuse_port) const {
    const std::string where = format_address(at);
    const int fd = ::socket(at.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw uv_error(-errno, fmt::format("socket {}", where));
    int size = kSocketBufferBytes;  // best effort: the kernel may cap them
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    const int one = 1;
    if ((reuse_port && ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) ||
        ::bind(fd, reinterpret_cast<const sockaddr*>(&at), length_of(at)) != 0) {
        const int e = errno;
        ::close(fd);
        throw uv_error(-e, fmt::format("bind {}", where));
    }
    return fd;
}

// Best effort: without it every datagram comes through the main socket, as before.
void UdpSocket::open_quiet_twin(const sockaddr_storage& at) {
    int q = -1;
    try {
        q = open_bound(at, true);
    } catch (const std::exception&) {
        return;
    }
    // Index 0 of the port's group is the main socket (bound first), 1 the twin. The program sees
    // the UDP payload; a load past its end returns 0 (the main socket), like wire::may_wait's false.
    sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, wire::kMagic, 0, 7),
        BPF_STMT(BPF_LD | BPF_B | BPF_ABS, wire::kFlagsOffset),
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, wire::kFlagWantAck, 5, 0),
        BPF_STMT(BPF_LD | BPF_B | BPF_ABS, wire::kSackLenOffset),
        BPF_STMT(BPF_MISC | BPF_TAX, 0),
        BPF_STMT(BPF_LD | BPF_B | BPF_IND, wire::kCountOffset),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, 1),
        BPF_STMT(BPF_RET | BPF_K, 0),
    };
    const sock_fprog program{static_cast<unsigned short>(std::size(code)), code};
    const int one = 1;
    if (::setsockopt(q, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one) != 0 ||
        ::setsockopt(fd_, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &program, sizeof program) != 0) {
        ::close(q);
        return;
    }
    quiet_fd_ = q;
}

UdpSocket::~UdpSocket() {
    if (destroyed_) *destroyed_ = true;
    poll_.reset();  // stops watching the descriptors before they are closed
    quiet_poll_.reset();
    if (fd_ >= 0) ::close(fd_);
    if (quiet_fd_ >= 0) ::close(quiet_fd_);
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
    if (events & UV_READABLE) self->receive(false);
}

// One recvmmsg per notification; a full batch is read again at once (more may be waiting). From
// the quiet twin, each datagram comes with when it entered the kernel's queue.
void UdpSocket::receive(bool quiet) {
    const int fd = quiet ? quiet_fd_ : fd_;
    if (fd < 0) return;
    bool destroyed = false;
    destroyed_ = &destroyed;
    ReceiveArea& a = *area_;
    for (;;) {
        const int n = read_batch(fd, quiet);
        if (n < 0) break;
        // The kernel's arrival stamps are wall-clock times: their age, taken from our monotonic now.
        timespec wall{};
        Instant now{};
        if (quiet) {
            ::clock_gettime(CLOCK_REALTIME, &wall);
            now = monotonic_now();
        }
        for (int i = 0; i < n; ++i) {
            const std::size_t k = static_cast<std::size_t>(i);
            const auto d = accept(k);
            if (d.empty()) continue;
            const auto* from = reinterpret_cast<const sockaddr*>(&a.from[k]);
            if (quiet) {
                ++stats_.quiet;
                on_quiet_(d, from, arrival(k, wall, now));
            } else {
                on_datagram_(d, from);
            }
            if (destroyed) return;  // the handler let this socket go: touch nothing of it
        }
        if (static_cast<std::size_t>(n) < kSlots) break;
    }
    destroyed_ = nullptr;
}

// When slot k of the last batch (from the quiet twin) entered the kernel's queue, on `now`'s clock.
Instant UdpSocket::arrival(std::size_t k, const timespec& wall, Instant now) const {
    mmsghdr& m = area_->msgs[k];
    for (cmsghdr* c = CMSG_FIRSTHDR(&m.msg_hdr); c; c = CMSG_NXTHDR(&m.msg_hdr, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS) continue;
        timespec at{};
        std::memcpy(&at, CMSG_DATA(c), sizeof at);
        const std::int64_t age_ns = (wall.tv_sec - at.tv_sec) * 1'000'000'000LL + (wall.tv_nsec - at.tv_nsec);
        if (age_ns > 0) return now - Duration{age_ns / 1000};
    }
    return now;  // no stamp, or the clock stepped back
}

void UdpSocket::drain_quiet() { receive(true); }

void UdpSocket::watch_quiet(bool on) {
    if (quiet_fd_ < 0 || on == quiet_watched_) return;
    quiet_watched_ = on;
    if (!on) {
        uv_poll_stop(quiet_poll_.get());
        return;
    }
    uv_check(uv_poll_start(quiet_poll_.get(), UV_READABLE,
                           [](uv_poll_t* h, int status, int) {
                               if (auto* self = static_cast<UdpSocket*>(h->data); self && status >= 0) self->receive(true);
                           }),
             "uv_poll_start");
}

// One recvmmsg into the receive area; negative when nothing (more) can be read now.
int UdpSocket::read_batch(int fd, bool with_arrival_times) {
    area_->prepare(with_arrival_times);
    const int n = ::recvmmsg(fd, area_->msgs.data(), kSlots, MSG_DONTWAIT, nullptr);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) ++stats_.recv_errors;
    return n;
}

// Slot i of the last batch, counted; empty when it is dropped (truncated or empty).
std::span<const std::uint8_t> UdpSocket::accept(std::size_t i) {
    const mmsghdr& m = area_->msgs[i];
    if (m.msg_hdr.msg_flags & MSG_TRUNC) {
        ++stats_.truncated;
        return {};
    }
    if (m.msg_len == 0) {
        ++stats_.empty;
        return {};
    }
    ++stats_.received;
    stats_.bytes_received += m.msg_len;
    return {reinterpret_cast<const std::uint8_t*>(area_->iov[i].iov_base), m.msg_len};
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

void UdpSocket::send_many(std::span<const Outgoing> batch) {
    constexpr std::size_t kBatch = 16;
    std::size_t i = 0;
    while (pending_.empty() && batch.size() - i > 1) {
        std::array<mmsghdr, kBatch> msgs{};
        std::array<iovec, kBatch> iov{};
        const std::size_t n = std::min(kBatch, batch.size() - i);
        for (std::size_t k = 0; k < n; ++k) {
            const Outgoing& o = batch[i + k];
            iov[k] = iovec{const_cast<std::uint8_t*>(o.datagram.data()), o.datagram.size()};
            msgs[k].msg_hdr.msg_iov = &iov[k];
            msgs[k].msg_hdr.msg_iovlen = 1;
            msgs[k].msg_hdr.msg_name = const_cast<sockaddr_storage*>(o.to);
            msgs[k].msg_hdr.msg_namelen = length_of(*o.to);
        }
        const int sent = ::sendmmsg(fd_, msgs.data(), static_cast<unsigned>(n), MSG_DONTWAIT);
        if (sent <= 0) break;  // the next one failed: send() below counts or queues it as ever
        for (int k = 0; k < sent; ++k) {
            ++stats_.sent;
            stats_.bytes_sent += batch[i + static_cast<std::size_t>(k)].datagram.size();
        }
        i += static_cast<std::size_t>(sent);
    }
    for (; i < batch.size(); ++i) send(*batch[i].to, batch[i].datagram);
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
