// `monitor --metrics HOST:PORT`: /metrics in the Prometheus text format, by prometheus-cpp. Its HTTP
// server runs in threads of its own; the monitor's loop only updates the metrics (atomics), so a
// slow or stuck scraper never holds the loop up.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>

#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "monitor/core/incidents.h"
#include "monitor/core/leadership.h"
#include "monitor/core/membership.h"
#include "monitor/core/node_liveness.h"

namespace ringwatch::io {

class MetricsServer {
public:
    // Throws std::runtime_error naming the address when it cannot listen there.
    // `ring_name`: in the incident ids (ringwatch_incident_open's labels).
    MetricsServer(const std::string& bind_address, const std::vector<NodeId>& ring, std::string ring_name);
    int port() const;

    void on_verdict(const Verdict& v);
    void on_incident_event(const IncidentEvent& e);
    void on_node_event(const NodeEvent& e);
    // Views (membership.h): the current view's epoch and members, which nodes are in it, and the
    // count of each kind of membership event.
    void on_membership_event(const MembershipEvent& e);
    // This monitor's leadership: ringwatch_monitor_leader (1 while it leads) and ringwatch_monitor_term.
    void on_leader_event(const LeaderEvent& e);
    // A node's figures as the monitor learns them (its answer to a StatusQuery).
    void on_node_figures(NodeId node, const std::vector<std::pair<std::string, std::int64_t>>& figures);
    // Seconds since each node's last report (nullopt: never heard), refreshed by the monitor's timer.
    void set_report_age(NodeId node, std::optional<double> seconds);
    void set_epoch(std::uint32_t epoch);
    // Reports that came after their snapshot was decided (the core's running count).
    void set_late_reports(std::uint64_t total);

private:
    std::map<std::string, std::string> incident_labels(const IncidentEvent& e) const;
    void advance(prometheus::Counter& counter, NodeId node, const std::string& figure, std::int64_t value, bool restarted);
    std::shared_ptr<prometheus::Registry> registry_;
    prometheus::Exposer exposer_;
    prometheus::Family<prometheus::Counter>& snapshots_;
    prometheus::Family<prometheus::Counter>& incidents_;
    prometheus::Gauge& open_incidents_;
    // One series per open token incident, labelled as every monitor labels it (ring, epoch, kind):
    // Alertmanager takes the alerts of several monitors for one.
    prometheus::Family<prometheus::Gauge>& incident_open_;
    std::string ring_name_;
    prometheus::Histogram& snapshot_seconds_;
    prometheus::Histogram& detection_seconds_;
    prometheus::Family<prometheus::Counter>& recoveries_;
    prometheus::Family<prometheus::Gauge>& epoch_;  // these four: absent until known
    prometheus::Counter& late_reports_;
    prometheus::Family<prometheus::Gauge>& report_age_;
    // The nodes' own counters, summed over their restarts (advance()).
    prometheus::Family<prometheus::Counter>& node_retransmits_;
    prometheus::Family<prometheus::Counter>& node_dropped_;
    prometheus::Family<prometheus::Counter>& node_tokens_passed_;
    std::map<std::pair<NodeId, std::string>, std::int64_t> node_figures_;  // the last value learned of each
    std::map<NodeId, std::int64_t> incarnations_;                          // each node's process, as last learned
    prometheus::Family<prometheus::Counter>& membership_events_;
    prometheus::Family<prometheus::Gauge>& view_epoch_;
    prometheus::Family<prometheus::Gauge>& view_members_;
    prometheus::Family<prometheus::Gauge>& node_in_view_;
    prometheus::Gauge& leader_;
    prometheus::Family<prometheus::Gauge>& term_;
    // Node liveness as the monitor's node events say it: 1 up, 0 down (absent until first heard),
    // and how many are down now (an alert for a node down, and for a ring entirely down).
    prometheus::Family<prometheus::Gauge>& node_up_;
    prometheus::Gauge& nodes_down_;
    std::set<NodeId> down_;
    std::vector<NodeId> ring_;
    Instant last_ok_start_{};  // the start of the newest snapshot judged ok: detection latency is measured from it
    bool seen_ok_ = false;
};

}  // namespace ringwatch::io
