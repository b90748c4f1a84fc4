// A replayed exercise case as a space-time diagram: servers as lines, integer ticks along the axis,
// token transfers and markers as arrows, the recording points, each snapshot's cut, and the tokens
// it recorded in flight.
#pragma once

#include <string>
#include <vector>

#include "tests/conformance/cl_replay.h"
#include "tests/sim/diagram_svg.h"

namespace ringwatch::cl {

// Which tokens a snapshot recorded in flight comes from the participant's own record: a channel's
// recorded messages are the ones it delivered from the moment the state was recorded, in order.
diagram::Diagram replay_diagram(const Topology& top, const ReplayTrace& trace, const std::vector<RecordedSnapshot>& snapshots, std::string title);

}  // namespace ringwatch::cl
