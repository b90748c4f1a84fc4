// Command-line parsing with one-line errors: "<program>: <what is wrong>" on stderr and exit 2;
// --help prints the help and exits 0, --version "<program> <version>" and exits 0. A program of subcommands names an unknown or missing one and
// lists the valid ones.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "ring/io/version.h"

namespace ringwatch::io {

inline std::vector<CLI::App*> all_subcommands(CLI::App& app) {
    return app.get_subcommands([](CLI::App*) { return true; });
}

// The subcommands' names, in the order they were added: "node, up, inject".
inline std::string subcommand_names(CLI::App& app) {
    std::string names;
    for (const CLI::App* sub : all_subcommands(app)) names += (names.empty() ? "" : ", ") + sub->get_name();
    return names;
}

inline bool is_subcommand(CLI::App& app, std::string_view name) {
    for (CLI::App* sub : all_subcommands(app))
        if (sub->check_name(std::string(name))) return true;
    return false;
}

// Returns nullopt when parsing succeeded, else the exit code to return from main.
inline std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv, const char* program) {
    app.set_version_flag("--version", fmt::format("{} {}", program, kVersion), "print the version and exit");
    // (Before a program of subcommands asks for one, and right after a command: `ring node --version`.)
    const bool version_asked = argc > 1 && (std::string_view(argv[1]) == "--version" ||
                                            (argc > 2 && std::string_view(argv[2]) == "--version" && is_subcommand(app, argv[1])));
    if (version_asked) {
        fmt::print("{} {}\n", program, kVersion);
        return 0;
    }
    if (const std::string names = subcommand_names(app); !names.empty()) {
        const std::string_view first = argc > 1 ? argv[1] : "";
        if (first.empty()) {
            fmt::print(stderr, "{}: name a command: {} ({} --help says what each does)\n", program, names, program);
            return 2;
        }
        if (first[0] == '-' && first != "-h" && first != "--help") {
            fmt::print(stderr, "{}: unknown option '{}'; name a command first: {}\n", program, first, names);
            return 2;
        }
        if (first[0] != '-' && !is_subcommand(app, first)) {
            fmt::print(stderr, "{}: unknown command '{}'; the commands are: {}\n", program, first, names);
            return 2;
        }
    }
    try {
        app.parse(argc, argv);
        return std::nullopt;
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) return app.exit(e);  // --help
        fmt::print(stderr, "{}: {}\n", program, e.what());
        return 2;
    }
}

// --log-format (and --verbose where the program has no --verbose of its own): see log.h.
struct LogOptions {
    std::string format = "auto";
    bool verbose = false;
};
inline void add_log_options(CLI::App& app, LogOptions& o, bool with_verbose = true) {
    app.add_option("--log-format", o.format,
                   "log line times: iso (ISO 8601, local time with its offset), plain (none), auto (plain under journald, which "
                   "stamps each line itself; else iso)")
        ->check(CLI::IsMember({"auto", "iso", "plain"}))
        ->capture_default_str();
    if (with_verbose) app.add_flag("--verbose", o.verbose, "also log link chatter (links connecting, going silent, tools' sessions closing)");
}

}  // namespace ringwatch::io
