// Which saved states a node keeps.
#include "ring/core/kept_snapshots.h"

namespace ringwatch {

// All of them stay (the one the monitor had named is among them; it names it again to the new
// process), up to the bound.
void KeptSnapshots::load(std::vector<SavedSnapshot> saved) {
    for (auto& s : saved) kept_.push_back(std::move(s));
    while (kept_.size() > kMaxKeptSnapshots) {
        erased_.push_back(kept_.front().id);
        kept_.pop_front();
    }
}

void KeptSnapshots::add(SavedSnapshot s) {
    if (find(s.id)) return;
    written_.push_back(s);
    kept_.push_back(std::move(s));
    evict();
}

void KeptSnapshots::pin(SnapshotId id) {
    if (id == SnapshotId{0} || pinned_ == id || !find(id)) return;
    pinned_ = id;
    evict();
}

const SavedSnapshot* KeptSnapshots::find(SnapshotId id) const {
    auto it = std::find_if(kept_.begin(), kept_.end(), [id](const SavedSnapshot& s) { return s.id == id; });
    return it == kept_.end() ? nullptr : &*it;
}

std::vector<SnapshotId> KeptSnapshots::ids() const {
    std::vector<SnapshotId> out;
    for (const auto& s : kept_) out.push_back(s.id);
    return out;
}

// The pinned one stays, and the last keep_last_ completed after it.
void KeptSnapshots::evict() {
    const std::size_t n = kept_.size();
    std::optional<std::size_t> pin;
    for (std::size_t i = 0; i < n; ++i)
        if (pinned_ == kept_[i].id) pin = i;
    std::deque<SavedSnapshot> stay;
    for (std::size_t i = 0; i < n; ++i) {
        if (pin == i || (i + keep_last_ >= n && (!pin || i > *pin))) {
            stay.push_back(std::move(kept_[i]));
        } else {
            erased_.push_back(kept_[i].id);
        }
    }
    kept_ = std::move(stay);
}

}  // namespace ringwatch
