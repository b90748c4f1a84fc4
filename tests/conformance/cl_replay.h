// The exercise's discrete-time simulator, driving ringwatch's own SnapshotParticipant (the very
// template the ring uses, with int balances, int token messages and string server ids).
//
// Rules: time starts at 0; `tick` adds 1, then delivers. Each queued message (token or marker) is
// due at now + 1 + d, d in 0..4 from the delay source, consumed one per queued message in queueing
// order. A link is a FIFO: only its head may be delivered, once due. In each tick, senders are
// visited in lexicographic order, and for each the first of its outgoing links (lexicographic by
// destination) whose head is due delivers that one message; each delivery is handled at once.
#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "ring/core/snapshot.h"
#include "tests/conformance/cl_format.h"
#include "tests/sim/prng.h"

namespace ringwatch::cl {

// The digits of --delays, then 0 once they run out; or a seeded generator.
class DelaySource {
public:
    static DelaySource digits(std::string d) { return DelaySource(std::move(d), std::nullopt); }
    static DelaySource seeded(std::uint64_t seed) { return DelaySource({}, seed); }
    int next();

private:
    DelaySource(std::string d, std::optional<std::uint64_t> seed) : digits_(std::move(d)), prng_(seed.value_or(0)), seeded_(seed.has_value()) {}
    std::string digits_;
    std::size_t pos_ = 0;
    sim::Prng prng_;
    bool seeded_;
};

class Replay {
public:
    Replay(const Topology& top, DelaySource delays);

    // Runs the script, then ticks until every snapshot is complete. Throws std::runtime_error
    // naming the file and line of a command that cannot run, or the snapshots that cannot complete.
    void run(const std::vector<Command>& script, const std::string& events_file);

    std::vector<RecordedSnapshot> snapshots() const;
    int total_tokens() const { return total_; }
    int now() const { return now_; }

private:
    using Participant = SnapshotParticipant<int, int, std::string>;
    struct Item {
        bool marker;
        int tokens;
        SnapshotId id;
        int due;
    };
    void queue(const std::string& src, const std::string& dst, Item item);
    void drain(const std::string& server);
    void tick();
    bool complete() const;

    std::map<std::string, int> balance_;
    std::map<std::pair<std::string, std::string>, std::deque<Item>> links_;  // lexicographic by (src, dst)
    std::map<std::string, std::unique_ptr<Participant>> part_;
    std::map<int, std::map<std::string, Participant::Completed>> done_;
    DelaySource delays_;
    int now_ = 0;
    int next_snapshot_ = 0;
    int total_ = 0;
};

}  // namespace ringwatch::cl
