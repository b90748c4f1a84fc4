// Small files read whole, bounded, and only if regular.
#include "ring/io/small_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace ringwatch::io {

namespace {

SmallFile read_open(int fd, std::size_t max_bytes);

}  // namespace

SmallFile read_small_file(const std::string& path, std::size_t max_bytes, bool follow_links) {
    return read_open(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | (follow_links ? 0 : O_NOFOLLOW)), max_bytes);
}

SmallFile read_small_file_at(int dir_fd, const std::string& name, std::size_t max_bytes) {
    return read_open(::openat(dir_fd, name.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW), max_bytes);
}

namespace {

// Reads what `fd` (or the open's errno, when it is negative) names, and closes it.
SmallFile read_open(int fd, std::size_t max_bytes) {
    SmallFile f;
    if (fd < 0) {
        f.problem = SmallFile::Problem::cannot_open;
        f.error = errno;
        return f;
    }
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    if (::fstat(fd, &f.st) != 0) {
        f.problem = SmallFile::Problem::cannot_read;
        f.error = errno;
        return f;
    }
    if (!S_ISREG(f.st.st_mode)) {
        f.problem = SmallFile::Problem::not_regular;
        return f;
    }
    // Reserve by the size the file claims, bounded by the cap; read one byte past the cap to know.
    f.bytes.resize(std::min<std::size_t>(static_cast<std::size_t>(std::max<off_t>(f.st.st_size, 0)), max_bytes) + 1);
    std::size_t got = 0;
    for (;;) {
        if (got == f.bytes.size()) {
            if (got > max_bytes) break;
            f.bytes.resize(std::min(max_bytes + 1, 2 * got + 1));
        }
        const ssize_t n = ::read(fd, f.bytes.data() + got, f.bytes.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            f.problem = SmallFile::Problem::cannot_read;
            f.error = errno;
            f.bytes.clear();
            return f;
        }
        if (n == 0) break;
        got += static_cast<std::size_t>(n);
    }
    if (got > max_bytes) {
        f.problem = SmallFile::Problem::too_large;
        f.bytes.clear();
        return f;
    }
    f.bytes.resize(got);
    return f;
}

}  // namespace

std::string reason(const SmallFile& f, std::size_t max_bytes) {
    switch (f.problem) {
        case SmallFile::Problem::none: return {};
        case SmallFile::Problem::cannot_open:
            if (f.error == ELOOP) return "a symbolic link (not followed here)";
            return std::strerror(f.error);
        case SmallFile::Problem::not_regular: return "not a regular file";
        case SmallFile::Problem::too_large: return fmt::format("larger than {} bytes", max_bytes);
        case SmallFile::Problem::cannot_read: return std::strerror(f.error);
    }
    return {};
}

std::string describe(const SmallFile& f, const std::string& path, std::size_t max_bytes) {
    switch (f.problem) {
        case SmallFile::Problem::none: return {};
        case SmallFile::Problem::cannot_open:
            if (f.error != ELOOP) return fmt::format("cannot read {}: {}", path, reason(f, max_bytes));
            [[fallthrough]];
        case SmallFile::Problem::not_regular:
        case SmallFile::Problem::too_large: return fmt::format("{} is {}", path, reason(f, max_bytes));
        case SmallFile::Problem::cannot_read: return fmt::format("cannot read {}: {}", path, reason(f, max_bytes));
    }
    return {};
}

}  // namespace ringwatch::io
