// The UDP socket wrapper; protocol-free.
#include "ring/io/udp_socket.h"

#include <cstring>

namespace ringwatch::io {

namespace {
constexpr std::size_t kSlotBytes = 64 * 1024;  // libuv's slot size for recvmmsg
constexpr std::size_t kSlots = 32;             // datagrams per recvmmsg call
constexpr int kSocketBufferBytes = 4 << 20;

struct SendRequest {
    uv_udp_send_t req;
    std::vector<std::uint8_t> data;
};
}  // namespace

UdpSocket::UdpSocket(uv_loop_t* loop, const sockaddr_storage& bind_to, OnDatagram on_datagram)
    : on_datagram_(std::move(on_datagram)),
      recv_area_(new char[kSlotBytes * kSlots]),
      handle_(loop, uv_udp_init_ex, static_cast<unsigned>(bind_to.ss_family) | UV_UDP_RECVMMSG) {
    handle_.get()->data = this;
    const std::string where = format_address(bind_to);
    uv_check(uv_udp_bind(handle_.get(), reinterpret_cast<const sockaddr*>(&bind_to), 0), fmt::format("uv_udp_bind {}", where));
    int size = kSocketBufferBytes;
    uv_recv_buffer_size(handle_.base(), &size);  // best effort: the kernel may cap it
    size = kSocketBufferBytes;
    uv_send_buffer_size(handle_.base(), &size);
    uv_check(uv_udp_recv_start(handle_.get(), on_alloc, on_recv), fmt::format("uv_udp_recv_start {}", where));
}

void UdpSocket::on_alloc(uv_handle_t* h, std::size_t, uv_buf_t* buf) {
    auto* self = static_cast<UdpSocket*>(h->data);
    if (!self) {
        *buf = uv_buf_init(nullptr, 0);
        return;
    }
    // The same area every time: libuv has finished with it before it asks again.
    *buf = uv_buf_init(self->recv_area_.get(), static_cast<unsigned>(kSlotBytes * kSlots));
}

void UdpSocket::on_recv(uv_udp_t* h, ssize_t nread, const uv_buf_t* buf, const sockaddr* addr, unsigned flags) {
    auto* self = static_cast<UdpSocket*>(h->data);
    if (!self || (flags & UV_UDP_MMSG_FREE)) return;  // the area is ours and reused, never freed here
    if (nread < 0) {
        ++self->stats_.recv_errors;
        return;
    }
    if (addr == nullptr) return;  // nothing more to read now
    if (flags & UV_UDP_PARTIAL) {
        ++self->stats_.truncated;
        return;
    }
    if (nread == 0) {
        ++self->stats_.empty;
        return;
    }
    ++self->stats_.received;
    self->on_datagram_(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(buf->base), static_cast<std::size_t>(nread)), addr);
}

void UdpSocket::send(const sockaddr_storage& to, std::span<const std::uint8_t> datagram) {
    const auto* addr = reinterpret_cast<const sockaddr*>(&to);
    uv_buf_t b = uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(datagram.data())), static_cast<unsigned>(datagram.size()));
    const int rc = uv_udp_try_send(handle_.get(), &b, 1, addr);
    if (rc >= 0) {
        ++stats_.sent;
        return;
    }
    if (rc != UV_EAGAIN) {
        ++stats_.send_errors;
        return;
    }
    // The kernel's queue is full: keep a copy alive until libuv's callback.
    auto* r = new SendRequest{{}, std::vector<std::uint8_t>(datagram.begin(), datagram.end())};
    r->req.data = this;
    b = uv_buf_init(reinterpret_cast<char*>(r->data.data()), static_cast<unsigned>(r->data.size()));
    ++stats_.send_queued;
    const int qrc = uv_udp_send(&r->req, handle_.get(), &b, 1, addr, [](uv_udp_send_t* req, int status) {
        auto* owned = reinterpret_cast<SendRequest*>(req);
        // After uv_close the handle's data is cleared; a cancelled send must not touch the owner.
        auto* sock = static_cast<UdpSocket*>(req->handle->data);
        if (sock) {
            if (status < 0) {
                ++sock->stats_.send_errors;
            } else {
                ++sock->stats_.sent;
            }
        }
        delete owned;
    });
    if (qrc < 0) {
        ++stats_.send_errors;
        delete r;
    }
}

sockaddr_storage UdpSocket::local_address() const {
    sockaddr_storage a{};
    int len = sizeof a;
    uv_check(uv_udp_getsockname(handle_.get(), reinterpret_cast<sockaddr*>(&a), &len), "uv_udp_getsockname");
    return a;
}

}  // namespace ringwatch::io
