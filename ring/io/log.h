// One-line log output: "[name] message", to stdout, flushed per line (so `ring up` can forward it
// as it happens). Formatting is checked at compile time; the writing is one non-template function.
#pragma once

#include <string_view>

#include <fmt/format.h>

namespace ringwatch::io {

void write_log_line(std::string_view name, std::string_view line);
// With JSON events on stdout (--json), log lines go to stderr: stdout carries one JSON object per
// line and nothing else.
void log_to_stderr();
// One JSON object per line on stdout, flushed (see node_events.h).
void write_event_line(std::string_view json);

class Logger {
public:
    explicit Logger(std::string name) : name_(std::move(name)) {}
    template <typename... Args>
    void log(fmt::format_string<Args...> f, Args&&... args) const {
        write_log_line(name_, fmt::format(f, std::forward<Args>(args)...));
    }
    const std::string& name() const { return name_; }

private:
    std::string name_;
};

}  // namespace ringwatch::io
