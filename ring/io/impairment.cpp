// Seeded fault decisions for the impairment shim.
#include "ring/io/impairment.h"

namespace ringwatch::io {

const ImpairmentConfig& Impairment::config_for(NodeId peer) const {
    // The impairment is for the ring's own links (nodes and monitor), which must hide it. A tool's
    // one-shot exchange is spared: the acknowledgement of the very command that impairs a node
    // would otherwise cross the new loss and could miss the tool's deadline.
    static const ImpairmentConfig none;
    if (is_tool_id(peer)) return none;
    auto it = per_peer_.find(peer);
    return it != per_peer_.end() ? it->second : default_;
}

bool Impairment::active() const {
    if (default_.active()) return true;
    for (const auto& [id, c] : per_peer_)
        if (c.active()) return true;
    return false;
}

void Impairment::decide(NodeId peer, std::vector<Duration>& out) {
    out.clear();
    const ImpairmentConfig& c = config_for(peer);
    if (c.loss > 0 && unit() < c.loss) {
        ++stats_.dropped;
        return;
    }
    const int copies = (c.duplicate > 0 && unit() < c.duplicate) ? 2 : 1;
    if (copies == 2) ++stats_.duplicated;
    for (int i = 0; i < copies; ++i) {
        Duration d = c.delay;
        if (c.reorder > 0 && unit() < c.reorder) {
            ++stats_.reordered;
            d += Duration{static_cast<Duration::rep>(unit() * static_cast<double>(c.reorder_max.count()))};
        }
        if (d.count() > 0) ++stats_.delayed;
        out.push_back(d);
    }
}

}  // namespace ringwatch::io
