// Reading a small file that an operator or an earlier process left (a config, a key file, a saved
// state): through one descriptor, so that every check is of the file that is read; opened with
// O_NONBLOCK, so that a FIFO planted at the path cannot hang the open; read only if it is a
// regular file, and never beyond a cap, whatever its size says (it may grow while it is read).
#pragma once

#include <sys/stat.h>

#include <cstddef>
#include <string>

namespace ringwatch::io {

struct SmallFile {
    enum class Problem { none, cannot_open, not_regular, too_large, cannot_read };
    Problem problem = Problem::none;
    int error = 0;      // errno, for cannot_open and cannot_read
    struct stat st {};  // the file's, as opened (valid unless cannot_open)
    std::string bytes;  // the whole file, when problem == none
};

// `follow_links` false: a symbolic link at `path` is refused (cannot_open, ELOOP).
SmallFile read_small_file(const std::string& path, std::size_t max_bytes, bool follow_links = true);
// The same, `name` relative to the open directory `dir_fd` (never following a link).
SmallFile read_small_file_at(int dir_fd, const std::string& name, std::size_t max_bytes);

// The problem in a few words ("not a regular file", "No such file or directory", ...).
std::string reason(const SmallFile& f, std::size_t max_bytes);
// One line naming the file and the problem ("PATH is not a regular file", "cannot read PATH: ...").
std::string describe(const SmallFile& f, const std::string& path, std::size_t max_bytes);

}  // namespace ringwatch::io
