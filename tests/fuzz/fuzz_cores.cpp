// libFuzzer: the node and monitor cores fed messages that decode but are hostile, as a key holder
// gone wrong (or a bug elsewhere) could send them: tokens of absurd epochs and sizes, markers and
// starts of any id, reports claiming millions of tokens or any epoch, recover, keep, rekey, inject
// and impair commands from any sender, raw bytes too. A node (1, between 0 and 2) and a monitor of
// the ring {0, 1, 2} are wired together (the node's reports reach the monitor, the monitor's orders
// reach the node) while the input also speaks for everyone else and moves the clock. Nothing may
// crash, leak, hit undefined behaviour or grow without bound (libFuzzer's -rss_limit_mb and
// -malloc_limit_mb), and each step's output stays bounded.
#include <cstdlib>
#include <string>

#include "monitor/core/monitor_core.h"
#include "ring/core/node.h"
#include "tests/fuzz/fuzz_input.h"

using namespace ringwatch;
using ringwatch::fuzz::check;
using ringwatch::fuzz::Input;

namespace {
constexpr NodeId kSelf{1}, kPred{0}, kSucc{2};

NodeId any_sender(Input& in) {
    switch (in.byte() % 6) {
        case 0: return kPred;
        case 1: return kSucc;
        case 2: return kMonitorId;
        case 3: return NodeId{kToolIdFirst};
        case 4: return kSelf;
        default: return NodeId{in.u16()};
    }
}

Token any_token(Input& in) {
    Token t;
    t.kind = in.byte() & 1 ? TokenKind::busy : TokenKind::free_token;
    t.epoch = Epoch{static_cast<std::uint32_t>(in.number())};
    if (t.kind == TokenKind::busy) {
        t.src = NodeId{static_cast<std::uint16_t>(in.number())};
        t.dst = NodeId{static_cast<std::uint16_t>(in.number())};
        t.msg_id = in.number();
        t.copied = in.byte() & 1;
        t.payload = in.bytes(std::min<std::size_t>(in.u16(), kMaxPayloadBytes));
        if (t.payload.empty()) t.payload.push_back(1);
        t.src_incarnation = Incarnation{in.number()};
    }
    return t;
}

TokenSummary any_summary(Input& in) {
    const Token t = any_token(in);
    return summarize(t);
}

SnapshotReport any_report(Input& in, NodeId from) {
    SnapshotReport r;
    r.id = SnapshotId{in.number()};
    r.node = from;
    r.incarnation = Incarnation{in.number()};
    r.state.held_count = static_cast<std::uint32_t>(in.number());
    for (std::size_t i = 0, k = in.byte() % 4; i < k; ++i) r.state.held.push_back(any_summary(in));
    r.state.queue_length = static_cast<std::uint32_t>(in.number());
    r.state.had_token = in.byte() & 1;
    r.state.epoch = Epoch{static_cast<std::uint32_t>(in.number())};
    r.channel_from = NodeId{static_cast<std::uint16_t>(in.number())};
    for (std::size_t i = 0, k = in.byte() % 4; i < k; ++i) r.in_flight.push_back(any_summary(in));
    r.in_flight_count = static_cast<std::uint32_t>(in.number());
    for (std::size_t i = 0, k = in.byte() % (kMaxEpochCounts + 2); i < k; ++i)
        r.in_flight_epochs.push_back({Epoch{static_cast<std::uint32_t>(in.number())}, static_cast<std::uint32_t>(in.number())});
    for (std::size_t i = 0, k = in.byte() % 4; i < k; ++i) r.kept.push_back(SnapshotId{in.number()});
    r.pinned = SnapshotId{in.number()};
    return r;
}

// A message that decodes: every type a node or a monitor receives, every field from the input.
Message any_message(Input& in, NodeId from) {
    switch (in.byte() % 12) {
        case 0: return any_token(in);
        case 1: return MarkerMessage{SnapshotId{in.number()}};
        case 2: return SnapshotStart{SnapshotId{in.number()}, SnapshotId{in.number()}};
        case 3: return any_report(in, from);
        case 4: return InjectCommand{in.number(), in.byte() & 1 ? InjectKind::lose : InjectKind::duplicate};
        case 5:
            return SendCommand{in.number(), NodeId{static_cast<std::uint16_t>(in.number())},
                               in.bytes(std::min<std::size_t>(in.u16(), kMaxPayloadBytes))};
        case 6: return ImpairCommand{in.number(), in.u32(), in.u32(), in.u32()};
        case 7:
            return RecoverCommand{in.number(), in.byte() & 1 ? RecoverMode::regenerate : RecoverMode::rollback,
                                  Epoch{static_cast<std::uint32_t>(in.number())}, NodeId{static_cast<std::uint16_t>(in.number())},
                                  SnapshotId{in.number()}};
        case 8: return KeepSnapshot{SnapshotId{in.number()}};
        case 9: return RekeyCommand{in.number(), static_cast<RekeyStep>(1 + in.byte() % 4), in.u64(), "/nonexistent/key"};
        case 10: return StatusQuery{in.number()};
        default: return RingQuery{};
    }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    Input in{data, size};
    Instant now = instant_us(1'000'000);
    NodeConfig nc;
    nc.self = kSelf;
    nc.predecessor = kPred;
    nc.successor = kSucc;
    nc.token.hold = std::chrono::milliseconds(in.byte() % 3);
    nc.incarnation = Incarnation{500};
    nc.keep_delivery_record = in.byte() & 1;
    Node node(nc, now);
    MonitorConfig mc;
    mc.ring = {kPred, kSelf, kSucc};
    mc.interval = std::chrono::milliseconds(20);
    mc.timeout = std::chrono::milliseconds(200);
    mc.single_initiator = in.byte() & 1;
    mc.recover = static_cast<RecoveryMode>(in.byte() % 3);
    MonitorCore monitor(mc, now);
    NodeOutput out;

    // What each core says goes to the other (and the node's words to others are dropped).
    auto exchange = [&] {
        for (int round = 0; round < 8; ++round) {
            out.clear();
            node.take_output(out);
            check(out.messages.size() < 4096);
            bool any = false;
            for (const auto& m : out.messages) {
                Message msg;
                if (m.peer != kMonitorId || decode_message(m.bytes, msg) != MessageError::none) continue;
                if (const auto* r = std::get_if<SnapshotReport>(&msg)) monitor.on_report(now, kSelf, *r);
            }
            MonitorOutput mout;
            monitor.take_output(mout);
            for (const auto& c : mout.starts)
                if (c.node == kSelf) node.on_message(now, kMonitorId, encode_message(c.start)), any = true;
            for (const auto& [n, rc] : mout.recover_commands)
                if (n == kSelf) node.on_message(now, kMonitorId, encode_message(rc)), any = true;
            for (const auto& [n, k] : mout.keeps)
                if (n == kSelf) node.on_message(now, kMonitorId, encode_message(k)), any = true;
            check(mout.verdicts.size() < 4096);
            if (!any) break;
        }
    };

    for (int steps = 0; !in.empty() && steps < 512; ++steps) {
        switch (in.byte() % 8) {
            case 0: {  // a hostile but well-formed message to the node
                const NodeId from = any_sender(in);
                node.on_message(now, from, encode_message(any_message(in, from)));
                break;
            }
            case 1: {  // raw bytes to the node
                const NodeId from = any_sender(in);
                node.on_message(now, from, in.bytes(std::min<std::size_t>(in.u16(), 2048)));
                break;
            }
            case 2: {  // a hostile report to the monitor, from any node of the ring or beyond
                const NodeId from = in.byte() & 0x80 ? NodeId{in.u16()} : mc.ring[in.byte() % 3];
                monitor.on_report(now, from, any_report(in, from));
                break;
            }
            case 3:
                now += std::chrono::microseconds(in.u16()) * (in.byte() % 64 + 1);
                node.on_timer(now);
                monitor.on_timer(now);
                break;
            case 4: node.inject(now, in.byte() & 1 ? InjectKind::lose : InjectKind::duplicate); break;
            case 5:
                node.send_app(now, NodeId{static_cast<std::uint16_t>(in.number())}, in.bytes(std::min<std::size_t>(in.u16(), kMaxPayloadBytes + 8)));
                break;
            case 6: monitor.recover_by_hand(now, in.byte() & 1 ? RecoverMode::regenerate : RecoverMode::rollback); break;
            default: {
                const NodeId n = mc.ring[in.byte() % 3];
                monitor.set_node_silent(n, in.byte() & 1);
                monitor.on_link_event(now, n, LinkEvent{static_cast<LinkEventKind>(in.byte() % 5), Incarnation{in.number()}, 0});
                break;
            }
        }
        exchange();
    }
    return 0;
}
