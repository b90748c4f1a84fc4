// The token protocol, the node's message codec and the monitor core, each on its own.
#include <catch2/catch.hpp>

#include "monitor/core/monitor_core.h"
#include "monitor/core/verdict_json.h"
#include "ring/core/messages.h"
#include "ring/core/node.h"
#include "ring/core/rotation_times.h"
#include "ring/core/token.h"
#include "tests/unit/monitor_taps.h"

using namespace ringwatch;
using namespace std::chrono_literals;

namespace {
const Instant t0 = instant_us(1'000'000);
Token free_token() { return Token{}; }
// Node 1 of a ring 0 -> 1 -> 2.
NodeConfig middle_node() {
    NodeConfig c;
    c.self = NodeId{1};
    c.predecessor = NodeId{0};
    c.successor = NodeId{2};
    return c;
}
}  // namespace

namespace {
// Encodes, decodes, and hands back the decoded message of the same type.
template <typename T>
T round_trip(const T& original) {
    const Bytes b = encode_message(original);
    Message back;
    REQUIRE(decode_message(b, back) == MessageError::none);
    REQUIRE(std::holds_alternative<T>(back));
    return std::get<T>(back);
}
}  // namespace

TEST_CASE("messages: a report lists at most 64 tokens but always carries the true counts", "[messages]") {
    SnapshotReport rep;
    rep.id = SnapshotId{1};
    rep.node = NodeId{2};
    rep.state.held.assign(70, TokenSummary{});
    rep.state.held_count = 70;
    rep.in_flight.assign(100, TokenSummary{});
    rep.in_flight_count = 100;
    const SnapshotReport r = round_trip(rep);
    CHECK(r.state.held.size() == kMaxTokensInReport);
    CHECK(r.state.held_count == 70);
    CHECK(r.in_flight.size() == kMaxTokensInReport);
    CHECK(r.in_flight_count == 100);
    // A list longer than its count, or shorter than it could be, is malformed.
    Bytes b =
        encode_message(SnapshotReport{SnapshotId{1}, NodeId{2}, Incarnation{5}, NodeState{{TokenSummary{}}, 1, 0, 0, 0}, NodeId{1}, {}, 0, {}, {}});
    Message m;
    REQUIRE(decode_message(b, m) == MessageError::none);
    b[1 + 8 + 2 + 8 + 3] = 2;  // held count (big-endian u32 after id, node, incarnation): 2, but one listed
    CHECK(decode_message(b, m) == MessageError::bad_value);
}

TEST_CASE("messages: malformed input is rejected with a reason", "[messages]") {
    Message m;
    CHECK(decode_message(Bytes{}, m) == MessageError::empty);
    CHECK(decode_message(Bytes{99}, m) == MessageError::unknown_type);
    const Bytes token = encode_message(Token{TokenKind::busy, Epoch{1}, NodeId{1}, NodeId{2}, 1, false, Bytes{1, 2, 3}, {}});
    for (std::size_t n = 1; n < token.size(); ++n) {
        CHECK(decode_message(std::span(token).first(n), m) == MessageError::truncated);
    }
    Bytes trailing = token;
    trailing.push_back(0);
    CHECK(decode_message(trailing, m) == MessageError::trailing_bytes);
    Bytes bad_kind = token;
    bad_kind[1] = 5;
    CHECK(decode_message(bad_kind, m) == MessageError::bad_value);
    // A free token cannot carry a payload.
    Bytes free_with_payload = encode_message(Token{TokenKind::free_token, Epoch{1}, {}, {}, 0, false, Bytes{1}, {}});
    CHECK(decode_message(free_with_payload, m) == MessageError::bad_value);
    Bytes long_payload = encode_message(SendCommand{1, NodeId{2}, Bytes(kMaxPayloadBytes + 1, 0)});
    CHECK(decode_message(long_payload, m) == MessageError::too_long);
}

TEST_CASE("rotation times: gaps between arrivals, the last 4096 kept, nearest-rank quantiles", "[token]") {
    RotationTimes r;
    CHECK_FALSE(r.quantile(0.5));
    r.on_arrival(instant_us(1000));
    CHECK_FALSE(r.quantile(0.5));  // one arrival is no rotation yet
    CHECK(r.count() == 0);
    // Rotations of 1..100 ms: p50 is the 50th or 51st, p99 the 99th, max the 100th.
    std::int64_t t = 1000;
    for (int ms = 1; ms <= 100; ++ms) r.on_arrival(instant_us(t += ms * 1000));
    CHECK(r.count() == 100);
    CHECK(r.quantile(0.0) == Duration{1000});
    CHECK(r.quantile(0.5)->count() / 1000 == 51);
    CHECK(r.quantile(0.99) == Duration{99000});
    CHECK(r.quantile(1.0) == Duration{100000});
    // 5000 more of 7 ms: the 100 old ones are pushed out of the 4096 kept.
    for (int i = 0; i < 5000; ++i) r.on_arrival(instant_us(t += 7000));
    CHECK(r.count() == 5100);
    CHECK(r.quantile(0.0) == Duration{7000});
    CHECK(r.quantile(1.0) == Duration{7000});
}

TEST_CASE("token: a free token is held, then caught for a queued message", "[token]") {
    TokenProtocol p(NodeId{1}, TokenConfig{20ms});
    REQUIRE(p.enqueue(NodeId{3}, Bytes{'a'}));
    p.on_token(t0, free_token());
    p.on_timer(t0 + 19ms);
    CHECK(p.take_forward().empty());  // still held
    CHECK(p.state().held.size() == 1);
    p.on_timer(t0 + 20ms);
    auto out = p.take_forward();
    REQUIRE(out.size() == 1);
    CHECK(out[0].kind == TokenKind::busy);
    CHECK(out[0].src == NodeId{1});
    CHECK(out[0].dst == NodeId{3});
    CHECK(out[0].payload == Bytes{'a'});
    CHECK(p.queue_length() == 0);
}

TEST_CASE("token: the destination copies once, the source frees and passes on", "[token]") {
    TokenProtocol dst(NodeId{3}, TokenConfig{0ms});
    Token busy{TokenKind::busy, Epoch{1}, NodeId{1}, NodeId{3}, 1, false, Bytes{'m'}, {}};
    dst.on_token(t0, busy);
    dst.on_timer(t0);
    auto ev = dst.take_events();
    REQUIRE(ev.size() == 1);
    CHECK(ev[0].kind == TokenEventKind::delivered);
    CHECK(ev[0].payload == Bytes{'m'});
    auto fwd = dst.take_forward();
    REQUIRE(fwd.size() == 1);
    CHECK(fwd[0].copied);
    // The same message again (a duplicated token) is not delivered twice.
    dst.on_token(t0, busy);
    dst.on_timer(t0);
    ev = dst.take_events();
    REQUIRE(ev.size() == 1);
    CHECK(ev[0].kind == TokenEventKind::duplicate_message_dropped);

    TokenProtocol src(NodeId{1}, TokenConfig{0ms});
    src.enqueue(NodeId{2}, Bytes{'n'});  // waiting: must not catch its own freed token at once
    src.on_token(t0, fwd[0]);
    src.on_timer(t0);
    ev = src.take_events();
    REQUIRE(ev.size() == 1);
    CHECK(ev[0].kind == TokenEventKind::returned);
    fwd = src.take_forward();
    REQUIRE(fwd.size() == 1);
    CHECK(fwd[0].kind == TokenKind::free_token);
    CHECK(src.queue_length() == 1);
}

TEST_CASE("token: a restarted source's messages are new, not repeats of its old process's", "[token]") {
    TokenProtocol dst(NodeId{2}, TokenConfig{0ms});
    auto busy = [](std::uint64_t inc, std::uint64_t id) {
        return Token{TokenKind::busy, Epoch{1}, NodeId{1}, NodeId{2}, id, false, Bytes{'m'}, Incarnation{inc}};
    };
    auto delivered = [&dst] {
        std::size_t n = 0;
        for (auto& e : dst.take_events()) n += e.kind == TokenEventKind::delivered ? 1 : 0;
        return n;
    };
    dst.on_token(t0, busy(100, 5));
    CHECK(delivered() == 1);
    dst.on_token(t0, busy(100, 5));  // a duplicated busy token: dropped
    CHECK(delivered() == 0);
    dst.on_token(t0, busy(200, 1));  // source 1 restarted: its ids start again
    CHECK(delivered() == 1);
    dst.on_token(t0, busy(200, 1));
    CHECK(delivered() == 0);
    dst.on_token(t0, busy(100, 6));  // a late message of the old process is still its own
    CHECK(delivered() == 1);
    dst.take_forward();
}

TEST_CASE("token: a message for a node left out of the ring waits, never given up, and the others go past it", "[token][views]") {
    TokenProtocol src(NodeId{1}, TokenConfig{0ms});
    src.set_members({NodeId{0}, NodeId{1}, NodeId{2}});  // node 3 left out
    REQUIRE(src.enqueue(NodeId{3}, Bytes{'a'}));
    REQUIRE(src.enqueue(NodeId{2}, Bytes{'b'}));
    auto ride = [&](Token t) {
        src.on_token(t0, std::move(t));
        src.on_timer(t0);
        auto out = src.take_forward();
        REQUIRE(out.size() == 1);
        return out[0];
    };
    Token t = ride(free_token());
    CHECK(t.kind == TokenKind::busy);
    CHECK(t.dst == NodeId{2});  // past the one for node 3
    t.copied = true;
    CHECK(ride(t).kind == TokenKind::free_token);  // back home: freed
    CHECK(src.queue_length() == 1);
    for (int i = 0; i < 5; ++i) CHECK(ride(free_token()).kind == TokenKind::free_token);  // node 3's waits
    // Node 3 back in the ring: its message goes. Out when node 3 is left out again, it comes back
    // uncopied and waits again, however often: no attempt counts against it.
    src.set_members({NodeId{0}, NodeId{1}, NodeId{2}, NodeId{3}});
    t = ride(free_token());
    CHECK(t.dst == NodeId{3});
    src.set_members({NodeId{0}, NodeId{1}, NodeId{2}});
    for (int i = 0; i < 5; ++i) {
        CHECK(ride(t).kind == TokenKind::free_token);
        CHECK(src.queue_length() == 1);
        src.set_members({});
        t = ride(free_token());
        src.set_members({NodeId{0}, NodeId{1}, NodeId{2}});
    }
    for (const auto& e : src.take_events()) CHECK(e.kind != TokenEventKind::undeliverable);
}

TEST_CASE("token: a busy token back uncopied goes round again, three times, then is reported undeliverable", "[token]") {
    TokenProtocol src(NodeId{1}, TokenConfig{0ms});
    REQUIRE(src.enqueue(NodeId{9}, Bytes{'z'}));
    for (int round = 0; round < 3; ++round) {
        src.on_token(t0, free_token());  // caught
        src.on_timer(t0);
        auto out = src.take_forward();
        REQUIRE(out.size() == 1);
        REQUIRE(out[0].kind == TokenKind::busy);
        if (round < 2) {
            src.on_token(t0, out[0]);  // back uncopied: queued again
            src.on_timer(t0);
            src.take_forward();
            CHECK(src.queue_length() == 1);
            src.take_events();
        } else {
            src.take_events();
            src.on_token(t0, out[0]);
        }
    }
    src.on_timer(t0);
    auto ev = src.take_events();
    REQUIRE(ev.size() == 1);
    CHECK(ev[0].kind == TokenEventKind::undeliverable);
    CHECK(src.take_forward().at(0).kind == TokenKind::free_token);
    CHECK(src.stats().messages_undeliverable == 1);
}

TEST_CASE("token: an older epoch's tokens are discarded, a newer epoch is adopted and our purged messages go round again", "[token]") {
    TokenProtocol p(NodeId{1}, TokenConfig{0ms});
    REQUIRE(p.enqueue(NodeId{3}, Bytes{'a'}));
    REQUIRE(p.enqueue(NodeId{3}, Bytes{'b'}));
    p.on_token(t0, free_token());  // epoch 1: caught for 'a'
    p.on_timer(t0);
    auto out = p.take_forward();
    REQUIRE(out.size() == 1);
    CHECK(out[0].kind == TokenKind::busy);
    const std::uint64_t id_a = out[0].msg_id;
    p.take_events();
    // Recovery: epoch 2. The busy token carrying 'a' is doomed; 'a' is queued again, first, same id.
    CHECK(p.adopt_epoch(Epoch{2}));
    CHECK_FALSE(p.adopt_epoch(Epoch{2}));
    CHECK(p.epoch() == Epoch{2});
    CHECK(p.queue_length() == 2);
    auto ev = p.take_events();
    REQUIRE(ev.size() == 2);
    CHECK(ev[0].kind == TokenEventKind::epoch_adopted);
    CHECK(ev[1].kind == TokenEventKind::requeued);
    CHECK(ev[1].msg_id == id_a);
    // The old token coming back is discarded, not freed and passed on.
    p.on_token(t0, out[0]);
    p.on_timer(t0);
    CHECK(p.take_forward().empty());
    CHECK(p.stats().stale_discarded == 1);
    // The new epoch's token carries 'a' again with its old id, then 'b'.
    p.issue(t0, Epoch{2});
    p.on_timer(t0);
    out = p.take_forward();
    REQUIRE(out.size() == 1);
    CHECK(out[0].epoch == Epoch{2});
    CHECK(out[0].msg_id == id_a);
    CHECK(out[0].payload == Bytes{'a'});
}

TEST_CASE("token: a message is delivered once and in order: a repeat, or one overtaken by a later one, is dropped", "[token]") {
    TokenProtocol dst(NodeId{3}, TokenConfig{0ms});
    auto busy = [](std::uint64_t id) { return Token{TokenKind::busy, Epoch{1}, NodeId{1}, NodeId{3}, id, false, Bytes{'x'}, Incarnation{5}}; };
    dst.on_token(t0, busy(1));
    dst.on_token(t0, busy(3));  // ids per sending process, not per destination: gaps are others'
    dst.on_token(t0, busy(3));  // a repeat
    dst.on_token(t0, busy(2));  // overtaken by 3 (two tokens): delivering it would break the order
    dst.on_token(t0, busy(4));
    CHECK(dst.stats().messages_delivered == 3);
    CHECK(dst.stats().duplicate_messages_dropped == 1);
    CHECK(dst.stats().overtaken_messages_dropped == 1);
    std::vector<std::uint64_t> delivered;
    for (const auto& e : dst.take_events())
        if (e.kind == TokenEventKind::delivered) delivered.push_back(e.msg_id);
    CHECK(delivered == std::vector<std::uint64_t>{1, 3, 4});
}

TEST_CASE("token: a message made here is not taken by an armed fault (it acts on tokens received)", "[token]") {
    TokenProtocol p(NodeId{0}, TokenConfig{0ms});
    p.inject(InjectKind::lose);
    p.issue(t0, Epoch{1});
    p.on_timer(t0);
    CHECK(p.take_forward().size() == 1);
    CHECK(p.fault_armed());
}

TEST_CASE("token: injected faults act on the next token", "[token]") {
    TokenProtocol p(NodeId{2}, TokenConfig{0ms});
    p.inject(InjectKind::lose);
    p.on_token(t0, free_token());
    p.on_timer(t0);
    CHECK(p.take_forward().empty());
    CHECK(p.take_events().at(0).kind == TokenEventKind::lost_by_fault);
    CHECK(p.held() == 0);
    p.inject(InjectKind::duplicate);
    p.on_token(t0, free_token());
    p.on_timer(t0);
    CHECK(p.take_forward().size() == 2);
    CHECK(p.take_events().at(0).kind == TokenEventKind::duplicated_by_fault);
    p.on_token(t0, free_token());
    p.on_timer(t0);
    CHECK(p.take_forward().size() == 1);  // the fault was used up
}

TEST_CASE("token: the queue is bounded and rejects messages to ourselves", "[token]") {
    TokenConfig c;
    c.queue_max = 2;
    TokenProtocol p(NodeId{1}, c);
    CHECK(p.enqueue(NodeId{2}, Bytes{1}));
    CHECK(p.enqueue(NodeId{2}, Bytes{2}));
    CHECK_FALSE(p.enqueue(NodeId{2}, Bytes{3}));
    CHECK(p.stats().queue_full == 1);
    CHECK_FALSE(p.enqueue(NodeId{1}, Bytes{4}));
}

TEST_CASE("node: markers follow the tokens passed on before the state was recorded", "[node]") {
    NodeConfig c = middle_node();
    c.token.hold = 0ms;
    Node n(c, t0);
    NodeOutput out;
    n.on_message(t0, NodeId{0}, encode_message(free_token()));  // forwarded at once (hold 0)
    n.on_message(t0, kMonitorId, encode_message(SnapshotStart{SnapshotId{1}, SnapshotId{1}}));
    n.take_output(out);
    REQUIRE(out.messages.size() == 2);
    CHECK(is_token_message(out.messages[0].bytes));
    Message m;
    REQUIRE(decode_message(out.messages[1].bytes, m) == MessageError::none);
    CHECK(std::holds_alternative<MarkerMessage>(m));
    CHECK(out.messages[1].peer == NodeId{2});
    // A token arriving before the predecessor's marker is recorded in flight.
    out.clear();
    n.on_message(t0, NodeId{0}, encode_message(free_token()));
    n.on_message(t0, NodeId{0}, encode_message(MarkerMessage{SnapshotId{1}}));
    n.take_output(out);
    bool reported = false;
    for (auto& msg : out.messages) {
        if (msg.peer != kMonitorId) continue;
        REQUIRE(decode_message(msg.bytes, m) == MessageError::none);
        auto& r = std::get<SnapshotReport>(m);
        CHECK(r.state.held.empty());
        CHECK(r.state.held_count == 0);
        CHECK(r.in_flight.size() == 1);
        CHECK(r.in_flight_count == 1);
        CHECK(r.channel_from == NodeId{0});
        reported = true;
    }
    CHECK(reported);
    CHECK(n.stats().snapshots_reported == 1);
}

TEST_CASE("node: a restarted monitor's snapshots are taken afresh, the old one's markers are ignored", "[node]") {
    NodeConfig c = middle_node();
    Node n(c, t0);
    NodeOutput out;
    auto reports = [&] {
        out.clear();
        n.take_output(out);
        std::vector<SnapshotId> ids;
        for (auto& m : out.messages) {
            Message msg;
            if (m.peer == kMonitorId && decode_message(m.bytes, msg) == MessageError::none) ids.push_back(std::get<SnapshotReport>(msg).id);
        }
        return ids;
    };
    const SnapshotId old_id = first_snapshot_of_era(7), new_id = first_snapshot_of_era(3);
    CHECK(snapshot_era(old_id) == 7);
    n.on_message(t0, kMonitorId, encode_message(SnapshotStart{old_id, old_id}));
    n.on_message(t0, NodeId{0}, encode_message(MarkerMessage{old_id}));
    CHECK(reports() == std::vector<SnapshotId>{old_id});
    // A new monitor (era 3): its first id is lower than the old one's, and must not count as finished.
    n.on_message(t0, kMonitorId, encode_message(SnapshotStart{new_id, new_id}));
    n.on_message(t0, NodeId{0}, encode_message(MarkerMessage{SnapshotId{old_id.value + 1}}));  // the old monitor's, late
    CHECK(n.stats().other_era_markers == 1);
    n.on_message(t0, NodeId{0}, encode_message(MarkerMessage{new_id}));
    CHECK(reports() == std::vector<SnapshotId>{new_id});
    CHECK(n.stats().monitor_restarts == 1);
}

TEST_CASE("node: a node never makes a token on its own, the monitor's order makes one, once per epoch", "[node]") {
    auto first = [] {
        NodeConfig c;
        c.self = NodeId{0};
        c.predecessor = NodeId{2};
        c.successor = NodeId{1};
        c.token.hold = 0ms;
        return c;
    };
    auto tokens_out = [](NodeOutput& out) {
        int n = 0;
        for (auto& m : out.messages) n += is_token_message(m.bytes) ? 1 : 0;
        return n;
    };
    Node n(first(), t0);
    NodeOutput out;
    n.take_output(out);
    CHECK(out.messages.empty());  // no question, no token: a process that just started knows nothing
    CHECK(n.token().epoch() == Epoch{0});
    CHECK_FALSE(n.next_deadline());
    n.on_timer(t0 + 10s);
    n.take_output(out);
    CHECK(tokens_out(out) == 0);
    SECTION("the monitor's order names it: one token of the new epoch") {
        n.on_message(t0 + 10s, kMonitorId, encode_message(RecoverCommand{1, RecoverMode::regenerate, Epoch{1}, NodeId{0}}));
        n.on_timer(t0 + 10s);
        out.clear();
        n.take_output(out);
        CHECK(tokens_out(out) == 1);
        CHECK(n.token().epoch() == Epoch{1});
        // The same order again (a retransmission the link did not catch, a replay) makes nothing.
        n.on_message(t0 + 11s, kMonitorId, encode_message(RecoverCommand{2, RecoverMode::regenerate, Epoch{1}, NodeId{0}}));
        n.on_timer(t0 + 11s);
        out.clear();
        n.take_output(out);
        CHECK(tokens_out(out) == 0);
    }
    SECTION("an order naming another node: the epoch adopted, nothing made") {
        n.on_message(t0 + 10s, kMonitorId, encode_message(RecoverCommand{1, RecoverMode::regenerate, Epoch{1}, NodeId{1}}));
        n.on_timer(t0 + 10s);
        out.clear();
        n.take_output(out);
        CHECK(tokens_out(out) == 0);
        CHECK(n.token().epoch() == Epoch{1});
    }
    SECTION("a token from the predecessor is passed on, and none is added") {
        n.on_message(t0 + 10s, NodeId{2}, encode_message(Token{TokenKind::free_token, Epoch{3}, {}, {}, 0, false, {}, {}}));
        n.on_timer(t0 + 10s);
        out.clear();
        n.take_output(out);
        CHECK(tokens_out(out) == 1);
        CHECK(n.token().epoch() == Epoch{3});
    }
    SECTION("a node answers a tool's RingQuery with what it has seen") {
        n.on_message(t0, NodeId{kToolIdFirst}, encode_message(RingQuery{}));
        n.on_message(t0, NodeId{2}, encode_message(Token{TokenKind::free_token, Epoch{3}, {}, {}, 0, false, {}, {}}));
        n.on_message(t0, NodeId{kToolIdFirst}, encode_message(RingQuery{}));
        out.clear();
        n.take_output(out);
        std::vector<RingState> answers;
        for (auto& msg : out.messages) {
            Message m;
            if (msg.peer == NodeId{kToolIdFirst} && decode_message(msg.bytes, m) == MessageError::none) answers.push_back(std::get<RingState>(m));
        }
        REQUIRE(answers.size() == 2);
        CHECK_FALSE(answers[0].had_token);
        CHECK(answers[0].epoch == Epoch{0});
        CHECK(answers[1].had_token);
        CHECK(answers[1].epoch == Epoch{3});
    }
    SECTION("a RingQuery from the predecessor (the old first-node question) is counted, not answered") {
        n.on_message(t0, NodeId{2}, encode_message(RingQuery{}));
        out.clear();
        n.take_output(out);
        CHECK(out.messages.empty());
        CHECK(n.stats().unexpected == 1);
    }
}

TEST_CASE("node: a new process starts at the epoch its state directory kept, holding nothing", "[node]") {
    NodeConfig c = middle_node();
    SavedSnapshot older{SnapshotId{4}, {}, {}}, newer{SnapshotId{9}, {}, {}};
    older.token.epoch = Epoch{2};
    newer.token.epoch = Epoch{5};
    newer.token.held.push_back(Token{TokenKind::free_token, Epoch{5}, {}, {}, 0, false, {}, {}});
    c.saved_at_start = {newer, older};
    Node n(c, t0);
    CHECK(n.token().epoch() == Epoch{5});
    CHECK(n.token().held() == 0);  // a saved token comes back only by a rollback's order
    NodeOutput out;
    n.take_output(out);
    CHECK(out.messages.empty());
}

TEST_CASE("node: garbage and strangers are counted, not obeyed", "[node]") {
    NodeConfig c = middle_node();
    Node n(c, t0);
    n.on_message(t0, NodeId{0}, Bytes{42, 1, 2});
    n.on_message(t0, NodeId{7}, encode_message(free_token()));
    n.on_message(t0, NodeId{0}, encode_message(InjectCommand{1, InjectKind::lose}));  // only the monitor commands
    CHECK(n.stats().malformed == 1);
    CHECK(n.stats().unexpected == 2);
    CHECK_FALSE(n.token().fault_armed());
}

namespace {
SnapshotReport report(std::uint64_t id, std::uint16_t node, std::size_t held, std::size_t in_flight, std::uint16_t from) {
    SnapshotReport r;
    r.id = SnapshotId{id};
    r.node = NodeId{node};
    r.state.held.resize(held);
    r.state.held_count = static_cast<std::uint32_t>(held);
    r.state.had_token = true;  // a running ring (a forming one is tested apart)
    r.in_flight.resize(in_flight);
    r.in_flight_count = static_cast<std::uint32_t>(in_flight);
    if (in_flight > 0) r.in_flight_epochs = {EpochCount{Epoch{1}, static_cast<std::uint32_t>(in_flight)}};
    r.channel_from = NodeId{from};
    return r;
}
}  // namespace

TEST_CASE("monitor: verdicts count held and in-flight tokens and say where they were", "[monitor]") {
    MonitorConfig c;
    c.evict_after.reset();  // no views (test_monitor_views.cpp): a new monitor would first take the ring over with one
    c.ring = {NodeId{0}, NodeId{1}, NodeId{2}};
    test::TappedMonitor m(c, t0);
    m.on_timer(t0 + 100ms);
    auto cmds = m.take_commands();
    REQUIRE(cmds.size() == 3);  // every node initiates
    const std::uint64_t id = cmds[0].start.id.value;
    m.on_report(t0 + 101ms, NodeId{0}, report(id, 0, 1, 0, 2));
    m.on_report(t0 + 101ms, NodeId{1}, report(id, 1, 0, 1, 0));
    CHECK(m.take_verdicts().empty());
    m.on_report(t0 + 102ms, NodeId{2}, report(id, 2, 0, 0, 1));
    auto v = m.take_verdicts();
    REQUIRE(v.size() == 1);
    CHECK(v[0].kind == VerdictKind::token_duplicated);
    CHECK(v[0].tokens == 2);
    CHECK(v[0].holders == std::vector<NodeId>{NodeId{0}});
    REQUIRE(v[0].channels.size() == 1);
    CHECK(v[0].channels[0].from == NodeId{0});
    CHECK(v[0].channels[0].to == NodeId{1});
    CHECK(v[0].duration == 2ms);
    CHECK(alarm_event_json(v[0]).find("\"kind\":\"token_duplicated\"") != std::string::npos);
    // A late report for a decided snapshot is ignored and counted.
    m.on_report(t0 + 103ms, NodeId{2}, report(id, 2, 0, 0, 1));
    CHECK(m.stats().late_reports == 1);
}

TEST_CASE("monitor: zero tokens is token_lost, a timeout is inconclusive naming the silent", "[monitor]") {
    MonitorConfig c;
    c.evict_after.reset();  // no views (test_monitor_views.cpp): a new monitor would first take the ring over with one
    c.ring = {NodeId{0}, NodeId{1}};
    c.timeout = 500ms;
    test::TappedMonitor m(c, t0);
    m.on_timer(t0 + 100ms);
    m.take_commands();
    m.on_report(t0 + 101ms, NodeId{0}, report(1, 0, 0, 0, 1));
    m.on_report(t0 + 101ms, NodeId{1}, report(1, 1, 0, 0, 0));
    auto v = m.take_verdicts();
    REQUIRE(v.size() == 1);
    CHECK(v[0].kind == VerdictKind::token_lost);
    m.set_node_silent(NodeId{1}, true);
    m.on_timer(t0 + 200ms);  // snapshot 2
    m.on_report(t0 + 201ms, NodeId{0}, report(2, 0, 1, 0, 1));
    m.on_timer(t0 + 700ms);
    v = m.take_verdicts();
    REQUIRE(v.size() == 1);
    CHECK(v[0].kind == VerdictKind::inconclusive);
    CHECK(v[0].missing == std::vector<NodeId>{NodeId{1}});
    CHECK(v[0].silent == std::vector<NodeId>{NodeId{1}});
    CHECK(snapshot_event_json(v[0]).find("\"verdict\":\"inconclusive\"") != std::string::npos);
}

namespace {
// A report of a process that has no epoch yet: a ring that never ran.
SnapshotReport fresh_report(std::uint64_t id, std::uint16_t node, std::uint16_t from) {
    SnapshotReport r = report(id, node, 0, 0, from);
    r.state.epoch = Epoch{0};
    r.state.had_token = false;
    return r;
}
// Whom `orders` tell to make a token, and in which epoch.
std::vector<std::pair<NodeId, Epoch>> births(const std::vector<std::pair<NodeId, RecoverCommand>>& orders) {
    std::vector<std::pair<NodeId, Epoch>> out;
    for (const auto& [n, rc] : orders)
        if (rc.mode == RecoverMode::regenerate && rc.issuer == n) out.push_back({n, rc.epoch});
    return out;
}
}  // namespace

TEST_CASE("monitor: a fresh ring's first token is ordered by the monitor, once, in a new epoch", "[monitor]") {
    MonitorConfig c;
    c.evict_after.reset();  // no views (test_monitor_views.cpp): a new monitor would first take the ring over with one
    c.ring = {NodeId{0}, NodeId{1}, NodeId{2}};
    c.timeout = 500ms;
    test::TappedMonitor m(c, t0);
    auto snapshot = [&](Instant at, std::uint64_t id, auto make) {
        m.on_timer(at);
        m.take_commands();
        m.on_report(at + 1ms, NodeId{0}, make(id, 0, 2));
        m.on_report(at + 1ms, NodeId{1}, make(id, 1, 0));
        m.on_report(at + 1ms, NodeId{2}, make(id, 2, 1));
        auto v = m.take_verdicts();
        REQUIRE(v.size() == 1);
        return v[0];
    };
    const Verdict first = snapshot(t0 + 100ms, 1, fresh_report);
    CHECK(first.kind == VerdictKind::inconclusive);
    CHECK(first.forming);
    REQUIRE(first.first_token);
    CHECK(first.first_token->epoch == Epoch{1});
    CHECK(first.first_token->issuer == NodeId{0});
    const auto orders = m.take_recover_commands();
    CHECK(orders.size() == 3);  // every node adopts the epoch
    CHECK(births(orders) == std::vector<std::pair<NodeId, Epoch>>{{NodeId{0}, Epoch{1}}});
    CHECK(snapshot_event_json(first).find("\"first_token\":{\"epoch\":1,\"issuer\":0}") != std::string::npos);
    CHECK(m.take_incident_events().empty());

    SECTION("a cut taken before the order arrived orders nothing more within the timeout") {
        const Verdict again = snapshot(t0 + 200ms, 2, fresh_report);
        CHECK(again.forming);
        CHECK_FALSE(again.first_token);
        CHECK(m.take_recover_commands().empty());
        SECTION("and, still forming a timeout later (the order came to nothing), orders again in a newer epoch") {
            const Verdict late = snapshot(t0 + 700ms, 3, fresh_report);
            REQUIRE(late.first_token);
            CHECK(late.first_token->epoch == Epoch{2});
            CHECK(births(m.take_recover_commands()) == std::vector<std::pair<NodeId, Epoch>>{{NodeId{0}, Epoch{2}}});
        }
    }
    SECTION("once the ring has run, no token is a loss, never a ring forming again") {
        CHECK(snapshot(t0 + 200ms, 2, [](std::uint64_t id, std::uint16_t n, std::uint16_t from) {
                  auto r = report(id, n, n == 1 ? 1 : 0, 0, from);
                  r.state.epoch = Epoch{1};
                  return r;
              }).kind == VerdictKind::ok);
        // Every node restarted (no state directory): no node has an epoch, but this monitor saw the
        // ring run. Nothing is ordered while they catch up; then the loss is an alarm.
        const Verdict after = snapshot(t0 + 300ms, 3, [](std::uint64_t id, std::uint16_t n, std::uint16_t from) {
            auto r = fresh_report(id, n, from);
            r.incarnation = Incarnation{77};  // new processes
            return r;
        });
        CHECK(after.forming);  // no node has an epoch: nothing to judge yet
        CHECK_FALSE(after.first_token);
        const auto told = m.take_recover_commands();
        CHECK(told.size() == 3);  // each told the ring's epoch
        CHECK(births(told).empty());
        CHECK(m.take_incident_events().empty());
        const Verdict lost = snapshot(t0 + 400ms, 4, [](std::uint64_t id, std::uint16_t n, std::uint16_t from) {
            auto r = report(id, n, 0, 0, from);
            r.state.epoch = Epoch{1};
            return r;
        });
        CHECK(lost.kind == VerdictKind::token_lost);
        CHECK_FALSE(lost.forming);
    }
}

TEST_CASE("monitor: its own stall is not the nodes' silence, fresh evidence still counts", "[monitor][liveness]") {
    MonitorConfig c;
    c.evict_after.reset();  // no views (test_monitor_views.cpp): a new monitor would first take the ring over with one
    c.ring = {NodeId{0}, NodeId{1}, NodeId{2}};
    c.liveness = liveness_for(c.interval, 1000ms);
    test::TappedMonitor m(c, t0);
    Instant now = t0;
    std::uint64_t id = 0;
    // Healthy: every node reports every snapshot, the core called at each deadline.
    auto run_until = [&](Instant until) {
        while (true) {
            const Instant next = *m.next_deadline();
            if (next > until) break;
            now = next;
            m.on_timer(now);
            for (const auto& cmd : m.take_commands()) {
                if (cmd.node != NodeId{0}) continue;
                id = cmd.start.id.value;
                for (std::uint16_t n = 0; n < 3; ++n) m.on_report(now, NodeId{n}, report(id, n, n == 0 ? 1 : 0, 0, (n + 2) % 3));
            }
        }
    };
    run_until(t0 + 1s);
    REQUIRE(m.take_node_events().empty());
    // SIGSTOP for 2.5 s: the next call comes that late. Every node's report waits at the socket and
    // is taken first; then the timer.
    now += 2500ms;
    for (std::uint16_t n = 0; n < 3; ++n) m.on_report(now, NodeId{n}, report(id, n, n == 0 ? 1 : 0, 0, (n + 2) % 3));
    m.on_timer(now);
    CHECK(m.take_node_events().empty());
    CHECK(m.stats().stalls == 1);
    CHECK(m.stats().stalled >= 2400ms);
    run_until(now + 2s);
    CHECK(m.take_node_events().empty());
    SECTION("a stall with nothing waiting: the timer first, still no node judged by the monitor's silence") {
        now += 2500ms;
        m.on_timer(now);
        CHECK(m.take_node_events().empty());
    }
    SECTION("a node that stays silent after the stall is down a node timeout of running time later") {
        // Its silence before the stall (since its last report, up to when the monitor was due) counts.
        const Instant last_report = now, due = *m.next_deadline();
        now += 2500ms;
        m.on_timer(now);
        const Instant resumed = now;
        std::vector<NodeEvent> events;
        while (events.empty() && now < resumed + 3s) {
            now = *m.next_deadline();
            m.on_timer(now);
            events = m.take_node_events();
        }
        REQUIRE(events.size() == 3);
        const Duration running_silence = (due - last_report) + (now - resumed);
        CHECK(running_silence >= 1000ms);
        CHECK(running_silence < 1000ms + c.liveness.probe_every + 10ms);
    }
}

TEST_CASE("monitor: more tokens than a report lists are counted right and the verdict says it is truncated", "[monitor]") {
    MonitorConfig c;
    c.evict_after.reset();  // no views (test_monitor_views.cpp): a new monitor would first take the ring over with one
    c.ring = {NodeId{0}, NodeId{1}};
    test::TappedMonitor m(c, t0);
    m.on_timer(t0 + 100ms);
    m.take_commands();
    SnapshotReport many = report(1, 0, kMaxTokensInReport, 0, 1);
    many.state.held_count = 70;  // 70 held, 64 listed (as decoded from the wire)
    m.on_report(t0 + 101ms, NodeId{0}, many);
    m.on_report(t0 + 101ms, NodeId{1}, report(1, 1, 0, 1, 0));
    auto v = m.take_verdicts();
    REQUIRE(v.size() == 1);
    CHECK(v[0].tokens == 71);
    CHECK(v[0].held == 70);
    CHECK(v[0].truncated);
    CHECK(v[0].holders.size() == kMaxTokensInReport);
    CHECK(snapshot_event_json(v[0]).find("\"truncated\":true") != std::string::npos);
}

TEST_CASE("monitor: a snapshot reported by a process that started after it began is inconclusive, naming it", "[monitor]") {
    MonitorConfig c;
    c.evict_after.reset();  // no views (test_monitor_views.cpp): a new monitor would first take the ring over with one
    c.ring = {NodeId{0}, NodeId{1}};
    test::TappedMonitor m(c, t0);
    m.on_link_event(t0, NodeId{0}, LinkEvent{LinkEventKind::connected, Incarnation{10}});
    m.on_link_event(t0, NodeId{1}, LinkEvent{LinkEventKind::connected, Incarnation{20}});
    m.on_timer(t0 + 100ms);  // snapshot 1 begins with incarnations 10 and 20
    m.take_commands();
    SnapshotReport r0 = report(1, 0, 1, 0, 1), r1 = report(1, 1, 0, 0, 0);
    r0.incarnation = Incarnation{10};
    r1.incarnation = Incarnation{21};  // node 1 restarted and joined the snapshot afresh
    m.on_report(t0 + 101ms, NodeId{0}, r0);
    m.on_report(t0 + 101ms, NodeId{1}, r1);
    auto v = m.take_verdicts();
    REQUIRE(v.size() == 1);
    CHECK(v[0].kind == VerdictKind::inconclusive);
    CHECK(v[0].restarted == std::vector<NodeId>{NodeId{1}});
    CHECK(v[0].missing.empty());
    CHECK(snapshot_event_json(v[0]).find("\"restarted\":[1]") != std::string::npos);
    // The link now knows the new process: the next snapshot is judged as usual.
    m.on_link_event(t0, NodeId{1}, LinkEvent{LinkEventKind::session_reset, Incarnation{21}});
    m.on_timer(t0 + 200ms);
    m.take_commands();
    SnapshotReport s0 = report(2, 0, 1, 0, 1), s1 = report(2, 1, 0, 0, 0);
    s0.incarnation = Incarnation{10};
    s1.incarnation = Incarnation{21};
    m.on_report(t0 + 201ms, NodeId{0}, s0);
    m.on_report(t0 + 201ms, NodeId{1}, s1);
    v = m.take_verdicts();
    REQUIRE(v.size() == 1);
    CHECK(v[0].kind == VerdictKind::ok);
}

TEST_CASE("monitor: single-initiator mode asks the first node only, in-flight snapshots are bounded", "[monitor]") {
    MonitorConfig c;
    c.evict_after.reset();  // no views (test_monitor_views.cpp): a new monitor would first take the ring over with one
    c.ring = {NodeId{4}, NodeId{5}};
    c.single_initiator = true;
    c.max_in_flight = 2;
    c.timeout = 10s;
    test::TappedMonitor m(c, t0);
    for (int i = 1; i <= 4; ++i) m.on_timer(t0 + i * 100ms);
    auto cmds = m.take_commands();
    REQUIRE(cmds.size() == 2);
    CHECK(cmds[0].node == NodeId{4});
    CHECK(m.stats().skipped_in_flight_bound == 2);
    CHECK(m.in_flight() == 2);
}

TEST_CASE("monitor regenerate: one recovery per fault, verdicts of the replaced epoch ignored, the new epoch's ok ends it", "[monitor][recovery]") {
    MonitorConfig c;
    c.evict_after.reset();  // no views (test_monitor_views.cpp): a new monitor would first take the ring over with one
    c.ring = {NodeId{0}, NodeId{1}};
    c.recover = RecoveryMode::regenerate;
    test::TappedMonitor m(c, t0);
    Instant now = t0;
    auto snapshot = [&](std::uint32_t epoch0, std::size_t held0, std::uint32_t epoch1, std::size_t held1) {
        now += 100ms;
        m.on_timer(now);
        const auto cmds = m.take_commands();
        const std::uint64_t id = cmds.at(0).start.id.value;
        SnapshotReport r0 = report(id, 0, held0, 0, 1), r1 = report(id, 1, held1, 0, 0);
        r0.state.epoch = Epoch{epoch0};
        r1.state.epoch = Epoch{epoch1};
        m.on_report(now, NodeId{0}, r0);
        m.on_report(now, NodeId{1}, r1);
        auto v = m.take_verdicts();
        REQUIRE(v.size() == 1);
        return v[0];
    };
    CHECK(snapshot(1, 1, 1, 0).kind == VerdictKind::ok);
    CHECK(snapshot(1, 0, 1, 0).kind == VerdictKind::token_lost);
    auto orders = m.take_recover_commands();
    REQUIRE(orders.size() == 2);
    for (const auto& [node, rc] : orders) {
        CHECK(rc.epoch == Epoch{2});
        CHECK(rc.issuer == NodeId{0});
    }
    auto ev = m.take_incident_events();
    REQUIRE(ev.size() == 2);
    CHECK(ev[0].kind == IncidentEventKind::alarm);
    CHECK(ev[1].kind == IncidentEventKind::recovery);
    // A snapshot recorded before the order arrived: about epoch 1, which is replaced. Nothing more.
    CHECK(snapshot(1, 0, 1, 0).kind == VerdictKind::token_lost);
    CHECK(m.take_recover_commands().empty());
    CHECK(m.take_incident_events().empty());
    // Straddling the change: node 1 purged but node 0 recorded before it made the new token.
    const Verdict straddle = snapshot(2, 0, 1, 0);
    CHECK(straddle.kind == VerdictKind::inconclusive);
    CHECK(straddle.epoch_change);
    // One straddling the change that finds the new token is judged: ok, and the incident ends.
    const Verdict ok = snapshot(2, 1, 1, 0);
    CHECK(ok.kind == VerdictKind::ok);
    ev = m.take_incident_events();
    REQUIRE(ev.size() == 2);
    CHECK(ev[0].kind == IncidentEventKind::recovered);
    CHECK(ev[0].epoch == Epoch{2});
    CHECK(ev[1].kind == IncidentEventKind::resolved);
    CHECK(how(ev[1]) == "by_regenerate");
    // A new process of node 1 (restarted at epoch 1) is told the epoch, with no token to make.
    CHECK(m.take_recover_commands().empty());
    now += 100ms;
    m.on_timer(now);
    const std::uint64_t id = m.take_commands().at(0).start.id.value;
    SnapshotReport fresh = report(id, 1, 0, 0, 0);
    fresh.incarnation = Incarnation{77};
    m.on_report(now, NodeId{1}, fresh);
    orders = m.take_recover_commands();
    REQUIRE(orders.size() == 1);
    CHECK(orders[0].first == NodeId{1});
    CHECK(orders[0].second.issuer == kNoIssuer);
    CHECK(orders[0].second.epoch == Epoch{2});
}

TEST_CASE("monitor: with recovery off, an alarm orders nothing, a stale token is counted apart", "[monitor]") {
    MonitorConfig c;
    c.evict_after.reset();  // no views (test_monitor_views.cpp): a new monitor would first take the ring over with one
    c.ring = {NodeId{0}, NodeId{1}};
    test::TappedMonitor m(c, t0);
    m.on_timer(t0 + 100ms);
    const std::uint64_t id = m.take_commands().at(0).start.id.value;
    SnapshotReport r0 = report(id, 0, 1, 0, 1), r1 = report(id, 1, 0, 1, 0);
    r0.state.epoch = r1.state.epoch = Epoch{3};
    r1.in_flight_epochs = {EpochCount{Epoch{2}, 1}};  // an epoch-2 token on its way to being discarded
    m.on_report(t0 + 101ms, NodeId{0}, r0);
    m.on_report(t0 + 101ms, NodeId{1}, r1);
    auto v = m.take_verdicts();
    REQUIRE(v.size() == 1);
    CHECK(v[0].kind == VerdictKind::ok);
    CHECK(v[0].tokens == 1);
    CHECK(v[0].stale == 1);
    CHECK(v[0].epoch == Epoch{3});
    CHECK(m.take_recover_commands().empty());
}
