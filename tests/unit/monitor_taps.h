// The monitor core with its one output read kind by kind, as a test asks for it: what one read
// leaves unread stays for the next read of its kind (the core's callers act on it all at once).
#pragma once

#include <utility>

#include "monitor/core/monitor_core.h"

namespace ringwatch::test {

// A monitor that leads: at its start every node promises it the term it claims (a test of the
// claims themselves reads term_orders itself, with `elected` false).
class TappedMonitor : public MonitorCore {
public:
    TappedMonitor(MonitorConfig config, Instant now, bool elected = true) : MonitorCore(std::move(config), now) {
        if (elected) promise_all(now);
    }
    // Every node answers every claim read so far: promised.
    void promise_all(Instant now) {
        for (const auto& [n, m] : take(&MonitorOutput::term_orders))
            if (const auto* c = std::get_if<TermClaim>(&m))
                on_promise(now, n, TermPromise{c->term, c->round, true, c->term, config().leadership.self, epoch()});
    }
    // A lease request, and (unless a test answers the rounds itself) every node confirming the
    // round it starts: the grant comes at once, as when every node answers in no time.
    void on_lease_request(Instant now, NodeId from, const LeaseRequest& r) {
        MonitorCore::on_lease_request(now, from, r);
        if (confirm_leases) promise_all(now);
    }
    bool confirm_leases = true;
    std::vector<std::pair<NodeId, Message>> take_term_orders() { return take(&MonitorOutput::term_orders); }
    std::vector<LeaderEvent> take_leader_events() { return take(&MonitorOutput::leader_events); }
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

// A node's report of snapshot `id`: it held `held` tokens in `epoch`, none in flight from `from`.
inline SnapshotReport report(SnapshotId id, NodeId node, NodeId from, std::uint32_t held, Epoch epoch) {
    SnapshotReport r;
    r.id = id;
    r.node = node;
    r.state.held.resize(held);
    r.state.held_count = held;
    r.state.had_token = true;
    r.state.epoch = epoch;
    r.channel_from = from;
    return r;
}

}  // namespace ringwatch::test
