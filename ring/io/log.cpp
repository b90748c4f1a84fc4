// Writes log lines.
#include "ring/io/log.h"

#include <cstdio>

namespace ringwatch::io {

void write_log_line(std::string_view name, std::string_view line) {
    fmt::print("[{}] {}\n", name, line);
    std::fflush(stdout);
}

}  // namespace ringwatch::io
