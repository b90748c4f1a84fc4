// The monitor core as the simulator runs it inside the production MonitorProcess: the real
// MonitorCore, with two hooks of the simulator's: the ground truth is told of each report before
// the core judges it, and a mutant may change what the core decided before the process acts on it
// (mutants.h). Everything else passes straight through.
#pragma once

#include <functional>

#include "monitor/core/monitor_process.h"

namespace ringwatch::sim {

class SimMonitorCore {
public:
    struct Hooks {
        std::function<void(NodeId from, const SnapshotReport& report)> report;
        std::function<void(MonitorOutput& decided)> decided;
    };
    SimMonitorCore(const MonitorConfig& config, Instant now, Hooks hooks) : core_(config, now), hooks_(std::move(hooks)) {}

    void on_report(Instant now, NodeId from, const SnapshotReport& report) {
        if (hooks_.report) hooks_.report(from, report);
        core_.on_report(now, from, report);
    }
    void on_link_event(Instant now, NodeId node, const LinkEvent& e) { core_.on_link_event(now, node, e); }
    void on_heard(NodeId node, Instant at) { core_.on_heard(node, at); }
    void on_timer(Instant now) { core_.on_timer(now); }
    void on_probe_refused(Instant now, NodeId node) { core_.on_probe_refused(now, node); }
    bool recover_by_hand(Instant now, RecoverMode mode) { return core_.recover_by_hand(now, mode); }
    void on_ack(Instant now, NodeId from, std::uint64_t command_id, bool ok) { core_.on_ack(now, from, command_id, ok); }
    void on_epoch_heard(Instant now, NodeId from, Epoch e) { core_.on_epoch_heard(now, from, e); }
    void on_lease_request(Instant now, NodeId from, const LeaseRequest& r) { core_.on_lease_request(now, from, r); }
    void on_promise(Instant now, NodeId from, const TermPromise& p) { core_.on_promise(now, from, p); }
    void on_hello(Instant now, NodeId from, const MonitorHello& h) { core_.on_hello(now, from, h); }
    void on_monitor_link_event(Instant now, NodeId m, const LinkEvent& e) { core_.on_monitor_link_event(now, m, e); }
    // The process hands an empty `out` (it clears it before each call).
    void take_output(MonitorOutput& out) {
        core_.take_output(out);
        if (hooks_.decided && !out.empty()) hooks_.decided(out);
    }
    std::optional<Instant> next_deadline() const { return core_.next_deadline(); }

    const MonitorConfig& config() const { return core_.config(); }
    const MonitorStats& stats() const { return core_.stats(); }
    const IncidentStats& incident_stats() const { return core_.incident_stats(); }
    const IncidentTracker& incidents() const { return core_.incidents(); }
    const NodeLiveness& liveness() const { return core_.liveness(); }
    Epoch epoch() const { return core_.epoch(); }
    const Membership* membership() const { return core_.membership(); }
    const Leadership& leadership() const { return core_.leadership(); }
    bool leading() const { return core_.leading(); }

private:
    MonitorCore core_;
    Hooks hooks_;
};

// The monitor's process in the simulator: the production MonitorProcess around that core.
using SimMonitorProcess = BasicMonitorProcess<SimMonitorCore>;

}  // namespace ringwatch::sim
