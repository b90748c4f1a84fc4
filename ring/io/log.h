// One-line log output: "TIME [name] message", to stdout, flushed per line (so `ring up` can forward
// it as it happens). TIME is ISO 8601 with milliseconds and the UTC offset
// (2026-12-06T07:41:02.123+00:00), left out under journald (which stamps every line itself) or with
// `--log-format plain`. Chatter (links connecting, tools' sessions closing) only with --verbose.
// Formatting is checked at compile time; the writing is one non-template function.
#pragma once

#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace ringwatch::io {

// automatic: plain when the log's stream is the journal ($JOURNAL_STREAM names it), else iso.
enum class LogFormat { automatic, iso, plain };
std::optional<LogFormat> parse_log_format(std::string_view text);  // "auto", "iso", "plain"
void configure_log(LogFormat format, bool verbose);
bool log_verbose();
// Whether lines written to `stream` start with a time (the configured format; auto: unless the
// stream is the journal).
bool stamps(std::FILE* stream);

void write_log_line(std::string_view name, std::string_view line);
// With JSON events on stdout (--json), log lines go to stderr: stdout carries one JSON object per
// line and nothing else.
void log_to_stderr();
// One JSON object per line on stdout, flushed (see node_events.h).
void write_event_line(std::string_view json);
// "2026-12-06T07:41:02.123+00:00": now, local time with its offset.
std::string iso_time_now();

class Logger {
public:
    explicit Logger(std::string name) : name_(std::move(name)) {}
    template <typename... Args>
    void log(fmt::format_string<Args...> f, Args&&... args) const {
        write_log_line(name_, fmt::format(f, std::forward<Args>(args)...));
    }
    // Only with --verbose: what an operator needs only when looking into the links.
    template <typename... Args>
    void verbose(fmt::format_string<Args...> f, Args&&... args) const {
        if (log_verbose()) write_log_line(name_, fmt::format(f, std::forward<Args>(args)...));
    }
    const std::string& name() const { return name_; }

private:
    std::string name_;
};

}  // namespace ringwatch::io
