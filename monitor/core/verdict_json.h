// Verdicts as the one-line JSON events of the README ("Contracts"), shared by the monitor
// program and the simulator so that both speak exactly the same format.
#pragma once

#include <string>

#include "monitor/core/incidents.h"
#include "monitor/core/leadership.h"
#include "monitor/core/membership.h"
#include "monitor/core/node_liveness.h"

namespace ringwatch {

// {"event":"snapshot",...} for every verdict.
std::string snapshot_event_json(const Verdict& v);
// {"event":"alarm",...} for token_lost / token_duplicated verdicts.
std::string alarm_event_json(const Verdict& v);
// An incident event: the alarm that opened it ({"event":"alarm",...}), or
// {"event":"resolved","kind":...,"first_snapshot":...,"last_snapshot":...,"snapshot":...,"duration_ms":...,"how":...}.
// `ring`: the ring's name, in the incident's id (incident_id()).
std::string incident_event_json(const IncidentEvent& e, std::string_view ring);
// {"event":"node_down","node":3,"silent_ms":210,"address":"port_closed","ever_heard":true} or
// {"event":"node_up","node":3,"down_ms":2300,"restarted":true}.
std::string node_event_json(const NodeEvent& e);
// A `view`, `node_evicted` or `node_rejoined` event (monitor/core/membership.h).
std::string membership_event_json(const MembershipEvent& e);
// {"event":"leadership","kind":"leading","term":2,"promises":3}: this monitor's claims and terms.
std::string leader_event_json(const LeaderEvent& e);

}  // namespace ringwatch
