// The whole system in the deterministic simulator: N ring nodes and a monitor, each an Endpoint
// (the real link cores) plus its real core (Node, MonitorCore), on a simulated faulty network in
// virtual time. One seed decides every choice. The simulator knows the true number of tokens at
// every instant and checks the invariants of DESIGN.md against every verdict.
//
// A run: faults rage for `duration` (network faults, injected token faults, crashes), then the
// network heals and the run continues until every application message is delivered or
// `heal_within` passes (liveness).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "monitor/core/monitor_core.h"
#include "ring/core/node.h"
#include "tests/sim/event_queue.h"
#include "tests/sim/prng.h"
#include "tests/sim/sim_network.h"

namespace ringwatch::sim {

struct TimedInject {
    Duration at;
    std::size_t node;  // ring position
    InjectKind kind;
};
struct TimedCrash {
    Duration at;
    std::size_t node;
    std::optional<Duration> restart_after;  // none: stays down
};

struct SimConfig {
    std::uint64_t seed = 1;
    std::size_t nodes = 5;
    Duration duration = std::chrono::seconds(20);
    Duration heal_within = std::chrono::seconds(30);
    NetworkFaults net;
    Duration hold = std::chrono::milliseconds(20);
    Duration interval = std::chrono::milliseconds(100);
    Duration timeout = std::chrono::milliseconds(1000);
    bool single_initiator = false;
    double app_messages_per_s = 5;
    std::vector<TimedInject> injects;
    std::vector<TimedCrash> crashes;
    // For the checker's own test: the simulator hides tokens recorded in flight from the monitor,
    // as a participant that does not record channels would. The invariants must catch it.
    bool sabotage_channel_recording = false;
};

struct SimSummary {
    std::uint64_t seed = 0;
    std::uint64_t snapshots = 0, ok = 0, token_lost = 0, token_duplicated = 0, inconclusive = 0;
    std::uint64_t faults_taken_effect = 0, faults_detected = 0;
    std::uint64_t app_sent = 0, app_delivered = 0;
    std::uint64_t link_retransmits = 0;
    std::uint64_t datagrams_lost = 0, datagrams_duplicated = 0, datagrams_reordered = 0;
    Duration virtual_time{0};
    std::vector<std::string> violations;  // empty: every invariant held
    bool ok_run() const { return violations.empty(); }
};

class SimCluster {
public:
    explicit SimCluster(SimConfig config);
    ~SimCluster();

    // Called with every verdict as it is decided (ringsim prints them).
    std::function<void(const Verdict&)> on_verdict;

    SimSummary run();

private:
    struct SimNode;
    struct SimMonitor;

    NodeId id_of(std::size_t pos) const { return NodeId{static_cast<std::uint16_t>(pos)}; }
    void boot_node(std::size_t pos, bool initial_token);
    void crash_node(std::size_t pos);
    void pump_node(std::size_t pos);
    void pump_monitor();
    void arm_node_timer(std::size_t pos);
    void arm_monitor_timer();
    void send_app_message();
    void note_truth();
    std::uint32_t true_tokens() const;
    void check_verdict(const Verdict& v);
    void check_end(SimSummary& s);
    bool all_app_delivered() const;

    SimConfig config_;
    EventQueue events_;
    Prng prng_;
    SimNetwork net_;
    std::vector<std::unique_ptr<SimNode>> nodes_;
    std::unique_ptr<SimMonitor> monitor_;

    // Ground truth: tokens handed to a ring link and not yet taken by the receiving node core.
    std::map<std::pair<NodeId, NodeId>, std::int64_t> in_transit_;
    std::vector<std::pair<Instant, std::uint32_t>> truth_;  // (since, count)
    std::map<NodeId, std::vector<std::pair<Instant, std::optional<Instant>>>> outages_;
    std::vector<std::pair<Instant, TokenEventKind>> fault_effects_;
    std::vector<Verdict> verdicts_;
    bool any_token_fault_ = false;
    bool any_crash_ = false;

    // Application messages: what each source sent to each destination, and what arrived.
    std::map<std::pair<NodeId, NodeId>, std::uint64_t> app_sent_;
    std::map<std::pair<NodeId, NodeId>, std::uint64_t> app_last_seen_;
    std::uint64_t app_sent_total_ = 0, app_delivered_total_ = 0;
    std::vector<std::string> violations_;
    bool healed_ = false;
};

SimSummary run_simulation(const SimConfig& config, const std::function<void(const Verdict&)>& on_verdict = {});

}  // namespace ringwatch::sim
