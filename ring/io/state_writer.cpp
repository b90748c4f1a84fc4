// The state directory's write queue (see state_writer.h).
#include "ring/io/state_writer.h"

#include <algorithm>
#include <stdexcept>

namespace ringwatch::io {

StateWriter::Outcome StateWriter::put(Instant now, std::vector<SavedSnapshot>& saved, std::vector<SnapshotId>& erased,
                                      std::optional<DeliveryRecord>& deliveries, std::optional<PromisedTerm>& promised) {
    if (deliveries) deliveries_ = std::move(deliveries);
    if (promised) promised_ = promised;
    promised.reset();
    for (auto& s : saved) saved_.push_back(std::move(s));
    for (SnapshotId id : erased) {
        // Not written yet: never will be. Written: its file goes.
        const auto before = saved_.size();
        std::erase_if(saved_, [id](const SavedSnapshot& s) { return s.id == id; });
        if (saved_.size() == before) erased_.push_back(id);
    }
    saved.clear();
    erased.clear();
    deliveries.reset();
    if (stale_since_ && now < next_try_) return {};
    return flush(now);
}

StateWriter::Outcome StateWriter::flush(Instant now) {
    Outcome o;
    try {
        if (promised_) {
            sink_.write_promise(*promised_);
            promised_.reset();
        }
        if (deliveries_) {
            sink_.write_deliveries(*deliveries_);
            deliveries_.reset();
        }
        while (!saved_.empty()) {
            sink_.write(saved_.front());
            saved_.erase(saved_.begin());
        }
        while (!erased_.empty()) {
            sink_.erase(erased_.front());
            erased_.erase(erased_.begin());
        }
    } catch (const std::runtime_error& e) {
        ++failures_;
        next_try_ = now + kRetryEvery;
        if (!stale_since_) {
            stale_since_ = now;
            o.failed = e.what();
        }
        return o;
    }
    o.recovered = stale_since_.has_value();
    stale_since_.reset();
    return o;
}

}  // namespace ringwatch::io
