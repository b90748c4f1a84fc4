// The whole system in the deterministic simulator: N ring nodes, each the production NodeProcess
// (links, backlog, node: the very glue `ring node` runs), and a monitor (an Endpoint and the real
// MonitorCore), on a simulated faulty network in virtual time. One seed decides every choice.
//
// A run: faults rage for `duration` (network faults, injected token faults, crashes), then the
// network heals and the run settles for as long as the backlog of application messages and the
// detection bound need. Ground truth comes from an oracle that trusts none of the code under test
// (token_oracle.h); every rule (invariants.h, message_ledger.h) is checked on every run.
#pragma once

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "monitor/core/monitor_core.h"
#include "tests/sim/event_queue.h"
#include "tests/sim/invariants.h"
#include "tests/sim/leadership_rules.h"
#include "tests/sim/message_ledger.h"
#include "tests/sim/mutants.h"
#include "tests/sim/prng.h"
#include "tests/sim/sim_monitor_core.h"
#include "tests/sim/sim_network.h"
#include "tests/sim/sim_tool.h"
#include "tests/sim/space_time.h"
#include "tests/sim/token_oracle.h"

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
    NetworkFaults net;
    Duration hold = std::chrono::milliseconds(20);
    Duration interval = std::chrono::milliseconds(100);
    Duration timeout = std::chrono::milliseconds(1000);
    Duration node_timeout = std::chrono::milliseconds(1000);
    RecoveryMode recover = RecoveryMode::off;
    // The monitor's views (MonitorConfig::evict_after): unset, the ring is always the configured one.
    std::optional<Duration> evict_after;
    bool single_initiator = false;
    double app_messages_per_s = 5;
    std::vector<TimedInject> injects;
    std::vector<TimedCrash> crashes;
    // Monitors configured (ids monitor_id(0), monitor_id(1), ...): each judges, one leads a term.
    std::size_t monitors = 1;
    // A monitor process stops at `at` and a new one (new incarnation, new era) starts after `down`.
    struct MonitorRestart {
        Duration at;
        Duration down;
        std::size_t monitor = 0;  // which one
    };
    std::vector<MonitorRestart> monitor_restarts;
    // A monitor process is stopped (SIGSTOP) at `at` for `length`, then continues: the same
    // process, its datagrams waiting at its socket meanwhile.
    struct MonitorPause {
        Duration at;
        Duration length;
        std::size_t monitor = 0;
    };
    std::vector<MonitorPause> monitor_pauses;
    // A monitor killed for good (kill -9, never restarted).
    struct MonitorKill {
        Duration at;
        std::size_t monitor = 0;
    };
    std::vector<MonitorKill> monitor_kills;
    // A node process stopped (SIGSTOP) at `at` for `length`: what reaches its socket waits, its
    // timers wait, then it carries on (the same process).
    struct NodePause {
        Duration at;
        std::size_t node;
        Duration length;
    };
    std::vector<NodePause> node_pauses;
    // The network cut in two from `at` for `length`: the nodes at `side` (ring positions; with the
    // first monitor if `monitor_on_side`, the others never) from the others. One-way: only datagrams into the side are lost
    // (it still speaks, and is heard).
    struct Partition {
        Duration at;
        Duration length;
        std::vector<std::size_t> side;
        bool monitor_on_side = false;
        bool one_way = false;
    };
    std::vector<Partition> partitions;
    // `ring recover` with no monitor answering: a regenerate walked by hand by a tool process
    // (sim_tool.h) starting at each of these times.
    std::vector<Duration> regenerates_by_hand;
    // A deliberately broken core, for the checkers' self-tests (mutants.h).
    Mutant mutant = Mutant::none;
    // Records what a space-time diagram needs (space_time.h), when set; not owned. Off by default.
    SpaceTimeRecorder* space_time = nullptr;
};

struct SimSummary {
    std::uint64_t seed = 0;
    std::uint64_t snapshots = 0, ok = 0, token_lost = 0, token_duplicated = 0, inconclusive = 0;
    std::uint64_t incidents = 0, incidents_resolved = 0;
    std::uint64_t faults_taken_effect = 0, faults_detected = 0;
    std::uint64_t walks = 0, walks_regenerated = 0;                        // by-hand regenerates started, and said done
    std::uint64_t views = 0, evictions = 0, rejoins = 0, link_faults = 0;  // the monitor's membership events
    MessageTally messages;
    std::uint64_t link_retransmits = 0;
    std::uint64_t datagrams_lost = 0, datagrams_duplicated = 0, datagrams_reordered = 0;
    TokenCount tokens_at_end;
    std::uint64_t events = 0;     // events the queue ran: datagram arrivals, wake-ups, faults, ...
    std::uint64_t datagrams = 0;  // datagrams sent on the simulated network
    Duration virtual_time{0};
    Duration settle_bound{0};                             // how long the run could settle after healing
    std::vector<Violation> violations;                    // the first few per rule
    std::map<std::string, std::size_t> violation_counts;  // per rule, all of them
    bool ok_run() const { return violation_counts.empty(); }
    std::size_t count(std::string_view r) const {
        auto it = violation_counts.find(std::string(r));
        return it == violation_counts.end() ? 0 : it->second;
    }
};

class SimCluster {
public:
    explicit SimCluster(SimConfig config);
    ~SimCluster();

    // Called with every verdict as it is decided, and every incident event right after the verdict
    // that caused it (ringsim prints them).
    std::function<void(const Verdict&)> on_verdict;
    std::function<void(const IncidentEvent&)> on_incident;
    std::function<void(const NodeEvent&)> on_node_event;
    std::function<void(const MembershipEvent&)> on_membership_event;

    SimSummary run();

private:
    struct SimNode;
    struct NodeWatch;
    struct SimMonitor;
    struct MonitorWatch;
    struct Source {
        NodeId from;
        std::uint32_t gen;
    };

    NodeId id_of(std::size_t pos) const { return NodeId{static_cast<std::uint16_t>(pos)}; }
    void boot_node(std::size_t pos);
    void crash_node(std::size_t pos);
    void pause_node(std::size_t pos);
    void sender_gone_later(Instant at, NodeId id, std::uint32_t gen);
    void resume_node(std::size_t pos);
    void cut(const SimConfig::Partition& p, bool on);
    void pump_node(std::size_t pos, std::optional<Source> source = std::nullopt);
    void start_monitor(std::size_t k);
    void stop_monitor(std::size_t k);
    void pause_monitor(std::size_t k);
    void resume_monitor(std::size_t k);
    void monitor_datagram(std::size_t k, NodeId from, std::uint32_t from_gen, Bytes d);
    void decided(std::size_t k, MonitorOutput& out);
    void pump_monitor(std::size_t k, std::optional<Source> source = std::nullopt);
    std::vector<NodeId> monitor_ids() const;
    // Every monitor's checker (the per-monitor rules), for what concerns them all (a node's crash).
    template <typename F>
    void each_checker(F f) {
        for (auto& c : checkers_) f(*c);
    }
    void send_app_message();
    void regenerate_by_hand();  // sim_tool.cpp
    Instant settle_deadline(Instant healed_at, bool lossy) const;

    SimConfig config_;
    EventQueue events_;
    // As the runtime does, a process start's incarnation grows with the (virtual) time it starts at;
    // the low bits stay random so that processes starting together differ.
    Incarnation start_incarnation(Instant now) { return Incarnation{(static_cast<std::uint64_t>(to_us(now)) + 1) << 16 | (prng_.next() & 0xFFFF)}; }

    Prng prng_;
    SimNetwork net_;
    Violations violations_;
    TokenOracle oracle_;
    // One checker per monitor: each monitor's verdicts, incidents and node events kept to the rules
    // while it runs (detection goes on while any monitor lives); the rules between monitors (one
    // leader acts per term, no old term obeyed, one repair per fault) in leadership_rules_.
    std::vector<std::unique_ptr<InvariantChecker>> checkers_;
    LeadershipRules leadership_rules_;
    MessageLedger ledger_;
    std::vector<std::unique_ptr<SimNode>> nodes_;
    std::vector<std::unique_ptr<SimMonitor>> monitors_;
    std::vector<std::unique_ptr<SimRegenerateTool>> tools_;  // kept to the end: their events may still be queued
    SimSummary counts_;
    bool alarm_seen_ = false;       // by any monitor
    std::set<std::size_t> killed_;  // monitors killed for good
    std::map<std::pair<NodeId, NodeId>, std::uint64_t> app_sent_;
    bool healed_ = false;
};

SimSummary run_simulation(const SimConfig& config, const std::function<void(const Verdict&)>& on_verdict = {},
                          const std::function<void(const IncidentEvent&)>& on_incident = {},
                          const std::function<void(const NodeEvent&)>& on_node_event = {},
                          const std::function<void(const MembershipEvent&)>& on_membership_event = {});

}  // namespace ringwatch::sim
