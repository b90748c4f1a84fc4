// The monitor's status line (HumanView): the token only as the latest conclusive snapshot saw it,
// with that snapshot and its age, and said to be outdated once it is. Time is the test's.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "monitor/human_view.h"

using namespace ringwatch;
using namespace std::chrono_literals;

namespace {
const Instant t0 = instant_us(5'000'000);

Verdict verdict(std::uint64_t id, VerdictKind kind, Instant started, std::uint16_t holder = 4) {
    Verdict v;
    v.id = SnapshotId{id};
    v.kind = kind;
    v.started = started;
    v.duration = 7ms;
    v.epoch = Epoch{3};
    if (kind == VerdictKind::ok) {
        v.holders = {NodeId{holder}};
        v.held = v.tokens = 1;
    }
    if (kind == VerdictKind::inconclusive) v.missing = {NodeId{0}};
    return v;
}

NodeEvent killed(std::uint16_t node, Instant at) {
    NodeEvent e{NodeEventKind::node_down, NodeId{node}, at};
    e.address = NodeAddress::port_closed;
    return e;
}

// Everything the view wrote, read back.
struct Captured {
    char* data = nullptr;
    std::size_t size = 0;
    std::FILE* file = open_memstream(&data, &size);
    ~Captured() {
        std::fclose(file);
        std::free(data);
    }
    std::string text() {
        std::fflush(file);
        return std::string(data, size);
    }
};
}  // namespace

TEST_CASE("status line: the token held where the latest conclusive snapshot saw it, with that snapshot and its age", "[human]") {
    Captured out;
    HumanView view({}, out.file);
    CHECK(view.token_status(t0) == "token not seen yet (no conclusive snapshot)");
    view.on_verdict(t0 + 110ms, verdict(1, VerdictKind::ok, t0 + 100ms), {});
    view.on_verdict(t0 + 210ms, verdict(2, VerdictKind::inconclusive, t0 + 200ms), {});
    CHECK(view.status(t0 + 400ms) ==
          "2 snapshots: 1 ok, 1 inconclusive | token held by node 4 (snapshot 1, 0.3 s ago) | last 7.0 ms | epoch 3 | 0 "
          "incident(s) open");
    CHECK(out.text().empty());  // piped, not verbose: no line per snapshot
}

TEST_CASE("status line: outdated once no conclusive snapshot came for 2 intervals + the timeout", "[human]") {
    Captured out;
    HumanView view({.stale_after = 1200ms}, out.file);
    view.on_verdict(t0 + 110ms, verdict(1, VerdictKind::ok, t0 + 100ms), {});
    for (int i = 2; i <= 12; ++i) view.on_verdict(t0 + i * 100ms + 1s, verdict(i, VerdictKind::inconclusive, t0 + i * 100ms), {});
    CHECK(view.token_status(t0 + 1300ms) == "token held by node 4 (snapshot 1, 1.2 s ago)");
    CHECK(view.token_status(t0 + 1400ms) == "token outdated: no conclusive snapshot for 1.3 s (snapshot 1 saw it held by node 4)");
    // A conclusive snapshot again: news again.
    view.on_verdict(t0 + 2510ms, verdict(13, VerdictKind::ok, t0 + 2500ms, 1), {});
    CHECK(view.token_status(t0 + 2600ms) == "token held by node 1 (snapshot 13, 0.1 s ago)");
}

TEST_CASE("status line: a node down after the latest conclusive snapshot makes it outdated at once, and is shown", "[human]") {
    Captured out;
    HumanView view({.stale_after = 1200ms}, out.file);
    view.on_verdict(t0 + 110ms, verdict(1, VerdictKind::ok, t0 + 100ms), {});
    view.on_node_event(t0 + 300ms, killed(4, t0 + 300ms));
    const std::string s = view.status(t0 + 400ms);
    CHECK(s.find("| token outdated: node(s) 4 down since snapshot 1 (which saw it held by node 4, 0.3 s ago) |") != std::string::npos);
    CHECK(s.ends_with("| down: 4"));
    CHECK(s.find("token held by node 4 (") == std::string::npos);  // never the stale place as if it were news
    CHECK(out.text().starts_with("NODE DOWN 4: "));
    // The ring goes on without it (a view of the others): a snapshot started after the node went
    // down is news, the node still shown down.
    view.on_verdict(t0 + 910ms, verdict(9, VerdictKind::ok, t0 + 900ms, 2), {});
    CHECK(view.status(t0 + 1000ms).find("| token held by node 2 (snapshot 9, 0.1 s ago) |") != std::string::npos);
    CHECK(view.status(t0 + 1000ms).ends_with("| down: 4"));
    view.on_node_event(t0 + 2s, NodeEvent{NodeEventKind::node_up, NodeId{4}, t0 + 2s});
    CHECK(view.status(t0 + 1000ms).find("down:") == std::string::npos);
}

TEST_CASE("status line: on a terminal it is drawn again as time passes, with no event", "[human]") {
    Captured out;
    HumanView view({.terminal = true, .stale_after = 1200ms}, out.file);
    view.on_refresh(t0);  // nothing drawn yet: nothing to refresh
    CHECK(out.text().empty());
    view.on_verdict(t0 + 110ms, verdict(1, VerdictKind::ok, t0 + 100ms), {});
    CHECK(out.text().find("token held by node 4 (snapshot 1, 0.0 s ago)") != std::string::npos);
    view.on_refresh(t0 + 2s);
    CHECK(
        out.text().ends_with("\r\x1b[2K1 snapshots: 1 ok | token outdated: no conclusive snapshot for 1.9 s (snapshot 1 saw it held by node 4) | "
                             "last 7.0 ms | epoch 3 | 0 incident(s) open"));
}

TEST_CASE("piped lines are a log's: each starts with the stamp (its time), on a terminal none", "[human]") {
    Captured piped;
    HumanView log_view({.verbose = true, .stamp = [] { return std::string("2026-12-06T08:00:00.000+00:00"); }}, piped.file);
    log_view.on_verdict(t0 + 110ms, verdict(1, VerdictKind::ok, t0 + 100ms), {});
    log_view.on_summary_tick(t0 + 200ms);
    CHECK(piped.text() ==
          "2026-12-06T08:00:00.000+00:00 snapshot 1: ok, 1 token held by node 4 (7.0 ms)\n"
          "2026-12-06T08:00:00.000+00:00 summary: 1 snapshots: 1 ok | token held by node 4 (snapshot 1, 0.1 s ago) | last 7.0 ms | epoch 3 | 0 "
          "incident(s) open\n");
    Captured tty;
    HumanView ui({.terminal = true, .stamp = [] { return std::string("T"); }}, tty.file);
    ui.on_node_event(t0, killed(2, t0));
    CHECK(tty.text().find("NODE DOWN 2") != std::string::npos);
    CHECK(tty.text().find("T NODE DOWN") == std::string::npos);
}
