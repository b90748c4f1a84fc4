// What the simulator's checkers found: each violation names the rule it breaks, so a self-test can
// show that a given rule (not just any rule) catches a given broken core.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace ringwatch::sim {

// The rules, as named in violations and in the README.
namespace rule {
inline constexpr std::string_view conservation = "conservation";    // a token made or lost by no fault
inline constexpr std::string_view birth = "birth";                  // a token born without the monitor's order, or twice in one epoch
inline constexpr std::string_view cut = "cut";                      // a node's report differs from the cut it recorded
inline constexpr std::string_view verdict = "verdict";              // a verdict differs from the reports it rests on
inline constexpr std::string_view truth = "truth";                  // a verdict differs from a count that held throughout
inline constexpr std::string_view false_alarm = "false-alarm";      // an alarm while there was exactly one token throughout
inline constexpr std::string_view naming = "naming";                // an inconclusive verdict names the wrong nodes
inline constexpr std::string_view outage = "outage";                // a verdict although a node was down throughout
inline constexpr std::string_view detection = "detection";          // no conclusive, right verdict within the bound
inline constexpr std::string_view incidents = "incidents";          // an alarm repeated while its incident is open
inline constexpr std::string_view messages = "messages";            // an application message repeated, reordered or lost
inline constexpr std::string_view liveness = "liveness";            // messages still queued after the settle bound
inline constexpr std::string_view recovery = "recovery";            // with recovery on, the ring not back to one token in time
inline constexpr std::string_view node_events = "node-events";      // a node_down that is not true, or a dead node not reported
inline constexpr std::string_view eviction = "eviction";            // a node left out for a silence shorter than evict_after
inline constexpr std::string_view healing = "healing";              // with views, the ring not judged ok again without a dead node in time
inline constexpr std::string_view partition = "partition";          // a token passed by a node the newest view with a token left out
inline constexpr std::string_view one_leader = "one-leader";        // two monitors led one term, or one acted in a term it did not lead
inline constexpr std::string_view old_term = "old-term";            // a node obeyed an order of a term older than one it had obeyed
inline constexpr std::string_view repaired_once = "repaired-once";  // one token fault repaired by two monitors
}  // namespace rule

struct Violation {
    std::string rule;
    std::string what;
};

class Violations {
public:
    // Keeps the first few texts per rule (a broken core can break a rule thousands of times) and
    // counts them all.
    void add(std::string_view r, std::string what) {
        auto& n = counts_[std::string(r)];
        if (++n <= kKeptPerRule) list_.push_back({std::string(r), std::move(what)});
    }
    bool empty() const { return counts_.empty(); }
    std::size_t count(std::string_view r) const {
        auto it = counts_.find(std::string(r));
        return it == counts_.end() ? 0 : it->second;
    }
    const std::vector<Violation>& kept() const { return list_; }
    const std::map<std::string, std::size_t>& counts() const { return counts_; }

private:
    static constexpr std::size_t kKeptPerRule = 10;
    std::vector<Violation> list_;
    std::map<std::string, std::size_t> counts_;
};

}  // namespace ringwatch::sim
