// The monitor's Prometheus metrics (see metrics_server.h).
#include "monitor/io/metrics_server.h"

#include <algorithm>

#include <fmt/format.h>

#include "ring/io/version.h"

namespace ringwatch::io {

namespace {
using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

const prometheus::Histogram::BucketBoundaries kSnapshotBuckets{0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2};
const prometheus::Histogram::BucketBoundaries kDetectionBuckets{0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5};

std::shared_ptr<prometheus::Registry> make_registry() { return std::make_shared<prometheus::Registry>(); }

// A scrape must never wait behind a client that holds a connection without asking anything (one
// idle connection once stopped every scrape): several workers, and a connection that has not
// sent its request within the timeout is closed.
constexpr const char* kWorkers = "8";
constexpr const char* kRequestTimeoutMs = "1000";

prometheus::Exposer listen(const std::string& address) {
    try {
        return prometheus::Exposer(
            std::vector<std::string>{"listening_ports", address, "num_threads", kWorkers, "request_timeout_ms", kRequestTimeoutMs});
    } catch (const std::exception& e) {
        throw std::runtime_error(fmt::format("--metrics {}: cannot listen there ({})", address, e.what()));
    }
}
}  // namespace

MetricsServer::MetricsServer(const std::string& bind_address, const std::vector<NodeId>& ring, std::string ring_name)
    : registry_(make_registry()),
      exposer_(listen(bind_address)),
      snapshots_(BuildCounter().Name("ringwatch_snapshots_total").Help("Snapshots decided, by verdict").Register(*registry_)),
      incidents_(BuildCounter()
                     .Name("ringwatch_incidents_total")
                     .Help("Incidents opened, by kind (token_lost, token_duplicated, node_down)")
                     .Register(*registry_)),
      open_incidents_(BuildGauge().Name("ringwatch_incidents_open").Help("Token incidents open now").Register(*registry_).Add({})),
      incident_open_(BuildGauge()
                         .Name("ringwatch_incident_open")
                         .Help("1 while the token incident (ring, epoch, kind) is open: the same labels on every monitor")
                         .Register(*registry_)),
      ring_name_(std::move(ring_name)),
      snapshot_seconds_(BuildHistogram()
                            .Name("ringwatch_snapshot_duration_seconds")
                            .Help("From a snapshot's start to its verdict")
                            .Register(*registry_)
                            .Add({}, kSnapshotBuckets)),
      detection_seconds_(BuildHistogram()
                             .Name("ringwatch_detection_latency_seconds")
                             .Help("From the start of the last snapshot judged ok to the alarm's verdict (a bound on how long a fault went unseen)")
                             .Register(*registry_)
                             .Add({}, kDetectionBuckets)),
      recoveries_(BuildCounter().Name("ringwatch_recoveries_total").Help("Recoveries ordered, by mode").Register(*registry_)),
      epoch_(BuildGauge().Name("ringwatch_epoch").Help("The ring's current token epoch (absent until known)").Register(*registry_)),
      late_reports_(BuildCounter()
                        .Name("ringwatch_late_reports_total")
                        .Help("Snapshot reports that arrived after their snapshot was decided")
                        .Register(*registry_)
                        .Add({})),
      report_age_(BuildGauge()
                      .Name("ringwatch_node_last_report_age_seconds")
                      .Help("Seconds since the node's last snapshot report (absent: never heard)")
                      .Register(*registry_)),
      node_retransmits_(BuildCounter()
                            .Name("ringwatch_node_link_retransmits_total")
                            .Help("Messages the node's links to its ring neighbours sent again (summed over the node's restarts)")
                            .Register(*registry_)),
      node_dropped_(BuildCounter()
                        .Name("ringwatch_node_datagrams_dropped_total")
                        .Help("Datagrams the node received and dropped, by reason (summed over the node's restarts)")
                        .Register(*registry_)),
      node_tokens_passed_(BuildCounter()
                              .Name("ringwatch_node_tokens_passed_total")
                              .Help("Tokens the node passed on (summed over the node's restarts)")
                              .Register(*registry_)),
      membership_events_(BuildCounter()
                             .Name("ringwatch_membership_events_total")
                             .Help("Membership events, by kind (view, node_evicted, node_rejoined, link_fault)")
                             .Register(*registry_)),
      view_epoch_(BuildGauge().Name("ringwatch_view_epoch").Help("The epoch of the ring's current view (absent: no view yet)").Register(*registry_)),
      view_members_(BuildGauge()
                        .Name("ringwatch_view_members")
                        .Help("How many nodes the current view has in the ring (absent: no view yet)")
                        .Register(*registry_)),
      node_in_view_(BuildGauge().Name("ringwatch_node_in_view").Help("1: the node is in the current view; 0: left out").Register(*registry_)),
      leader_(BuildGauge()
                  .Name("ringwatch_monitor_leader")
                  .Help("1 while this monitor leads (a majority of the nodes promised it its term); 0: a standby")
                  .Register(*registry_)
                  .Add({})),
      term_(BuildGauge()
                .Name("ringwatch_monitor_term")
                .Help("The newest term this monitor led or heard of (absent until one is)")
                .Register(*registry_)),
      node_up_(BuildGauge()
                   .Name("ringwatch_node_up")
                   .Help("1: the node is up; 0: reported down (node_down) and not heard since; absent until first heard")
                   .Register(*registry_)),
      nodes_down_(BuildGauge().Name("ringwatch_nodes_down").Help("Nodes reported down and not heard since").Register(*registry_).Add({})),
      ring_(ring) {
    BuildGauge()
        .Name("ringwatch_ring_nodes")
        .Help("Nodes the ring's config names (ringwatch_nodes_down equal to it: the whole ring is down)")
        .Register(*registry_)
        .Add({})
        .Set(static_cast<double>(ring.size()));
    for (MembershipEventKind k :
         {MembershipEventKind::view, MembershipEventKind::node_evicted, MembershipEventKind::node_rejoined, MembershipEventKind::link_fault})
        membership_events_.Add({{"kind", std::string(to_string(k))}});
    for (const char* v : {"ok", "token_lost", "token_duplicated", "inconclusive"}) snapshots_.Add({{"verdict", v}});
    for (const char* k : {"token_lost", "token_duplicated", "node_down"}) incidents_.Add({{"kind", k}});
    for (RecoverMode m : {RecoverMode::regenerate, RecoverMode::rollback}) recoveries_.Add({{"mode", std::string(to_string(m))}});
    BuildGauge()
        .Name("ringwatch_build_info")
        .Help("Always 1: the monitor's version as a label")
        .Register(*registry_)
        .Add({{"version", std::string(kVersion)}})
        .Set(1);
    exposer_.RegisterCollectable(registry_);
}

int MetricsServer::port() const {
    const auto ports = exposer_.GetListeningPorts();
    return ports.empty() ? 0 : ports.front();
}

void MetricsServer::on_verdict(const Verdict& v) {
    snapshots_.Add({{"verdict", std::string(to_string(v.kind))}}).Increment();
    snapshot_seconds_.Observe(std::chrono::duration<double>(v.duration).count());
    if (v.kind == VerdictKind::ok) {
        last_ok_start_ = v.started;
        seen_ok_ = true;
    }
    if (v.kind != VerdictKind::inconclusive) epoch_.Add({}).Set(v.epoch.value);
}

std::map<std::string, std::string> MetricsServer::incident_labels(const IncidentEvent& e) const {
    return {{"ring", ring_name_}, {"epoch", std::to_string(e.incident_epoch.value)}, {"kind", std::string(to_string(e.fault))}};
}

void MetricsServer::on_incident_event(const IncidentEvent& e) {
    switch (e.kind) {
        case IncidentEventKind::alarm:
            incidents_.Add({{"kind", std::string(to_string(e.fault))}}).Increment();
            open_incidents_.Increment();
            incident_open_.Add(incident_labels(e)).Set(1);
            if (seen_ok_) detection_seconds_.Observe(std::chrono::duration<double>(e.verdict.started + e.verdict.duration - last_ok_start_).count());
            break;
        case IncidentEventKind::recovery:
            if (e.issuer || e.restored) recoveries_.Add({{"mode", std::string(to_string(e.mode))}}).Increment();
            if (e.epoch.value) epoch_.Add({}).Set(e.epoch.value);
            break;
        case IncidentEventKind::recovered: break;
        case IncidentEventKind::resolved:
            if (open_incidents_.Value() > 0) open_incidents_.Decrement();
            incident_open_.Remove(&incident_open_.Add(incident_labels(e)));
            break;
    }
}

void MetricsServer::on_node_event(const NodeEvent& e) {
    // The gauges first, the incident count last: a scrape between the two that sees the count
    // grown sees the node down too.
    const bool down = e.kind == NodeEventKind::node_down;
    node_up_.Add({{"node", std::to_string(e.node.value)}}).Set(down ? 0 : 1);
    if (down) {
        down_.insert(e.node);
    } else {
        down_.erase(e.node);
    }
    nodes_down_.Set(static_cast<double>(down_.size()));
    if (down) incidents_.Add({{"kind", "node_down"}}).Increment();
}

void MetricsServer::on_leader_event(const LeaderEvent& e) {
    const double term = static_cast<double>(std::max(e.term, e.later).value);
    if (term > 0) term_.Add({}).Set(std::max(term_.Add({}).Value(), term));
    if (e.kind == LeaderEventKind::leading) leader_.Set(1);
    if (e.kind == LeaderEventKind::stepped_down) leader_.Set(0);
}

void MetricsServer::on_membership_event(const MembershipEvent& e) {
    membership_events_.Add({{"kind", std::string(to_string(e.kind))}}).Increment();
    if (e.kind != MembershipEventKind::view) return;
    view_epoch_.Add({}).Set(e.epoch.value);
    view_members_.Add({}).Set(static_cast<double>(e.members.size()));
    for (NodeId n : ring_) {
        const bool in = std::find(e.members.begin(), e.members.end(), n) != e.members.end();
        node_in_view_.Add({{"node", std::to_string(n.value)}}).Set(in ? 1 : 0);
    }
}

void MetricsServer::on_node_figures(NodeId node, const std::vector<std::pair<std::string, std::int64_t>>& figures) {
    const std::string id = std::to_string(node.value);
    // A new incarnation is a new process, whose counters start again at 0: all it counted is new.
    std::int64_t incarnation = 0;
    for (const auto& [name, value] : figures)
        if (name == "incarnation") incarnation = value;
    auto [seen, first] = incarnations_.try_emplace(node, incarnation);
    const bool restarted = !first && seen->second != incarnation;
    seen->second = incarnation;
    for (const auto& [name, value] : figures) {
        if (name == "pred_retransmits" || name == "succ_retransmits") advance(node_retransmits_.Add({{"node", id}}), node, name, value, restarted);
        if (name == "tokens_passed") advance(node_tokens_passed_.Add({{"node", id}}), node, name, value, restarted);
        if (name.starts_with("drop_")) advance(node_dropped_.Add({{"node", id}, {"reason", name.substr(5)}}), node, name, value, restarted);
    }
}

void MetricsServer::advance(prometheus::Counter& counter, NodeId node, const std::string& figure, std::int64_t value, bool restarted) {
    // Within one process a figure only grows, except a neighbour link's when a view gives the node
    // another neighbour (that link's own count): then the new value is a new baseline, nothing
    // counted, so the sum may miss what that link sent again before, never add what it did not.
    auto [it, first] = node_figures_.try_emplace({node, figure}, 0);
    const std::int64_t gained = restarted || first ? value : std::max<std::int64_t>(0, value - it->second);
    it->second = value;
    if (gained > 0) counter.Increment(static_cast<double>(gained));
}

void MetricsServer::set_report_age(NodeId node, std::optional<double> seconds) {
    if (!seconds) return;  // never heard: absent, not a sentinel
    report_age_.Add({{"node", std::to_string(node.value)}}).Set(*seconds);
    // First heard: up (a node down stays 0 until its node_up event).
    if (!down_.contains(node)) node_up_.Add({{"node", std::to_string(node.value)}}).Set(1);
}

void MetricsServer::set_epoch(std::uint32_t epoch) { epoch_.Add({}).Set(epoch); }

void MetricsServer::set_late_reports(std::uint64_t total) {
    const double now = static_cast<double>(total);
    if (now > late_reports_.Value()) late_reports_.Increment(now - late_reports_.Value());
}

}  // namespace ringwatch::io
