// The saved states a node keeps for rollback: the one the monitor named last (the newest judged ok)
// and every snapshot completed since, any of which may yet be judged ok (verdicts can take a while
// on a lossy network), up to a bound; older ones are dropped. Pure; the node's runtime mirrors what
// it is told to write and erase into its state directory, if it has one.
#pragma once

#include <algorithm>
#include <deque>
#include <optional>
#include <utility>
#include <vector>

#include "ring/core/saved_snapshot.h"

namespace ringwatch {

class KeptSnapshots {
public:
    explicit KeptSnapshots(std::size_t keep_last = kMaxKeptSnapshots - 1)
        : keep_last_(std::clamp<std::size_t>(keep_last, 1, kMaxKeptSnapshots - 1)) {}

    // Saved states found at start (an earlier process's), oldest first. Nothing to write for them;
    // all are kept (up to kMaxKeptSnapshots) until the next completed snapshots push them out.
    void load(std::vector<SavedSnapshot> saved);
    // A snapshot just completed.
    void add(SavedSnapshot s);
    // Keep `id` (if held) beyond the last few, until another is pinned; older ones go.
    void pin(SnapshotId id);

    const SavedSnapshot* find(SnapshotId id) const;
    const SavedSnapshot* oldest() const { return kept_.empty() ? nullptr : &kept_.front(); }
    std::vector<SnapshotId> ids() const;
    SnapshotId pinned() const { return pinned_.value_or(SnapshotId{0}); }
    std::size_t size() const { return kept_.size(); }

    std::vector<SavedSnapshot> take_written() { return std::exchange(written_, {}); }
    std::vector<SnapshotId> take_erased() { return std::exchange(erased_, {}); }

private:
    void evict();

    std::size_t keep_last_;
    std::deque<SavedSnapshot> kept_;  // in completion order
    std::optional<SnapshotId> pinned_;
    std::vector<SavedSnapshot> written_;
    std::vector<SnapshotId> erased_;
};

}  // namespace ringwatch
