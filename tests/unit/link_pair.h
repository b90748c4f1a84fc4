// Two link ends whose datagrams the test carries by hand, so each case decides exactly which ones
// are lost, duplicated, reordered or replayed, and when.
#pragma once

#include <catch2/catch.hpp>

#include <deque>
#include <memory>
#include <vector>

#include "ring/core/link.h"

namespace ringwatch::testing {

using namespace std::chrono_literals;

inline constexpr NodeId kA{1};
inline constexpr NodeId kB{2};

inline Bytes msg(std::uint8_t v, std::size_t len = 4) { return Bytes(len, v); }

// One end of the pair with everything it has produced and not yet handled by the test.
struct End {
    std::unique_ptr<Link> link;
    std::deque<Bytes> wire;  // datagrams it sent, not yet carried
    std::vector<Bytes> delivered;
    std::vector<LinkEvent> events;

    void drain() {
        LinkOutput o = link->take_output();
        for (auto& d : o.datagrams) wire.push_back(std::move(d));
        for (auto& m : o.delivered) delivered.push_back(std::move(m));
        for (auto& e : o.events) events.push_back(e);
    }
    bool saw(LinkEventKind k) const {
        for (auto& e : events)
            if (e.kind == k) return true;
        return false;
    }
};

struct Pair {
    LinkConfig config;
    Instant now = instant_us(1'000'000);
    End a, b;

    explicit Pair(LinkConfig c = {}) : config(c) {
        a.link = std::make_unique<Link>(config, kA, Incarnation{0xA1}, kB, now);
        b.link = std::make_unique<Link>(config, kB, Incarnation{0xB1}, kA, now);
    }
    void flush() {
        a.link->flush(now);
        b.link->flush(now);
        a.drain();
        b.drain();
    }
    // Carries one datagram from `from`'s wire to the other end and lets it answer.
    static void carry(End& from, End& to, Instant now, std::size_t index = 0) {
        Bytes d = from.wire.at(index);
        from.wire.erase(from.wire.begin() + static_cast<std::ptrdiff_t>(index));
        wire::Frame f;
        REQUIRE(wire::decode_frame(d, f) == wire::DecodeError::none);
        to.link->on_frame(now, f);
    }
    void a_to_b(std::size_t i = 0) { carry(a, b, now, i); }
    void b_to_a(std::size_t i = 0) { carry(b, a, now, i); }
    // Carries everything both ways until nothing is left, advancing time a little per hop.
    void settle() {
        for (int i = 0; i < 1000 && (!a.wire.empty() || !b.wire.empty()); ++i) {
            now += 10us;
            while (!a.wire.empty()) a_to_b();
            while (!b.wire.empty()) b_to_a();
            flush();
        }
    }
    // `rounds` messages from a to b, each acknowledged at once after `rtt`: a steady estimate.
    void round_trips(int rounds, Duration rtt) {
        for (int i = 0; i < rounds; ++i) {
            a.link->send(msg(1));
            flush();
            now += rtt;
            while (!a.wire.empty()) a_to_b();
            flush();
            while (!b.wire.empty()) b_to_a();
            flush();
        }
    }
    void handshake() {
        flush();
        settle();
        REQUIRE(a.link->peer_incarnation() == Incarnation{0xB1});
        REQUIRE(b.link->peer_incarnation() == Incarnation{0xA1});
    }
};

inline wire::FrameHeader header_of(const Bytes& datagram) {
    wire::Frame f;
    REQUIRE(wire::decode_frame(datagram, f) == wire::DecodeError::none);
    return f.header;
}

inline std::size_t messages_in(const Bytes& datagram) {
    wire::Frame f;
    REQUIRE(wire::decode_frame(datagram, f) == wire::DecodeError::none);
    return f.messages.size();
}

}  // namespace ringwatch::testing
