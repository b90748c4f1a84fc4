// Writes log lines.
#include "ring/io/log.h"

#include <cstdio>

namespace ringwatch::io {

namespace {
std::FILE* log_out = stdout;
}  // namespace

void write_log_line(std::string_view name, std::string_view line) {
    fmt::print(log_out, "[{}] {}\n", name, line);
    std::fflush(log_out);
}

void log_to_stderr() { log_out = stderr; }

void write_event_line(std::string_view json) {
    fmt::print("{}\n", json);
    std::fflush(stdout);
}

}  // namespace ringwatch::io
