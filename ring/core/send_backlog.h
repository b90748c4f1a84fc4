// A FIFO per peer in front of an Endpoint, for senders that must not lose messages to a full window.
#pragma once

#include <deque>
#include <map>

#include "ring/core/endpoint.h"

namespace ringwatch {

// A FIFO per peer in front of an Endpoint: what the link's window cannot take yet waits here, in
// order, bounded. Dropped, with the link's own queue, when the peer's session resets.
class SendBacklog {
public:
    explicit SendBacklog(std::size_t max_per_peer = 4096) : max_per_peer_(max_per_peer) {}

    // False when the message had to be dropped (unknown peer, backlog full, or too large).
    bool send(Endpoint& endpoint, NodeId peer, Bytes message);
    // Call on every link event (window_open, session_reset, peer_silent matter).
    void on_link_event(Endpoint& endpoint, NodeId peer, const LinkEvent& e);
    std::size_t waiting(NodeId peer) const;
    std::uint64_t dropped() const { return dropped_; }

private:
    std::size_t max_per_peer_;
    std::map<NodeId, std::deque<Bytes>> waiting_;
    std::uint64_t dropped_ = 0;
};

}  // namespace ringwatch
