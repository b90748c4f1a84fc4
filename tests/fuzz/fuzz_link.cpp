// libFuzzer: the link core under an adversary. Two keyed endpoints A and B exchange messages over a
// network the input controls (deliver, drop, duplicate, reorder, delay by advancing the clock);
// either process may restart (a new incarnation); an attacker injects raw bytes, replays any
// datagram seen so far (old incarnations' included, addressed to live processes), and forges frames
// of old incarnations of A addressed to old incarnations of B. Whatever happens, what B delivers
// from A is A's messages exactly as sent, never twice, in order, never one of a replaced process
// after its successor was heard; and with no restart, with no gap.
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <vector>

#include "ring/core/endpoint.h"
#include "ring/core/wire.h"
#include "tests/fuzz/fuzz_input.h"

using namespace ringwatch;
using ringwatch::fuzz::check;
using ringwatch::fuzz::Input;

namespace {
constexpr NodeId kA{1}, kB{2};
constexpr Incarnation kIncA{1'000'000}, kIncB{2'000'000};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    Input in{data, size};
    AuthKey key;
    key.bytes[0] = 42;
    LinkConfig config;
    config.key = key;
    Instant now = instant_us(1'000'000);
    std::uint8_t a_generation = 0, b_generation = 0;  // restarts so far
    auto make_a = [&] {
        auto e = std::make_unique<Endpoint>(config, kA, Incarnation{kIncA.value + 1000u * a_generation});
        e->add_peer(kB, now);
        return e;
    };
    auto make_b = [&] {
        auto e = std::make_unique<Endpoint>(config, kB, Incarnation{kIncB.value + 1000u * b_generation});
        e->add_peer(kA, now);
        e->accept_tools(4);
        return e;
    };
    std::unique_ptr<Endpoint> a = make_a(), b = make_b();

    std::deque<Bytes> a_to_b, b_to_a;
    std::vector<Bytes> seen;                                               // every datagram either sent: the attacker's recordings
    std::map<std::uint8_t, std::uint32_t> sent_by_a;                       // A's generation -> messages sent
    std::optional<std::pair<std::uint8_t, std::uint32_t>> last_delivered;  // (generation, number) from A
    EndpointOutput out;

    auto collect = [&] {
        for (Endpoint* e : {a.get(), b.get()}) {
            e->flush(now);
            out.clear();
            e->take_output(out);
            for (auto& d : out.datagrams) {
                if (seen.size() < 4096) seen.push_back(d.bytes);
                if (e == a.get() && d.peer == kB) a_to_b.push_back(std::move(d.bytes));
                if (e == b.get() && d.peer == kA) b_to_a.push_back(std::move(d.bytes));
            }
            if (e != b.get()) continue;
            for (const auto& m : out.delivered) {
                if (m.peer != kA) continue;
                // A's message: generation, number, and filler bytes derived from them.
                check(m.bytes.size() >= 5);
                const std::uint8_t gen = m.bytes[0];
                const std::uint32_t num =
                    std::uint32_t(m.bytes[1]) << 24 | std::uint32_t(m.bytes[2]) << 16 | std::uint32_t(m.bytes[3]) << 8 | m.bytes[4];
                check(sent_by_a.contains(gen) && num < sent_by_a[gen]);
                for (std::size_t i = 5; i < m.bytes.size(); ++i) check(m.bytes[i] == static_cast<std::uint8_t>(gen + num + i));
                if (last_delivered) {
                    const auto [lg, ln] = *last_delivered;
                    check(gen > lg || (gen == lg && num > ln));                        // never twice, never out of order, never older
                    if (a_generation == 0 && b_generation == 0) check(num == ln + 1);  // no restart: no gap
                } else if (a_generation == 0 && b_generation == 0) {
                    check(num == 0);
                }
                last_delivered = {gen, num};
            }
        }
    };

    while (!in.empty()) {
        const std::uint8_t op = in.byte();
        switch (op % 10) {
            case 0: {  // A queues a message
                const std::uint32_t num = sent_by_a[a_generation];
                Bytes m(5 + in.byte() % 60);
                m[0] = a_generation;
                m[1] = static_cast<std::uint8_t>(num >> 24);
                m[2] = static_cast<std::uint8_t>(num >> 16);
                m[3] = static_cast<std::uint8_t>(num >> 8);
                m[4] = static_cast<std::uint8_t>(num);
                for (std::size_t i = 5; i < m.size(); ++i) m[i] = static_cast<std::uint8_t>(a_generation + num + i);
                if (a->send(kB, m) == SendStatus::queued) ++sent_by_a[a_generation];
                break;
            }
            case 1:  // the network delivers, drops, duplicates or reorders the next datagram of either way
            case 2: {
                auto& q = op % 10 == 1 ? a_to_b : b_to_a;
                Endpoint& to = op % 10 == 1 ? *b : *a;
                if (q.empty()) break;
                const std::uint8_t fate = in.byte() % 4;
                if (fate != 0) to.on_datagram(now, q.front());
                if (fate == 3) to.on_datagram(now, q.front());
                if (fate == 2 && q.size() > 1)
                    std::swap(q[0], q[1]);
                else
                    q.pop_front();
                break;
            }
            case 3:  // time passes: timers fire
                now += Duration(1000 * (1 + in.byte()));
                break;
            case 4: {  // raw bytes, to either
                const Bytes raw = in.bytes(in.byte());
                (in.byte() % 2 ? *a : *b).on_datagram(now, raw);
                break;
            }
            case 5: {  // a replay of anything recorded, to either
                if (seen.empty()) break;
                const Bytes& r = seen[in.u64() % seen.size()];
                (in.byte() % 2 ? *a : *b).on_datagram(now, r);
                break;
            }
            case 6: {  // a forged frame of an old incarnation of A, addressed to an old B (recorded before B started)
                wire::FrameHeader h;
                h.flags = in.byte() & wire::kKnownFlags;
                h.src = kA;
                h.dst = kB;
                const std::uint8_t which = in.byte();
                h.src_incarnation = Incarnation{which % 3 == 0 ? 0 : kIncA.value - 1 - which};
                h.dst_incarnation = Incarnation{in.byte() % 2 ? 0 : kIncB.value - 1 - in.byte()};
                h.counter = in.u64();
                h.seq = Seq{in.byte()};
                h.ack = Seq{in.byte()};
                h.tsval = 1 + in.byte();
                h.tsecr = in.byte();
                std::vector<Bytes> ms;
                for (int i = in.byte() % 3; i > 0; --i) ms.push_back(Bytes(1 + in.byte() % 16, 0xEE));
                std::vector<std::span<const std::uint8_t>> spans(ms.begin(), ms.end());
                Bytes frame;
                wire::encode_frame(h, spans, frame, &key);
                b->on_datagram(now, frame);
                break;
            }
            case 7: {  // a tool's frame, any incarnations
                wire::FrameHeader h;
                h.flags = in.byte() & wire::kKnownFlags;
                h.src = NodeId{static_cast<std::uint16_t>(kToolIdFirst + in.byte() % 8)};
                h.dst = kB;
                h.src_incarnation = Incarnation{in.byte()};
                h.dst_incarnation = Incarnation{in.byte() % 2 ? b->incarnation().value + in.byte() % 8 : in.u64()};
                h.counter = in.byte();
                h.seq = Seq{in.byte()};
                h.ack = Seq{in.byte()};
                h.tsval = 1;
                const Bytes m(1 + in.byte() % 16, 0xAB);
                const std::span<const std::uint8_t> spans[] = {m};
                Bytes frame;
                wire::encode_frame(
                    h, in.byte() % 2 ? std::span<const std::span<const std::uint8_t>>(spans) : std::span<const std::span<const std::uint8_t>>(),
                    frame, &key);
                b->on_datagram(now, frame);
                break;
            }
            case 8:  // A restarts: a new process, a later incarnation; its old datagrams stay recorded
                if (a_generation < 200) {
                    ++a_generation;
                    now += Duration(1000);
                    a = make_a();
                    b_to_a.clear();  // addressed to the old process's socket
                }
                break;
            case 9:  // B restarts
                if (b_generation < 200) {
                    ++b_generation;
                    now += Duration(1000);
                    b = make_b();
                    a_to_b.clear();
                }
                break;
            default: break;
        }
        collect();
    }
    return 0;
}
