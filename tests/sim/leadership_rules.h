// The rules between monitors, checked as the monitors decide: at most one monitor leads a term, and
// only it gives orders in that term; a token fault is repaired by one monitor, not once per
// monitor that saw it. (That no node obeys an order of an older term than one it obeyed is the
// oracle's, which sees the nodes' acknowledgements: token_oracle.h.)
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string_view>

#include "monitor/core/monitor_core.h"
#include "ring/core/messages.h"
#include "tests/sim/violations.h"

namespace ringwatch::sim {

class LeadershipRules {
public:
    explicit LeadershipRules(Violations& violations) : violations_(&violations) {}
    // A copy reports to its own list (ringcheck copies the whole simulated world).
    void rebind(Violations& violations) { violations_ = &violations; }

    // A monitor's `leading` event.
    void leading(Instant now, NodeId monitor, Term term);
    // An order a monitor gave in `term` (a view, a token order, a recovery, a keep order, a lease).
    void acted(Instant now, NodeId monitor, Term term, std::string_view what);
    // A recovery a monitor ordered after the token fault that took effect at `fault` (the latest,
    // with no crash since).
    void recovered(Instant now, NodeId monitor, Instant fault);

    // Everything of the above in what a monitor core just decided: its `leading` events, the terms of
    // its orders, and its recoveries (of the fault that took effect at `repairable_fault`, the latest
    // with no crash since, if any). Returns whether it began to lead a term.
    bool decided(Instant now, NodeId monitor, const MonitorOutput& out, std::optional<Instant> repairable_fault);

    std::size_t terms_led() const { return leaders_.size(); }

private:
    Violations* violations_;
    std::map<Term, NodeId> leaders_;
    // The recoveries since the latest fault: who ordered them, and whether a new leader came meanwhile.
    std::optional<Instant> fault_;
    std::set<NodeId> repaired_by_;
    std::optional<Instant> last_leading_;
};

}  // namespace ringwatch::sim
