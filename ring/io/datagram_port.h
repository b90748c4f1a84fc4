// One process's UDP socket as its cores see it: peers by id (an address book), the optional
// impairment shim on the way out (with its held-back datagrams), and one "pass" callback run after
// the inputs of a loop pass (a uv_check, and a uv_prepare before the loop blocks), so that a batch
// of received datagrams is acted on together. It moves bytes and holds no protocol logic; the
// drivers of an Endpoint (endpoint_driver) and of a ring member's process (node_driver) sit on it.
#pragma once

#include <functional>
#include <map>
#include <span>
#include <vector>

#include "ring/core/endpoint.h"
#include "ring/io/deadline_timer.h"
#include "ring/io/impairment.h"
#include "ring/io/udp_socket.h"

namespace ringwatch::io {

class DatagramPort {
public:
    using OnDatagram = std::function<void(std::span<const std::uint8_t> datagram, const sockaddr* from)>;

    // on_pass runs once per loop pass in which mark_dirty() was called (and again, up to a bound,
    // while it marks itself dirty). With on_quiet, pure acknowledgements wait in the socket's
    // quiet twin without waking the process (udp_socket.h) and come through on_quiet.
    DatagramPort(uv_loop_t* loop, const sockaddr_storage& bind_to, OnDatagram on_datagram, std::function<void()> on_pass,
                 UdpSocket::OnQuietDatagram on_quiet = {});
    DatagramPort(const DatagramPort&) = delete;
    DatagramPort& operator=(const DatagramPort&) = delete;

    void set_address(NodeId peer, const sockaddr_storage& address) { addresses_[peer] = address; }
    void forget(NodeId peer) { addresses_.erase(peer); }
    // To a peer by id, through the shim (nothing when its address is unknown).
    void send(NodeId peer, Bytes datagram);
    // The same for each, in order; without impairment in as few system calls as the kernel allows.
    void send_all(std::vector<Addressed>& datagrams);
    // After a core took a datagram that came from `from`: its reply (a tool's challenge, kept
    // nowhere) goes straight back, a tool it admitted (Endpoint::take_admitted) is answered where
    // it wrote from from now on, and a pass is due.
    void taken(const sockaddr* from, std::optional<NodeId> admitted, std::optional<Bytes> reply);

    void mark_dirty() { dirty_ = true; }
    // What waits in the quiet twin, read now: before a timer's decisions.
    void drain_quiet() { socket_.drain_quiet(); }
    void watch_quiet(bool on) { socket_.watch_quiet(on); }
    // Runs the pass now if anything is waiting (a caller about to give up waiting).
    void settle() { run(); }
    // The port no longer keeps the loop running by itself (a tool beside child processes).
    void unref() {
        socket_.unref();
        uv_unref(delay_timer_.base());
    }

    Impairment& impairment() { return impairment_; }
    const UdpSocket& socket() const { return socket_; }

private:
    void run();
    void release_delayed();
    std::optional<Instant> next_release() const { return delayed_.empty() ? std::nullopt : std::optional<Instant>(delayed_.begin()->first); }

    std::function<void()> on_pass_;
    std::map<NodeId, sockaddr_storage> addresses_;
    Impairment impairment_;
    bool dirty_ = false;
    std::vector<Duration> fates_;
    std::vector<UdpSocket::Outgoing> batch_;
    // Datagrams the shim holds back, by release time.
    std::multimap<Instant, Addressed> delayed_;

    UdpSocket socket_;
    DeadlineTimer delay_timer_;  // the shim's next held-back datagram
    UvHandle<uv_check_t> check_;
    UvHandle<uv_prepare_t> prepare_;
};

}  // namespace ringwatch::io
