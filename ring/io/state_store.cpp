// Saved states on disk, written atomically, in a directory nobody else controls.
#include "ring/io/state_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include <fmt/format.h>

#include "ring/io/small_file.h"

namespace ringwatch::io {

namespace {

namespace fs = std::filesystem;

constexpr const char* kDeliveriesName = "deliveries.bin";
constexpr const char* kPromiseName = "promise.bin";

[[noreturn]] void fail(std::string_view what, const std::string& path) {
    throw std::runtime_error(fmt::format("{} {}: {}", what, path, std::strerror(errno)));
}

// "snapshot-<seq>-<id>.bin": the sequence and the snapshot id, or nothing for any other name.
bool parse_name(const std::string& name, std::uint64_t& seq, std::uint64_t& id) {
    unsigned long long s = 0, i = 0;
    int used = 0;
    if (std::sscanf(name.c_str(), "snapshot-%llu-%llx.bin%n", &s, &i, &used) != 2 || static_cast<std::size_t>(used) != name.size()) return false;
    seq = s;
    id = i;
    return true;
}

// As ssh checks a private key's directory: ours, and nobody else may write in it.
void check_private(const std::string& path, const struct stat& st) {
    if (!S_ISDIR(st.st_mode)) throw std::runtime_error(fmt::format("state directory {}: not a directory", path));
    if (st.st_uid != ::geteuid())
        throw std::runtime_error(fmt::format("state directory {} belongs to uid {}, not to this user (uid {}); give it to this user or name another",
                                             path, st.st_uid, ::geteuid()));
    if ((st.st_mode & 022) != 0)
        throw std::runtime_error(fmt::format("state directory {} is writable by group or others (mode {:03o}); make it private: chmod 700 {}", path,
                                             st.st_mode & 0777, path));
}

}  // namespace

StateStore::StateStore(std::string dir) : dir_(std::move(dir)) {
    if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");  // its random names
    const fs::path p(dir_);
    std::error_code ec;
    if (p.has_parent_path()) fs::create_directories(p.parent_path(), ec);
    if (ec) throw std::runtime_error(fmt::format("state directory {}: {}", p.parent_path().string(), ec.message()));
    if (::mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST) fail("state directory", dir_);
    // The node's own directory, opened without following a link: everything below goes through it.
    dir_fd_ = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dir_fd_ < 0) {
        if (errno == ELOOP || errno == ENOTDIR)
            throw std::runtime_error(fmt::format("state directory {}: not a directory (a symbolic link is not followed here)", dir_));
        fail("state directory", dir_);
    }
    struct stat st {};
    if (::fstat(dir_fd_, &st) != 0) fail("state directory", dir_);
    try {
        check_private(dir_, st);
        // Whoever may write in the parent could swap this directory for another.
        if (p.has_parent_path()) {
            struct stat parent {};
            if (::stat(p.parent_path().c_str(), &parent) != 0) fail("state directory", p.parent_path().string());
            check_private(p.parent_path().string(), parent);
        }
    } catch (...) {
        ::close(dir_fd_);
        throw;
    }
    if (::faccessat(dir_fd_, ".", W_OK, 0) != 0) {
        ::close(dir_fd_);
        fail("state directory", dir_);
    }
}

StateStore::~StateStore() {
    if (dir_fd_ >= 0) ::close(dir_fd_);
}

std::string StateStore::name_of(std::uint64_t seq, SnapshotId id) const { return fmt::format("snapshot-{:012}-{:x}.bin", seq, id.value); }

StateStore::Loaded StateStore::load() {
    struct Found {
        std::uint64_t seq;
        std::string name;
    };
    std::vector<Found> found;
    std::vector<std::string> names;
    {
        const int fd = ::dup(dir_fd_);
        DIR* d = fd >= 0 ? ::fdopendir(fd) : nullptr;
        if (!d) {
            if (fd >= 0) ::close(fd);
            fail("state directory", dir_);
        }
        ::rewinddir(d);
        while (const dirent* e = ::readdir(d)) names.emplace_back(e->d_name);
        ::closedir(d);
    }
    Loaded out;
    auto unreadable = [&](const std::string& name, const std::string& why) { out.unreadable.push_back(fmt::format("{}/{} ({})", dir_, name, why)); };
    for (const auto& name : names) {
        std::uint64_t seq = 0, id = 0;
        if (name.ends_with(".tmp")) {
            ::unlinkat(dir_fd_, name.c_str(), 0);  // a write a crash interrupted: never renamed, never used (a link is removed, not followed)
            continue;
        }
        if (parse_name(name, seq, id)) found.push_back({seq, name});
    }
    std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) { return a.seq < b.seq; });
    if (std::find(names.begin(), names.end(), kDeliveriesName) != names.end()) {
        const SmallFile f = read_small_file_at(dir_fd_, kDeliveriesName, kMaxFileBytes);
        if (f.problem != SmallFile::Problem::none) {
            unreadable(kDeliveriesName, reason(f, kMaxFileBytes));
        } else if (!(out.deliveries = decode_deliveries(std::span(reinterpret_cast<const std::uint8_t*>(f.bytes.data()), f.bytes.size())))) {
            unreadable(kDeliveriesName, "not a delivery record this version can read");
        }
    }
    if (std::find(names.begin(), names.end(), kPromiseName) != names.end()) {
        const SmallFile f = read_small_file_at(dir_fd_, kPromiseName, kMaxFileBytes);
        std::optional<PromisedTerm> p;
        if (f.problem != SmallFile::Problem::none) {
            unreadable(kPromiseName, reason(f, kMaxFileBytes));
        } else if (!(p = decode_promise(std::span(reinterpret_cast<const std::uint8_t*>(f.bytes.data()), f.bytes.size())))) {
            unreadable(kPromiseName, "not a promised term this version can read");
        } else {
            out.promised = *p;
        }
    }
    for (const auto& f : found) {
        const SmallFile file = read_small_file_at(dir_fd_, f.name, kMaxFileBytes);
        if (file.problem != SmallFile::Problem::none) {
            unreadable(f.name, reason(file, kMaxFileBytes));
            continue;
        }
        auto s = decode_saved(std::span(reinterpret_cast<const std::uint8_t*>(file.bytes.data()), file.bytes.size()));
        if (!s) {
            unreadable(f.name, "not a saved snapshot this version can read");
            continue;
        }
        files_.push_back({s->id, f.name});
        out.snapshots.push_back(std::move(*s));
        next_seq_ = std::max(next_seq_, f.seq + 1);
    }
    return out;
}

void StateStore::write(const SavedSnapshot& s) {
    const std::string name = name_of(next_seq_++, s.id);
    write_file(name, encode_saved(s));
    files_.push_back({s.id, name});
}

void StateStore::write_deliveries(const DeliveryRecord& r) { write_file(kDeliveriesName, encode_deliveries(r)); }
void StateStore::write_promise(const PromisedTerm& p) { write_file(kPromiseName, encode_promise(p)); }

void StateStore::write_file(const std::string& name, const Bytes& bytes) {
    // A name nobody can guess, created exclusively: whatever is planted there makes the write fail.
    std::uint64_t nonce = 0;
    randombytes_buf(&nonce, sizeof nonce);
    const std::string tmp = fmt::format("{}.{:016x}.tmp", name, nonce);
    const std::string where = fmt::format("{}/{}", dir_, tmp);
    const int fd = ::openat(dir_fd_, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) fail("open", where);
    auto abandon = [&](std::string_view call) {
        const int e = errno;
        ::close(fd);
        ::unlinkat(dir_fd_, tmp.c_str(), 0);
        errno = e;
        fail(call, where);
    };
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) abandon("write");
        done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0) abandon("fsync");
    ::close(fd);
    if (::renameat(dir_fd_, tmp.c_str(), dir_fd_, name.c_str()) != 0) {
        const int e = errno;
        ::unlinkat(dir_fd_, tmp.c_str(), 0);
        errno = e;
        fail("rename", where);
    }
    if (::fsync(dir_fd_) != 0) fail("fsync", dir_);
}

void StateStore::erase(SnapshotId id) {
    for (auto it = files_.begin(); it != files_.end();) {
        if (it->first == id) {
            ::unlinkat(dir_fd_, it->second.c_str(), 0);
            it = files_.erase(it);
        } else {
            ++it;
        }
    }
}

}  // namespace ringwatch::io
