// The rules between monitors (leadership_rules.h).
#include "tests/sim/leadership_rules.h"

#include <fmt/format.h>

namespace ringwatch::sim {

namespace {
// The term an order carries, and what to call it (a view, a token order, a lease ...): none for
// what is not an order.
std::optional<std::pair<Term, std::string_view>> order_term(const Message& m) {
    if (const auto* v = std::get_if<ViewOrder>(&m)) return std::pair{v->term, std::string_view("view")};
    if (const auto* i = std::get_if<IssueToken>(&m)) return std::pair{i->term, std::string_view("token order")};
    if (const auto* g = std::get_if<LeaseGrant>(&m)) return std::pair{g->term, std::string_view("lease")};
    if (const auto* r = std::get_if<RecoverCommand>(&m)) return std::pair{r->term, std::string_view("recovery")};
    return std::nullopt;
}
}  // namespace

bool LeadershipRules::decided(Instant now, NodeId monitor, const MonitorOutput& out, std::optional<Instant> repairable_fault) {
    bool leading_now = false;
    for (const auto& e : out.leader_events)
        if (e.kind == LeaderEventKind::leading) {
            leading(now, monitor, e.term);
            leading_now = true;
        }
    for (const auto& [n, o] : out.view_orders)
        if (const auto t = order_term(o)) acted(now, monitor, t->first, t->second);
    for (const auto& [n, k] : out.keeps) acted(now, monitor, k.term, "keep order");
    for (const auto& [n, rc] : out.recover_commands) acted(now, monitor, rc.term, "recovery");
    if (!out.recover_commands.empty() && repairable_fault) recovered(now, monitor, *repairable_fault);
    return leading_now;
}

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
