// The closing line of drop counts names only what counted (tests of the JSON counts: e2e hostile).
#include <algorithm>

#include <catch2/catch.hpp>

#include "ring/io/drop_report.h"

using namespace ringwatch;

TEST_CASE("drop report: nothing dropped is one short line, no column of zeros", "[drop_report]") {
    CHECK(io::drop_report(io::UdpStats{}, EndpointStats{}, LinkStats{}) == "dropped=0");
}

TEST_CASE("drop report: each reason that counted, in the fixed order, the hellos answered, and probes apart", "[drop_report]") {
    io::UdpStats udp;
    udp.empty = 3;
    LinkStats links;
    links.replayed_dropped = 2;
    links.hellos_answered = 1;
    // Zero-length datagrams are the monitors' port probes: counted, never as drops.
    CHECK(io::drop_report(udp, EndpointStats{}, links) == "dropped=2 replayed=2 hellos_answered=1 probes=3");
    // The named counts keep every reason, zeros included (ring status and JSON read them).
    const auto counts = io::drop_counts(udp, EndpointStats{}, links);
    CHECK(counts.size() > 5);
    CHECK(counts.front() == std::pair<std::string, std::uint64_t>{"socket_truncated", 0});
    CHECK(std::none_of(counts.begin(), counts.end(), [](const auto& c) { return c.first == "empty"; }));
}
