// A node's state directory (`state_dir` in the config's [ring] table, one subdirectory per node):
// the saved states of the snapshots it keeps for rollback, one file each, so that a node restarted
// after a crash can restore too; and its delivery record (`deliveries.bin`), so that a restarted
// node knows what its earlier processes delivered. Each file is written whole or not at all: written to a temporary
// name, fsync'd, renamed over, and the directory fsync'd. File names carry a sequence number, so
// loading gives them back in the order they were completed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ring/core/saved_snapshot.h"

namespace ringwatch::io {

class StateStore {
public:
    // Creates the directory (and its parents) if needed. Throws std::runtime_error naming the path.
    explicit StateStore(std::string dir);

    struct Loaded {
        std::vector<SavedSnapshot> snapshots;  // in completion order
        std::vector<std::string> unreadable;   // files that did not decode (left alone, never restored)
        std::optional<DeliveryRecord> deliveries;
    };
    Loaded load();
    // Throws std::runtime_error naming the file and the call that failed.
    void write(const SavedSnapshot& s);
    void write_deliveries(const DeliveryRecord& r);
    void erase(SnapshotId id);
    const std::string& dir() const { return dir_; }

private:
    std::string path_of(std::uint64_t seq, SnapshotId id) const;
    std::string deliveries_path() const { return dir_ + "/deliveries.bin"; }
    void write_file(const std::string& path, const Bytes& bytes);

    std::string dir_;
    std::uint64_t next_seq_ = 1;
    std::vector<std::pair<SnapshotId, std::string>> files_;  // what we wrote or loaded, by snapshot
};

}  // namespace ringwatch::io
