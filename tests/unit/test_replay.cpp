// Replay protection: recorded datagrams sent again, by anyone, at any time, change nothing; a
// process's old incarnation never resets a live session; a recorded tool session never acts twice.
#include <catch2/catch.hpp>

#include <set>

#include "ring/core/endpoint.h"
#include "ring/core/replay_window.h"
#include "tests/unit/link_pair.h"
#include "tests/unit/tool_session.h"

using namespace ringwatch;
using namespace ringwatch::testing;
using namespace std::chrono_literals;

namespace {

void feed(End& to, Instant now, const Bytes& datagram) {
    wire::Frame f;
    REQUIRE(wire::decode_frame(datagram, f) == wire::DecodeError::none);
    to.link->on_frame(now, f);
}

std::size_t count(const End& e, LinkEventKind k) {
    std::size_t n = 0;
    for (const auto& ev : e.events) n += ev.kind == k ? 1 : 0;
    return n;
}

}  // namespace

TEST_CASE("replay window: each counter once, reordering within the window, old ones refused", "[replay]") {
    ReplayWindow w;
    CHECK_FALSE(w.accept(0));
    CHECK(w.accept(5));
    CHECK_FALSE(w.accept(5));
    CHECK(w.accept(3));  // late, but within the window
    CHECK_FALSE(w.accept(3));
    CHECK(w.accept(4));
    CHECK(w.accept(1000));
    CHECK(w.accept(999));
    CHECK_FALSE(w.accept(999));
    CHECK(w.accept(6));  // still within 2048 - 64 of the highest
    // A long jump forgets everything behind the window: too old to tell, so refused.
    CHECK(w.accept(1'000'000));
    CHECK_FALSE(w.accept(1000));
    CHECK_FALSE(w.accept(1'000'000 - ReplayWindow::kBits));
    CHECK(w.accept(1'000'000 - 100));
    // A window started above a floor: nothing up to it, everything after it once.
    for (std::uint64_t floor : {1ull, 63ull, 64ull, 100ull, 5000ull}) {
        ReplayWindow f;
        f.reset_above(floor);
        for (std::uint64_t c = floor > 2000 ? floor - 2000 : 0; c <= floor; ++c) REQUIRE_FALSE(f.accept(c));
        CHECK(f.accept(floor + 2));
        CHECK(f.accept(floor + 1));
        CHECK_FALSE(f.accept(floor + 1));
        CHECK(f.accept(floor + 70));
        CHECK(f.accept(floor + 3));
    }
    // Every value in a long run, in order and then again: each accepted exactly once.
    ReplayWindow v;
    for (std::uint64_t c = 1; c <= 10'000; ++c) REQUIRE(v.accept(c));
    for (std::uint64_t c = 1; c <= 10'000; ++c) REQUIRE_FALSE(v.accept(c));
    // Slots reused after the window slid are clear again.
    ReplayWindow u;
    REQUIRE(u.accept(64));
    REQUIRE(u.accept(64 + ReplayWindow::kBits));
    CHECK(u.accept(64 + ReplayWindow::kBits - 1));
}

TEST_CASE("replay: a recorded datagram of the live session changes nothing, not even liveness", "[replay][link]") {
    Pair p;
    p.handshake();
    p.a.link->send(msg(1));
    p.flush();
    REQUIRE(p.a.wire.size() == 1);
    const Bytes recorded = p.a.wire[0];
    p.settle();
    REQUIRE(p.b.delivered == std::vector<Bytes>{msg(1)});

    // Sent again: not delivered, no ack of it, counted.
    feed(p.b, p.now, recorded);
    p.flush();
    CHECK(p.b.delivered.size() == 1);
    CHECK(p.b.wire.empty());
    CHECK(p.b.link->stats().replayed_dropped == 1);

    // A falls silent; a replay must not make it look alive.
    p.now += p.config.silent_after + 1ms;
    p.flush();
    REQUIRE(count(p.b, LinkEventKind::peer_silent) == 1);
    feed(p.b, p.now, recorded);
    p.flush();
    CHECK(count(p.b, LinkEventKind::peer_alive) == 0);
    CHECK(p.b.link->stats().replayed_dropped == 2);
}

TEST_CASE("replay: a hello or frame of a replaced incarnation never resets the live session", "[replay][link]") {
    Pair p;
    p.handshake();
    // B's first process says hello and sends; all recorded.
    const Bytes old_hello = [&] {
        Link old(p.config, kB, Incarnation{0xB1}, kA, p.now);
        old.flush(p.now);
        return old.take_output().datagrams.at(0);
    }();
    p.b.link->send(msg(1));
    p.flush();
    const Bytes old_data = p.b.wire.at(0);
    p.settle();

    // B restarts many times (more than any list of retired incarnations would hold).
    for (std::uint64_t i = 2; i <= 20; ++i) {
        p.b.link = std::make_unique<Link>(p.config, kB, Incarnation{0xB0 + i}, kA, p.now);
        p.flush();
        p.settle();
        REQUIRE(p.a.link->peer_incarnation() == Incarnation{0xB0 + i});
    }
    const std::size_t resets = count(p.a, LinkEventKind::session_reset);
    REQUIRE(resets == 19);

    // A token in flight from A to the live B when the recordings of B's first process come back.
    p.a.link->send(msg(7));
    p.flush();
    REQUIRE(p.a.wire.size() == 1);
    feed(p.a, p.now, old_hello);
    feed(p.a, p.now, old_data);
    p.flush();
    p.settle();
    CHECK(count(p.a, LinkEventKind::session_reset) == resets);  // no reset
    CHECK(p.a.link->peer_incarnation() == Incarnation{0xB0 + 20});
    CHECK(p.a.link->stats().stale_incarnation_dropped == 2);
    CHECK(p.b.delivered.back() == msg(7));               // the message in flight arrived
    CHECK(p.a.delivered == std::vector<Bytes>{msg(1)});  // the old data not again
}

TEST_CASE("replay: a restarted process adopts no recording, only the live peer", "[replay][link]") {
    Pair p;
    p.handshake();
    // Everything B sends to A's first process is recorded.
    p.b.link->send(msg(1));
    p.flush();
    std::vector<Bytes> recorded(p.b.wire.begin(), p.b.wire.end());
    p.settle();
    // B restarts later (its recordings now belong to an older incarnation of B too).
    p.b.link = std::make_unique<Link>(p.config, kB, Incarnation{0xB2}, kA, p.now);
    p.flush();
    p.settle();
    {
        Link older_b(p.config, kB, Incarnation{0xB1}, kA, p.now);
        older_b.flush(p.now);
        recorded.push_back(older_b.take_output().datagrams.at(0));  // and B1's hello
    }

    // A restarts: it knows nothing of B. The recordings reach it before anything of the live B.
    p.a.link = std::make_unique<Link>(p.config, kA, Incarnation{0xA2}, kB, p.now);
    p.a.events.clear();
    p.a.delivered.clear();
    for (const Bytes& d : recorded) feed(p.a, p.now, d);
    p.a.drain();
    CHECK(p.a.link->peer_incarnation() == kUnknownIncarnation);  // none adopted
    CHECK(p.a.delivered.empty());
    CHECK(p.a.events.empty());

    // The live B and A meet; A never resets a session on the way (it never had a wrong one).
    p.a.link->send(msg(2));
    p.flush();
    p.settle();
    CHECK(p.a.link->peer_incarnation() == Incarnation{0xB2});
    CHECK(count(p.a, LinkEventKind::session_reset) == 0);
    CHECK(p.b.delivered.back() == msg(2));
}

namespace {
// Frames a tool addressed to a node process that it had not heard from (hellos), among `recorded`.
std::size_t hellos_in(const std::vector<Bytes>& recorded) {
    std::size_t n = 0;
    for (const Bytes& d : recorded) {
        wire::Frame f;
        REQUIRE(wire::decode_frame(d, f) == wire::DecodeError::none);
        n += f.header.dst_incarnation == kUnknownIncarnation;
    }
    return n;
}

// Gives every recorded datagram to `node` and its output a turn; returns what it delivered.
std::vector<Bytes> replay(Endpoint& node, Instant& now, const std::vector<Bytes>& recorded) {
    std::vector<Bytes> delivered;
    for (const Bytes& d : recorded) {
        node.on_datagram(now, d);
        node.take_reply();
    }
    now += 100us;
    node.flush(now);
    EndpointOutput out;
    node.take_output(out);
    for (auto& m : out.delivered) delivered.push_back(m.bytes);
    return delivered;
}
}  // namespace

TEST_CASE("replay: a whole recorded tool session sent again never acts again, nor holds a slot, even after a restart", "[replay][endpoint]") {
    Instant now = instant_us(1'000'000);
    Endpoint node(LinkConfig{}, kB, Incarnation{0xB1});
    node.accept_tools(4);
    const NodeId tool_id{0xF00D};
    Link tool(LinkConfig{}, tool_id, Incarnation{0x7001}, kB, now);
    const Bytes command = msg(0x42);
    tool.send(command);

    std::vector<Bytes> recorded;  // every datagram the tool sent
    std::vector<Bytes> acted;     // what the node received as messages
    auto to_tool = [&](const Bytes& d) {
        wire::Frame f;
        REQUIRE(wire::decode_frame(d, f) == wire::DecodeError::none);
        tool.on_frame(now, f);
    };
    for (int i = 0; i < 20; ++i) {
        now += 100us;
        tool.flush(now);
        node.flush(now);
        LinkOutput to = tool.take_output();
        EndpointOutput no;
        node.take_output(no);
        for (auto& m : no.delivered) acted.push_back(m.bytes);
        for (auto& d : to.datagrams) {
            recorded.push_back(d);
            node.on_datagram(now, d);
            if (auto r = node.take_reply()) to_tool(*r);
        }
        for (auto& d : no.datagrams) to_tool(d.bytes);
    }
    REQUIRE(acted == std::vector<Bytes>{command});
    REQUIRE(hellos_in(recorded) >= 1);
    REQUIRE(recorded.size() > hellos_in(recorded));
    CHECK(node.stats().tool_challenges == hellos_in(recorded));

    // Replayed while the node still holds the tool's link: counters seen before, its hellos too.
    const auto last_heard = node.link(tool_id)->last_heard();
    CHECK(replay(node, now, recorded).empty());
    CHECK(node.total_link_stats().replayed_dropped == recorded.size());
    CHECK(node.link(tool_id)->last_heard() == last_heard);

    // The tool falls silent; the node lets its link go. Ten seconds later the whole session again,
    // three times: the hellos win replies, the rest is refused, and no slot is taken.
    now += 10s;
    node.flush(now);
    EndpointOutput out;
    node.take_output(out);
    REQUIRE_FALSE(node.has_peer(tool_id));
    const std::size_t refused_before = node.stats().no_tool_session;
    for (int round = 0; round < 3; ++round) {
        CHECK(replay(node, now, recorded).empty());
        CHECK_FALSE(node.has_peer(tool_id));
    }
    CHECK(node.stats().no_tool_session - refused_before == 3 * (recorded.size() - hellos_in(recorded)));

    // A restarted node process has never admitted this tool: the recorded frames answer a challenge
    // of its predecessor's, and open nothing either.
    Endpoint restarted(LinkConfig{}, kB, Incarnation{0xB2});
    restarted.accept_tools(4);
    CHECK(replay(restarted, now, recorded).empty());
    CHECK_FALSE(restarted.has_peer(tool_id));
    CHECK(restarted.stats().no_tool_session == recorded.size() - hellos_in(recorded));
    CHECK(acted.size() == 1);
}

// A tool that met its challenge when every slot was taken is refused, and its frame is on the wire
// for anyone to record. Replayed once a slot is free, it must open nothing (the command would run
// though its tool was told "busy" long ago); the tool's own next try, still running, gets in once.
TEST_CASE("replay: a tool's frame refused for want of a slot opens nothing when replayed later, the live tool's next try does",
          "[replay][endpoint]") {
    Instant now = instant_us(1'000'000);
    Endpoint node(LinkConfig{}, kB, Incarnation{0xB1});
    node.accept_tools(1);
    Link holder(LinkConfig{}, NodeId{0xF001}, Incarnation{0x7001}, kB, now);
    hello_and_challenge(node, holder, now);
    REQUIRE(node.on_datagram(now, next_frame(holder, now)) == NodeId{0xF001});
    node.take_admitted();

    const NodeId id{0xF002};
    Link tool(LinkConfig{}, id, Incarnation{0x7002}, kB, now);
    hello_and_challenge(node, tool, now);
    REQUIRE(tool.send(msg(0x42)) == SendStatus::queued);
    const Bytes refused = next_frame(tool, now);  // recorded by an outsider
    CHECK_FALSE(node.on_datagram(now, refused));
    CHECK(node.stats().tool_links_refused == 1);

    // The holder falls silent; its slot is free.
    now += LinkConfig{}.silent_after;
    node.flush(now);
    EndpointOutput out;
    node.take_output(out);
    REQUIRE_FALSE(node.has_peer(NodeId{0xF001}));

    const auto no_session_before = node.stats().no_tool_session;
    CHECK_FALSE(node.on_datagram(now, refused));
    CHECK_FALSE(node.take_admitted());
    CHECK_FALSE(node.has_peer(id));
    CHECK(node.stats().no_tool_session == no_session_before + 1);

    // The tool itself tries again (a retransmission counts on): admitted, its command delivered once,
    // and the recorded frame replayed now is refused by the session's own replay window.
    CHECK(node.on_datagram(now, next_frame(tool, now)) == id);
    CHECK(node.take_admitted() == id);
    node.on_datagram(now, refused);
    node.flush(now);
    out.clear();
    node.take_output(out);
    std::vector<Bytes> delivered;
    for (auto& m : out.delivered) delivered.push_back(m.bytes);
    CHECK(delivered == std::vector<Bytes>{msg(0x42)});
    CHECK(node.link(id)->stats().replayed_dropped >= 1);
}

TEST_CASE("replay: a tool's hello costs a node nothing but a reply, the challenge is bound to the tool and the node process", "[replay][endpoint]") {
    const Instant now = instant_us(1'000'000);
    Endpoint node(LinkConfig{}, kB, Incarnation{0xB1});
    node.accept_tools(4);
    // A flood of hellos from every tool id: each answered, none kept.
    for (std::uint32_t t = kToolIdFirst; t <= kToolIdLast; ++t) {
        Link tool(LinkConfig{}, NodeId{static_cast<std::uint16_t>(t)}, Incarnation{0x7001}, kB, now);
        tool.flush(now);
        CHECK_FALSE(node.on_datagram(now, tool.take_output().datagrams.at(0)));
        const auto reply = node.take_reply();
        REQUIRE(reply);
        wire::Frame f;
        REQUIRE(wire::decode_frame(*reply, f) == wire::DecodeError::none);
        CHECK(f.header.dst == NodeId{static_cast<std::uint16_t>(t)});
        CHECK(f.header.dst_incarnation == Incarnation{0x7001});
        CHECK(f.header.src_incarnation == node.tool_challenge(f.header.dst, Incarnation{0x7001}));
        CHECK(f.header.src_incarnation != node.incarnation());
    }
    CHECK(node.stats().tool_challenges == kToolIdLast - kToolIdFirst + 1u);
    node.flush(now);
    EndpointOutput out;
    node.take_output(out);
    CHECK(out.datagrams.empty());
    CHECK_FALSE(node.next_deadline());
    CHECK_FALSE(node.has_peer(NodeId{kToolIdFirst}));

    const NodeId t{0xF001};
    CHECK(node.tool_challenge(t, Incarnation{0x7001}) != node.tool_challenge(t, Incarnation{0x7002}));
    CHECK(node.tool_challenge(t, Incarnation{0x7001}) != node.tool_challenge(NodeId{0xF002}, Incarnation{0x7001}));
    const Endpoint other(LinkConfig{}, kB, Incarnation{0xB2});
    CHECK(node.tool_challenge(t, Incarnation{0x7001}) != other.tool_challenge(t, Incarnation{0x7001}));

    // A frame addressed to another tool incarnation's challenge opens nothing.
    wire::FrameHeader h;
    h.src = t;
    h.dst = kB;
    h.src_incarnation = Incarnation{0x7002};
    h.dst_incarnation = node.tool_challenge(t, Incarnation{0x7001});
    h.counter = 2;
    h.tsval = 1;
    Bytes d;
    wire::encode_frame(h, {}, d);
    CHECK_FALSE(node.on_datagram(now, d));
    CHECK_FALSE(node.has_peer(t));
    CHECK(node.stats().no_tool_session == 1);
    // The same frame addressed to its own challenge does.
    h.dst_incarnation = node.tool_challenge(t, Incarnation{0x7002});
    wire::encode_frame(h, {}, d);
    CHECK(node.on_datagram(now, d) == t);
    CHECK(node.has_peer(t));
}
