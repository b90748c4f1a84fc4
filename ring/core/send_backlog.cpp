// What a link's window cannot take yet waits here, in order.
#include "ring/core/send_backlog.h"

namespace ringwatch {

bool SendBacklog::send(Endpoint& endpoint, NodeId peer, Bytes message) {
    auto& q = waiting_[peer];
    if (q.empty()) {
        const auto st = endpoint.send(peer, message);
        if (st == SendStatus::queued) return true;
        if (st != SendStatus::window_full) {
            ++dropped_;
            return false;
        }
    }
    if (q.size() >= max_per_peer_) {
        ++dropped_;
        return false;
    }
    q.push_back(std::move(message));
    return true;
}

void SendBacklog::on_link_event(Endpoint& endpoint, NodeId peer, const LinkEvent& e) {
    auto it = waiting_.find(peer);
    if (it == waiting_.end()) return;
    // The peer restarted (a tool's id taken over by a later process too), or a tool fell silent
    // and its link was let go: nothing waiting was meant for whoever comes next under that id.
    if (e.kind == LinkEventKind::session_reset || (e.kind == LinkEventKind::peer_silent && !endpoint.has_peer(peer))) {
        dropped_ += it->second.size();
        waiting_.erase(it);
        return;
    }
    if (e.kind != LinkEventKind::window_open) return;
    auto& q = it->second;
    while (!q.empty() && endpoint.send(peer, q.front()) == SendStatus::queued) q.pop_front();
}

std::size_t SendBacklog::waiting(NodeId peer) const {
    auto it = waiting_.find(peer);
    return it == waiting_.end() ? 0 : it->second.size();
}

}  // namespace ringwatch
