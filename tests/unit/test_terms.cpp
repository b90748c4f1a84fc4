// Terms (ring/core/term.h) as a ring member keeps them: it promises each term once, to one monitor,
// obeys no order of a term below the one it promised, tells the sender of such an order which term
// it promised, and reports each monitor's snapshots to that monitor.
#include <catch2/catch.hpp>

#include "ring/core/node.h"
#include "ring/core/saved_snapshot.h"
#include "ring/core/view.h"

using namespace ringwatch;
using namespace std::chrono_literals;

namespace {

const Instant t0 = instant_us(1'000'000);
const std::vector<NodeId> kRing{NodeId{0}, NodeId{1}, NodeId{2}};
const NodeId kFirst = monitor_id(0), kSecond = monitor_id(1);

NodeConfig member(std::uint16_t self) {
    NodeConfig c;
    c.self = NodeId{self};
    c.predecessor = kRing[(self + 2) % 3];
    c.successor = kRing[(self + 1) % 3];
    c.ring = kRing;
    c.token.hold = 1ms;
    c.monitors = {kFirst, kSecond};
    return c;
}

std::vector<std::pair<NodeId, Message>> said(Node& n, std::optional<PromisedTerm>* promised = nullptr) {
    NodeOutput out;
    n.take_output(out);
    if (promised) *promised = out.promised;
    std::vector<std::pair<NodeId, Message>> v;
    for (auto& m : out.messages) {
        Message msg;
        REQUIRE(decode_message(m.bytes, msg) == MessageError::none);
        v.emplace_back(m.peer, std::move(msg));
    }
    return v;
}

template <typename T>
std::vector<std::pair<NodeId, T>> of(const std::vector<std::pair<NodeId, Message>>& said) {
    std::vector<std::pair<NodeId, T>> v;
    for (const auto& [to, m] : said)
        if (const auto* x = std::get_if<T>(&m)) v.emplace_back(to, *x);
    return v;
}

TermPromise answer_to(Node& n, NodeId monitor, TermClaim c) {
    n.on_message(t0, monitor, encode_message(c));
    const auto a = of<TermPromise>(said(n));
    REQUIRE(a.size() == 1);
    CHECK(a[0].first == monitor);
    return a[0].second;
}

}  // namespace

TEST_CASE("terms: epochs are made from terms, a later term's all newer than an earlier one's", "[terms]") {
    CHECK(first_epoch_of(Term{1}) == Epoch{1});
    CHECK(first_epoch_of(Term{2}) == Epoch{4097});
    CHECK(epoch_term(Epoch{4095}) == Term{1});
    CHECK(epoch_term(Epoch{4097}) == Term{2});
    CHECK(epoch_term(Epoch{0}) == kNoTerm);
    CHECK(next_epoch_in(Term{1}, Epoch{0}) == Epoch{1});
    CHECK(next_epoch_in(Term{1}, Epoch{7}) == Epoch{8});
    CHECK(next_epoch_in(Term{3}, Epoch{7}) == first_epoch_of(Term{3}));
    CHECK_FALSE(next_epoch_in(Term{1}, last_epoch_of(Term{1})));  // spent: the next term is claimed
    CHECK_FALSE(next_epoch_in(Term{1}, Epoch{4097}));             // a later term's epoch is known: this term is past
    CHECK_FALSE(next_epoch_in(kNoTerm, Epoch{0}));
    CHECK(last_epoch_of(kMaxTerm) == Epoch{0xFFFF'FFFF});
}

TEST_CASE("terms: a node promises each term once, to one monitor, later rounds are confirmed only for it", "[terms][node]") {
    Node n(member(1), t0);
    // The first claim: promised, and said so with the node's epoch.
    TermPromise p = answer_to(n, kFirst, TermClaim{Term{1}, 0});
    CHECK(p.ok);
    CHECK(p.promised == Term{1});
    CHECK(p.promised_to == kFirst);
    CHECK(n.promised() == PromisedTerm{Term{1}, kFirst});
    // The same term claimed again: by another monitor, or by the same id (a restarted monitor, which
    // cannot know what its earlier process ordered): refused, naming the term and its monitor.
    p = answer_to(n, kSecond, TermClaim{Term{1}, 0});
    CHECK_FALSE(p.ok);
    CHECK(p.promised == Term{1});
    CHECK(p.promised_to == kFirst);
    CHECK_FALSE(answer_to(n, kFirst, TermClaim{Term{1}, 0}).ok);
    CHECK_FALSE(answer_to(n, kSecond, TermClaim{Term{0}, 0}).ok);
    // A later round of the promised term, from the monitor it was promised to: confirmed; from
    // another: refused.
    CHECK(answer_to(n, kFirst, TermClaim{Term{1}, 4}).ok);
    CHECK_FALSE(answer_to(n, kSecond, TermClaim{Term{1}, 4}).ok);
    // A later term from the other monitor: promised; the first's rounds are refused from then on.
    CHECK(answer_to(n, kSecond, TermClaim{Term{2}, 0}).ok);
    CHECK_FALSE(answer_to(n, kFirst, TermClaim{Term{1}, 5}).ok);
    CHECK(n.stats().promises == 2);
    CHECK(n.stats().claims_refused == 5);
    // Claims from a tool or a node are nobody's: not answered.
    n.on_message(t0, NodeId{0xF001}, encode_message(TermClaim{Term{9}, 0}));
    n.on_message(t0, NodeId{0}, encode_message(TermClaim{Term{9}, 0}));
    CHECK(of<TermPromise>(said(n)).empty());
    CHECK(n.promised() == PromisedTerm{Term{2}, kSecond});
}

TEST_CASE("terms: orders of a term below the promised one are not obeyed, and their sender is told the term", "[terms][node]") {
    Node n(member(1), t0);
    CHECK(answer_to(n, kSecond, TermClaim{Term{2}, 0}).ok);
    // The deposed leader of term 1 orders a view, a token, a recovery, a keep: nothing is done.
    n.on_message(t0, kFirst, encode_message(ViewOrder{10, Epoch{5}, view_bitmap(kRing, kRing), Term{1}}));
    n.on_message(t0, kFirst, encode_message(IssueToken{11, Epoch{5}, Term{1}}));
    n.on_message(t0, kFirst, encode_message(RecoverCommand{12, RecoverMode::regenerate, Epoch{6}, NodeId{1}, SnapshotId{0}, Term{1}}));
    n.on_message(t0, kFirst, encode_message(KeepSnapshot{SnapshotId{3}, Term{1}}));
    auto out = said(n);
    for (const auto& [to, a] : of<CommandAck>(out)) {
        CHECK(to == kFirst);
        CHECK_FALSE(a.ok);
    }
    CHECK(of<CommandAck>(out).size() == 3);
    const auto told = of<TermPromise>(out);
    REQUIRE(told.size() == 4);
    for (const auto& [to, p] : told) {
        CHECK(to == kFirst);
        CHECK_FALSE(p.ok);
        CHECK(p.promised == Term{2});
        CHECK(p.promised_to == kSecond);
    }
    CHECK(n.view().epoch == Epoch{0});
    CHECK(n.token().epoch() == Epoch{0});
    CHECK(n.token().held() == 0);
    CHECK(n.kept().pinned() == SnapshotId{0});
    CHECK(n.stats().stale_term_orders == 4);
    // The same orders in the promised term, from its leader: obeyed.
    n.on_message(t0, kSecond, encode_message(ViewOrder{20, first_epoch_of(Term{2}), view_bitmap(kRing, kRing), Term{2}}));
    CHECK(of<CommandAck>(said(n)) == std::vector<std::pair<NodeId, CommandAck>>{{kSecond, CommandAck{20, true}}});
    CHECK(n.view().epoch == first_epoch_of(Term{2}));
    // The promised term from another monitor is no order either (one leader per term).
    n.on_message(t0, kFirst, encode_message(IssueToken{21, first_epoch_of(Term{2}), Term{2}}));
    CHECK(of<CommandAck>(said(n)) == std::vector<std::pair<NodeId, CommandAck>>{{kFirst, CommandAck{21, false}}});
    CHECK(n.token().held() == 0);
}

TEST_CASE("terms: an order of a later term than promised is obeyed and kept as the promise", "[terms][node]") {
    Node n(member(1), t0);
    CHECK(answer_to(n, kFirst, TermClaim{Term{1}, 0}).ok);
    // A majority promised term 3 to the second monitor while this node was cut off: its orders are
    // the ring's now.
    n.on_message(t0, kSecond, encode_message(ViewOrder{5, first_epoch_of(Term{3}), view_bitmap(kRing, kRing), Term{3}}));
    std::optional<PromisedTerm> kept;
    CHECK(of<CommandAck>(said(n, &kept)) == std::vector<std::pair<NodeId, CommandAck>>{{kSecond, CommandAck{5, true}}});
    CHECK(kept == PromisedTerm{Term{3}, kSecond});  // for the state directory, before the answer leaves
    CHECK(n.promised() == PromisedTerm{Term{3}, kSecond});
    CHECK_FALSE(answer_to(n, kFirst, TermClaim{Term{2}, 0}).ok);
}

TEST_CASE("terms: a promise ends the lease of the earlier term, leases are asked of, and taken from, the promised leader only",
          "[terms][node][lease]") {
    NodeConfig c = member(1);
    c.lease_required = true;
    Node n(c, t0);
    // No term promised yet: every monitor is asked (whichever leads grants).
    auto asked = of<LeaseRequest>(said(n));
    REQUIRE(asked.size() == 2);
    CHECK(asked[0].first == kFirst);
    CHECK(asked[1].first == kSecond);
    CHECK(asked[0].second.term == kNoTerm);
    // Promised: asked of the new leader at once.
    n.on_message(t0 + 1ms, kFirst, encode_message(TermClaim{Term{1}, 0}));
    auto out = said(n);
    CHECK(of<TermPromise>(out).size() == 1);
    asked = of<LeaseRequest>(out);
    REQUIRE(asked.size() == 1);
    CHECK(asked[0].first == kFirst);
    CHECK(asked[0].second.term == Term{1});
    const std::int64_t stamp = asked[0].second.stamp;
    // A grant from the other monitor, or of another term: not a lease.
    n.on_message(t0 + 2ms, kSecond, encode_message(LeaseGrant{stamp, 3000, Term{1}}));
    n.on_message(t0 + 2ms, kFirst, encode_message(LeaseGrant{stamp, 3000, Term{0}}));
    CHECK_FALSE(n.leased(t0 + 2ms));
    n.on_message(t0 + 2ms, kFirst, encode_message(LeaseGrant{stamp, 3000, Term{1}}));
    CHECK(n.leased(t0 + 2ms));
    // Term 2 promised to the second monitor: the first's lease is over at once (the new leader may
    // replace the token without this node), its later grants are no lease, and the new leader is asked.
    n.on_message(t0 + 3ms, kSecond, encode_message(TermClaim{Term{2}, 0}));
    out = said(n);
    CHECK_FALSE(n.leased(t0 + 3ms));
    asked = of<LeaseRequest>(out);
    REQUIRE(asked.size() == 1);
    CHECK(asked[0].first == kSecond);
    CHECK(asked[0].second.term == Term{2});
    n.on_message(t0 + 4ms, kFirst, encode_message(LeaseGrant{stamp, 3000, Term{1}}));
    CHECK_FALSE(n.leased(t0 + 4ms));
    CHECK(n.stats().stale_term_orders == 3);
}

TEST_CASE("terms: a node restarted with its promise kept does not promise that term again", "[terms][node][state_dir]") {
    // The promise's bytes on disk: read back as written; anything else is no promise.
    const PromisedTerm p{Term{7}, kSecond};
    const Bytes b = encode_promise(p);
    CHECK(decode_promise(b) == p);
    Bytes longer = b;
    longer.push_back(0);
    CHECK_FALSE(decode_promise(longer));
    CHECK_FALSE(decode_promise(std::span(b).first(b.size() - 1)));
    NodeConfig c = member(2);
    c.promised_at_start = p;
    Node n(c, t0);
    CHECK_FALSE(answer_to(n, kFirst, TermClaim{Term{7}, 0}).ok);
    CHECK(answer_to(n, kSecond, TermClaim{Term{7}, 1}).ok);  // its leader's later rounds: confirmed
    CHECK(answer_to(n, kFirst, TermClaim{Term{8}, 0}).ok);
}

TEST_CASE("terms: each monitor's snapshots run side by side, each reported to the monitor that started it", "[terms][node][snapshot]") {
    Node n(member(1), t0);
    const SnapshotId a = first_snapshot_of_era(900), b = first_snapshot_of_era(5);
    n.on_message(t0, kFirst, encode_message(SnapshotStart{a, a}));
    n.on_message(t0, kSecond, encode_message(SnapshotStart{b, b}));
    said(n);
    // The predecessor's markers close both.
    n.on_message(t0, NodeId{0}, encode_message(MarkerMessage{b}));
    n.on_message(t0, NodeId{0}, encode_message(MarkerMessage{a}));
    const auto reports = of<SnapshotReport>(said(n));
    REQUIRE(reports.size() == 2);
    CHECK(reports[0].first == kSecond);
    CHECK(reports[0].second.id == b);
    CHECK(reports[1].first == kFirst);
    CHECK(reports[1].second.id == a);
    // The first monitor restarts (a new era): only its old snapshots are dropped.
    const SnapshotId b2{b.value + 1}, a_old{a.value + 1};
    n.on_message(t0, kSecond, encode_message(SnapshotStart{b2, b}));
    n.on_message(t0, kFirst, encode_message(SnapshotStart{a_old, a}));
    n.on_message(t0, kFirst, encode_message(SnapshotStart{first_snapshot_of_era(901), first_snapshot_of_era(901)}));
    CHECK(n.stats().monitor_restarts == 1);
    CHECK(n.snapshots().recording(b2));
    CHECK_FALSE(n.snapshots().recording(a_old));
}

TEST_CASE("terms: finished snapshot ids are remembered per era, so one monitor's ids running ahead never finish another's", "[terms][snapshot]") {
    SnapshotLimits limits;
    limits.remembered_finished = 2;
    SnapshotParticipant<int, int> p({NodeId{0}}, {NodeId{1}}, limits);
    const SnapshotId high = first_snapshot_of_era(900), low = first_snapshot_of_era(5);
    for (std::uint64_t i = 0; i < 5; ++i) {
        p.start(SnapshotId{high.value + i}, 0);
        p.on_marker(SnapshotId{high.value + i}, NodeId{0}, 0);
    }
    CHECK(p.finished(high));       // forgotten, counted as finished for good
    CHECK_FALSE(p.finished(low));  // another era's ids are not swept along
    CHECK(p.start(low, 0));
    // Eras beyond the bound: the one not heard of longest is forgotten whole.
    limits.remembered_eras = 2;
    SnapshotParticipant<int, int> q({NodeId{0}}, {NodeId{1}}, limits);
    for (std::uint32_t era : {1u, 2u, 3u}) {
        q.start(first_snapshot_of_era(era), 0);
        q.on_marker(first_snapshot_of_era(era), NodeId{0}, 0);
    }
    CHECK_FALSE(q.finished(first_snapshot_of_era(1)));
    CHECK(q.finished(first_snapshot_of_era(2)));
    CHECK(q.finished(first_snapshot_of_era(3)));
}
