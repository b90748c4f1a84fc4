// Drives an Endpoint core with libuv: one UDP socket for all of a process's links, a timer set from
// the core's next deadline, flushing once per loop pass after the inputs of that pass (so a batch of
// received datagrams is acknowledged together), and the optional impairment shim on the way out.
// It reads the clock and the network and holds no protocol logic.
#pragma once

#include <functional>
#include <map>
#include <vector>

#include "ring/core/endpoint.h"
#include "ring/core/send_backlog.h"
#include "ring/io/datagram_port.h"
#include "ring/io/deadline_timer.h"

namespace ringwatch::io {

class EndpointDriver {
public:
    using OnDeliver = std::function<void(NodeId from, Bytes message)>;
    using OnEvent = std::function<void(NodeId peer, const LinkEvent& event)>;

    EndpointDriver(uv_loop_t* loop, NodeId self, const sockaddr_storage& bind_to, LinkConfig config, Incarnation incarnation);
    EndpointDriver(const EndpointDriver&) = delete;
    EndpointDriver& operator=(const EndpointDriver&) = delete;

    void add_peer(NodeId peer, const sockaddr_storage& address);
    // nullopt: unknown peer. Sending is asynchronous: it goes out at the end of this loop pass.
    // A full window is the caller's to handle (wait for window_open)...
    std::optional<SendStatus> send(NodeId peer, std::span<const std::uint8_t> message);
    // ...or the driver's: what the window cannot take waits in a bounded FIFO (SendBacklog), dropped
    // with the link's queue if the peer restarts. False when dropped.
    bool send_queued(NodeId peer, Bytes message);
    // Let up to `max` one-shot tools (ids in the tool range) talk to us; a tool's address is learnt
    // from the frame that admitted it (Endpoint::take_admitted) and forgotten when it falls silent.
    void accept_tools(std::size_t max) { endpoint_.accept_tools(max); }
    void set_keys(std::optional<AuthKey> send, std::optional<AuthKey> also_accept) { endpoint_.set_keys(send, also_accept); }

    void on_deliver(OnDeliver f) { on_deliver_ = std::move(f); }
    void on_event(OnEvent f) { on_event_ = std::move(f); }
    Impairment& impairment() { return port_.impairment(); }
    // The driver no longer keeps the loop running by itself (a tool beside child processes).
    void unref() {
        port_.unref();
        uv_unref(timer_.base());
    }

    // Handles now whatever has arrived and not been handled yet (a caller about to give up waiting).
    void settle() { port_.settle(); }

    const Endpoint& endpoint() const { return endpoint_; }
    const UdpSocket& socket() const { return port_.socket(); }
    sockaddr_storage local_address() const { return port_.socket().local_address(); }

private:
    void on_datagram(std::span<const std::uint8_t> datagram, const sockaddr* from);
    void run();  // one round: flush the core, dispatch its output, re-arm the timer

    Endpoint endpoint_;
    OnDeliver on_deliver_;
    OnEvent on_event_;
    SendBacklog backlog_;
    EndpointOutput out_;
    DatagramPort port_;
    DeadlineTimer timer_;  // the links' next deadline
};

}  // namespace ringwatch::io
