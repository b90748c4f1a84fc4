// Deliberately broken cores for the checkers' self-tests: each breaks one promise, and the
// simulator's rules must catch it (tests/unit/test_sim_checkers.cpp, `ringsim --mutant NAME`).
// Node and participant mutants break ring member 1 only (node_makes_first_token: member 0, the
// ring's first); monitor mutants break the monitor; walk mutants the by-hand regenerate's tool.
#pragma once

#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "monitor/core/monitor_core.h"
#include "tests/sim/sim_monitor_core.h"
#include "tests/sim/sim_node_core.h"

namespace ringwatch::sim {

enum class Mutant : std::uint8_t {
    none,
    monitor_hides_alarms,           // reports every would-be alarm as inconclusive, naming the first node
    monitor_ignores_missing,        // decides on the reports it has when a snapshot times out
    monitor_miscounts,              // counts tokens recorded in flight twice
    monitor_stops_after_alarm,      // starts no snapshot after its first alarm
    monitor_alarm_storm,            // raises an alarm on every bad verdict, not once per incident
    monitor_misses_dead_nodes,      // never reports a node down
    monitor_guesses_port_closed,    // says every silent node's port is closed, without a refused probe
    monitor_orders_no_token,        // recovers by a new epoch but names no node to issue its token
    monitor_restores_bad_snapshot,  // rolls back to the snapshot after the newest one judged ok (usually the alarm's own)
    participant_skips_channel,      // never records its inbound channel
    participant_closes_late,        // keeps recording its channel one message past the marker
    participant_stale_state,        // records the state it had at its previous recording
    node_delivers_twice,            // hands every application message to its user twice
    node_drops_messages,            // accepts every third application message and forgets it
    node_conjures_token,            // passes one token on twice, with no fault injected
    node_swallows_token,            // keeps one token forever, with no fault injected
    node_makes_first_token,         // node 0 makes a token of its own at every start with no epoch (the rule before births were ordered)
    node_forgets_deliveries,        // a restarted process starts without its delivery record (as with no state_dir)
    walk_names_many_issuers,        // a by-hand regenerate tells every node it orders that it issues the token
    walk_reuses_epoch,              // a by-hand regenerate orders the epoch before the one it chose (the newest, when all answered)
    monitor_issues_twice,           // a view's token ordered from its issuer and from every other node too
    monitor_orders_no_views,        // decides views but never sends them (the ring waits for a dead node forever)
    monitor_evicts_at_once,         // leaves a silent node out as soon as it is reported down (evict_after ignored)
    node_ignores_lease,             // passes tokens on without the monitor's lease (cut off or paused, it uses a replaced token)
    node_confirms_old_terms,        // confirms a leader's term (a claim round > 0) older than the one it promised
    monitor_orders_old_term,        // a leader of a later term gives its orders in the term before its own
    monitor_standby_recovers,       // a standby that sees an alarm orders a recovery too, in the term it knows
    monitor_standby_blind,          // a standby decides nothing (its verdicts are dropped): detection waits for a leader
};

inline constexpr std::size_t kMutatedNode = 1;

std::string_view to_string(Mutant m);
std::optional<Mutant> parse_mutant(std::string_view name);
std::vector<Mutant> all_mutants();

// The ring member at `pos`: the ring's Node, or a mutant's broken one.
std::unique_ptr<SimNodeCore> make_node_core(Mutant m, std::size_t pos, NodeConfig config, Instant now);
// A monitor mutant rewrites what the monitor core decides or sends.
void mutate_verdicts(Mutant m, const MonitorConfig& config, std::vector<Verdict>& verdicts);
void mutate_incidents(Mutant m, const std::vector<Verdict>& verdicts, std::vector<IncidentEvent>& events);
bool mutant_drops_starts(Mutant m, bool alarm_seen);
void mutate_recover_command(Mutant m, RecoverCommand& c);
void mutate_node_events(Mutant m, std::vector<NodeEvent>& events);
void mutate_view_orders(Mutant m, std::size_t nodes, std::vector<std::pair<NodeId, Message>>& orders);
// A leader's orders in the term before its own (monitor_orders_old_term).
void mutate_order_terms(Mutant m, MonitorOutput& out);
// Every monitor mutant's edit of what a monitor core decided (the `decided` hook of
// SimMonitorCore): `core` is that monitor's (none while it is being made), `alarm_seen` whether
// any monitor has raised an alarm yet.
void mutate_decided(Mutant m, const MonitorConfig& config, std::size_t nodes, bool alarm_seen, const SimMonitorCore* core, MonitorOutput& out);
// A mutant's edit of the monitor's own config (before the core is made).
void mutate_monitor_config(Mutant m, MonitorConfig& c);
// A walk mutant rewrites the by-hand regenerate's order to `to`.
void mutate_walk_order(Mutant m, NodeId to, RecoverCommand& c);

}  // namespace ringwatch::sim
