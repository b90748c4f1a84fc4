// A node's state directory (`state_dir` in the config's [ring] table, one subdirectory per node):
// the saved states of the snapshots it keeps for rollback, one file each, so that a node restarted
// after a crash can restore too; and its delivery record (`deliveries.bin`), so that a restarted
// node knows what its earlier processes delivered; and the term it promised last (`promise.bin`), so
// that a restarted node never promises an older term again.
//
// Nobody else's files: the directory must belong to this user and be writable by nobody else
// (refused with one line otherwise, as the key file is), and every file is reached through the
// directory's open descriptor, never through a symbolic link. Each file is written whole or not
// at all: to a temporary name nobody can predict, created exclusively (a planted file or link at
// that name fails the write instead of being followed), fsync'd, renamed over, the directory
// fsync'd. Loading reads only regular files, each bounded in size. File names carry a sequence
// number, so loading gives saved states back in the order they were completed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ring/core/saved_snapshot.h"
#include "ring/io/state_writer.h"

namespace ringwatch::io {

class StateStore : public StateSink {
public:
    // Creates the directory (and its parents) if needed, private to this user. Throws
    // std::runtime_error naming the path and the problem (and the fix).
    explicit StateStore(std::string dir);
    ~StateStore() override;
    StateStore(const StateStore&) = delete;
    StateStore& operator=(const StateStore&) = delete;

    // What one file may weigh: far above any state a node keeps, far below what would hurt.
    static constexpr std::size_t kMaxFileBytes = 64 << 20;

    struct Loaded {
        std::vector<SavedSnapshot> snapshots;  // in completion order
        std::vector<std::string> unreadable;   // "PATH (why)": files left alone, never restored
        std::optional<DeliveryRecord> deliveries;
        PromisedTerm promised;  // none (term 0) when no promise was kept
    };
    Loaded load();
    // Throw std::runtime_error naming the file and the call that failed; nothing is half written.
    void write(const SavedSnapshot& s) override;
    void write_deliveries(const DeliveryRecord& r) override;
    void write_promise(const PromisedTerm& p) override;
    void erase(SnapshotId id) override;
    const std::string& dir() const { return dir_; }

private:
    std::string name_of(std::uint64_t seq, SnapshotId id) const;
    void write_file(const std::string& name, const Bytes& bytes);

    std::string dir_;
    int dir_fd_ = -1;
    std::uint64_t next_seq_ = 1;
    std::vector<std::pair<SnapshotId, std::string>> files_;  // names we wrote or loaded, by snapshot
};

}  // namespace ringwatch::io
