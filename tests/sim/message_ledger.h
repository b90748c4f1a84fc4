// Every application message the simulator offered, from the moment a node accepted it to its
// delivery, followed at the nodes' boundary: accepted by send_app, seen leaving its source on a
// busy token (oracle_wire), reported delivered by the destination's core.
#pragma once

#include <cstring>
#include <functional>
#include <map>
#include <vector>

#include "ring/core/types.h"
#include "tests/sim/violations.h"

namespace ringwatch::sim {

// A simulated application message's payload: its sequence number per (source, destination), which
// the ledger follows (8 bytes; anything else reads as 0).
inline Bytes app_payload(std::uint64_t seq) {
    Bytes b(8);
    std::memcpy(b.data(), &seq, 8);
    return b;
}
inline std::uint64_t app_payload_seq(const Bytes& b) {
    std::uint64_t v = 0;
    if (b.size() == 8) std::memcpy(&v, b.data(), 8);
    return v;
}

struct MessageTally {
    std::uint64_t sent = 0;
    std::uint64_t delivered = 0;
    std::uint64_t queued = 0;          // never left its source: waiting for a free token at the end
    std::uint64_t lost_to_faults = 0;  // not delivered, and a token fault or crash came after it was sent
};

class MessageLedger {
public:
    explicit MessageLedger(Violations& v) : violations_(&v) {}
    // A copy reports to its own list (ringcheck copies the whole simulated world).
    void rebind(Violations& v) { violations_ = &v; }

    // `src_gen`: the generation (process) of the source that accepted it.
    void sent(Instant now, NodeId src, std::uint32_t src_gen, NodeId dst, std::uint64_t seq);
    void departed(NodeId src, NodeId dst, std::uint64_t seq);
    // At most once per destination, whatever its restarts (every simulated node keeps a state
    // directory, where its delivery record survives them), and in order per (source process,
    // destination), always; except a `redelivery`: a delivery a rollback undid, made again (it
    // must follow a delivery to that node, by any of its processes, and only a rollback allows
    // it). Order is per source process: a rollback to a cut before a source's crash brings back
    // what its old process had queued, which may then arrive after what its new process sent.
    void delivered(Instant now, NodeId src, NodeId dst, std::uint64_t seq, bool redelivery = false);
    // A rollback was done somewhere: redeliveries are allowed from now on.
    void rolled_back() { rollbacks_ = true; }
    // Order across a rollback: `dst` recorded its state for `snapshot` (the ledger notes how far it
    // had delivered from each source), and later restored it, undoing every delivery after that
    // cut: from there the order is that of the restored history (the undone ones come again as
    // redeliveries, and what the cut still owed comes first).
    void recorded(NodeId dst, SnapshotId snapshot);
    void restored(NodeId dst, SnapshotId snapshot);

    // Messages neither delivered nor excused: still queued at their source, or lost.
    std::uint64_t waiting(const std::function<bool(Instant)>& disturbed_since) const;
    // Every message not delivered yet, excused or not: all of them queue for the token.
    std::uint64_t undelivered() const;
    // Exactly once, between faults and after the last one: a message not delivered by the end is
    // excused only if a token fault or a crash came after it was sent (`disturbed_since`).
    MessageTally finish(const std::function<bool(Instant)>& disturbed_since, bool healthy_at_end, Duration settle_bound);

private:
    struct Msg {
        Instant sent;
        bool departed = false;
        unsigned deliveries = 0;  // redeliveries apart
        std::uint32_t src_gen = 0;
    };
    using Source = std::pair<NodeId, std::uint32_t>;                    // a source process: node, generation
    std::map<std::pair<NodeId, NodeId>, std::vector<Msg>> msgs_;        // index: seq - 1
    std::map<NodeId, std::map<Source, std::uint64_t>> last_delivered_;  // dst -> source process -> highest seq
    static constexpr std::size_t kCutsKept = 4096;                      // per node, as the oracle keeps reported cuts
    std::map<NodeId, std::map<SnapshotId, std::map<Source, std::uint64_t>>> at_cut_;
    bool rollbacks_ = false;
    Violations* violations_;
};

}  // namespace ringwatch::sim
