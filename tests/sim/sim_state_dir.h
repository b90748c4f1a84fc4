// A simulated node's state directory (rollback cuts, delivery record, promised term), as the
// simulator and ringcheck keep it: written atomically from each step's NodeReady before the node's
// output goes anywhere, so a crash never tears it, and read by the node's next process at its start.
#pragma once

#include <algorithm>
#include <optional>
#include <vector>

#include "ring/core/node_process.h"

namespace ringwatch::sim {

struct SimStateDir {
    std::vector<SavedSnapshot> saved;
    std::optional<DeliveryRecord> deliveries;
    std::optional<PromisedTerm> promise;

    void write(NodeReady& ready) {
        for (auto& s : ready.saved) saved.push_back(std::move(s));
        for (SnapshotId id : ready.erased) std::erase_if(saved, [id](const SavedSnapshot& s) { return s.id == id; });
        if (ready.deliveries) deliveries = std::move(ready.deliveries);
        if (ready.promised) promise = ready.promised;
    }
    // The epoch a new process starts at: the newest its saved cuts kept (0: none).
    std::uint32_t kept_epoch() const {
        std::uint32_t e = 0;
        for (const auto& s : saved) e = std::max(e, s.token.epoch.value);
        return e;
    }
    // What a new process reads at its start.
    void read_into(NodeConfig& nc) const {
        nc.saved_at_start = saved;
        nc.deliveries_at_start = deliveries;
        nc.promised_at_start = promise.value_or(PromisedTerm{});
    }
};

}  // namespace ringwatch::sim
