// The libuv driver of an Endpoint core.
#include "ring/io/endpoint_driver.h"

#include "ring/io/clock.h"

namespace ringwatch::io {

EndpointDriver::EndpointDriver(uv_loop_t* loop, NodeId self, const sockaddr_storage& bind_to, LinkConfig config, Incarnation incarnation)
    : endpoint_(config, self, incarnation),
      port_(
          loop, bind_to, [this](std::span<const std::uint8_t> d, const sockaddr* from) { on_datagram(d, from); }, [this] { run(); }),
      timer_(loop, [this] {
          port_.mark_dirty();
          port_.settle();
      }) {}

void EndpointDriver::add_peer(NodeId peer, const sockaddr_storage& address) {
    port_.set_address(peer, address);
    endpoint_.add_peer(peer, monotonic_now());
    port_.mark_dirty();
}

std::optional<SendStatus> EndpointDriver::send(NodeId peer, std::span<const std::uint8_t> message) {
    auto status = endpoint_.send(peer, message);
    if (status == SendStatus::queued) port_.mark_dirty();
    return status;
}

bool EndpointDriver::send_queued(NodeId peer, Bytes message) {
    const bool ok = backlog_.send(endpoint_, peer, std::move(message));
    port_.mark_dirty();
    return ok;
}

void EndpointDriver::on_datagram(std::span<const std::uint8_t> datagram, const sockaddr* from) {
    endpoint_.on_datagram(monotonic_now(), datagram);
    port_.taken(from, endpoint_.take_admitted(), endpoint_.take_reply());
}

void EndpointDriver::run() {
    endpoint_.flush(monotonic_now());
    out_.clear();
    endpoint_.take_output(out_);
    for (auto& d : out_.datagrams) port_.send(d.peer, std::move(d.bytes));
    // Handlers may send; that marks the port dirty and it runs us again.
    for (auto& m : out_.delivered)
        if (on_deliver_) on_deliver_(m.peer, std::move(m.bytes));
    for (auto& e : out_.events) {
        backlog_.on_link_event(endpoint_, e.peer, e.event);
        if (on_event_) on_event_(e.peer, e.event);
        if (!endpoint_.has_peer(e.peer)) port_.forget(e.peer);  // the core let a tool go
    }
    timer_.arm(endpoint_.next_deadline());
}

}  // namespace ringwatch::io
