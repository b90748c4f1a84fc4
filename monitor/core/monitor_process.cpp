// The monitor's process, instantiated once for the monitor's core (the simulator instantiates it
// for its own, which may be a mutant).
#include "monitor/core/monitor_process.h"

namespace ringwatch {

template class BasicMonitorProcess<MonitorCore>;

}  // namespace ringwatch
