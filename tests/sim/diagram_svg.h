// A space-time diagram and its SVG: one horizontal line per process, time running left to right,
// messages as arrows from send to receive, the points where processes recorded their state for a
// snapshot, the cut through them, the tokens a snapshot recorded in flight, and faults. The ring
// simulator (space_time.h) and the exercise replay (cl_diagram.h) fill one in; this file draws it.
//
// Every drawn element carries machine-readable attributes, so tests (check_diagram.py) and
// learners can read the picture back exactly; they all sit inside <g id="plot">:
//   <g class="token [recorded] [lost] [copy] [undelivered]" data-from data-to data-sent data-sent-seq
//      data-received data-received-seq data-label data-recorded-by="S1 S2">   (also class marker, start)
//   <circle class="record" data-lane data-snapshot data-at data-seq data-state>
//   <polyline class="cut" data-snapshot>
//   <g class="fault" data-kind="lose|duplicate" data-lane data-at data-seq>
// Times are in the diagram's unit (ticks, or microseconds); a seq orders what happened at one time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ringwatch::diagram {

// When something happened: a time in the diagram's unit, then the order it was seen in.
struct When {
    double t = 0;
    std::uint64_t seq = 0;
    auto operator<=>(const When&) const = default;
};

struct Lane {
    std::string id;     // in data-* attributes: "2", "monitor", "B"
    std::string label;  // beside the line: "node 2"
};

enum class ArrowKind { token, marker, start };

struct Arrow {
    ArrowKind kind = ArrowKind::token;
    std::size_t from = 0, to = 0;  // lanes
    When sent;
    std::optional<When> received;          // none: it never arrived
    std::string label;                     // beside a token: "free", "busy 1→3", "token(2)"
    std::string title;                     // the tooltip
    std::string snapshot;                  // a marker's or a start's snapshot
    std::vector<std::string> recorded_by;  // the snapshots that recorded this token in flight
    bool lost = false;                     // a lose fault dropped it where it arrived
    bool copy = false;                     // the extra copy a duplicate fault sent
};

// A process recorded its local state for a snapshot.
struct Record {
    std::size_t lane = 0;
    When at;
    std::string snapshot;
    std::string state;  // "1 token", "balance 3"
    std::string title;
};

// An injected fault, where it took effect.
struct Fault {
    std::size_t lane = 0;
    When at;
    std::string kind;  // "lose", "duplicate"
    std::string title;
};

enum class TimeScale {
    ticks,       // integer ticks evenly spaced; what happened within one tick spread out in its order
    compressed,  // microseconds, in order; idle stretches squeezed and marked, so that a hop of 60 us
                 // and a hold of 20 ms both read
};

struct Diagram {
    std::string title;
    std::vector<std::string> notes;  // lines under the title
    std::vector<Lane> lanes;
    TimeScale scale = TimeScale::ticks;
    double start = 0, end = 0;  // the window; what lies outside is cut off at its edges
    std::vector<Arrow> arrows;
    std::vector<Record> records;
    std::vector<Fault> faults;
};

// Well-formed XML whatever the text: markup characters escaped, invalid UTF-8 and the control
// characters XML forbids replaced by U+FFFD.
std::string xml_escape(std::string_view text);

std::string render_svg(const Diagram& d);
// Throws std::system_error naming the file when it cannot be written.
void write_svg(const std::string& path, const Diagram& d);

}  // namespace ringwatch::diagram
