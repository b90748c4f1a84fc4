// Drives one Endpoint in virtual time: the simulator's stand-in for the libuv endpoint driver,
// following the same caller's contract (inputs, flush, drain output, sleep until next deadline).
#pragma once

#include <functional>
#include <optional>

#include "ring/core/endpoint.h"
#include "tests/sim/event_queue.h"
#include "tests/sim/sim_network.h"
#include "tests/sim/sim_wakeup.h"

namespace ringwatch::sim {

class SimLinkHost {
public:
    SimLinkHost(EventQueue& events, SimNetwork& net, NodeId self, Incarnation inc, LinkConfig config)
        : events_(events), net_(net), endpoint_(config, self, inc) {
        net_.attach(self, [this](NodeId, std::uint32_t, Bytes d) {
            endpoint_.on_datagram(events_.now(), d);
            pump();
        });
    }
    ~SimLinkHost() { net_.detach(endpoint_.self()); }
    SimLinkHost(const SimLinkHost&) = delete;
    SimLinkHost& operator=(const SimLinkHost&) = delete;

    Endpoint& endpoint() { return endpoint_; }
    void add_peer(NodeId peer) { endpoint_.add_peer(peer, events_.now()); }

    std::function<void(NodeId from, Bytes message)> on_deliver;
    std::function<void(NodeId peer, const LinkEvent&)> on_event;

    // Flushes, routes everything produced, and re-arms the wake-up timer. Handlers may send; their
    // sends go out in the same pump.
    void pump() {
        for (int round = 0; round < 8; ++round) {
            endpoint_.flush(events_.now());
            out_.clear();
            endpoint_.take_output(out_);
            if (out_.datagrams.empty() && out_.delivered.empty() && out_.events.empty()) break;
            for (auto& d : out_.datagrams) net_.send(endpoint_.self(), 0, d.peer, std::move(d.bytes));
            for (auto& m : out_.delivered)
                if (on_deliver) on_deliver(m.peer, std::move(m.bytes));
            for (auto& e : out_.events)
                if (on_event) on_event(e.peer, e.event);
        }
        arm_timer();
    }

private:
    void arm_timer() {
        wakeup_.arm(events_, endpoint_.next_deadline(), [this] { pump(); });
    }

    EventQueue& events_;
    SimNetwork& net_;
    Endpoint endpoint_;
    EndpointOutput out_;
    SimWakeup wakeup_;
};

}  // namespace ringwatch::sim
