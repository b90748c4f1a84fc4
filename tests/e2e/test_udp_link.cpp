// Real sockets on 127.0.0.1: two endpoint drivers on one libuv loop, the impairment shim losing,
// duplicating and reordering their datagrams, and every message still arrives exactly once, in order.
// A socket with a quiet twin: pure acknowledgements wait without waking the reader.
#include <catch2/catch.hpp>

#include <cstring>

#include <functional>

#include "ring/core/wire.h"
#include "ring/io/clock.h"
#include "ring/io/endpoint_driver.h"

using namespace ringwatch;
using namespace ringwatch::io;
using namespace std::chrono_literals;

namespace {

sockaddr_storage loopback_any_port() { return *parse_address("127.0.0.1:0"); }

Bytes numbered(std::uint64_t i) {
    Bytes b(16, 0xee);
    std::memcpy(b.data(), &i, 8);
    return b;
}

struct Stream {
    std::uint64_t sent = 0, received = 0;
    bool broken = false;
};

// Runs the loop until both directions have delivered `n` messages or the wall-clock guard fires.
void exchange(uv_loop_t* loop, EndpointDriver& a, EndpointDriver& b, std::uint64_t n, Stream& ab, Stream& ba) {
    const NodeId a_id = a.endpoint().self(), b_id = b.endpoint().self();
    auto feed = [n](EndpointDriver& from, NodeId to, Stream& s) {
        while (s.sent < n && from.send(to, numbered(s.sent)) == SendStatus::queued) ++s.sent;
    };
    auto done = [&] { return ab.received == n && ba.received == n; };
    auto receive = [&](Stream& s, const Bytes& m) {
        if (m != numbered(s.received)) s.broken = true;
        ++s.received;
        if (done()) uv_stop(loop);
    };
    a.on_deliver([&](NodeId, Bytes m) { receive(ba, m); });
    b.on_deliver([&](NodeId, Bytes m) { receive(ab, m); });
    a.on_event([&](NodeId, const LinkEvent& e) {
        if (e.kind == LinkEventKind::window_open) feed(a, b_id, ab);
    });
    b.on_event([&](NodeId, const LinkEvent& e) {
        if (e.kind == LinkEventKind::window_open) feed(b, a_id, ba);
    });
    feed(a, b_id, ab);
    feed(b, a_id, ba);

    // A guard, not a synchronisation: the test fails if the link stalls.
    UvHandle<uv_timer_t> guard(loop, uv_timer_init);
    uv_timer_start(
        guard.get(), [](uv_timer_t* t) { uv_stop(t->loop); }, 120'000, 0);
    uv_run(loop, UV_RUN_DEFAULT);
}

void close_loop(uv_loop_t* loop) {
    uv_run(loop, UV_RUN_NOWAIT);  // let the close callbacks run
    REQUIRE(uv_loop_close(loop) == 0);
}

}  // namespace

TEST_CASE("udp link: 10000 messages each way over 127.0.0.1 at 30% loss arrive exactly once and in order", "[e2e][link]") {
    uv_loop_t loop;
    REQUIRE(uv_loop_init(&loop) == 0);
    {
        LinkConfig config;
        EndpointDriver a(&loop, NodeId{1}, loopback_any_port(), config, new_incarnation());
        EndpointDriver b(&loop, NodeId{2}, loopback_any_port(), config, new_incarnation());
        a.add_peer(NodeId{2}, b.local_address());
        b.add_peer(NodeId{1}, a.local_address());
        ImpairmentConfig shim;
        shim.loss = 0.3;
        shim.duplicate = 0.05;
        shim.reorder = 0.05;
        a.impairment().set_default(shim);
        b.impairment().set_default(shim);

        Stream ab, ba;
        exchange(&loop, a, b, 10'000, ab, ba);
        CHECK_FALSE(ab.broken);
        CHECK_FALSE(ba.broken);
        CHECK(ab.received == 10'000);
        CHECK(ba.received == 10'000);
        // The shim really did its job, and the link really repaired it.
        CHECK(a.impairment().stats().dropped > 0);
        CHECK(a.endpoint().total_link_stats().retransmits > 0);
        CHECK(b.endpoint().total_link_stats().duplicates_dropped > 0);
    }
    close_loop(&loop);
}

TEST_CASE("udp link: malformed datagrams are counted and dropped while the link carries on", "[e2e][link]") {
    uv_loop_t loop;
    REQUIRE(uv_loop_init(&loop) == 0);
    {
        EndpointDriver a(&loop, NodeId{1}, loopback_any_port(), LinkConfig{}, new_incarnation());
        EndpointDriver b(&loop, NodeId{2}, loopback_any_port(), LinkConfig{}, new_incarnation());
        a.add_peer(NodeId{2}, b.local_address());
        b.add_peer(NodeId{1}, a.local_address());
        // A stranger's socket sprays garbage at b.
        UdpSocket stranger(&loop, loopback_any_port(), [](auto, auto) {});
        const Bytes garbage{'R', 'W', 9, 9, 9};
        const Bytes empty_ish{0};
        stranger.send(b.local_address(), garbage);
        stranger.send(b.local_address(), empty_ish);
        Stream ab, ba;
        exchange(&loop, a, b, 100, ab, ba);
        CHECK(ab.received == 100);
        CHECK(ba.received == 100);
        CHECK(b.endpoint().stats().malformed == 2);
    }
    close_loop(&loop);
}

TEST_CASE("udp link: binding a port in use fails with a message naming the call and the address", "[e2e]") {
    uv_loop_t loop;
    REQUIRE(uv_loop_init(&loop) == 0);
    {
        UdpSocket first(&loop, loopback_any_port(), [](auto, auto) {});
        const sockaddr_storage taken = first.local_address();
        try {
            UdpSocket second(&loop, taken, [](auto, auto) {});
            FAIL("bind to a taken port succeeded");
        } catch (const std::system_error& e) {
            const std::string what = e.what();
            CHECK(what.find("bind 127.0.0.1:" + std::to_string(ntohs(reinterpret_cast<const sockaddr_in&>(taken).sin_port))) == 0);
            CHECK(what.find("address already in use") != std::string::npos);
        }
    }
    close_loop(&loop);
}

namespace {

Bytes frame_bytes(std::uint8_t flags, std::uint8_t sack_len, std::vector<Bytes> messages) {
    wire::FrameHeader h;
    h.flags = flags;
    h.src = NodeId{1};
    h.dst = NodeId{2};
    h.src_incarnation = Incarnation{5};
    h.seq = Seq{1};
    h.ack = Seq{1};
    h.tsval = 1;
    h.sack_len = sack_len;
    std::vector<std::span<const std::uint8_t>> spans(messages.begin(), messages.end());
    Bytes out;
    wire::encode_frame(h, spans, out);
    return out;
}

// Runs the loop until `done` or a deadline; false at the deadline.
bool run_until(uv_loop_t* loop, const std::function<bool()>& done, Duration limit = 5s) {
    const Instant until = monotonic_now() + limit;
    while (!done()) {
        if (monotonic_now() > until) return false;
        uv_run(loop, UV_RUN_NOWAIT);
    }
    return true;
}

}  // namespace

TEST_CASE("udp socket: pure acks wait in the quiet twin, wake nobody, and come with their arrival time", "[e2e][link]") {
    uv_loop_t loop;
    REQUIRE(uv_loop_init(&loop) == 0);
    {
        std::vector<Bytes> loud, quiet;
        std::vector<Instant> arrivals;
        UdpSocket receiver(
            &loop, loopback_any_port(), [&](std::span<const std::uint8_t> d, const sockaddr*) { loud.emplace_back(d.begin(), d.end()); },
            [&](std::span<const std::uint8_t> d, const sockaddr*, Instant arrived) {
                quiet.emplace_back(d.begin(), d.end());
                arrivals.push_back(arrived);
            });
        REQUIRE(receiver.quiet_active());
        int beacons = 0;
        UdpSocket beacon(&loop, loopback_any_port(), [&](auto, auto) { ++beacons; });
        UdpSocket sender(&loop, loopback_any_port(), [](auto, auto) {});

        const std::vector<Bytes> acks{frame_bytes(0, 0, {}), frame_bytes(wire::kFlagRetransmit, 3, {}), frame_bytes(0, 128, {})};
        const Instant before = monotonic_now();
        for (const Bytes& a : acks) sender.send(receiver.local_address(), a);
        // Sent after the acks on the same loopback: once it is read, the acks were queued too.
        sender.send(beacon.local_address(), Bytes{'b'});
        REQUIRE(run_until(&loop, [&] { return beacons == 1; }));
        uv_run(&loop, UV_RUN_NOWAIT);
        CHECK(loud.empty());  // nothing woke the receiver
        CHECK(quiet.empty());

        receiver.drain_quiet();
        const Instant after = monotonic_now();
        REQUIRE(quiet == acks);
        for (Instant t : arrivals) {
            CHECK(t >= before - 1ms);  // the kernel's stamp, on the wall clock: allow for the conversion
            CHECK(t <= after);
        }
        CHECK(receiver.stats().quiet == 3);
        CHECK(receiver.stats().received == 3);

        // Whatever asks for an answer or carries a message wakes the receiver, as does anything not
        // plainly a frame; the filter in the kernel agrees with wire::may_wait on each.
        const std::vector<Bytes> wakers{frame_bytes(wire::kFlagWantAck, 0, {}), frame_bytes(0, 0, {Bytes{1}}),
                                        frame_bytes(0, 2, {Bytes{1}, Bytes{2}}), Bytes{'R', 'W', 2}, Bytes(40, 0)};
        for (const Bytes& w : wakers) {
            CHECK_FALSE(wire::may_wait(w));
            sender.send(receiver.local_address(), w);
        }
        for (const Bytes& a : acks) CHECK(wire::may_wait(a));
        REQUIRE(run_until(&loop, [&] { return loud.size() == wakers.size(); }));
        CHECK(loud == wakers);
        CHECK(quiet.size() == acks.size());

        // Watched (an answer is awaited), the twin wakes the receiver by itself.
        receiver.watch_quiet(true);
        sender.send(receiver.local_address(), acks[1]);
        REQUIRE(run_until(&loop, [&] { return quiet.size() == acks.size() + 1; }));
        receiver.watch_quiet(false);
        sender.send(receiver.local_address(), acks[2]);
        sender.send(beacon.local_address(), Bytes{'b'});
        REQUIRE(run_until(&loop, [&] { return beacons == 2; }));
        uv_run(&loop, UV_RUN_NOWAIT);
        CHECK(quiet.size() == acks.size() + 1);
    }
    close_loop(&loop);
}

TEST_CASE("udp socket: a port held by a socket with a quiet twin is still ours alone, and the twin needs a free port", "[e2e]") {
    uv_loop_t loop;
    REQUIRE(uv_loop_init(&loop) == 0);
    {
        auto quiet_handler = [](std::span<const std::uint8_t>, const sockaddr*, Instant) {};
        UdpSocket paired(
            &loop, loopback_any_port(), [](auto, auto) {}, quiet_handler);
        const sockaddr_storage taken = paired.local_address();
        CHECK_THROWS_WITH(UdpSocket(&loop, taken, [](auto, auto) {}), Catch::Contains("address already in use"));
        CHECK_THROWS_WITH(UdpSocket(
                              &loop, taken, [](auto, auto) {}, quiet_handler),
                          Catch::Contains("address already in use"));
        UdpSocket plain(&loop, loopback_any_port(), [](auto, auto) {});
        CHECK_THROWS_WITH(UdpSocket(
                              &loop, plain.local_address(), [](auto, auto) {}, quiet_handler),
                          Catch::Contains("address already in use"));
    }
    close_loop(&loop);
}
