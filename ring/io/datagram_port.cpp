// A process's UDP socket, address book and impairment shim (see datagram_port.h).
#include "ring/io/datagram_port.h"

#include <cstring>

#include "ring/io/clock.h"

namespace ringwatch::io {

namespace {
constexpr int kMaxRunsPerPass = 16;  // handlers that keep sending cannot starve the loop
}  // namespace

DatagramPort::DatagramPort(uv_loop_t* loop, const sockaddr_storage& bind_to, OnDatagram on_datagram, std::function<void()> on_pass,
                           UdpSocket::OnQuietDatagram on_quiet)
    : on_pass_(std::move(on_pass)),
      socket_(loop, bind_to, std::move(on_datagram), std::move(on_quiet)),
      delay_timer_(loop, [this] { release_delayed(); }),
      check_(loop, uv_check_init),
      prepare_(loop, uv_prepare_init) {
    check_.get()->data = this;
    prepare_.get()->data = this;
    // After the I/O callbacks of a pass (check) and before the loop blocks again (prepare): the
    // inputs of the whole pass have been fed, so acks and sends are coalesced. Acks parked in the
    // socket's quiet twin are read before the loop blocks, after the pass has sent what it had to
    // (a token's hop does not wait for them).
    uv_check_start(check_.get(), [](uv_check_t* h) {
        if (auto* port = static_cast<DatagramPort*>(h->data)) port->run();
    });
    uv_prepare_start(prepare_.get(), [](uv_prepare_t* h) {
        if (auto* port = static_cast<DatagramPort*>(h->data)) {
            port->run();
            port->socket_.drain_quiet();
            port->run();
        }
    });
    uv_unref(check_.base());
    uv_unref(prepare_.base());
}

void DatagramPort::taken(const sockaddr* from, std::optional<NodeId> admitted, std::optional<Bytes> reply) {
    sockaddr_storage address{};
    std::memcpy(&address, from, from->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in));
    if (reply) socket_.send(address, *reply);
    if (admitted) set_address(*admitted, address);
    mark_dirty();
}

void DatagramPort::run() {
    for (int i = 0; i < kMaxRunsPerPass && dirty_; ++i) {
        dirty_ = false;
        on_pass_();  // may mark us dirty again: another round
    }
}

void DatagramPort::send(NodeId peer, Bytes datagram) {
    auto addr = addresses_.find(peer);
    if (addr == addresses_.end()) return;
    if (!impairment_.active()) {
        socket_.send(addr->second, datagram);
        return;
    }
    impairment_.decide(peer, fates_);
    const Instant now = monotonic_now();
    for (std::size_t i = 0; i < fates_.size(); ++i) {
        if (fates_[i].count() == 0) {
            socket_.send(addr->second, datagram);
        } else {
            delayed_.emplace(now + fates_[i], Addressed{peer, datagram});
        }
    }
    delay_timer_.arm(next_release());
}

void DatagramPort::send_all(std::vector<Addressed>& datagrams) {
    if (impairment_.active()) {
        for (auto& d : datagrams) send(d.peer, std::move(d.bytes));
        return;
    }
    batch_.clear();
    for (const auto& d : datagrams)
        if (auto addr = addresses_.find(d.peer); addr != addresses_.end()) batch_.push_back({&addr->second, d.bytes});
    socket_.send_many(batch_);
}

void DatagramPort::release_delayed() {
    const Instant now = monotonic_now();
    while (!delayed_.empty() && delayed_.begin()->first <= now) {
        auto node = delayed_.extract(delayed_.begin());
        auto addr = addresses_.find(node.mapped().peer);
        if (addr != addresses_.end()) socket_.send(addr->second, node.mapped().bytes);
    }
    delay_timer_.arm(next_release());
}

}  // namespace ringwatch::io
