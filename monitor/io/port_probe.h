// Asks the kernel whether a node's UDP port is still held by a process: an empty datagram sent
// from a socket connected to the node's address. If nothing holds the port the node's host answers
// with ICMP port unreachable and the connected socket reports ECONNREFUSED; a paused process's
// socket still exists, takes the datagram and says nothing. Nodes drop empty datagrams unread.
#pragma once

#include <functional>
#include <map>
#include <memory>

#include "ring/core/types.h"
#include "ring/io/uv_handle.h"

#include <sys/socket.h>

namespace ringwatch::io {

class PortProbe {
public:
    using OnRefused = std::function<void(NodeId)>;

    explicit PortProbe(uv_loop_t* loop, OnRefused on_refused) : loop_(loop), on_refused_(std::move(on_refused)) {}
    PortProbe(const PortProbe&) = delete;
    PortProbe& operator=(const PortProbe&) = delete;

    // Throws UvError when the probe socket cannot be made.
    void add(NodeId node, const sockaddr_storage& address);
    void probe(NodeId node);

private:
    struct Target {
        PortProbe* owner;
        NodeId node;
        UvHandle<uv_udp_t> handle;
        char byte;  // receive area: nothing arrives but errors
    };
    static void on_recv(uv_udp_t* h, ssize_t nread, const uv_buf_t* buf, const sockaddr* addr, unsigned flags);
    void refused(NodeId node);

    uv_loop_t* loop_;
    OnRefused on_refused_;
    std::map<NodeId, std::unique_ptr<Target>> targets_;
};

}  // namespace ringwatch::io
