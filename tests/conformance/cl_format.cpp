// Parsing of .top and .events, printing of .snap.
#include "tests/conformance/cl_format.h"

#include <charconv>
#include <set>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>

namespace ringwatch::cl {

namespace {

struct Line {
    int number;
    std::vector<std::string> fields;
};

// The meaningful lines of a file, split into fields.
std::vector<Line> lines_of(const std::string& text) {
    std::vector<Line> out;
    std::istringstream in(text);
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
        std::istringstream fs(line);
        std::vector<std::string> fields;
        for (std::string f; fs >> f;) fields.push_back(f);
        if (fields.empty() || fields[0][0] == '#') continue;
        out.push_back({n, std::move(fields)});
    }
    return out;
}

[[noreturn]] void fail(const std::string& file, int line, const std::string& problem) {
    throw std::runtime_error(fmt::format("{}:{}: {}", file, line, problem));
}

std::optional<int> to_int(const std::string& s) {
    int v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
    return v;
}

std::string joined(const std::vector<std::string>& f) {
    std::string s;
    for (const auto& x : f) s += (s.empty() ? "" : " ") + x;
    return s;
}

}  // namespace

Topology parse_topology(const std::string& text, const std::string& file) {
    const auto lines = lines_of(text);
    if (lines.empty()) fail(file, 1, "empty topology: expected the number of servers");
    Topology t;
    const auto n = lines[0].fields.size() == 1 ? to_int(lines[0].fields[0]) : std::nullopt;
    if (!n || *n < 1) fail(file, lines[0].number, fmt::format("expected the number of servers, got '{}'", joined(lines[0].fields)));
    if (lines.size() < static_cast<std::size_t>(*n) + 1)
        fail(file, lines.back().number, fmt::format("{} servers announced, {} listed", *n, lines.size() - 1));
    for (int i = 1; i <= *n; ++i) {
        const Line& l = lines[static_cast<std::size_t>(i)];
        const auto tokens = l.fields.size() == 2 ? to_int(l.fields[1]) : std::nullopt;
        if (!tokens || *tokens < 0) fail(file, l.number, fmt::format("expected '<id> <tokens>', got '{}'", joined(l.fields)));
        if (!t.balances.emplace(l.fields[0], *tokens).second) fail(file, l.number, fmt::format("server '{}' listed twice", l.fields[0]));
    }
    std::set<std::pair<std::string, std::string>> seen;
    for (std::size_t i = static_cast<std::size_t>(*n) + 1; i < lines.size(); ++i) {
        const Line& l = lines[i];
        if (l.fields.size() != 2) fail(file, l.number, fmt::format("expected a link '<src> <dest>', got '{}'", joined(l.fields)));
        for (const auto& id : l.fields)
            if (!t.balances.contains(id)) fail(file, l.number, fmt::format("link names unknown server '{}'", id));
        if (l.fields[0] == l.fields[1]) fail(file, l.number, fmt::format("link from '{}' to itself", l.fields[0]));
        if (!seen.insert({l.fields[0], l.fields[1]}).second) fail(file, l.number, fmt::format("link '{} {}' listed twice", l.fields[0], l.fields[1]));
        t.links.push_back({l.fields[0], l.fields[1]});
    }
    return t;
}

std::vector<Command> parse_events(const std::string& text, const std::string& file, const Topology& top) {
    std::vector<Command> out;
    std::set<std::pair<std::string, std::string>> links(top.links.begin(), top.links.end());
    for (const Line& l : lines_of(text)) {
        const auto& f = l.fields;
        if (f[0] == "send") {
            const auto n = f.size() == 4 ? to_int(f[3]) : std::nullopt;
            if (!n || *n < 1) fail(file, l.number, fmt::format("expected 'send <src> <dest> <tokens>' with tokens >= 1, got '{}'", joined(f)));
            if (!links.contains({f[1], f[2]})) fail(file, l.number, fmt::format("no link from '{}' to '{}'", f[1], f[2]));
            out.push_back({SendCmd{f[1], f[2], *n}, l.number});
        } else if (f[0] == "snapshot") {
            if (f.size() != 2) fail(file, l.number, fmt::format("expected 'snapshot <server>', got '{}'", joined(f)));
            if (!top.balances.contains(f[1])) fail(file, l.number, fmt::format("unknown server '{}'", f[1]));
            out.push_back({SnapshotCmd{f[1]}, l.number});
        } else if (f[0] == "tick") {
            const auto k = f.size() == 1 ? std::optional<int>(1) : f.size() == 2 ? to_int(f[1]) : std::nullopt;
            if (!k || *k < 1) fail(file, l.number, fmt::format("expected 'tick' or 'tick <k>' with k >= 1, got '{}'", joined(f)));
            out.push_back({TickCmd{*k}, l.number});
        } else {
            fail(file, l.number, fmt::format("unknown command '{}' (send, snapshot, tick)", f[0]));
        }
    }
    return out;
}

std::string format_snapshot(const RecordedSnapshot& s) {
    std::string out = fmt::format("{}\n", s.id);
    for (const auto& [id, b] : s.balances) out += fmt::format("{} {}\n", id, b);
    for (const auto& [ch, tokens] : s.in_flight)
        for (int n : tokens) out += fmt::format("{} {} token({})\n", ch.first, ch.second, n);
    return out;
}

}  // namespace ringwatch::cl
