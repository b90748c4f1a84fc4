// clreplay: replays a Chandy-Lamport exercise case (.top + .events) through ringwatch's snapshot
// participant, prints each snapshot in .snap format (or writes <id>.snap files), and checks that
// every snapshot conserves the system's tokens; --diagram also draws the run as a space-time diagram.
#include <CLI/CLI.hpp>

#include "ring/io/cli.h"

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "tests/conformance/cl_diagram.h"
#include "tests/conformance/cl_replay.h"

using namespace ringwatch::cl;

namespace {
std::string slurp(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error(fmt::format("{}: cannot open", path));
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}
}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"clreplay: run a Chandy-Lamport exercise case through ringwatch's snapshot participant"};
    std::string top_file, events_file, delays, out_dir, diagram_file;
    std::uint64_t seed = 1;
    app.add_option("--top", top_file, ".top file: servers, balances, links")->required();
    app.add_option("--events", events_file, ".events file: send, snapshot, tick")->required();
    app.add_option("--delays", delays, "digits 0-4, one per queued message (0 once they run out); default: seeded random");
    app.add_option("--seed", seed, "seed of the random delays when --delays is not given")->capture_default_str();
    app.add_option("--out", out_dir, "write <id>.snap files to this directory instead of printing");
    app.add_option("--diagram", diagram_file, "also draw the run as a space-time diagram (SVG) in this file");
    if (auto rc = ringwatch::io::parse_command_line(app, argc, argv, "clreplay")) return *rc;
    if (delays.find_first_not_of("01234") != std::string::npos) {
        fmt::print(stderr, "clreplay: --delays '{}': only digits 0 to 4\n", delays);
        return 2;
    }
    try {
        const Topology top = parse_topology(slurp(top_file), top_file);
        const auto script = parse_events(slurp(events_file), events_file, top);
        Replay r(top, app.count("--delays") ? DelaySource::digits(delays) : DelaySource::seeded(seed));
        if (!diagram_file.empty()) r.trace();
        r.run(script, events_file);
        if (!diagram_file.empty())
            ringwatch::diagram::write_svg(diagram_file,
                                          replay_diagram(top, r.traced(), r.snapshots(), fmt::format("clreplay: {} + {}", top_file, events_file)));
        int rc = 0;
        bool first = true;
        for (const auto& s : r.snapshots()) {
            int sum = 0;
            for (const auto& [id, b] : s.balances) sum += b;
            for (const auto& [ch, tokens] : s.in_flight)
                for (int n : tokens) sum += n;
            if (sum != r.total_tokens()) {
                fmt::print(stderr, "clreplay: snapshot {} holds {} tokens, the system has {}\n", s.id, sum, r.total_tokens());
                rc = 1;
            }
            const std::string text = format_snapshot(s);
            if (!out_dir.empty()) {
                const std::string path = fmt::format("{}/{}.snap", out_dir, s.id);
                std::ofstream f(path);
                if (!(f << text)) throw std::runtime_error(fmt::format("{}: cannot write", path));
            } else {
                fmt::print("{}{}", first ? "" : "\n", text);
                first = false;
            }
        }
        return rc;
    } catch (const std::exception& e) {
        fmt::print(stderr, "clreplay: {}\n", e.what());
        return 2;
    }
}
