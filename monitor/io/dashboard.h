// `monitor --http`: the live dashboard. Joins the monitor's events (DashboardFeed turns them into
// messages), the web server that streams them to the pages (on a thread of its own), and the
// page's controls, which act through the monitor's own authenticated links (MonitorDriver). It
// reads the clocks (monotonic and wall) for the feed, and publishes what /healthz judges.
#pragma once

#include <memory>
#include <string>

#include "monitor/core/dashboard_feed.h"
#include "monitor/io/monitor_driver.h"
#include "monitor/io/web_thread.h"

namespace ringwatch::io {

class Dashboard {
public:
    // Listens at `bind_address`; throws std::runtime_error naming it when it cannot.
    Dashboard(uv_loop_t* loop, const std::string& bind_address, const RingConfig& ring, const MonitorConfig& mc, MonitorDriver& monitor);
    Dashboard(const Dashboard&) = delete;
    Dashboard& operator=(const Dashboard&) = delete;

    // The page's address with this run's secret for the controls (in the fragment: never sent on).
    std::string url() const;

    void on_verdict(const Verdict& v, const std::vector<IncidentEvent>& incidents);
    void on_incidents(const std::vector<IncidentEvent>& events);
    void on_node_event(const NodeEvent& e);
    void on_membership_event(const MembershipEvent& e);

private:
    ControlAnswer control(const ControlRequest& r);
    void acknowledged(std::string what, bool ok);
    void on_tick();
    // The monitor's totals, sent when they changed (after every verdict and event).
    void send_totals();
    void send(const std::vector<std::string>& messages);

    MonitorDriver& monitor_;
    std::vector<NodeId> ring_;
    std::string host_;
    std::string secret_;
    DashboardFeed feed_;
    WebThread server_;
    UvHandle<uv_timer_t> tick_;
};

}  // namespace ringwatch::io
