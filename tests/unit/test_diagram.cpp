// Space-time diagrams: the SVG writer escapes whatever it is given; the exercise replay's diagram
// of the seeds' two token examples shows what the lecture says; a simulated run's diagram shows
// exactly the cuts the oracle recorded, and recording it changes nothing in the run. The SVG as XML
// is read back by tests/sim/check_diagram.py (ctest -R diagram).
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>

#include "tests/conformance/cl_diagram.h"
#include "tests/sim/diagram_svg.h"
#include "tests/sim/scenarios.h"
#include "tests/sim/space_time.h"

using namespace ringwatch;
using namespace ringwatch::sim;
using namespace std::chrono_literals;

namespace {

std::size_t count(const std::string& hay, const std::string& needle) {
    std::size_t n = 0;
    for (auto at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1)) ++n;
    return n;
}

std::size_t lane_of(const diagram::Diagram& d, const std::string& id) {
    for (std::size_t i = 0; i < d.lanes.size(); ++i)
        if (d.lanes[i].id == id) return i;
    FAIL("no lane " << id);
    return 0;
}

// The exercise's two servers, A and B, with one token, and the seed's event order.
diagram::Diagram seed_example(bool second) {
    const cl::Topology top = cl::parse_topology(second ? "2\nA 0\nB 1\nA B\nB A\n" : "2\nA 1\nB 0\nA B\nB A\n", "seed.top");
    const auto script = cl::parse_events(second ? "send B A 1\nsnapshot A\ntick 3\n" : "send A B 1\nsnapshot A\ntick 3\n", "seed.events", top);
    cl::Replay r(top, cl::DelaySource::digits(second ? "01" : "0"));
    r.trace();
    r.run(script, "seed.events");
    return cl::replay_diagram(top, r.traced(), r.snapshots(), "seed");
}

}  // namespace

TEST_CASE("diagram: text is escaped into well-formed XML whatever it holds", "[diagram]") {
    CHECK(diagram::xml_escape(R"~(<a href="x">Tom & 'Jerry'</a>)~") == "&lt;a href=&quot;x&quot;&gt;Tom &amp; &apos;Jerry&apos;&lt;/a&gt;");
    CHECK(diagram::xml_escape("node → 2, tab\tnew\nline") == "node → 2, tab\tnew\nline");  // UTF-8 and allowed controls kept
    const std::string fffd = "\xEF\xBF\xBD";
    CHECK(diagram::xml_escape(std::string("a\x01z\x1f", 4)) == "a" + fffd + "z" + fffd);  // controls XML forbids
    CHECK(diagram::xml_escape("\xff\xfe") == fffd + fffd);                                // not UTF-8
    CHECK(diagram::xml_escape("\xC0\xAF") == fffd + fffd);                                // overlong
    CHECK(diagram::xml_escape("\xED\xA0\x80") == fffd + fffd + fffd);                     // a surrogate
    CHECK(diagram::xml_escape("\xEF\xBF\xBE") == fffd + fffd + fffd);                     // U+FFFE
    CHECK(diagram::xml_escape("\xE2\x86") == fffd + fffd);                                // cut short
    CHECK(diagram::xml_escape("\xF0\x9F\x98\x80") == "\xF0\x9F\x98\x80");                 // a four-byte character
}

TEST_CASE("diagram: every element says what it shows, and what lies outside the window is left out", "[diagram]") {
    diagram::Diagram d;
    d.title = "a <title> & more";
    d.lanes = {{"A<", "A"}, {"B&", "B"}};
    d.start = 0;
    d.end = 3;
    diagram::Arrow t;
    t.from = 0;
    t.to = 1;
    t.sent = {0, 0};
    t.received = diagram::When{1, 3};
    t.label = "token(1)";
    t.recorded_by = {"0"};
    d.arrows.push_back(t);
    diagram::Arrow late = t;  // sent after the window
    late.sent = {4, 9};
    late.received = diagram::When{5, 10};
    d.arrows.push_back(late);
    diagram::Arrow m;
    m.kind = diagram::ArrowKind::marker;
    m.from = 1;
    m.to = 0;
    m.sent = {1, 4};
    m.snapshot = "0";
    d.arrows.push_back(m);  // never received
    d.records = {{0, {0, 1}, "0", "0", "A starts"}, {1, {2, 5}, "0", "1", "B on the marker"}};
    d.faults = {{1, {2, 6}, "lose", "lost"}};
    const std::string svg = diagram::render_svg(d);
    CHECK(svg.find("<title>a &lt;title&gt; &amp; more</title>") != std::string::npos);
    CHECK(count(svg, R"~(<g class="token recorded" data-from="A&lt;" data-to="B&amp;" data-sent="0" data-sent-seq="0" data-received="1" )~"
                     R"~(data-received-seq="3" data-label="token(1)" data-recorded-by="0">)~") == 1);
    CHECK(count(svg, "recorded in flight (snapshot 0)") == 1);
    CHECK(count(svg, R"~(<g class="marker undelivered" data-from="B&amp;" data-to="A&lt;" data-sent="1" data-sent-seq="4" data-snapshot="0">)~") ==
          1);
    CHECK(count(svg, R"~(<circle class="record")~") == 2 + 1);  // and the legend's sample
    CHECK(count(svg, R"~(<polyline class="cut" data-snapshot="0")~") == 1);
    CHECK(count(svg, R"~(<g class="fault" data-kind="lose" data-lane="B&amp;" data-at="2" data-at-seq="6">)~") == 1);
    CHECK(count(svg, R"~(data-sent="4")~") == 0);
    CHECK(svg.find("id=\"legend\"") != std::string::npos);
}

TEST_CASE("diagram: a window is two durations, decimals allowed to the microsecond", "[diagram]") {
    CHECK(parse_duration("2.5s") == Duration{2'500'000});
    CHECK(parse_duration("199.9ms") == Duration{199'900});
    CHECK(parse_duration("1.000001s") == Duration{1'000'001});
    CHECK(!parse_duration("1.5us"));
    CHECK(!parse_duration("1.s"));
    CHECK(!parse_duration(".5s"));
    const auto w = parse_window("2s..2.5s");
    REQUIRE(w);
    CHECK(to_us(w->start) == 2'000'000);
    CHECK(to_us(w->end) == 2'500'000);
    CHECK(!parse_window("2s"));
    CHECK(!parse_window("2s..1s"));
    CHECK(!parse_window("2s..2s"));
    CHECK(!parse_window("x..2s"));
}

TEST_CASE("diagram of the seeds' first token example: the token reaches B before B records, nothing in flight", "[diagram][conformance]") {
    const auto d = seed_example(false);
    const std::size_t a = lane_of(d, "A"), b = lane_of(d, "B");
    const auto token = std::find_if(d.arrows.begin(), d.arrows.end(), [](const diagram::Arrow& x) { return x.kind == diagram::ArrowKind::token; });
    REQUIRE(token != d.arrows.end());
    CHECK(token->from == a);
    CHECK(token->recorded_by.empty());
    REQUIRE(d.records.size() == 2);
    const auto b_record = std::find_if(d.records.begin(), d.records.end(), [&](const diagram::Record& r) { return r.lane == b; });
    REQUIRE(b_record != d.records.end());
    CHECK(b_record->state == "1");
    CHECK(*token->received < b_record->at);
    // A sent the token before it recorded: the token is not in A's state either.
    const auto a_record = std::find_if(d.records.begin(), d.records.end(), [&](const diagram::Record& r) { return r.lane == a; });
    CHECK(token->sent < a_record->at);
    CHECK(count(diagram::render_svg(d), R"~(class="token recorded" data-from)~") == 0);  // (the legend has a sample)
}

TEST_CASE("diagram of the seeds' second token example: the token B sent is recorded in flight on B->A", "[diagram][conformance]") {
    const auto d = seed_example(true);
    const std::size_t a = lane_of(d, "A"), b = lane_of(d, "B");
    std::vector<const diagram::Arrow*> recorded;
    for (const auto& x : d.arrows)
        if (!x.recorded_by.empty()) recorded.push_back(&x);
    REQUIRE(recorded.size() == 1);
    CHECK(recorded[0]->from == b);
    CHECK(recorded[0]->to == a);
    CHECK(recorded[0]->recorded_by == std::vector<std::string>{"0"});
    const auto a_record = std::find_if(d.records.begin(), d.records.end(), [&](const diagram::Record& r) { return r.lane == a; });
    const auto b_marker =
        std::find_if(d.arrows.begin(), d.arrows.end(), [&](const diagram::Arrow& x) { return x.kind == diagram::ArrowKind::marker && x.from == b; });
    CHECK(a_record->at < *recorded[0]->received);
    CHECK(*recorded[0]->received < *b_marker->received);
    CHECK(count(diagram::render_svg(d), R"~(class="token recorded" data-from="B" data-to="A")~") == 1);
}

TEST_CASE("diagram of a simulated run: the oracle's cuts, and the same run as without it", "[diagram][sim]") {
    SimConfig c;
    c.seed = 14;  // one whose window catches the duplicate and the original both in flight to node 3
    c.nodes = 5;
    c.duration = 500ms;
    c.hold = 300us;
    c.app_messages_per_s = 0;
    c.injects = {{299'500us, 2, InjectKind::duplicate}, {300'300us, 4, InjectKind::lose}};
    std::vector<Verdict> plain, drawn;
    const SimSummary s1 = run_simulation(c, [&](const Verdict& v) { plain.push_back(v); });
    SpaceTimeRecorder recorder(TimeWindow{Instant{} + 299'500us, Instant{} + 302'000us});
    c.space_time = &recorder;
    const SimSummary s2 = run_simulation(c, [&](const Verdict& v) { drawn.push_back(v); });
    REQUIRE(s1.ok_run());
    CHECK(s1.virtual_time == s2.virtual_time);
    CHECK(s1.snapshots == s2.snapshots);
    CHECK(s1.faults_taken_effect == s2.faults_taken_effect);
    CHECK(s1.link_retransmits == s2.link_retransmits);
    REQUIRE(plain.size() == drawn.size());
    for (std::size_t i = 0; i < plain.size(); ++i) {
        CHECK(plain[i].id == drawn[i].id);
        CHECK(plain[i].kind == drawn[i].kind);
        CHECK(plain[i].started == drawn[i].started);
    }

    const auto d = recorder.diagram(c.nodes, "run");
    std::map<std::string, std::uint32_t> in_flight;  // per snapshot, what the oracle recorded
    std::size_t points = 0;
    for (const auto& cut : recorder.oracle_cuts()) {
        CHECK(cut.closed_at <= recorder.window()->end);
        in_flight[fmt::format("{}", cut.snapshot)] += cut.in_flight;
        ++points;
    }
    REQUIRE(in_flight.size() == 1);
    CHECK(in_flight.begin()->second == 2);  // the token and its copy, both on their way to node 3
    CHECK(d.records.size() == points);
    std::map<std::string, std::uint32_t> drawn_in_flight;
    for (const auto& a : d.arrows)
        for (const auto& s : a.recorded_by) ++drawn_in_flight[s];
    CHECK(drawn_in_flight == in_flight);
    CHECK(std::count_if(d.arrows.begin(), d.arrows.end(), [](const diagram::Arrow& a) { return a.copy; }) == 1);
    CHECK(std::count_if(d.arrows.begin(), d.arrows.end(), [](const diagram::Arrow& a) { return a.lost; }) == 1);
    CHECK(d.faults.size() == 2);
}

TEST_CASE("diagram of a simulated run: by default, 500 ms from the monitor's first snapshot start", "[diagram][sim]") {
    SimConfig c;
    c.seed = 3;
    c.nodes = 4;
    c.duration = 1s;
    SpaceTimeRecorder recorder;
    c.space_time = &recorder;
    run_simulation(c);
    const auto w = recorder.window();
    REQUIRE(w);
    CHECK(w->end - w->start == kDefaultWindow);
    const auto d = recorder.diagram(c.nodes, "run");
    const auto first_start = std::min_element(d.arrows.begin(), d.arrows.end(), [](const diagram::Arrow& a, const diagram::Arrow& b) {
        return std::pair{a.kind != diagram::ArrowKind::start, a.sent} < std::pair{b.kind != diagram::ArrowKind::start, b.sent};
    });
    REQUIRE(first_start->kind == diagram::ArrowKind::start);
    CHECK(first_start->sent.t == static_cast<double>(to_us(w->start)));
    CHECK(d.records.size() == recorder.oracle_cuts().size());
    CHECK(d.records.size() % c.nodes == 0);
}
