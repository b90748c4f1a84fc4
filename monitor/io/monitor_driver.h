// Runs the monitor's process (monitor/core/monitor_process.h) with libuv: its socket (DatagramPort),
// a timer for its deadlines, the kernel's refusals of probes, the key files of a rekey, and the
// callbacks that publish what it decided. It moves bytes, time and files; the decisions are the
// process's.
#pragma once

#include <functional>
#include <map>

#include "monitor/core/monitor_process.h"
#include "monitor/io/port_probe.h"
#include "ring/config/key_rotation.h"
#include "ring/config/ring_config.h"
#include "ring/io/datagram_port.h"
#include "ring/io/deadline_timer.h"
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
    void on_membership_event(std::function<void(const MembershipEvent&)> f) { on_membership_event_ = std::move(f); }
    void on_leader_event(std::function<void(const LeaderEvent&)> f) { on_leader_event_ = std::move(f); }

    // Commands a person gives on the dashboard, carried by the monitor's own authenticated links
    // (the page never holds the ring's key). `done` hears the node's acknowledgement, if it comes.
    void inject(NodeId node, InjectKind kind, std::function<void(bool)> done);
    void send_message(NodeId from, NodeId to, Bytes payload, std::function<void(bool)> done);
    // A recovery now, whatever the configured mode (as `ring recover`); false if nothing was ordered.
    bool recover(RecoverMode mode);

    const MonitorCore& core() const { return process_.core(); }
    const MonitorProcess& process() const { return process_; }
    const UdpSocket& socket() const { return port_.socket(); }
    // What `ring status` is told: the monitor's figures by name.
    StatusReply status(std::uint64_t command_id) const;

private:
    void on_datagram(std::span<const std::uint8_t> datagram, const sockaddr* from);
    void pass();  // one step of the process, acted on
    void act(MonitorReady& ready);
    // The process's inputs from this driver: act on them in this loop pass.
    void dirty() { port_.mark_dirty(); }

    MonitorProcess process_;
    KeyRotation rekey_;
    OnVerdict on_verdict_;
    OnNodeEvent on_node_event_;
    std::function<void(const std::vector<IncidentEvent>&)> on_other_incidents_;
    std::function<void(const MembershipEvent&)> on_membership_event_;
    std::function<void(const LeaderEvent&)> on_leader_event_;
    std::function<void(NodeId, const StatusReply&)> on_figures_;
    std::map<std::uint64_t, std::function<void(bool)>> awaiting_;  // by command id, as long as the process awaits it
    DatagramPort port_;
    PortProbe probe_;
    DeadlineTimer timer_;
    UvHandle<uv_timer_t> poll_timer_;
};

}  // namespace ringwatch::io
