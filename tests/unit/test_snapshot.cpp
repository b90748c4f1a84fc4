// The Chandy-Lamport participant: the seeds' worked examples by hand, then random directed graphs
// with overlapping snapshots and random schedules, checked for conservation and cut consistency.
#include <catch2/catch.hpp>

#include <deque>
#include <map>
#include <variant>

#include "ring/core/snapshot.h"
#include "tests/sim/prng.h"

using namespace ringwatch;

namespace {

using Id = int;  // a process, in these tests

// A process's local state as recorded: its balance and which messages it has sent and received
// (the ids let the checker test cut consistency, not only the totals).
struct Local {
    int balance = 0;
    std::set<std::uint64_t> sent, received;
};
struct Transfer {
    std::uint64_t id;
    int amount;
};
struct MarkerMsg {
    SnapshotId id;
};
using ChannelItem = std::variant<Transfer, MarkerMsg>;
using Participant = SnapshotParticipant<Local, Transfer, Id>;

// Processes, FIFO channels between them, and a participant per process. Steps are explicit, so a
// test (or a random schedule) decides the exact interleaving. The participant type is a parameter
// so that the checker can be shown catching deliberately broken ones.
template <typename P>
struct SystemOf {
    std::map<Id, Local> local;
    std::map<Id, std::unique_ptr<P>> part;
    std::map<std::pair<Id, Id>, std::deque<ChannelItem>> channel;
    std::map<Id, std::vector<Participant::Completed>> completed;
    std::uint64_t next_msg = 1;

    SystemOf(std::map<Id, int> balances, std::vector<std::pair<Id, Id>> edges) {
        std::map<Id, std::vector<Id>> in, out;
        for (auto [a, b] : edges) {
            channel[{a, b}];
            out[a].push_back(b);
            in[b].push_back(a);
        }
        for (auto [p, bal] : balances) {
            local[p].balance = bal;
            part[p] = std::make_unique<P>(in[p], out[p]);
        }
    }
    void flush(Id p) {
        for (auto& m : part[p]->take_markers()) channel[{p, m.to}].push_back(MarkerMsg{m.id});
        for (auto& c : part[p]->take_completed()) completed[p].push_back(std::move(c));
    }
    void send(Id from, Id to, int amount) {
        REQUIRE(channel.contains({from, to}));
        REQUIRE(local[from].balance >= amount);
        local[from].balance -= amount;
        const std::uint64_t id = next_msg++;
        local[from].sent.insert(id);
        channel[{from, to}].push_back(Transfer{id, amount});
    }
    void snapshot(Id p, std::uint64_t id) {
        part[p]->start(SnapshotId{id}, local[p]);
        flush(p);
    }
    // Delivers the head of channel from->to.
    void deliver(Id from, Id to) {
        auto& q = channel[{from, to}];
        REQUIRE_FALSE(q.empty());
        ChannelItem item = q.front();
        q.pop_front();
        if (auto* t = std::get_if<Transfer>(&item)) {
            local[to].balance += t->amount;
            local[to].received.insert(t->id);
            part[to]->on_message(from, *t);
        } else {
            part[to]->on_marker(std::get<MarkerMsg>(item).id, from, local[to]);
        }
        flush(to);
    }
    bool idle() const {
        for (auto& [k, q] : channel)
            if (!q.empty()) return false;
        return true;
    }
    const Participant::Completed& result(Id p, std::uint64_t id) {
        for (auto& c : completed[p])
            if (c.id == SnapshotId{id}) return c;
        FAIL("process " << p << " did not complete snapshot " << id);
        throw std::logic_error("unreachable");
    }
    static std::vector<int> amounts(const Participant::Completed& c, Id from) {
        std::vector<int> v;
        for (auto& ch : c.channels)
            if (ch.from == from)
                for (auto& t : ch.messages) v.push_back(t.amount);
        return v;
    }
};

using System = SystemOf<Participant>;

// The whole snapshot `id`, checked: conservation, and every cut consistent (no message received
// inside the cut whose send lies outside it; every message sent inside it is received or recorded).
struct CutCheck {
    bool ok = true;
    std::string why;
    std::set<std::string> reasons;  // every check that failed
};
template <typename P>
CutCheck check_cut(SystemOf<P>& s, std::uint64_t id, int total) {
    CutCheck r;
    auto failed = [&r](std::string why) {
        r.ok = false;
        r.reasons.insert(why.starts_with("total") ? "total" : why);
        r.why = std::move(why);
    };
    int sum = 0;
    std::map<Id, const Participant::Completed*> cut;
    for (auto& [p, list] : s.completed)
        for (auto& c : list)
            if (c.id == SnapshotId{id}) cut[p] = &c;
    if (cut.size() != s.local.size()) return {false, "incomplete", {"incomplete"}};
    for (auto& [p, c] : cut) {
        sum += c->state.balance;
        for (auto& ch : c->channels) {
            for (auto& t : ch.messages) {
                sum += t.amount;
                if (!cut[ch.from]->state.sent.contains(t.id)) failed("recorded in flight but not sent in the cut");
                if (c->state.received.contains(t.id)) failed("recorded in flight and received");
            }
        }
        for (auto m : c->state.received) {
            bool sent_in_cut = false;
            for (auto& [q, d] : cut) sent_in_cut |= d->state.sent.contains(m);
            if (!sent_in_cut) failed("received in the cut, sent outside it");
        }
    }
    if (sum != total) failed(fmt::format("total {} != {}", sum, total));
    return r;
}

}  // namespace

TEST_CASE("snapshot seed example 1: a token received before the marker is in the receiver's state", "[snapshot]") {
    System s({{'A', 1}, {'B', 0}}, {{'A', 'B'}, {'B', 'A'}});
    s.send('A', 'B', 1);  // 1. A sends 1 token
    s.snapshot('A', 0);   // 2. A starts the snapshot, sends a marker
    s.deliver('A', 'B');  // 3. B receives the token
    s.deliver('A', 'B');  // 4. B receives the marker, starts its snapshot
    s.deliver('B', 'A');  // 5. A receives B's marker, ends the snapshot
    REQUIRE(s.idle());
    auto& a = s.result('A', 0);
    auto& b = s.result('B', 0);
    CHECK(a.state.balance == 0);
    CHECK(b.state.balance == 1);  // the token is in B's recorded state...
    CHECK(System::amounts(a, 'B').empty());
    CHECK(System::amounts(b, 'A').empty());  // ...not in flight
    CHECK(check_cut(s, 0, 1).ok);
}

TEST_CASE("snapshot seed example 2: a token received after recording is recorded in flight", "[snapshot]") {
    System s({{'A', 0}, {'B', 1}}, {{'A', 'B'}, {'B', 'A'}});
    s.send('B', 'A', 1);  // 1. B sends 1 token
    s.snapshot('A', 0);   // 2. A starts the snapshot, sends a marker
    s.deliver('B', 'A');  // 3. A receives the token: recorded on channel B->A
    s.deliver('A', 'B');  // 4. B receives the marker, starts its snapshot
    s.deliver('B', 'A');  // 5. A receives B's marker, ends the snapshot
    REQUIRE(s.idle());
    auto& a = s.result('A', 0);
    auto& b = s.result('B', 0);
    CHECK(a.state.balance == 0);
    CHECK(b.state.balance == 0);
    CHECK(System::amounts(a, 'B') == std::vector<int>{1});
    CHECK(check_cut(s, 0, 1).ok);
}

TEST_CASE("snapshot three processes: the cut holds the states and exactly the messages that crossed it", "[snapshot]") {
    // All pairs connected both ways. P2 initiates after sending m2; P2 receives m3 and m1 before
    // their senders' markers; P1 and P3 forward markers; m5 crosses P1's cut before P3 records.
    System s({{1, 10}, {2, 10}, {3, 10}}, {{1, 2}, {2, 1}, {1, 3}, {3, 1}, {2, 3}, {3, 2}});
    s.send(2, 1, 2);   // m2: P2 -> P1, before P2 records
    s.send(3, 2, 3);   // m3: P3 -> P2
    s.send(1, 2, 1);   // m1: P1 -> P2
    s.snapshot(2, 0);  // P2 records 8, markers to P1 and P3
    s.deliver(3, 2);   // P2 receives m3 before P3's marker: recorded on 3->2
    s.deliver(1, 2);   // P2 receives m1 before P1's marker: recorded on 1->2
    s.deliver(2, 1);   // P1 receives m2 (sent before P2's marker): part of P1's state
    s.deliver(2, 1);   // P1 receives P2's marker: records 10 - 1 + 2 = 11, markers to P2, P3
    s.send(1, 3, 5);   // m5: P1 -> P3, after P1 recorded: outside the cut... (sent after marker)
    s.send(3, 1, 4);   // m4: P3 -> P1 before P3 records
    s.deliver(3, 1);   // P1 receives m4 before P3's marker: recorded on 3->1
    s.deliver(2, 3);   // P3 receives P2's marker: records 10 - 3 - 4 = 3, markers to P1, P2
    s.deliver(1, 3);   // P3 receives P1's marker: channel 1->3 closed empty (m5 follows it)
    s.deliver(1, 3);   // m5 arrives after the marker: not recorded
    s.deliver(3, 1);   // P1 receives P3's marker: done
    s.deliver(1, 2);   // P2 receives P1's marker
    s.deliver(3, 2);   // P2 receives P3's marker: done
    REQUIRE(s.idle());
    auto& p1 = s.result(1, 0);
    auto& p2 = s.result(2, 0);
    auto& p3 = s.result(3, 0);
    CHECK(p1.state.balance == 11);
    CHECK(p2.state.balance == 8);
    CHECK(p3.state.balance == 3);
    CHECK(System::amounts(p2, 3) == std::vector<int>{3});
    CHECK(System::amounts(p2, 1) == std::vector<int>{1});
    CHECK(System::amounts(p1, 3) == std::vector<int>{4});
    CHECK(System::amounts(p1, 2).empty());
    CHECK(System::amounts(p3, 1).empty());
    CHECK(System::amounts(p3, 2).empty());
    CHECK(check_cut(s, 0, 30).ok);
}

TEST_CASE("snapshot: several initiators of one id and overlapping ids each complete once", "[snapshot]") {
    System s({{1, 5}, {2, 5}}, {{1, 2}, {2, 1}});
    s.snapshot(1, 7);
    s.snapshot(2, 7);  // both initiate id 7
    s.snapshot(1, 8);  // 8 overlaps 7
    s.send(1, 2, 2);   // behind both markers on 1->2: outside both cuts
    while (!s.idle()) {
        if (!s.channel[{1, 2}].empty()) s.deliver(1, 2);
        if (!s.channel[{2, 1}].empty()) s.deliver(2, 1);
    }
    CHECK(s.completed[1].size() == 2);
    CHECK(s.completed[2].size() == 2);
    CHECK(s.result(1, 8).state.balance == 5);
    CHECK(s.result(2, 8).state.balance == 5);  // recorded on 8's marker, before the transfer arrived
    CHECK(check_cut(s, 7, 10).ok);
    CHECK(check_cut(s, 8, 10).ok);
    s.snapshot(2, 8);  // too late: 8 is finished here
    CHECK(s.part[2]->take_markers().empty());
    CHECK(s.part[1]->stats().started_locally == 2);
    CHECK(s.part[2]->stats().started_locally == 1);
    CHECK(s.part[2]->stats().started_by_marker == 1);
}

TEST_CASE("snapshot: late, unknown-channel and duplicate markers are counted, never fatal", "[snapshot]") {
    Participant p({1, 2}, {3});
    p.start(SnapshotId{1}, Local{});
    p.on_marker(SnapshotId{1}, 1, Local{});
    p.on_marker(SnapshotId{1}, 1, Local{});  // duplicate on one channel
    CHECK(p.stats().duplicate_markers == 1);
    p.on_marker(SnapshotId{1}, 9, Local{});  // not an inbound channel
    CHECK(p.stats().unknown_channel == 1);
    p.on_marker(SnapshotId{1}, 2, Local{});
    CHECK(p.take_completed().size() == 1);
    p.on_marker(SnapshotId{1}, 2, Local{});  // late: the snapshot is over
    CHECK(p.stats().stale_markers == 1);
    CHECK(p.take_completed().empty());
    CHECK(p.in_flight() == 0);
}

TEST_CASE("snapshot: the in-flight bound abandons the oldest, which then stays finished", "[snapshot]") {
    SnapshotLimits limits;
    limits.max_in_flight = 2;
    Participant p({1}, {2}, limits);
    p.start(SnapshotId{1}, Local{});
    p.start(SnapshotId{2}, Local{});
    p.start(SnapshotId{3}, Local{});
    CHECK(p.in_flight() == 2);
    CHECK(p.stats().abandoned == 1);
    CHECK_FALSE(p.recording(SnapshotId{1}));
    p.on_marker(SnapshotId{1}, 1, Local{});
    CHECK(p.stats().stale_markers == 1);
    p.abandon_before(SnapshotId{3});
    CHECK(p.in_flight() == 1);
    CHECK(p.recording(SnapshotId{3}));
}

namespace {

// A random strongly connected directed graph (a ring plus random chords), random transfers,
// overlapping snapshots from random initiators, random delivery order.
template <typename P>
CutCheck random_schedule(std::uint64_t seed) {
    sim::Prng rng(seed);
    const int n = 2 + static_cast<int>(rng.below(9));  // 2..10
    std::vector<std::pair<Id, Id>> edges;
    std::set<std::pair<Id, Id>> have;
    for (int i = 0; i < n; ++i) {
        edges.push_back({i, (i + 1) % n});
        have.insert(edges.back());
    }
    const int chords = static_cast<int>(rng.below(static_cast<std::uint64_t>(n * 2)));
    for (int k = 0; k < chords; ++k) {
        Id a = static_cast<Id>(rng.below(static_cast<std::uint64_t>(n)));
        Id b = static_cast<Id>(rng.below(static_cast<std::uint64_t>(n)));
        if (a != b && have.insert({a, b}).second) edges.push_back({a, b});
    }
    std::map<Id, int> balances;
    int total = 0;
    for (int i = 0; i < n; ++i) {
        balances[i] = static_cast<int>(rng.below(20));
        total += balances[i];
    }
    SystemOf<P> s(balances, edges);
    const int snapshots = 5;
    int started = 0;
    for (int step = 0; step < 400 || !s.idle(); ++step) {
        const auto action = rng.below(10);
        if (step < 400 && action < 3) {  // a transfer
            auto [a, b] = edges[rng.below(edges.size())];
            if (s.local[a].balance > 0) s.send(a, b, 1 + static_cast<int>(rng.below(static_cast<std::uint64_t>(s.local[a].balance))));
        } else if (step < 400 && action == 3 && started < snapshots * 3) {
            // Each snapshot id gets up to three initiators, at different times.
            const std::uint64_t id = static_cast<std::uint64_t>(started / 3);
            s.snapshot(static_cast<Id>(rng.below(static_cast<std::uint64_t>(n))), id);
            ++started;
        } else {
            std::vector<std::pair<Id, Id>> ready;
            for (auto& [k, q] : s.channel)
                if (!q.empty()) ready.push_back(k);
            if (!ready.empty()) {
                auto [a, b] = ready[rng.below(ready.size())];
                s.deliver(a, b);
            }
        }
    }
    CutCheck all;
    for (std::uint64_t id = 0; id < static_cast<std::uint64_t>((started + 2) / 3); ++id) {
        CutCheck c = check_cut(s, id, total);
        if (c.ok) continue;
        if (all.ok) all.why = fmt::format("seed {} snapshot {}: {}", seed, id, c.why);
        all.ok = false;
        all.reasons.insert(c.reasons.begin(), c.reasons.end());
    }
    return all;
}

}  // namespace

TEST_CASE("snapshot property: random graphs and schedules conserve tokens in consistent cuts", "[snapshot][property]") {
    for (std::uint64_t seed = 0; seed < 3000; ++seed) {
        CutCheck c = random_schedule<Participant>(seed);
        INFO(c.why);
        REQUIRE(c.ok);
    }
}

namespace {

// Deliberately broken participants: each must be caught by the check it breaks.
struct SkipsChannel : Participant {  // never records a channel
    using Participant::Participant;
    void on_message(const Id&, const Transfer&) {}
};

struct ClosesLate : Participant {  // a marker closes its channel only after the next message on it
    using Participant::Participant;
    void on_marker(SnapshotId id, const Id& from, const Local& state) {
        if (!recording(id)) return Participant::on_marker(id, from, state);
        late.push_back({id, from, state});
    }
    void on_message(const Id& from, const Transfer& t) {
        Participant::on_message(from, t);
        for (auto it = late.begin(); it != late.end();) {
            if (it->from != from) {
                ++it;
                continue;
            }
            Participant::on_marker(it->id, it->from, it->state);
            it = late.erase(it);
        }
    }
    struct Late {
        SnapshotId id;
        Id from;
        Local state;
    };
    std::vector<Late> late;
};

struct RecordsEarly : Participant {  // also counts in flight what arrived before it recorded its state
    using Participant::Participant;
    bool start(SnapshotId id, const Local& state) {
        const bool began = Participant::start(id, state);
        replay();
        return began;
    }
    void on_marker(SnapshotId id, const Id& from, const Local& state) {
        const auto before = stats().started_by_marker;
        Participant::on_marker(id, from, state);
        if (stats().started_by_marker > before) replay();
    }
    void on_message(const Id& from, const Transfer& t) {
        Participant::on_message(from, t);
        seen.push_back({from, t});
    }
    void replay() {
        for (auto& [from, t] : seen) Participant::on_message(from, t);
        seen.clear();
    }
    std::vector<std::pair<Id, Transfer>> seen;
};

struct RecordsLate : Participant {  // records its state at the next call after its first marker
    using Participant::Participant;
    bool start(SnapshotId id, const Local& state) {
        flush(state);
        return Participant::start(id, state);
    }
    void on_marker(SnapshotId id, const Id& from, const Local& state) {
        flush(state);
        if (!recording(id) && !finished(id)) {
            pending.push_back({id, from});
            return;
        }
        Participant::on_marker(id, from, state);
    }
    void flush(const Local& state) {
        for (auto& [id, from] : pending) Participant::on_marker(id, from, state);
        pending.clear();
    }
    std::vector<std::pair<SnapshotId, Id>> pending;
};

template <typename P>
int seeds_failing(std::string_view reason) {
    int n = 0;
    for (std::uint64_t seed = 0; seed < 300; ++seed) n += random_schedule<P>(seed).reasons.contains(std::string(reason)) ? 1 : 0;
    return n;
}

}  // namespace

TEST_CASE("snapshot property: each cut check catches the participant that breaks it", "[snapshot][property]") {
    CHECK(seeds_failing<SkipsChannel>("total") > 50);
    CHECK(seeds_failing<ClosesLate>("recorded in flight but not sent in the cut") > 20);
    CHECK(seeds_failing<RecordsEarly>("recorded in flight and received") > 20);
    CHECK(seeds_failing<RecordsLate>("received in the cut, sent outside it") > 20);
    // And the ring's participant breaks none of them over the same seeds.
    CHECK(seeds_failing<Participant>("total") + seeds_failing<Participant>("incomplete") == 0);
}
