// The classic Chandy-Lamport exercise's text formats: .top (servers, balances, one-way links),
// .events (send / snapshot / tick commands) and .snap (one recorded snapshot). Whitespace-separated
// fields; empty lines and lines starting with '#' are ignored. Errors name the file and the line.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace ringwatch::cl {

struct Topology {
    std::map<std::string, int> balances;  // std::map: lexicographic order of ids
    std::vector<std::pair<std::string, std::string>> links;
};

struct SendCmd {
    std::string src, dst;
    int tokens;
};
struct SnapshotCmd {
    std::string server;
};
struct TickCmd {
    int ticks;
};
struct Command {
    std::variant<SendCmd, SnapshotCmd, TickCmd> what{TickCmd{1}};
    int line = 0;
};

struct RecordedSnapshot {
    int id;
    std::map<std::string, int> balances;
    // (src, dst) in lexicographic order -> token counts in arrival order
    std::map<std::pair<std::string, std::string>, std::vector<int>> in_flight;
};

// Throws std::runtime_error("FILE:LINE: problem") on malformed input.
Topology parse_topology(const std::string& text, const std::string& file);
std::vector<Command> parse_events(const std::string& text, const std::string& file, const Topology& top);
std::string format_snapshot(const RecordedSnapshot& s);

}  // namespace ringwatch::cl
