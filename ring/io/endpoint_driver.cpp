// The libuv driver of an Endpoint core.
#include "ring/io/endpoint_driver.h"

#include <cstring>

#include "ring/io/clock.h"

namespace ringwatch::io {

namespace {
constexpr int kMaxRunsPerPass = 16;  // handlers that keep sending cannot starve the loop
}  // namespace

EndpointDriver::EndpointDriver(uv_loop_t* loop, NodeId self, const sockaddr_storage& bind_to, LinkConfig config,
                               Incarnation incarnation)
    : endpoint_(config, self, incarnation),
      socket_(loop, bind_to, [this](std::span<const std::uint8_t> d, const sockaddr* from) { on_datagram(d, from); }),
      timer_(loop, [this] {
          dirty_ = true;
          run();
      }),
      delay_timer_(loop, [this] { release_delayed(); }),
      check_(loop, uv_check_init),
      prepare_(loop, uv_prepare_init) {
    check_.get()->data = this;
    prepare_.get()->data = this;
    // After the I/O callbacks of a pass (check) and before the loop blocks again (prepare): the
    // inputs of the whole pass have been fed, so acks and sends are coalesced.
    auto run_if_dirty = [](auto* h) {
        auto* driver = static_cast<EndpointDriver*>(h->data);
        if (driver && driver->dirty_) driver->run();
    };
    uv_check_start(check_.get(), run_if_dirty);
    uv_prepare_start(prepare_.get(), run_if_dirty);
    uv_unref(check_.base());
    uv_unref(prepare_.base());
}

void EndpointDriver::add_peer(NodeId peer, const sockaddr_storage& address) {
    addresses_[peer] = address;
    endpoint_.add_peer(peer, monotonic_now());
    mark_dirty();
}

std::optional<SendStatus> EndpointDriver::send(NodeId peer, std::span<const std::uint8_t> message) {
    auto status = endpoint_.send(peer, message);
    if (status == SendStatus::queued) mark_dirty();
    return status;
}

bool EndpointDriver::send_queued(NodeId peer, Bytes message) {
    const bool ok = backlog_.send(endpoint_, peer, std::move(message));
    mark_dirty();
    return ok;
}

void EndpointDriver::on_datagram(std::span<const std::uint8_t> datagram, const sockaddr* from) {
    const auto sender = endpoint_.on_datagram(monotonic_now(), datagram);
    auto where = [from] {
        sockaddr_storage a{};
        std::memcpy(&a, from, from->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in));
        return a;
    };
    if (auto reply = endpoint_.take_reply()) socket_.send(where(), *reply);  // a tool's challenge: kept nowhere
    if (sender && !addresses_.contains(*sender)) addresses_[*sender] = where();  // a tool just admitted: answer where it wrote from
    mark_dirty();
}

void EndpointDriver::run() {
    for (int i = 0; i < kMaxRunsPerPass && dirty_; ++i) {
        dirty_ = false;
        endpoint_.flush(monotonic_now());
        out_.clear();
        endpoint_.take_output(out_);
        for (auto& d : out_.datagrams) transmit(d.peer, std::move(d.bytes));
        // Handlers may send; that marks us dirty and the loop goes round again.
        for (auto& m : out_.delivered)
            if (on_deliver_) on_deliver_(m.peer, std::move(m.bytes));
        for (auto& e : out_.events) {
            backlog_.on_link_event(endpoint_, e.peer, e.event);
            if (on_event_) on_event_(e.peer, e.event);
            if (!endpoint_.has_peer(e.peer)) addresses_.erase(e.peer);  // the core let a tool go
        }
    }
    timer_.arm(endpoint_.next_deadline());
}

void EndpointDriver::transmit(NodeId peer, Bytes datagram) {
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

void EndpointDriver::release_delayed() {
    const Instant now = monotonic_now();
    while (!delayed_.empty() && delayed_.begin()->first <= now) {
        auto node = delayed_.extract(delayed_.begin());
        auto addr = addresses_.find(node.mapped().peer);
        if (addr != addresses_.end()) socket_.send(addr->second, node.mapped().bytes);
    }
    delay_timer_.arm(next_release());
}

}  // namespace ringwatch::io
