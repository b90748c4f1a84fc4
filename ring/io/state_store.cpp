// Saved states on disk, written atomically.
#include "ring/io/state_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include <fmt/format.h>

namespace ringwatch::io {

namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail(std::string_view what, const std::string& path) {
    throw std::runtime_error(fmt::format("{} {}: {}", what, path, std::strerror(errno)));
}

// A file descriptor closed on every path out.
struct Fd {
    int fd;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

// "snapshot-<seq>-<id>.bin": the sequence and the snapshot id, or nothing for any other name.
bool parse_name(const std::string& name, std::uint64_t& seq, std::uint64_t& id) {
    unsigned long long s = 0, i = 0;
    int used = 0;
    if (std::sscanf(name.c_str(), "snapshot-%llu-%llx.bin%n", &s, &i, &used) != 2 || static_cast<std::size_t>(used) != name.size()) return false;
    seq = s;
    id = i;
    return true;
}

}  // namespace

StateStore::StateStore(std::string dir) : dir_(std::move(dir)) {
    std::error_code ec;
    fs::create_directories(dir_, ec);
    if (ec || !fs::is_directory(dir_)) throw std::runtime_error(fmt::format("state directory {}: {}", dir_, ec ? ec.message() : "not a directory"));
    if (::access(dir_.c_str(), W_OK) != 0) fail("state directory", dir_);
}

std::string StateStore::path_of(std::uint64_t seq, SnapshotId id) const { return fmt::format("{}/snapshot-{:012}-{:x}.bin", dir_, seq, id.value); }

StateStore::Loaded StateStore::load() {
    struct Found {
        std::uint64_t seq;
        std::string path;
    };
    std::vector<Found> found;
    for (const auto& entry : fs::directory_iterator(dir_)) {
        std::uint64_t seq = 0, id = 0;
        const std::string name = entry.path().filename().string();
        if (name.ends_with(".tmp")) {
            fs::remove(entry.path());  // a write a crash interrupted: never renamed, never used
            continue;
        }
        if (entry.is_regular_file() && parse_name(name, seq, id)) found.push_back({seq, entry.path().string()});
    }
    Loaded out;
    if (fs::is_regular_file(deliveries_path())) {
        std::ifstream in(deliveries_path(), std::ios::binary);
        const Bytes bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        out.deliveries = decode_deliveries(bytes);
        if (!out.deliveries) out.unreadable.push_back(deliveries_path());
    }
    std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) { return a.seq < b.seq; });
    for (const auto& f : found) {
        std::ifstream in(f.path, std::ios::binary);
        const Bytes bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        auto s = decode_saved(bytes);  // an unreadable file gives no bytes, which do not decode
        if (!s) {
            out.unreadable.push_back(f.path);
            continue;
        }
        files_.push_back({s->id, f.path});
        out.snapshots.push_back(std::move(*s));
        next_seq_ = std::max(next_seq_, f.seq + 1);
    }
    return out;
}

void StateStore::write(const SavedSnapshot& s) {
    const std::string path = path_of(next_seq_++, s.id);
    write_file(path, encode_saved(s));
    files_.push_back({s.id, path});
}

void StateStore::write_deliveries(const DeliveryRecord& r) { write_file(deliveries_path(), encode_deliveries(r)); }

void StateStore::write_file(const std::string& path, const Bytes& bytes) {
    const std::string tmp = path + ".tmp";
    {
        Fd f{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)};
        if (f.fd < 0) fail("open", tmp);
        std::size_t done = 0;
        while (done < bytes.size()) {
            const ssize_t n = ::write(f.fd, bytes.data() + done, bytes.size() - done);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) fail("write", tmp);
            done += static_cast<std::size_t>(n);
        }
        if (::fsync(f.fd) != 0) fail("fsync", tmp);
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) fail("rename", tmp);
    Fd d{::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
    if (d.fd < 0 || ::fsync(d.fd) != 0) fail("fsync", dir_);
}

void StateStore::erase(SnapshotId id) {
    for (auto it = files_.begin(); it != files_.end();) {
        if (it->first == id) {
            ::unlink(it->second.c_str());
            it = files_.erase(it);
        } else {
            ++it;
        }
    }
}

}  // namespace ringwatch::io
