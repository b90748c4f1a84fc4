// Command-line parsing with one-line errors: "<program>: <what is wrong>" on stderr and exit 2;
// --help prints the help and exits 0.
#pragma once

#include <optional>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

namespace ringwatch::io {

// Returns nullopt when parsing succeeded, else the exit code to return from main.
inline std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv, const char* program) {
    try {
        app.parse(argc, argv);
        return std::nullopt;
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) return app.exit(e);  // --help
        fmt::print(stderr, "{}: {}\n", program, e.what());
        return 2;
    }
}

}  // namespace ringwatch::io
