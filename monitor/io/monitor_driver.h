// Runs the monitor: the MonitorCore on an EndpointDriver with a link to every node, a timer for
// the core's deadlines, link liveness fed to the core, verdicts handed to the caller.
#pragma once

#include <functional>
#include <map>

#include "monitor/core/monitor_core.h"
#include "monitor/io/port_probe.h"
#include "ring/config/ring_config.h"
#include "ring/io/deadline_timer.h"
#include "ring/config/key_rotation.h"
#include "ring/io/endpoint_driver.h"
#include "ring/io/uv_handle.h"

namespace ringwatch::io {

class MonitorDriver {
public:
    // Each verdict with the incident events it caused (an alarm, a resolution; usually none).
    using OnVerdict = std::function<void(const Verdict&, const std::vector<IncidentEvent>&)>;
    using OnNodeEvent = std::function<void(const NodeEvent&)>;

    MonitorDriver(uv_loop_t* loop, const RingConfig& ring, MonitorConfig config, OnVerdict on_verdict, OnNodeEvent on_node_event,
                  LinkConfig link = {});
    MonitorDriver(const MonitorDriver&) = delete;
    MonitorDriver& operator=(const MonitorDriver&) = delete;

    // Asks every node for its figures (a StatusQuery) every `every`, and hands each answer to `f`
    // (the metrics: link counters as the monitor learns them).
    void poll_nodes(Duration every, std::function<void(NodeId, const StatusReply&)> f);

    // Incident events no verdict caused (a recovery an operator asked for with `ring recover`).
    void on_other_incidents(std::function<void(const std::vector<IncidentEvent>&)> f) { on_other_incidents_ = std::move(f); }

    // Commands a person gives on the dashboard, carried by the monitor's own authenticated links
    // (the page never holds the ring's key). `done` hears the node's acknowledgement, if it comes.
    void inject(NodeId node, InjectKind kind, std::function<void(bool)> done);
    void send_message(NodeId from, NodeId to, Bytes payload, std::function<void(bool)> done);
    // A recovery now, whatever the configured mode (as `ring recover`); false if nothing was ordered.
    bool recover(RecoverMode mode);

    const MonitorCore& core() const { return core_; }
    const EndpointDriver& link() const { return link_; }
    // What `ring status` is told: the monitor's figures by name.
    StatusReply status(std::uint64_t command_id) const;

private:
    void pump();
    void command(NodeId node, std::uint64_t id, Bytes message, std::function<void(bool)> done);

    EndpointDriver link_;
    KeyRotation rekey_;
    MonitorCore core_;
    OnVerdict on_verdict_;
    OnNodeEvent on_node_event_;
    std::function<void(const std::vector<IncidentEvent>&)> on_other_incidents_;
    PortProbe probe_;
    DeadlineTimer timer_;
    std::function<void(NodeId, const StatusReply&)> on_figures_;
    UvHandle<uv_timer_t> poll_timer_;
    std::uint64_t next_command_id_ = std::uint64_t{1} << 62;  // apart from the core's recovery command ids
    std::map<std::uint64_t, std::function<void(bool)>> awaiting_ack_;  // the newest kMaxAwaited
};

}  // namespace ringwatch::io
