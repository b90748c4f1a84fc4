// Rollback recovery: the token protocol's save/restore, the kept saved states, their file format,
// the node's handling of rollback orders and KeepSnapshot, and the monitor's rollback decisions.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

#include "monitor/core/monitor_core.h"
#include "ring/core/kept_snapshots.h"
#include "ring/core/messages.h"
#include "ring/core/node.h"
#include "ring/core/saved_snapshot.h"
#include "ring/core/token.h"
#include "tests/unit/allocation_probe.h"
#include "tests/unit/monitor_taps.h"

using namespace ringwatch;
using namespace std::chrono_literals;

namespace {

const Instant t0 = instant_us(1'000'000);

Token free_in(std::uint32_t epoch) { return Token{TokenKind::free_token, Epoch{epoch}, {}, {}, 0, false, {}, {}}; }

Token busy(std::uint16_t src, std::uint16_t dst, std::uint64_t id, Bytes payload, std::uint64_t inc, std::uint32_t epoch = 1) {
    return Token{TokenKind::busy, Epoch{epoch}, NodeId{src}, NodeId{dst}, id, false, std::move(payload), Incarnation{inc}};
}

std::vector<TokenEventKind> kinds(const std::vector<TokenEvent>& events) {
    std::vector<TokenEventKind> out;
    for (const auto& e : events) out.push_back(e.kind);
    return out;
}

std::vector<SnapshotId> ids(std::initializer_list<std::uint64_t> values) {
    std::vector<SnapshotId> out;
    for (auto v : values) out.push_back(SnapshotId{v});
    return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// TokenProtocol::save() / restore()

TEST_CASE("rollback token: a delivery made after the cut is undone and reported as redelivered when it comes again", "[rollback][token]") {
    TokenProtocol dst(NodeId{3}, TokenConfig{0ms}, Incarnation{30});
    const Token before = busy(1, 3, 1, Bytes{'a'}, 10);
    const Token after = busy(1, 3, 2, Bytes{'b'}, 10);
    dst.on_token(t0, before);
    dst.on_timer(t0);
    dst.take_forward();
    dst.take_events();
    const TokenSavedState cut = dst.save();

    dst.on_token(t0, after);  // delivered after the cut
    CHECK(kinds(dst.take_events()) == std::vector{TokenEventKind::delivered});
    dst.on_timer(t0);
    dst.take_forward();
    CHECK(dst.state().messages_delivered == 2);

    REQUIRE(dst.restore(t0, cut, {}, Epoch{2}));
    const auto restored = dst.take_events();
    REQUIRE(restored.size() == 1);
    CHECK(restored[0].kind == TokenEventKind::rolled_back);
    CHECK(restored[0].epoch == Epoch{2});
    CHECK(dst.epoch() == Epoch{2});
    CHECK(dst.state().messages_delivered == 1);  // as of the cut
    CHECK(dst.stats().rollbacks == 1);

    // The restored sender sends it again, in the new epoch: a redelivery, not a first delivery.
    Token again = after;
    again.epoch = Epoch{2};
    dst.on_token(t0, again);
    const auto ev = dst.take_events();
    REQUIRE(ev.size() == 1);
    CHECK(ev[0].kind == TokenEventKind::redelivered);
    CHECK(ev[0].src == NodeId{1});
    CHECK(ev[0].msg_id == 2);
    CHECK(ev[0].payload == Bytes{'b'});
    CHECK(dst.stats().redelivered == 1);
    CHECK(dst.state().messages_delivered == 2);
    // Once redelivered it is delivered: a repeat is dropped, and so is one delivered before the cut.
    dst.on_token(t0, again);
    Token old = before;
    old.epoch = Epoch{2};
    dst.on_token(t0, old);
    CHECK(kinds(dst.take_events()) == std::vector{TokenEventKind::duplicate_message_dropped, TokenEventKind::duplicate_message_dropped});
    CHECK(dst.stats().redelivered == 1);
}

TEST_CASE("restart: a process started from the delivery record drops what an earlier process delivered", "[rollback][token][restart]") {
    TokenProtocol old(NodeId{3}, TokenConfig{0ms}, Incarnation{30});
    old.on_token(t0, busy(1, 3, 1, Bytes{'a'}, 10));
    CHECK(kinds(old.take_events()) == std::vector{TokenEventKind::delivered});
    REQUIRE(old.take_deliveries_changed());  // the caller keeps the record before the user sees the delivery
    CHECK_FALSE(old.take_deliveries_changed());
    const DeliveryRecord record = old.deliveries();
    CHECK(record.seq == 1);

    // The process dies before the token is back at its sender; the sender sends it again (purged,
    // queued again) to the new process, which must not hand it to the user a second time.
    TokenProtocol restarted(NodeId{3}, TokenConfig{0ms}, Incarnation{31}, Epoch{2});
    restarted.remember(record);
    Token again = busy(1, 3, 1, Bytes{'a'}, 10, 2);
    restarted.on_token(t0, again);
    CHECK(kinds(restarted.take_events()) == std::vector{TokenEventKind::duplicate_message_dropped});
    restarted.on_timer(t0);
    const auto fwd = restarted.take_forward();
    REQUIRE(fwd.size() == 1);
    CHECK(fwd[0].copied);  // so its sender frees it
    // A process that kept no record (no state_dir) cannot know: it delivers it again.
    TokenProtocol forgetful(NodeId{3}, TokenConfig{0ms}, Incarnation{32}, Epoch{2});
    forgetful.on_token(t0, again);
    CHECK(kinds(forgetful.take_events()) == std::vector{TokenEventKind::delivered});
}

TEST_CASE("restart: a rollback undoes a delivery an earlier process made after the cut, and it comes again as redelivered",
          "[rollback][token][restart]") {
    TokenProtocol old(NodeId{3}, TokenConfig{0ms}, Incarnation{30});
    old.on_token(t0, busy(1, 3, 1, Bytes{'a'}, 10));
    const TokenSavedState cut = old.save();
    old.on_token(t0, busy(1, 3, 2, Bytes{'b'}, 10));  // after the cut, then the process is killed
    old.take_events();
    const DeliveryRecord record = old.deliveries();
    CHECK(record.journal.size() == 2);

    TokenProtocol restarted(NodeId{3}, TokenConfig{0ms}, Incarnation{31});
    restarted.remember(record);
    REQUIRE(restarted.restore(t0, cut, {}, Epoch{2}));
    CHECK(kinds(restarted.take_events()) == std::vector{TokenEventKind::rolled_back});
    // The undone delivery is in the record too: a crash now would not turn it into a plain one.
    REQUIRE(restarted.take_deliveries_changed());
    const DeliveryRecord after_restore = restarted.deliveries();
    CHECK(after_restore.undone.size() == 1);
    TokenProtocol again_restarted(NodeId{3}, TokenConfig{0ms}, Incarnation{32}, Epoch{2});
    again_restarted.remember(after_restore);

    for (TokenProtocol* p : {&restarted, &again_restarted}) {
        p->on_token(t0, busy(1, 3, 2, Bytes{'b'}, 10, 2));
        const auto ev = p->take_events();
        REQUIRE(ev.size() == 1);
        CHECK(ev[0].kind == TokenEventKind::redelivered);
        CHECK(ev[0].msg_id == 2);
        CHECK(p->stats().redelivered == 1);
        // Made again, it is delivered: the record no longer calls it undone.
        CHECK(p->deliveries().undone.empty());
        // And the one delivered before the cut stays delivered.
        p->on_token(t0, busy(1, 3, 1, Bytes{'a'}, 10, 2));
        CHECK(kinds(p->take_events()) == std::vector{TokenEventKind::duplicate_message_dropped});
    }
}

TEST_CASE("restart: the delivery record round-trips, and malformed records are refused", "[rollback][saved][restart]") {
    TokenProtocol p(NodeId{3}, TokenConfig{0ms}, Incarnation{30});
    p.on_token(t0, busy(1, 3, 1, Bytes{'a'}, 10));
    const TokenSavedState cut = p.save();
    p.on_token(t0, busy(2, 3, 7, Bytes{'b'}, 20));
    p.on_token(t0, busy(1, 3, 2, Bytes{'c'}, 10));
    REQUIRE(p.restore(t0, cut, {}, Epoch{2}));
    const DeliveryRecord r = p.deliveries();
    REQUIRE(r.undone.size() == 2);
    const Bytes b = encode_deliveries(r);
    const auto back = decode_deliveries(b);
    REQUIRE(back);
    CHECK(*back == r);
    CHECK(decode_deliveries(encode_deliveries(DeliveryRecord{})) == DeliveryRecord{});
    for (std::size_t n = 0; n < b.size(); ++n) {
        INFO("truncated to " << n);
        CHECK_FALSE(decode_deliveries(std::span(b).first(n)));
    }
    Bytes longer = b;
    longer.push_back(0);
    CHECK_FALSE(decode_deliveries(longer));
    CHECK_FALSE(decode_deliveries(encode_saved(SavedSnapshot{})));  // another file's magic
    // A count the file cannot hold is refused before anything is allocated for it.
    Bytes huge = encode_deliveries(DeliveryRecord{});
    huge[huge.size() - 8] = 0x7f;  // the journal's count
    CHECK_FALSE(decode_deliveries(huge));
}

TEST_CASE("restart: a delivery record that lists a source twice, or out of order, is refused", "[rollback][saved][restart]") {
    // A source listed twice would be decoded as one source with the processes of both: more than a
    // log keeps, and more than the file format can say again (found by fuzz_state).
    DeliveryRecord r;
    REQUIRE(r.delivered.first_time(NodeId{1}, Incarnation{5}, 1));
    REQUIRE(r.delivered.first_time(NodeId{2}, Incarnation{5}, 1));
    const Bytes b = encode_deliveries(r);
    REQUIRE(decode_deliveries(b) == r);
    // Header (5), seq (8), source count (4); each source: id (2), count (1), incarnation (8),
    // floor (8), ids above it (4 + 8).
    constexpr std::size_t first = 17, second = first + 31;
    REQUIRE(b.size() == second + 31 + 8);
    Bytes twice = b;
    std::copy_n(b.begin() + first, 2, twice.begin() + second);
    CHECK_FALSE(decode_deliveries(twice));
    Bytes swapped = b;
    std::copy_n(b.begin() + first, 2, swapped.begin() + second);
    std::copy_n(b.begin() + second, 2, swapped.begin() + first);
    CHECK_FALSE(decode_deliveries(swapped));
}

TEST_CASE("rollback token: a message accepted after the cut is queued again and sent with its original id", "[rollback][token]") {
    TokenProtocol p(NodeId{1}, TokenConfig{0ms}, Incarnation{10});
    REQUIRE(p.enqueue(NodeId{3}, Bytes{'a'}));  // before the cut
    const TokenSavedState cut = p.save();
    CHECK(cut.queue.size() == 1);
    REQUIRE(p.enqueue(NodeId{3}, Bytes{'b'}));  // after the cut
    std::vector<Token> sent;
    for (int i = 0; i < 2; ++i) {
        p.on_token(t0, free_in(1));
        p.on_timer(t0);
        for (auto& t : p.take_forward()) sent.push_back(t);
    }
    REQUIRE(sent.size() == 2);
    REQUIRE(sent[0].kind == TokenKind::busy);
    REQUIRE(sent[1].kind == TokenKind::busy);
    const std::uint64_t id_a = sent[0].msg_id, id_b = sent[1].msg_id;
    CHECK(id_a != id_b);
    CHECK(p.queue_length() == 0);

    REQUIRE(p.restore(t0, cut, {}, Epoch{2}));
    CHECK(p.queue_length() == 2);  // 'a' as the cut had it, then 'b' from the journal
    std::vector<Token> resent;
    for (int i = 0; i < 2; ++i) {
        p.on_token(t0, free_in(2));
        p.on_timer(t0);
        for (auto& t : p.take_forward()) resent.push_back(t);
    }
    REQUIRE(resent.size() == 2);
    CHECK(resent[0].kind == TokenKind::busy);
    CHECK(resent[0].epoch == Epoch{2});
    CHECK(resent[0].msg_id == id_a);
    CHECK(resent[0].payload == Bytes{'a'});
    CHECK(resent[0].src_incarnation == Incarnation{10});
    CHECK(resent[1].kind == TokenKind::busy);
    CHECK(resent[1].msg_id == id_b);
    CHECK(resent[1].payload == Bytes{'b'});
    CHECK(resent[1].src_incarnation == Incarnation{10});
    CHECK(p.queue_length() == 0);

    // A message accepted now never reuses a name given before the rollback.
    REQUIRE(p.enqueue(NodeId{3}, Bytes{'c'}));
    p.on_token(t0, free_in(2));
    p.on_timer(t0);
    const auto c = p.take_forward();
    REQUIRE(c.size() == 1);
    CHECK(c[0].msg_id != id_a);
    CHECK(c[0].msg_id != id_b);
}

TEST_CASE("rollback token: a message out on a busy token at the cut is out again after restore", "[rollback][token]") {
    TokenProtocol p(NodeId{1}, TokenConfig{0ms}, Incarnation{10});
    REQUIRE(p.enqueue(NodeId{3}, Bytes{'a'}));
    p.on_token(t0, free_in(1));
    p.on_timer(t0);
    const auto out = p.take_forward();
    REQUIRE(out.size() == 1);
    const TokenSavedState cut = p.save();
    REQUIRE(cut.in_transit.size() == 1);
    CHECK(cut.queue.empty());
    REQUIRE(p.restore(t0, cut, {}, Epoch{2}));
    CHECK(p.queue_length() == 0);  // not queued twice: it is out (the restored channels carry it)
    // Its busy token, back copied in the new epoch, is freed and reported returned.
    Token back = out[0];
    back.epoch = Epoch{2};
    back.copied = true;
    p.take_events();
    p.on_token(t0, back);
    p.on_timer(t0);
    CHECK(kinds(p.take_events()) == std::vector{TokenEventKind::returned});
    const auto fwd = p.take_forward();
    REQUIRE(fwd.size() == 1);
    CHECK(fwd[0].kind == TokenKind::free_token);
}

TEST_CASE("rollback token: restore in an older epoch, or one already restored, is refused and changes nothing", "[rollback][token]") {
    TokenProtocol p(NodeId{1}, TokenConfig{20ms}, Incarnation{10});
    const TokenSavedState cut = p.save();
    REQUIRE(p.enqueue(NodeId{3}, Bytes{'a'}));
    p.on_token(t0, free_in(3));  // epoch 3, holding its token
    p.take_events();
    REQUIRE(p.epoch() == Epoch{3});
    const TokenSavedState before = p.save();

    CHECK_FALSE(p.restore(t0, cut, {free_in(1)}, Epoch{2}));
    CHECK(p.save() == before);
    CHECK(p.epoch() == Epoch{3});
    CHECK(p.held() == 1);
    CHECK(p.queue_length() == 1);
    CHECK(p.take_events().empty());
    CHECK(p.stats().rollbacks == 0);

    REQUIRE(p.restore(t0, cut, {}, Epoch{4}));
    p.take_events();
    const TokenSavedState restored = p.save();
    CHECK(restored.epoch == Epoch{4});
    CHECK_FALSE(p.restore(t0, cut, {free_in(1)}, Epoch{4}));  // a repeat of the order
    CHECK(p.save() == restored);
    CHECK(p.take_events().empty());
    CHECK(p.stats().rollbacks == 1);
    CHECK_FALSE(p.restore(t0, cut, {}, Epoch{3}));
    CHECK(p.stats().rollbacks == 1);
}

TEST_CASE("rollback token: the channel's recorded tokens are received again and held in the new epoch", "[rollback][token]") {
    TokenProtocol p(NodeId{2}, TokenConfig{20ms}, Incarnation{20});
    const TokenSavedState cut = p.save();  // holds nothing
    // After the cut: a message to us arrives (the snapshot recorded it on the channel) and is
    // delivered, and an epoch-1 token is held when the order comes.
    const Token to_us = busy(1, 2, 7, Bytes{'m'}, 10);
    p.on_token(t0, to_us);
    CHECK(kinds(p.take_events()) == std::vector{TokenEventKind::delivered});
    REQUIRE(p.held() == 1);

    const std::vector<Token> channel{to_us, free_in(1)};
    REQUIRE(p.restore(t0 + 5ms, cut, channel, Epoch{3}));
    CHECK(kinds(p.take_events()) == std::vector{TokenEventKind::rolled_back, TokenEventKind::redelivered});
    CHECK(p.epoch() == Epoch{3});
    REQUIRE(p.held() == 2);  // the channel's two; the one held before the order is gone
    const NodeState st = p.state();
    REQUIRE(st.held.size() == 2);
    for (const auto& h : st.held) CHECK(h.epoch == Epoch{3});
    p.on_timer(t0 + 25ms);
    const auto fwd = p.take_forward();
    REQUIRE(fwd.size() == 2);
    CHECK(fwd[0].kind == TokenKind::busy);
    CHECK(fwd[0].epoch == Epoch{3});
    CHECK(fwd[0].copied);
    CHECK(fwd[0].msg_id == 7);
    CHECK(fwd[1].kind == TokenKind::free_token);
    CHECK(fwd[1].epoch == Epoch{3});
    CHECK(p.held() == 0);
}

TEST_CASE("rollback token: tokens of the new epoch held before restore are kept", "[rollback][token]") {
    TokenProtocol p(NodeId{2}, TokenConfig{20ms}, Incarnation{20});
    const TokenSavedState cut = p.save();
    // A neighbour restored first and passed on a token of the new epoch.
    p.on_token(t0, free_in(3));
    REQUIRE(p.epoch() == Epoch{3});
    REQUIRE(p.held() == 1);
    REQUIRE(p.restore(t0 + 1ms, cut, {free_in(1)}, Epoch{3}));
    CHECK(p.held() == 2);
    p.on_timer(t0 + 21ms);
    const auto fwd = p.take_forward();
    REQUIRE(fwd.size() == 2);
    for (const auto& t : fwd) CHECK(t.epoch == Epoch{3});
}

TEST_CASE("rollback token: an armed lose fault does not take a restored channel token", "[rollback][token]") {
    TokenProtocol p(NodeId{2}, TokenConfig{0ms}, Incarnation{20});
    const TokenSavedState cut = p.save();
    p.inject(InjectKind::lose);
    REQUIRE(p.restore(t0, cut, {free_in(1)}, Epoch{2}));
    CHECK(p.held() == 1);
    CHECK(p.fault_armed());
    const auto ev = kinds(p.take_events());
    CHECK(std::find(ev.begin(), ev.end(), TokenEventKind::lost_by_fault) == ev.end());
    p.on_timer(t0);
    CHECK(p.take_forward().size() == 1);
    // Still armed: it takes the next token received.
    p.on_token(t0, free_in(2));
    CHECK(kinds(p.take_events()) == std::vector{TokenEventKind::lost_by_fault});
    CHECK_FALSE(p.fault_armed());
}

TEST_CASE("rollback token: had_token stays true after restoring a state saved before any token", "[rollback][token]") {
    TokenProtocol p(NodeId{2}, TokenConfig{0ms}, Incarnation{20});
    const TokenSavedState cut = p.save();
    CHECK_FALSE(p.had_token());
    p.on_token(t0, free_in(1));
    p.on_timer(t0);
    p.take_forward();
    REQUIRE(p.had_token());
    REQUIRE(p.restore(t0, cut, {}, Epoch{2}));
    CHECK(p.held() == 0);
    CHECK(p.had_token());
    CHECK(p.state().had_token);
}

// ---------------------------------------------------------------------------------------------
// KeptSnapshots

namespace {
SavedSnapshot saved(std::uint64_t id) {
    SavedSnapshot s;
    s.id = SnapshotId{id};
    s.token.next_msg_id = id * 10;  // tells them apart
    return s;
}
std::vector<SnapshotId> written_ids(KeptSnapshots& k) {
    std::vector<SnapshotId> out;
    for (const auto& s : k.take_written()) out.push_back(s.id);
    return out;
}
}  // namespace

TEST_CASE("rollback kept: without a pin the last keep_last completed are kept", "[rollback][kept]") {
    KeptSnapshots k(3);
    for (std::uint64_t id = 1; id <= 5; ++id) k.add(saved(id));
    CHECK(k.ids() == ids({3, 4, 5}));
    CHECK(k.size() == 3);
    CHECK(written_ids(k) == ids({1, 2, 3, 4, 5}));
    CHECK(k.take_erased() == ids({1, 2}));
    CHECK(k.take_written().empty());
    CHECK(k.take_erased().empty());
    CHECK(k.pinned() == SnapshotId{0});
    CHECK(k.find(SnapshotId{2}) == nullptr);
    const SavedSnapshot* four = k.find(SnapshotId{4});
    REQUIRE(four != nullptr);
    CHECK(four->token.next_msg_id == 40);
    REQUIRE(k.oldest() != nullptr);
    CHECK(k.oldest()->id == SnapshotId{3});
    // The same snapshot again is neither kept twice nor written again.
    k.add(saved(5));
    CHECK(k.ids() == ids({3, 4, 5}));
    CHECK(k.take_written().empty());
}

TEST_CASE("rollback kept: a pin keeps that one, drops older ones, and keeps later ones up to the bound", "[rollback][kept]") {
    KeptSnapshots k(3);
    for (std::uint64_t id = 1; id <= 4; ++id) k.add(saved(id));
    k.take_written();
    k.take_erased();
    REQUIRE(k.ids() == ids({2, 3, 4}));

    k.pin(SnapshotId{3});
    CHECK(k.pinned() == SnapshotId{3});
    CHECK(k.ids() == ids({3, 4}));
    CHECK(k.take_erased() == ids({2}));
    CHECK(k.take_written().empty());

    k.add(saved(5));
    k.add(saved(6));
    CHECK(k.ids() == ids({3, 4, 5, 6}));
    CHECK(k.take_erased().empty());
    k.add(saved(7));
    CHECK(k.ids() == ids({3, 5, 6, 7}));  // the pinned one, and the last three after it
    CHECK(k.take_erased() == ids({4}));
    CHECK(written_ids(k) == ids({5, 6, 7}));

    // Pins of nothing held, or of no snapshot, change nothing.
    k.pin(SnapshotId{99});
    k.pin(SnapshotId{0});
    CHECK(k.pinned() == SnapshotId{3});
    CHECK(k.ids() == ids({3, 5, 6, 7}));
    CHECK(k.take_erased().empty());

    // A newer pin replaces it: the old pinned one and everything before the new one go.
    k.pin(SnapshotId{6});
    CHECK(k.pinned() == SnapshotId{6});
    CHECK(k.ids() == ids({6, 7}));
    CHECK(k.take_erased() == ids({3, 5}));
}

TEST_CASE("rollback kept: load keeps what an earlier process saved, up to kMaxKeptSnapshots, writing nothing", "[rollback][kept]") {
    SECTION("more than the bound") {
        KeptSnapshots k(2);
        std::vector<SavedSnapshot> found;
        for (std::uint64_t id = 1; id <= 40; ++id) found.push_back(saved(id));
        k.load(found);
        CHECK(k.size() == kMaxKeptSnapshots);
        REQUIRE(k.oldest() != nullptr);
        CHECK(k.oldest()->id == SnapshotId{40 - kMaxKeptSnapshots + 1});
        CHECK(k.find(SnapshotId{40}) != nullptr);
        std::vector<SnapshotId> dropped;
        for (std::uint64_t id = 1; id <= 40 - kMaxKeptSnapshots; ++id) dropped.push_back(SnapshotId{id});
        CHECK(k.take_erased() == dropped);
        CHECK(k.take_written().empty());
        // The next completed snapshot pushes them out down to keep_last.
        k.add(saved(41));
        CHECK(k.ids() == ids({40, 41}));
    }
    SECTION("fewer than the bound, more than keep_last: all stay") {
        KeptSnapshots k(2);
        std::vector<SavedSnapshot> found;
        for (std::uint64_t id = 1; id <= 5; ++id) found.push_back(saved(id));
        k.load(found);
        CHECK(k.ids() == ids({1, 2, 3, 4, 5}));
        CHECK(k.take_erased().empty());
        CHECK(k.take_written().empty());
    }
}

TEST_CASE("rollback kept: keep_last is clamped to 1..kMaxKeptSnapshots-1", "[rollback][kept]") {
    KeptSnapshots none(0);
    none.add(saved(1));
    none.add(saved(2));
    CHECK(none.ids() == ids({2}));
    KeptSnapshots many(1000);
    for (std::uint64_t id = 1; id <= 40; ++id) many.add(saved(id));
    CHECK(many.size() == kMaxKeptSnapshots - 1);
}

// ---------------------------------------------------------------------------------------------
// encode_saved / decode_saved

namespace {
SavedSnapshot rich_saved() {
    SavedSnapshot s;
    s.id = SnapshotId{first_snapshot_of_era(9).value + 4};
    TokenSavedState& t = s.token;
    t.epoch = Epoch{6};
    t.held = {free_in(6), Token{TokenKind::busy, Epoch{6}, NodeId{2}, NodeId{4}, 17, true, Bytes{'h', 'i'}, Incarnation{0xABCDEF}}};
    t.queue = {OutgoingMessage{NodeId{3}, Bytes{1, 2, 3}, 21, Incarnation{77}, 0, 21},
               OutgoingMessage{NodeId{4}, Bytes(kMaxPayloadBytes, 0x5A), 22, Incarnation{77}, 2, 22}};
    t.in_transit = {OutgoingMessage{NodeId{5}, Bytes{'x'}, 20, Incarnation{0x1122334455667788}, 1, 20}};
    t.next_msg_id = 23;
    t.delivered_count = 9;
    REQUIRE(t.delivered.first_time(NodeId{2}, Incarnation{5}, 1));
    REQUIRE(t.delivered.first_time(NodeId{2}, Incarnation{5}, 3));
    REQUIRE(t.delivered.first_time(NodeId{4}, Incarnation{6}, 8));
    REQUIRE(t.delivered.first_time(NodeId{4}, Incarnation{7}, 1));
    t.delivered.put(NodeId{6}, Incarnation{8}, DeliveryLog::Window{100, {102, 105}});
    t.incarnation = Incarnation{77};
    t.accepted = 22;
    t.deliveries = 9;
    s.channel = {Token{TokenKind::busy, Epoch{6}, NodeId{3}, NodeId{1}, 4, false, Bytes{'c'}, Incarnation{33}}, free_in(5)};
    return s;
}

void put_u32(Bytes& b, std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) b.at(at + static_cast<std::size_t>(i)) = static_cast<std::uint8_t>(v >> (8 * (3 - i)));
}
}  // namespace

TEST_CASE("rollback saved: a saved state round-trips with every field intact", "[rollback][saved]") {
    const SavedSnapshot s = rich_saved();
    const Bytes b = encode_saved(s);
    CHECK(Bytes(b.begin(), b.begin() + 4) == Bytes{'R', 'W', 'S', 'S'});
    const auto back = decode_saved(b);
    REQUIRE(back.has_value());
    CHECK(back->id == s.id);
    CHECK(back->token.held == s.token.held);
    CHECK(back->token.queue == s.token.queue);
    CHECK(back->token.in_transit == s.token.in_transit);
    CHECK(back->token.delivered == s.token.delivered);
    CHECK(back->channel == s.channel);
    CHECK(*back == s);
    // And the empty state.
    const auto empty = decode_saved(encode_saved(SavedSnapshot{}));
    REQUIRE(empty.has_value());
    CHECK(*empty == SavedSnapshot{});
}

TEST_CASE("rollback saved: what a node saved restores the same as the state itself", "[rollback][saved]") {
    TokenProtocol p(NodeId{1}, TokenConfig{0ms}, Incarnation{10});
    REQUIRE(p.enqueue(NodeId{3}, Bytes{'a'}));
    REQUIRE(p.enqueue(NodeId{2}, Bytes{'b'}));
    p.on_token(t0, busy(2, 1, 5, Bytes{'z'}, 20));
    const SavedSnapshot s{SnapshotId{3}, p.save(), {free_in(1)}};
    const auto back = decode_saved(encode_saved(s));
    REQUIRE(back.has_value());
    CHECK(*back == s);
}

TEST_CASE("rollback saved: a count the bytes cannot hold is refused before anything is allocated for it", "[rollback][saved]") {
    // A forged file of a few bytes claiming a million tokens (or messages, or journal entries).
    Bytes forged = encode_saved(SavedSnapshot{});
    const std::size_t held_count_at = 4 + 1 + 8 + 4;  // magic, version, id, epoch
    forged[held_count_at] = 0x00;
    forged[held_count_at + 1] = 0x10;  // 2^20
    std::size_t largest = 0;
    {
        test::AllocationProbe probe;
        CHECK_FALSE(decode_saved(forged));
        largest = probe.largest();
    }
    CHECK(largest < 4096);
    Bytes forged_messages = encode_saved(SavedSnapshot{});
    forged_messages[held_count_at + 4 + 1] = 0x10;  // the queue's count
    {
        test::AllocationProbe probe;
        CHECK_FALSE(decode_saved(forged_messages));
        largest = probe.largest();
    }
    CHECK(largest < 4096);
    Bytes forged_record = encode_deliveries(DeliveryRecord{});
    forged_record[forged_record.size() - 7] = 0x10;  // the journal's count
    {
        test::AllocationProbe probe;
        CHECK_FALSE(decode_deliveries(forged_record));
        largest = probe.largest();
    }
    CHECK(largest < 4096);
}

TEST_CASE("rollback saved: malformed bytes are rejected, never crash", "[rollback][saved]") {
    const Bytes good = encode_saved(rich_saved());
    REQUIRE(decode_saved(good).has_value());

    std::vector<std::size_t> accepted_prefixes;
    for (std::size_t n = 0; n < good.size(); ++n)
        if (decode_saved(std::span(good).first(n))) accepted_prefixes.push_back(n);
    CHECK(accepted_prefixes.empty());

    Bytes magic = good;
    magic[0] = 'X';
    CHECK_FALSE(decode_saved(magic).has_value());
    Bytes version = good;
    version[4] = 2;
    CHECK_FALSE(decode_saved(version).has_value());
    Bytes trailing = good;
    trailing.push_back(0);
    CHECK_FALSE(decode_saved(trailing).has_value());

    // Counts past their bounds, in a small state whose layout is known:
    // "RWSS" 1 | id u64 | epoch u32 | held n @17 | queue n @21 | in_transit n @25 | next u64 | delivered u64
    // | sources n @45 | src u16 | incarnations u8 @51 | inc u64 | floor u64 | window n @68 | ids... | ...
    SavedSnapshot small;
    small.id = SnapshotId{1};
    REQUIRE(small.token.delivered.first_time(NodeId{2}, Incarnation{5}, 1));
    const Bytes base = encode_saved(small);
    REQUIRE(decode_saved(base).has_value());
    REQUIRE(base.at(20) == 0);  // held: none
    REQUIRE(base.at(48) == 1);  // one source
    REQUIRE(base.at(51) == 1);  // one incarnation
    REQUIRE(base.at(71) == 1);  // one id in its window
    auto with_u32 = [&base](std::size_t at, std::uint32_t v) {
        Bytes b = base;
        put_u32(b, at, v);
        return b;
    };
    CHECK_FALSE(decode_saved(with_u32(17, 0xFFFF'FFFF)).has_value());
    CHECK_FALSE(decode_saved(with_u32(17, (1u << 20) + 1)).has_value());
    CHECK_FALSE(decode_saved(with_u32(21, 0xFFFF'FFFF)).has_value());
    CHECK_FALSE(decode_saved(with_u32(25, 0xFFFF'FFFF)).has_value());
    CHECK_FALSE(decode_saved(with_u32(45, 0xFFFF'FFFF)).has_value());
    CHECK_FALSE(decode_saved(with_u32(68, 0xFFFF'FFFF)).has_value());
    CHECK_FALSE(decode_saved(with_u32(68, DeliveryLog::kWindow + 1)).has_value());
    Bytes incs = base;
    incs[51] = DeliveryLog::kIncarnationsPerSource + 1;
    CHECK_FALSE(decode_saved(incs).has_value());
    const std::size_t channel_count = base.size() - 4;
    REQUIRE(base.at(channel_count + 3) == 0);  // channel: none
    CHECK_FALSE(decode_saved(with_u32(channel_count, 0xFFFF'FFFF)).has_value());

    // Any single corrupted byte: an answer, never an exception.
    std::size_t threw = 0;
    for (std::size_t i = 0; i < good.size(); ++i) {
        for (std::uint8_t mask : {std::uint8_t{0x01}, std::uint8_t{0x80}, std::uint8_t{0xFF}}) {
            Bytes b = good;
            b[i] = static_cast<std::uint8_t>(b[i] ^ mask);
            try {
                (void)decode_saved(b);
            } catch (...) {
                ++threw;
            }
        }
    }
    CHECK(threw == 0);
}

// ---------------------------------------------------------------------------------------------
// Node

namespace {
// Node 1 of a ring 0 -> 1 -> 2, holding tokens no time at all.
NodeConfig middle(std::size_t keep = kMaxKeptSnapshots - 1) {
    NodeConfig c;
    c.self = NodeId{1};
    c.predecessor = NodeId{0};
    c.successor = NodeId{2};
    c.token.hold = 0ms;
    c.incarnation = Incarnation{11};
    c.keep_snapshots = keep;
    return c;
}

struct Sent {
    NodeId to;
    Message message;
};

// A node fed whole messages, its output decoded.
struct DrivenNode {
    Node node;
    NodeOutput last;
    explicit DrivenNode(NodeConfig c) : node(std::move(c), t0) { drain(); }

    std::vector<Sent> drain() {
        last = NodeOutput{};
        node.take_output(last);
        std::vector<Sent> out;
        for (const auto& a : last.messages) {
            Message m;
            REQUIRE(decode_message(a.bytes, m) == MessageError::none);
            out.push_back({a.peer, std::move(m)});
        }
        return out;
    }
    std::vector<Sent> feed(NodeId from, const Message& m) {
        node.on_message(t0, from, encode_message(m));
        return drain();
    }
    // A snapshot the monitor starts, with `channel` arriving from the predecessor before its marker.
    SnapshotReport snapshot(SnapshotId id, const std::vector<Token>& channel = {}) {
        feed(kMonitorId, SnapshotStart{id, id});
        for (const auto& t : channel) feed(NodeId{0}, t);
        std::vector<SnapshotReport> reports;
        for (auto& s : feed(NodeId{0}, MarkerMessage{id}))
            if (s.to == kMonitorId) reports.push_back(std::get<SnapshotReport>(s.message));
        REQUIRE(reports.size() == 1);
        return reports[0];
    }
};

const SnapshotId s1 = first_snapshot_of_era(5);
const SnapshotId s2{s1.value + 1};
const SnapshotId s3{s1.value + 2};
}  // namespace

TEST_CASE("rollback node: a completed snapshot is kept and reported, and a rollback to it is acknowledged first", "[rollback][node]") {
    DrivenNode d(middle());
    const SnapshotReport r = d.snapshot(s1, {free_in(1)});
    CHECK(r.id == s1);
    CHECK(r.kept == std::vector<SnapshotId>{s1});
    CHECK(r.pinned == SnapshotId{0});
    CHECK(r.in_flight_count == 1);
    REQUIRE(d.last.saved.size() == 1);  // for the state directory
    CHECK(d.last.saved[0].id == s1);
    CHECK(d.last.saved[0].channel.size() == 1);
    REQUIRE(d.node.kept().find(s1) != nullptr);

    const auto out = d.feed(kMonitorId, RecoverCommand{42, RecoverMode::rollback, Epoch{2}, kNoIssuer, s1});
    REQUIRE(out.size() == 2);
    CHECK(out[0].to == kMonitorId);
    REQUIRE(std::holds_alternative<CommandAck>(out[0].message));
    CHECK(std::get<CommandAck>(out[0].message).command_id == 42);
    CHECK(std::get<CommandAck>(out[0].message).ok);
    // Then what the restored state does: the channel's token received again, passed on in epoch 2.
    CHECK(out[1].to == NodeId{2});
    REQUIRE(std::holds_alternative<Token>(out[1].message));
    CHECK(std::get<Token>(out[1].message).epoch == Epoch{2});
    CHECK(d.node.token().epoch() == Epoch{2});
    CHECK(d.node.token().stats().rollbacks == 1);
    CHECK(d.node.stats().rollbacks_refused == 0);

    // The same order again (already restored in epoch 2): refused.
    const auto again = d.feed(kMonitorId, RecoverCommand{43, RecoverMode::rollback, Epoch{2}, kNoIssuer, s1});
    REQUIRE(again.size() == 1);
    REQUIRE(std::holds_alternative<CommandAck>(again[0].message));
    CHECK_FALSE(std::get<CommandAck>(again[0].message).ok);
    CHECK(d.node.stats().rollbacks_refused == 1);
    CHECK(d.node.token().stats().rollbacks == 1);
}

TEST_CASE("rollback node: a rollback to a snapshot not kept is refused", "[rollback][node]") {
    DrivenNode d(middle());
    d.snapshot(s1);
    const Epoch before = d.node.token().epoch();
    const auto out = d.feed(kMonitorId, RecoverCommand{7, RecoverMode::rollback, Epoch{2}, kNoIssuer, SnapshotId{s1.value + 50}});
    REQUIRE(out.size() == 1);
    CHECK(out[0].to == kMonitorId);
    REQUIRE(std::holds_alternative<CommandAck>(out[0].message));
    CHECK(std::get<CommandAck>(out[0].message).command_id == 7);
    CHECK_FALSE(std::get<CommandAck>(out[0].message).ok);
    CHECK(d.node.stats().rollbacks_refused == 1);
    CHECK(d.node.token().stats().rollbacks == 0);
    CHECK(d.node.token().epoch() == before);  // nothing adopted either
}

TEST_CASE("rollback node: the monitor's KeepSnapshot pins a snapshot beyond the last few", "[rollback][node]") {
    DrivenNode d(middle(1));  // keeps only the last completed, and the pinned one
    CHECK(d.snapshot(s1).pinned == SnapshotId{0});
    d.feed(kMonitorId, KeepSnapshot{s1});
    CHECK(d.node.kept().pinned() == s1);
    const SnapshotReport r2 = d.snapshot(s2);
    CHECK(r2.pinned == s1);
    CHECK(r2.kept == std::vector<SnapshotId>{s1, s2});
    const SnapshotReport r3 = d.snapshot(s3);
    CHECK(r3.pinned == s1);
    CHECK(r3.kept == std::vector<SnapshotId>{s1, s3});
    CHECK(d.last.erased == std::vector<SnapshotId>{s2});
    // Only the monitor names it: a tool's KeepSnapshot is not obeyed.
    d.feed(NodeId{kToolIdFirst}, KeepSnapshot{s3});
    CHECK(d.node.kept().pinned() == s1);
    CHECK(d.node.stats().unexpected == 1);
    // The pinned one can still be restored.
    const auto out = d.feed(kMonitorId, RecoverCommand{9, RecoverMode::rollback, Epoch{2}, kNoIssuer, s1});
    REQUIRE_FALSE(out.empty());
    REQUIRE(std::holds_alternative<CommandAck>(out[0].message));
    CHECK(std::get<CommandAck>(out[0].message).ok);
}

// ---------------------------------------------------------------------------------------------
// MonitorCore, recover = rollback

namespace {
struct RollbackMonitor {
    test::TappedMonitor m;
    Instant now = t0;
    RollbackMonitor() : m(config(), t0) {}
    static MonitorConfig config() {
        MonitorConfig c;
        c.evict_after.reset();  // no views (test_monitor_views.cpp): a new monitor would first take the ring over with one
        c.ring = {NodeId{0}, NodeId{1}};
        c.recover = RecoveryMode::rollback;
        return c;
    }
    // One snapshot: node 0 holds `held0` tokens, node 1 none; each reports keeping `kept0`/`kept1`
    // and the snapshot itself.
    Verdict snapshot(std::uint32_t held0, std::vector<SnapshotId> kept0, std::vector<SnapshotId> kept1) {
        now += 100ms;
        m.on_timer(now);
        const auto cmds = m.take_commands();
        REQUIRE_FALSE(cmds.empty());
        const SnapshotId id = cmds[0].start.id;
        kept0.push_back(id);
        kept1.push_back(id);
        m.on_report(now, NodeId{0}, report(id, 0, held0, 1, kept0));
        m.on_report(now, NodeId{1}, report(id, 1, 0, 0, kept1));
        auto v = m.take_verdicts();
        REQUIRE(v.size() == 1);
        return v[0];
    }
    static SnapshotReport report(SnapshotId id, std::uint16_t node, std::uint32_t held, std::uint16_t from, std::vector<SnapshotId> kept) {
        SnapshotReport r;
        r.id = id;
        r.node = NodeId{node};
        r.state.held.resize(held);
        r.state.held_count = held;
        r.state.had_token = true;
        r.channel_from = NodeId{from};
        r.kept = std::move(kept);
        return r;
    }
};
}  // namespace

TEST_CASE("rollback monitor: an ok verdict names the snapshot to keep, and a loss restores it everywhere", "[rollback][monitor]") {
    RollbackMonitor rm;
    const Verdict ok = rm.snapshot(1, {}, {});
    REQUIRE(ok.kind == VerdictKind::ok);
    const auto keeps = rm.m.take_keeps();
    REQUIRE(keeps.size() == 2);
    CHECK(keeps[0].first == NodeId{0});
    CHECK(keeps[1].first == NodeId{1});
    for (const auto& [node, k] : keeps) CHECK(k.id == ok.id);
    CHECK(rm.m.take_recover_commands().empty());
    rm.m.take_incident_events();

    const Verdict lost = rm.snapshot(0, {ok.id}, {ok.id});
    REQUIRE(lost.kind == VerdictKind::token_lost);
    CHECK(rm.m.take_keeps().empty());  // not a snapshot to keep
    const auto orders = rm.m.take_recover_commands();
    REQUIRE(orders.size() == 2);
    CHECK(orders[0].first == NodeId{0});
    CHECK(orders[1].first == NodeId{1});
    for (const auto& [node, rc] : orders) {
        CHECK(rc.mode == RecoverMode::rollback);
        CHECK(rc.snapshot == ok.id);
        CHECK(rc.epoch == Epoch{2});
        CHECK(rc.issuer == kNoIssuer);
    }
    CHECK(orders[0].second.command_id != orders[1].second.command_id);
    CHECK(rm.m.epoch() == Epoch{2});
    const auto ev = rm.m.take_incident_events();
    REQUIRE(ev.size() == 2);
    CHECK(ev[0].kind == IncidentEventKind::alarm);
    CHECK(ev[1].kind == IncidentEventKind::recovery);
    CHECK(ev[1].mode == RecoverMode::rollback);
    CHECK(ev[1].note.empty());
    REQUIRE(ev[1].restored.has_value());
    CHECK(*ev[1].restored == ok.id);
    CHECK(ev[1].epoch == Epoch{2});
}

TEST_CASE("rollback monitor: the newest ok snapshot kept by every node is the one restored", "[rollback][monitor]") {
    RollbackMonitor rm;
    const Verdict ok1 = rm.snapshot(1, {}, {});
    const Verdict ok2 = rm.snapshot(1, {ok1.id}, {ok1.id});
    REQUIRE(ok1.kind == VerdictKind::ok);
    REQUIRE(ok2.kind == VerdictKind::ok);
    CHECK(rm.m.take_keeps().size() == 4);
    // Node 1 no longer keeps ok2; both keep ok1.
    REQUIRE(rm.snapshot(0, {ok1.id, ok2.id}, {ok1.id}).kind == VerdictKind::token_lost);
    const auto orders = rm.m.take_recover_commands();
    REQUIRE(orders.size() == 2);
    for (const auto& [node, rc] : orders) CHECK(rc.snapshot == ok1.id);
}

TEST_CASE("rollback monitor: no ok snapshot kept by every node: regenerated instead, said in the event", "[rollback][monitor]") {
    RollbackMonitor rm;
    const Verdict ok = rm.snapshot(1, {}, {});
    REQUIRE(ok.kind == VerdictKind::ok);
    rm.m.take_keeps();
    rm.m.take_incident_events();

    // Node 1 no longer keeps it (a restart without a state directory): no verdict will ever be ok
    // again while the token is missing, so waiting would leave the ring without a token for good.
    REQUIRE(rm.snapshot(0, {ok.id}, {}).kind == VerdictKind::token_lost);
    const auto orders = rm.m.take_recover_commands();
    REQUIRE(orders.size() == 2);
    for (const auto& [node, rc] : orders) {
        CHECK(rc.mode == RecoverMode::regenerate);
        CHECK(rc.epoch == Epoch{2});
    }
    auto ev = rm.m.take_incident_events();
    REQUIRE(ev.size() == 2);
    CHECK(ev[0].kind == IncidentEventKind::alarm);
    CHECK(ev[1].kind == IncidentEventKind::recovery);
    CHECK(ev[1].mode == RecoverMode::regenerate);
    CHECK(ev[1].note == "no snapshot judged ok is kept by every node: regenerated instead");
    CHECK_FALSE(ev[1].restored.has_value());

    // Asked by hand for a rollback all the same: refused with the reason, nothing ordered (the
    // operator asked for that mode; a regenerate is theirs to ask for).
    CHECK_FALSE(rm.m.recover_by_hand(rm.now, RecoverMode::rollback));
    CHECK(rm.m.take_recover_commands().empty());
    ev = rm.m.take_incident_events();
    REQUIRE(ev.size() == 1);
    CHECK(ev[0].mode == RecoverMode::rollback);
    CHECK(ev[0].note == "no snapshot judged ok is kept by every node");
}
