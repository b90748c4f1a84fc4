// Writes log lines (see log.h).
#include "ring/io/log.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace ringwatch::io {

namespace {
std::FILE* log_out = stdout;
LogFormat format = LogFormat::automatic;
bool verbose_on = false;

// systemd sets $JOURNAL_STREAM to "DEVICE:INODE" of the stream it connected to the journal.
bool is_journal(std::FILE* stream) {
    const char* journal = std::getenv("JOURNAL_STREAM");
    struct stat st {};
    if (!journal || fstat(fileno(stream), &st) != 0) return false;
    return fmt::format("{}:{}", st.st_dev, st.st_ino) == journal;
}

}  // namespace

bool stamps(std::FILE* stream) { return format == LogFormat::iso || (format == LogFormat::automatic && !is_journal(stream)); }

std::optional<LogFormat> parse_log_format(std::string_view text) {
    if (text == "auto") return LogFormat::automatic;
    if (text == "iso") return LogFormat::iso;
    if (text == "plain") return LogFormat::plain;
    return std::nullopt;
}

void configure_log(LogFormat f, bool verbose) {
    format = f;
    verbose_on = verbose;
}

bool log_verbose() { return verbose_on; }

std::string iso_time_now() {
    const auto now = std::chrono::system_clock::now();
    const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm local{};
    localtime_r(&seconds, &local);
    char date[32];
    std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &local);
    const long offset_min = local.tm_gmtoff / 60;
    return fmt::format("{}.{:03}{}{:02}:{:02}", date, ms, offset_min < 0 ? '-' : '+', std::labs(offset_min) / 60, std::labs(offset_min) % 60);
}

void write_log_line(std::string_view name, std::string_view line) {
    if (stamps(log_out)) {
        fmt::print(log_out, "{} [{}] {}\n", iso_time_now(), name, line);
    } else {
        fmt::print(log_out, "[{}] {}\n", name, line);
    }
    std::fflush(log_out);
}

void log_to_stderr() { log_out = stderr; }

void write_event_line(std::string_view json) {
    fmt::print("{}\n", json);
    std::fflush(stdout);
}

}  // namespace ringwatch::io
