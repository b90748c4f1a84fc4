// Real sockets on 127.0.0.1: two endpoint drivers on one libuv loop, the impairment shim losing,
// duplicating and reordering their datagrams, and every message still arrives exactly once, in order.
#include <catch2/catch.hpp>

#include <cstring>

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
