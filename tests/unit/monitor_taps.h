// The monitor core with its one output read kind by kind, as a test asks for it: what one read
// leaves unread stays for the next read of its kind (the core's callers act on it all at once).
#pragma once

#include <utility>

#include "monitor/core/monitor_core.h"

namespace ringwatch::test {

class TappedMonitor : public MonitorCore {
public:
    using MonitorCore::MonitorCore;
    std::vector<MonitorOutput::Start> take_commands() { return take(&MonitorOutput::starts); }
    std::vector<std::pair<NodeId, RecoverCommand>> take_recover_commands() { return take(&MonitorOutput::recover_commands); }
    std::vector<std::pair<NodeId, KeepSnapshot>> take_keeps() { return take(&MonitorOutput::keeps); }
    std::vector<NodeId> take_probes() { return take(&MonitorOutput::probes); }
    std::vector<NodeEvent> take_node_events() { return take(&MonitorOutput::node_events); }
    std::vector<Verdict> take_verdicts() { return take(&MonitorOutput::verdicts); }
    std::vector<IncidentEvent> take_incident_events() { return take(&MonitorOutput::incident_events); }
    std::vector<std::pair<NodeId, Message>> take_view_orders() { return take(&MonitorOutput::view_orders); }
    std::vector<MembershipEvent> take_membership_events() { return take(&MonitorOutput::membership_events); }

private:
    template <typename T>
    T take(T MonitorOutput::*kind) {
        take_output(unread_);
        return std::exchange(unread_.*kind, {});
    }
    MonitorOutput unread_;
};

}  // namespace ringwatch::test
