// The rules between monitors (leadership_rules.h).
#include "tests/sim/leadership_rules.h"

#include <fmt/format.h>

namespace ringwatch::sim {

void LeadershipRules::leading(Instant now, NodeId monitor, Term term) {
    last_leading_ = now;
    const auto [it, first] = leaders_.try_emplace(term, monitor);
    if (!first && it->second != monitor)
        violations_->add(rule::one_leader, fmt::format("at {} us monitor {} leads term {}, which monitor {} led already", to_us(now),
                                                       monitor_index(monitor), term.value, monitor_index(it->second)));
}

void LeadershipRules::acted(Instant now, NodeId monitor, Term term, std::string_view what) {
    if (term == kNoTerm) return;
    const auto it = leaders_.find(term);
    if (it == leaders_.end() || it->second != monitor)
        violations_->add(
            rule::one_leader,
            fmt::format("at {} us monitor {} gave an order ({}) in term {}, which {}", to_us(now), monitor_index(monitor), what, term.value,
                        it == leaders_.end() ? std::string("nobody led") : fmt::format("monitor {} led", monitor_index(it->second))));
}

// One fault, one repair: recoveries after a fault come from one monitor, unless leadership changed
// hands meanwhile (the old leader's repair may have come to nothing with it).
void LeadershipRules::recovered(Instant now, NodeId monitor, Instant fault) {
    if (fault_ != fault) {
        fault_ = fault;
        repaired_by_.clear();
    }
    if (last_leading_ && *last_leading_ > fault) return;
    repaired_by_.insert(monitor);
    if (repaired_by_.size() > 1)
        violations_->add(rule::repaired_once, fmt::format("at {} us monitor {} ordered a recovery of the fault of {} us, which another monitor "
                                                          "had already ordered",
                                                          to_us(now), monitor_index(monitor), to_us(fault)));
}

}  // namespace ringwatch::sim
