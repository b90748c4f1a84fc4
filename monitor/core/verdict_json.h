// Verdicts as the one-line JSON events of the README ("Contracts"), shared by the monitor
// program and the simulator so that both speak exactly the same format.
#pragma once

#include <string>

#include "monitor/core/monitor_core.h"

namespace ringwatch {

// {"event":"snapshot",...} for every verdict.
std::string snapshot_event_json(const Verdict& v);
// {"event":"alarm",...} for token_lost / token_duplicated verdicts.
std::string alarm_event_json(const Verdict& v);

}  // namespace ringwatch
