// Port probes: connected UDP sockets that hear the kernel's "port unreachable".
#include "monitor/io/port_probe.h"

#include "ring/io/address.h"

namespace ringwatch::io {

void PortProbe::add(NodeId node, const sockaddr_storage& address) {
    auto t = std::make_unique<Target>(Target{this, node, UvHandle<uv_udp_t>(loop_, uv_udp_init), 0});
    t->handle.get()->data = t.get();
    const std::string where = format_address(address);
    uv_check(uv_udp_connect(t->handle.get(), reinterpret_cast<const sockaddr*>(&address)), fmt::format("uv_udp_connect {} (probe)", where));
    uv_check(uv_udp_recv_start(
                 t->handle.get(),
                 [](uv_handle_t* h, std::size_t, uv_buf_t* buf) {
                     auto* target = static_cast<Target*>(h->data);
                     *buf = target ? uv_buf_init(&target->byte, 1) : uv_buf_init(nullptr, 0);
                 },
                 on_recv),
             fmt::format("uv_udp_recv_start {} (probe)", where));
    uv_unref(t->handle.base());  // probes never keep the loop alive by themselves
    targets_[node] = std::move(t);
}

void PortProbe::on_recv(uv_udp_t* h, ssize_t nread, const uv_buf_t*, const sockaddr*, unsigned) {
    auto* t = static_cast<Target*>(h->data);
    if (t && nread == UV_ECONNREFUSED) t->owner->refused(t->node);
}

void PortProbe::probe(NodeId node) {
    auto it = targets_.find(node);
    if (it == targets_.end()) return;
    char none = 0;
    uv_buf_t b = uv_buf_init(&none, 0);
    // A refusal pending from an earlier probe may surface here instead of in the receive callback.
    if (uv_udp_try_send(it->second->handle.get(), &b, 1, nullptr) == UV_ECONNREFUSED) refused(node);
}

void PortProbe::refused(NodeId node) {
    if (on_refused_) on_refused_(node);
}

}  // namespace ringwatch::io
