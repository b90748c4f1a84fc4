// Once-only delivery bookkeeping.
#include "ring/core/delivery_log.h"

namespace ringwatch {

DeliveryLog::Offer DeliveryLog::offer(NodeId src, Incarnation inc, std::uint64_t id) {
    auto& seen = sources_[src];
    Window* w = nullptr;
    for (auto& [i, win] : seen)
        if (i == inc) w = &win;
    if (!w) {
        if (seen.size() >= kIncarnationsPerSource) seen.pop_front();
        w = &seen.emplace_back(inc, Window{}).second;
    }
    if (id <= w->floor || w->above.contains(id)) return Offer::repeat;
    if (!w->above.empty() && id < *w->above.rbegin()) return Offer::overtaken;
    w->above.insert(id);
    while (w->above.size() > kWindow) {
        w->floor = *w->above.begin();
        w->above.erase(w->above.begin());
    }
    return Offer::deliver;
}

}  // namespace ringwatch
