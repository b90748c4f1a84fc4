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

// What a space-time diagram of a replay needs (cl_diagram.h draws it): every message from its
// queueing to its delivery, and every recording, each with the tick and the order it happened in.
struct ReplayTrace {
    struct Message {
        std::string src, dst;
        bool marker = false;
        int tokens = 0;
        SnapshotId id;  // a marker's
        int sent = 0;
        std::uint64_t sent_seq = 0;
        std::optional<int> received;
        std::uint64_t received_seq = 0;
        std::size_t channel_index = 0;  // a token: how many tokens its channel delivered before it
    };
    struct Recording {
        std::string server;
        SnapshotId id;
        int at = 0;
        std::uint64_t seq = 0;
        int state = 0;
        std::optional<std::string> marker_from;  // none: it started the snapshot
        // Per inbound channel (by source): how many tokens it had delivered when the state was recorded.
        std::map<std::string, std::size_t> delivered_before;
    };
    std::vector<Message> messages;
    std::vector<Recording> recordings;
};

class Replay {
public:
    Replay(const Topology& top, DelaySource delays);

    // Runs the script, then ticks until every snapshot is complete. Throws std::runtime_error
    // naming the file and line of a command that cannot run, or the snapshots that cannot complete.
    void run(const std::vector<Command>& script, const std::string& events_file);

    // Keep a ReplayTrace of the run (call before run()).
    void trace() { tracing_ = true; }
    const ReplayTrace& traced() const { return trace_; }

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
        std::size_t traced = 0;  // its ReplayTrace::messages index
    };
    void queue(const std::string& src, const std::string& dst, Item item);
    void drain(const std::string& server);
    void tick();
    bool complete() const;
    void note_recording(const std::string& server, SnapshotId id, const std::optional<std::string>& marker_from);

    std::map<std::string, int> balance_;
    std::map<std::pair<std::string, std::string>, std::deque<Item>> links_;  // lexicographic by (src, dst)
    std::map<std::string, std::unique_ptr<Participant>> part_;
    std::map<int, std::map<std::string, Participant::Completed>> done_;
    DelaySource delays_;
    int now_ = 0;
    int next_snapshot_ = 0;
    int total_ = 0;
    bool tracing_ = false;
    ReplayTrace trace_;
    std::uint64_t seq_ = 0;
    std::map<std::pair<std::string, std::string>, std::size_t> tokens_delivered_;  // per channel, when tracing
};

}  // namespace ringwatch::cl
