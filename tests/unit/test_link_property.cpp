// Property: over any mix of loss (up to 50%), duplication (up to 20%), reordering and delay, the
// link delivers exactly the sent sequence, both ways, and the run terminates. 1000 seeds, in shards
// so that ctest can run them in parallel. A failure prints the seed and its faults to replay it.
#include <catch2/catch.hpp>

#include <cstring>

#include "tests/sim/sim_link_host.h"

using namespace ringwatch;
using namespace ringwatch::sim;
using namespace std::chrono_literals;

namespace {

constexpr std::uint64_t kMessagesEachWay = 10'000;
constexpr std::uint64_t kSeedsPerShard = 100;
constexpr Duration kVirtualTimeLimit = 600s;

// Message i: its index, padded to a length that varies with i so frames pack unevenly.
Bytes make_message(std::uint64_t i) {
    Bytes b(8 + (i * 7919) % 57, static_cast<std::uint8_t>(i));
    std::memcpy(b.data(), &i, 8);
    return b;
}

struct Direction {
    std::uint64_t next_to_send = 0;
    std::uint64_t next_expected = 0;
    bool broken = false;  // a wrong, repeated or reordered delivery
};

struct Outcome {
    bool finished = false;
    bool in_order = true;
    std::uint64_t delivered_ab = 0, delivered_ba = 0;
    Duration virtual_time{};
};

Outcome run_seed(std::uint64_t seed, NetworkFaults& faults_out) {
    Prng prng(seed);
    NetworkFaults f;
    f.loss = prng.unit() * 0.5;
    f.duplicate = prng.unit() * 0.2;
    f.reorder = prng.unit() * 0.3;
    f.delay_min = Duration{prng.between(5, 100)};
    f.delay_max = f.delay_min + Duration{prng.between(0, 2000)};
    f.reorder_delay_max = Duration{prng.between(100, 5000)};
    faults_out = f;

    EventQueue events;
    SimNetwork net(events, prng, f);
    LinkConfig config;
    config.window_messages = static_cast<std::uint32_t>(64 << prng.below(5));  // 64..1024
    const NodeId a_id{1}, b_id{2};
    SimLinkHost a(events, net, a_id, Incarnation{prng.next() | 1}, config);
    SimLinkHost b(events, net, b_id, Incarnation{prng.next() | 1}, config);
    a.add_peer(b_id);
    b.add_peer(a_id);

    Direction ab, ba;
    auto feed = [](SimLinkHost& from, NodeId to, Direction& d) {
        while (d.next_to_send < kMessagesEachWay) {
            if (from.endpoint().send(to, make_message(d.next_to_send)) != SendStatus::queued) break;
            ++d.next_to_send;
        }
    };
    auto check = [](Direction& d, const Bytes& m) {
        if (m != make_message(d.next_expected)) d.broken = true;
        ++d.next_expected;
    };
    a.on_deliver = [&](NodeId, Bytes m) { check(ba, m); };
    b.on_deliver = [&](NodeId, Bytes m) { check(ab, m); };
    a.on_event = [&](NodeId, const LinkEvent& e) {
        if (e.kind == LinkEventKind::window_open) feed(a, b_id, ab);
    };
    b.on_event = [&](NodeId, const LinkEvent& e) {
        if (e.kind == LinkEventKind::window_open) feed(b, a_id, ba);
    };
    feed(a, b_id, ab);
    feed(b, a_id, ba);
    a.pump();
    b.pump();

    auto done = [&] {
        return ab.next_expected >= kMessagesEachWay && ba.next_expected >= kMessagesEachWay && a.endpoint().link(b_id)->in_flight() == 0 &&
               b.endpoint().link(a_id)->in_flight() == 0;
    };
    const Instant start = events.now();
    while (!done() && events.now() - start < kVirtualTimeLimit && events.step()) {}
    Outcome o;
    o.finished = done();
    o.in_order = !ab.broken && !ba.broken && ab.next_expected == kMessagesEachWay && ba.next_expected == kMessagesEachWay;
    o.delivered_ab = ab.next_expected;
    o.delivered_ba = ba.next_expected;
    o.virtual_time = events.now() - start;
    return o;
}

void run_shard(std::uint64_t shard) {
    for (std::uint64_t seed = shard * kSeedsPerShard; seed < (shard + 1) * kSeedsPerShard; ++seed) {
        NetworkFaults f;
        const Outcome o = run_seed(seed, f);
        INFO("replay: seed " << seed << " loss " << f.loss << " dup " << f.duplicate << " reorder " << f.reorder << " delivered a->b "
                             << o.delivered_ab << " b->a " << o.delivered_ba << " virtual " << o.virtual_time.count() << "us");
        REQUIRE(o.finished);
        REQUIRE(o.in_order);
    }
}

}  // namespace

#define LINK_PROPERTY_SHARD(n) \
    TEST_CASE("link property: exactly-once in-order delivery for seeds " #n "00 to " #n "99", "[link][property]") { run_shard(n); }

LINK_PROPERTY_SHARD(0)
LINK_PROPERTY_SHARD(1)
LINK_PROPERTY_SHARD(2)
LINK_PROPERTY_SHARD(3)
LINK_PROPERTY_SHARD(4)
LINK_PROPERTY_SHARD(5)
LINK_PROPERTY_SHARD(6)
LINK_PROPERTY_SHARD(7)
LINK_PROPERTY_SHARD(8)
LINK_PROPERTY_SHARD(9)

TEST_CASE("link property: one seed replays bit for bit", "[link][property]") {
    NetworkFaults f1, f2;
    const Outcome o1 = run_seed(4242, f1);
    const Outcome o2 = run_seed(4242, f2);
    CHECK(o1.virtual_time == o2.virtual_time);
    CHECK(o1.finished == o2.finished);
}
