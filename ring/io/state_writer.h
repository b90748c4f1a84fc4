// What a node hands its state directory, kept until it is on disk: a write that fails (disk full,
// I/O error) is retried, at most once a second, with everything produced since, and until it
// succeeds the directory is *stale* (what a restart would load is older than the node's state),
// which `ring status` says. Saved states no longer kept are dropped from the queue, not written;
// only the newest delivery record and promised term matter.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ring/core/node.h"

namespace ringwatch::io {

// Where the writer puts things (the StateStore; a failing one in tests). Throws std::runtime_error.
class StateSink {
public:
    virtual ~StateSink() = default;
    virtual void write(const SavedSnapshot& s) = 0;
    virtual void write_deliveries(const DeliveryRecord& r) = 0;
    virtual void write_promise(const PromisedTerm& p) = 0;
    virtual void erase(SnapshotId id) = 0;
};

class StateWriter {
public:
    static constexpr Duration kRetryEvery = std::chrono::seconds(1);

    explicit StateWriter(StateSink& sink) : sink_(sink) {}

    struct Outcome {
        std::optional<std::string> failed;  // the error, the first time a streak of failures starts
        bool recovered = false;             // everything pending was written after a failure
    };
    // Queues the state parts of `out` and writes what is pending (now, or when a retry is due).
    // The delivery record goes first: no delivery reaches the user before it is on disk, when the
    // disk allows.
    // The promised term goes first of all: no promise leaves before it is on disk, when the disk
    // allows (a restarted process must not promise an older term again).
    // `out`: anything with `saved`, `erased`, `deliveries` and `promised` as NodeOutput has them (NodeReady too).
    template <typename Out>
    Outcome put(Instant now, Out& out) {
        return put(now, out.saved, out.erased, out.deliveries, out.promised);
    }
    Outcome put(Instant now, std::vector<SavedSnapshot>& saved, std::vector<SnapshotId>& erased, std::optional<DeliveryRecord>& deliveries,
                std::optional<PromisedTerm>& promised);

    bool stale() const { return stale_since_.has_value(); }
    std::optional<Instant> stale_since() const { return stale_since_; }
    std::uint64_t failures() const { return failures_; }

private:
    Outcome flush(Instant now);

    StateSink& sink_;
    std::optional<DeliveryRecord> deliveries_;
    std::optional<PromisedTerm> promised_;
    std::vector<SavedSnapshot> saved_;
    std::vector<SnapshotId> erased_;
    std::optional<Instant> stale_since_;
    Instant next_try_{};
    std::uint64_t failures_ = 0;
};

}  // namespace ringwatch::io
