// The `ring` program: one command line, one subcommand per job.
#include <CLI/CLI.hpp>

#include <fmt/format.h>

#include "ring/link_demo.h"

int main(int argc, char** argv) {
    CLI::App app{"ringwatch ring: token-ring nodes over UDP-backed sequenced FIFO links"};
    app.require_subcommand(1);

    ringwatch::LinkDemoOptions demo;
    auto* demo_cmd = app.add_subcommand("demo", "stream messages between two links over a lossy 127.0.0.1 network and show them repaired");
    demo_cmd->add_option("--messages", demo.messages, "messages to send")->capture_default_str()->check(CLI::Range(1, 100'000'000));
    demo_cmd->add_option("--loss", demo.loss, "chance each datagram is dropped")->capture_default_str()->check(CLI::Range(0.0, 0.9));
    demo_cmd->add_option("--dup", demo.duplicate, "chance each datagram is duplicated")->capture_default_str()->check(CLI::Range(0.0, 0.9));
    demo_cmd->add_option("--reorder", demo.reorder, "chance each datagram is delayed past later ones")->capture_default_str()->check(CLI::Range(0.0, 0.9));

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    try {
        if (*demo_cmd) return ringwatch::run_link_demo(demo);
    } catch (const std::exception& e) {
        fmt::print(stderr, "ring: {}\n", e.what());
        return 1;
    }
    return 0;
}
