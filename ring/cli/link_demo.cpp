// The link demo: exactly-once, in-order delivery over a deliberately bad network, with its counters.
#include "ring/cli/link_demo.h"

#include <cstring>

#include <fmt/format.h>

#include "ring/io/clock.h"
#include "ring/io/endpoint_driver.h"

namespace ringwatch {

namespace {
Bytes numbered(std::uint64_t i) {
    Bytes b(64, 0x5a);
    std::memcpy(b.data(), &i, sizeof i);
    return b;
}
}  // namespace

int run_link_demo(const LinkDemoOptions& o) {
    using namespace io;
    UvLoop owner;
    uv_loop_t& loop = *owner.get();
    int rc = 0;
    {
        const auto any = *parse_address("127.0.0.1:0");
        EndpointDriver a(&loop, NodeId{1}, any, LinkConfig{}, new_incarnation());
        EndpointDriver b(&loop, NodeId{2}, any, LinkConfig{}, new_incarnation());
        a.add_peer(NodeId{2}, b.local_address());
        b.add_peer(NodeId{1}, a.local_address());
        ImpairmentConfig shim{o.loss, o.duplicate, o.reorder};
        a.impairment().set_default(shim);
        b.impairment().set_default(shim);
        fmt::print("link demo: node 1 at {} -> node 2 at {}, {} messages of 64 bytes\n", format_address(a.local_address()),
                   format_address(b.local_address()), o.messages);
        fmt::print("impairment on every datagram, both ways: loss {:.0f}%, duplication {:.0f}%, reordering {:.0f}%\n", o.loss * 100,
                   o.duplicate * 100, o.reorder * 100);

        std::uint64_t sent = 0, received = 0;
        bool in_order = true;
        auto feed = [&] {
            while (sent < o.messages && a.send(NodeId{2}, numbered(sent)) == SendStatus::queued) ++sent;
        };
        const Instant start = monotonic_now();
        b.on_deliver([&](NodeId, Bytes m) {
            if (m != numbered(received)) in_order = false;
            if (++received == o.messages) uv_stop(&loop);
        });
        a.on_event([&](NodeId, const LinkEvent& e) {
            if (e.kind == LinkEventKind::window_open) feed();
        });
        feed();
        UvHandle<uv_timer_t> guard(&loop, uv_timer_init);
        uv_timer_start(
            guard.get(), [](uv_timer_t* t) { uv_stop(t->loop); }, 60'000, 0);
        uv_run(&loop, UV_RUN_DEFAULT);
        const double secs = std::chrono::duration<double>(monotonic_now() - start).count();

        const LinkStats s = a.endpoint().total_link_stats();
        const LinkStats r = b.endpoint().total_link_stats();
        fmt::print("delivered {}/{} in order: {} in {:.3f} s ({:.0f} msgs/s)\n", received, o.messages, in_order ? "yes" : "NO", secs,
                   static_cast<double>(received) / secs);
        fmt::print("sender: {} datagrams, {} retransmitted messages ({} fast, {} timeouts), srtt {} us, rto {} us\n", s.datagrams_sent, s.retransmits,
                   s.fast_retransmits, s.timeouts, a.endpoint().link(NodeId{2})->srtt().value_or(Duration{0}).count(),
                   a.endpoint().link(NodeId{2})->rto().count());
        fmt::print("shim: dropped {} duplicated {} reordered {}; receiver dropped {} duplicates\n",
                   a.impairment().stats().dropped + b.impairment().stats().dropped,
                   a.impairment().stats().duplicated + b.impairment().stats().duplicated,
                   a.impairment().stats().reordered + b.impairment().stats().reordered, r.duplicates_dropped);
        rc = (received == o.messages && in_order) ? 0 : 1;
        if (rc != 0) fmt::print(stderr, "link demo: FAILED, delivery incomplete or out of order\n");
    }
    return rc;
}

}  // namespace ringwatch
