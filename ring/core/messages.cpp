// Encodes and decodes the messages carried by the links; nothing else.
#include "ring/core/messages.h"

#include "ring/core/bytes.h"

#include <algorithm>

namespace ringwatch {

namespace {

enum Type : std::uint8_t { kToken = 1, kMarker, kStart, kReport, kInject, kSend, kAck, kImpair, kRetiredReissue /* 9: the demo's old hand-made token, replaced by kRecover */, kRingQuery, kRingState, kRecover, kKeep, kRecoverRequest, kRekey, kStatusQuery, kStatusReply };

void put_summary(ByteWriter& w, const TokenSummary& s) {
    w.u8(static_cast<std::uint8_t>(s.kind));
    w.u32(s.epoch.value);
    w.u16(s.src.value);
}

MessageError get_kind(ByteReader& r, TokenKind& k) {
    const std::uint8_t v = r.u8();
    if (!r.ok()) return MessageError::truncated;
    if (v > 1) return MessageError::bad_value;
    k = static_cast<TokenKind>(v);
    return MessageError::none;
}

MessageError get_summary(ByteReader& r, TokenSummary& s) {
    if (auto e = get_kind(r, s.kind); e != MessageError::none) return e;
    s.epoch = Epoch{r.u32()};
    s.src = NodeId{r.u16()};
    return r.ok() ? MessageError::none : MessageError::truncated;
}

// A token list on the wire: the true count, then as many summaries as fit the bound (no fewer).
MessageError get_summaries(ByteReader& r, std::vector<TokenSummary>& out, std::uint32_t& count) {
    count = r.u32();
    const std::uint8_t n = r.u8();
    if (!r.ok()) return MessageError::truncated;
    if (n > kMaxTokensInReport) return MessageError::too_long;
    if (n != std::min<std::uint64_t>(count, kMaxTokensInReport)) return MessageError::bad_value;
    out.resize(n);
    for (auto& s : out)
        if (auto e = get_summary(r, s); e != MessageError::none) return e;
    return MessageError::none;
}

void put_summaries(ByteWriter& w, const std::vector<TokenSummary>& v, std::uint32_t count) {
    const std::size_t n = std::min<std::size_t>({v.size(), count, kMaxTokensInReport});
    w.u32(count);
    w.u8(static_cast<std::uint8_t>(n));
    for (std::size_t i = 0; i < n; ++i) put_summary(w, v[i]);
}

MessageError get_payload(ByteReader& r, Bytes& out) {
    const std::uint16_t n = r.u16();
    if (!r.ok()) return MessageError::truncated;
    if (n > kMaxPayloadBytes) return MessageError::too_long;
    auto b = r.bytes(n);
    if (!r.ok()) return MessageError::truncated;
    out.assign(b.begin(), b.end());
    return MessageError::none;
}

MessageError decode_body(std::uint8_t type, ByteReader& r, Message& out) {
    switch (type) {
        case kToken: {
            Token t;
            if (auto e = get_kind(r, t.kind); e != MessageError::none) return e;
            t.epoch = Epoch{r.u32()};
            t.src = NodeId{r.u16()};
            t.dst = NodeId{r.u16()};
            t.msg_id = r.u64();
            t.src_incarnation = Incarnation{r.u64()};
            const std::uint8_t copied = r.u8();
            if (!r.ok()) return MessageError::truncated;
            if (copied > 1) return MessageError::bad_value;
            t.copied = copied == 1;
            if (auto e = get_payload(r, t.payload); e != MessageError::none) return e;
            if (t.kind == TokenKind::free_token && (!t.payload.empty() || t.copied || t.msg_id != 0 || t.src_incarnation != Incarnation{}))
                return MessageError::bad_value;
            out = std::move(t);
            return MessageError::none;
        }
        case kMarker:
            out = MarkerMessage{SnapshotId{r.u64()}};
            return r.ok() ? MessageError::none : MessageError::truncated;
        case kStart: {
            SnapshotStart s{SnapshotId{r.u64()}, SnapshotId{r.u64()}};
            out = s;
            return r.ok() ? MessageError::none : MessageError::truncated;
        }
        case kReport: {
            SnapshotReport rep;
            rep.id = SnapshotId{r.u64()};
            rep.node = NodeId{r.u16()};
            rep.incarnation = Incarnation{r.u64()};
            if (auto e = get_summaries(r, rep.state.held, rep.state.held_count); e != MessageError::none) return e;
            rep.state.queue_length = r.u32();
            rep.state.tokens_forwarded = r.u64();
            rep.state.messages_delivered = r.u64();
            const std::uint8_t had = r.u8();
            rep.state.epoch = Epoch{r.u32()};
            rep.channel_from = NodeId{r.u16()};
            if (!r.ok()) return MessageError::truncated;
            if (had > 1) return MessageError::bad_value;
            rep.state.had_token = had == 1;
            if (auto e = get_summaries(r, rep.in_flight, rep.in_flight_count); e != MessageError::none) return e;
            const std::uint8_t n = r.u8();
            if (!r.ok()) return MessageError::truncated;
            if (n > kMaxEpochCounts + 1) return MessageError::too_long;
            rep.in_flight_epochs.resize(n);
            for (auto& ec : rep.in_flight_epochs) ec = EpochCount{Epoch{r.u32()}, r.u32()};
            const std::uint8_t kept = r.u8();
            if (!r.ok()) return MessageError::truncated;
            if (kept > kMaxKeptSnapshots) return MessageError::too_long;
            rep.kept.resize(kept);
            for (auto& k : rep.kept) k = SnapshotId{r.u64()};
            rep.pinned = SnapshotId{r.u64()};
            if (!r.ok()) return MessageError::truncated;
            out = std::move(rep);
            return MessageError::none;
        }
        case kInject: {
            InjectCommand c;
            c.command_id = r.u64();
            const std::uint8_t k = r.u8();
            if (!r.ok()) return MessageError::truncated;
            if (k != 1 && k != 2) return MessageError::bad_value;
            c.kind = static_cast<InjectKind>(k);
            out = c;
            return MessageError::none;
        }
        case kSend: {
            SendCommand c;
            c.command_id = r.u64();
            c.to = NodeId{r.u16()};
            if (!r.ok()) return MessageError::truncated;
            if (auto e = get_payload(r, c.payload); e != MessageError::none) return e;
            out = std::move(c);
            return MessageError::none;
        }
        case kAck: {
            CommandAck a;
            a.command_id = r.u64();
            const std::uint8_t ok = r.u8();
            if (!r.ok()) return MessageError::truncated;
            if (ok > 1) return MessageError::bad_value;
            a.ok = ok == 1;
            out = a;
            return MessageError::none;
        }
        case kImpair: {
            ImpairCommand c{r.u64(), r.u32(), r.u32(), r.u32()};
            if (!r.ok()) return MessageError::truncated;
            if (c.loss_ppm > 1'000'000 || c.duplicate_ppm > 1'000'000) return MessageError::bad_value;
            out = c;
            return MessageError::none;
        }
        case kRingQuery: out = RingQuery{}; return MessageError::none;
        case kRecoverRequest: {
            RecoverRequest q;
            q.command_id = r.u64();
            const std::uint8_t mode = r.u8();
            if (!r.ok()) return MessageError::truncated;
            if (mode != 1 && mode != 2) return MessageError::bad_value;
            q.mode = static_cast<RecoverMode>(mode);
            out = q;
            return MessageError::none;
        }
        case kRekey: {
            RekeyCommand c;
            c.command_id = r.u64();
            const std::uint8_t step = r.u8();
            c.fingerprint = r.u64();
            const std::uint16_t len = r.u16();
            if (!r.ok()) return MessageError::truncated;
            if (step < 1 || step > 4) return MessageError::bad_value;
            if (len > kMaxKeyPathBytes) return MessageError::too_long;
            c.step = static_cast<RekeyStep>(step);
            const auto path = r.bytes(len);
            if (!r.ok()) return MessageError::truncated;
            c.path.assign(path.begin(), path.end());
            out = std::move(c);
            return MessageError::none;
        }
        case kStatusQuery:
            out = StatusQuery{r.u64()};
            return r.ok() ? MessageError::none : MessageError::truncated;
        case kStatusReply: {
            StatusReply reply;
            reply.command_id = r.u64();
            const std::uint8_t n = r.u8();
            if (!r.ok()) return MessageError::truncated;
            if (n > kMaxStatusValues) return MessageError::too_long;
            for (std::uint8_t i = 0; i < n; ++i) {
                const std::uint8_t len = r.u8();
                if (!r.ok()) return MessageError::truncated;
                if (len == 0 || len > kMaxStatusNameBytes) return MessageError::bad_value;
                const auto name = r.bytes(len);
                const auto value = static_cast<std::int64_t>(r.u64());
                if (!r.ok()) return MessageError::truncated;
                reply.values.emplace_back(std::string(name.begin(), name.end()), value);
            }
            out = std::move(reply);
            return MessageError::none;
        }
        case kKeep:
            out = KeepSnapshot{SnapshotId{r.u64()}};
            return r.ok() ? MessageError::none : MessageError::truncated;
        case kRecover: {
            RecoverCommand c;
            c.command_id = r.u64();
            const std::uint8_t mode = r.u8();
            c.epoch = Epoch{r.u32()};
            c.issuer = NodeId{r.u16()};
            c.snapshot = SnapshotId{r.u64()};
            if (!r.ok()) return MessageError::truncated;
            if (mode != 1 && mode != 2) return MessageError::bad_value;
            c.mode = static_cast<RecoverMode>(mode);
            out = c;
            return MessageError::none;
        }
        case kRingState: {
            const std::uint8_t had = r.u8();
            RingState st{had == 1, Epoch{r.u32()}};
            if (!r.ok()) return MessageError::truncated;
            if (had > 1) return MessageError::bad_value;
            out = st;
            return MessageError::none;
        }
        default: return MessageError::unknown_type;
    }
}

}  // namespace

TokenSummary summarize(const Token& t) { return TokenSummary{t.kind, t.epoch, t.kind == TokenKind::busy ? t.src : NodeId{}}; }

std::string_view to_string(MessageError e) {
    switch (e) {
        case MessageError::none: return "none";
        case MessageError::empty: return "empty";
        case MessageError::unknown_type: return "unknown_type";
        case MessageError::truncated: return "truncated";
        case MessageError::bad_value: return "bad_value";
        case MessageError::too_long: return "too_long";
        case MessageError::trailing_bytes: return "trailing_bytes";
    }
    return "unknown";
}
std::string_view to_string(InjectKind k) { return k == InjectKind::lose ? "lose" : "duplicate"; }
std::string_view to_string(TokenKind k) { return k == TokenKind::busy ? "busy" : "free"; }
std::string_view to_string(RecoverMode m) { return m == RecoverMode::rollback ? "rollback" : "regenerate"; }
std::string_view to_string(RekeyStep s) {
    switch (s) {
        case RekeyStep::prepare: return "prepare";
        case RekeyStep::switch_over: return "switch";
        case RekeyStep::commit: return "commit";
        case RekeyStep::abort: return "abort";
    }
    return "unknown";
}

MessageError decode_message(std::span<const std::uint8_t> bytes, Message& out) {
    if (bytes.empty()) return MessageError::empty;
    ByteReader r(bytes.subspan(1));
    const MessageError e = decode_body(bytes[0], r, out);
    if (e != MessageError::none) return e;
    return r.remaining() == 0 ? MessageError::none : MessageError::trailing_bytes;
}

bool is_token_message(std::span<const std::uint8_t> bytes) { return !bytes.empty() && bytes[0] == kToken; }
bool is_driver_message(std::span<const std::uint8_t> bytes) { return !bytes.empty() && (bytes[0] == kRekey || bytes[0] == kStatusQuery); }

Bytes encode_message(const Message& m) {
    Bytes out;
    out.reserve(64);  // most messages fit: one allocation, not one per doubling as it grows
    ByteWriter w(out);
    std::visit(
        [&w](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, Token>) {
                w.u8(kToken);
                w.u8(static_cast<std::uint8_t>(v.kind));
                w.u32(v.epoch.value);
                w.u16(v.src.value);
                w.u16(v.dst.value);
                w.u64(v.msg_id);
                w.u64(v.src_incarnation.value);
                w.u8(v.copied ? 1 : 0);
                w.u16(static_cast<std::uint16_t>(v.payload.size()));
                w.bytes(v.payload);
            } else if constexpr (std::is_same_v<T, MarkerMessage>) {
                w.u8(kMarker);
                w.u64(v.id.value);
            } else if constexpr (std::is_same_v<T, SnapshotStart>) {
                w.u8(kStart);
                w.u64(v.id.value);
                w.u64(v.abandon_before.value);
            } else if constexpr (std::is_same_v<T, SnapshotReport>) {
                w.u8(kReport);
                w.u64(v.id.value);
                w.u16(v.node.value);
                w.u64(v.incarnation.value);
                put_summaries(w, v.state.held, v.state.held_count);
                w.u32(v.state.queue_length);
                w.u64(v.state.tokens_forwarded);
                w.u64(v.state.messages_delivered);
                w.u8(v.state.had_token ? 1 : 0);
                w.u32(v.state.epoch.value);
                w.u16(v.channel_from.value);
                put_summaries(w, v.in_flight, v.in_flight_count);
                const std::size_t n = std::min(v.in_flight_epochs.size(), kMaxEpochCounts + 1);
                w.u8(static_cast<std::uint8_t>(n));
                for (std::size_t i = 0; i < n; ++i) {
                    w.u32(v.in_flight_epochs[i].epoch.value);
                    w.u32(v.in_flight_epochs[i].tokens);
                }
                const std::size_t k = std::min(v.kept.size(), kMaxKeptSnapshots);
                w.u8(static_cast<std::uint8_t>(k));
                for (std::size_t i = 0; i < k; ++i) w.u64(v.kept[i].value);
                w.u64(v.pinned.value);
            } else if constexpr (std::is_same_v<T, InjectCommand>) {
                w.u8(kInject);
                w.u64(v.command_id);
                w.u8(static_cast<std::uint8_t>(v.kind));
            } else if constexpr (std::is_same_v<T, SendCommand>) {
                w.u8(kSend);
                w.u64(v.command_id);
                w.u16(v.to.value);
                w.u16(static_cast<std::uint16_t>(v.payload.size()));
                w.bytes(v.payload);
            } else if constexpr (std::is_same_v<T, ImpairCommand>) {
                w.u8(kImpair);
                w.u64(v.command_id);
                w.u32(v.loss_ppm);
                w.u32(v.duplicate_ppm);
                w.u32(v.delay_us);
            } else if constexpr (std::is_same_v<T, RecoverCommand>) {
                w.u8(kRecover);
                w.u64(v.command_id);
                w.u8(static_cast<std::uint8_t>(v.mode));
                w.u32(v.epoch.value);
                w.u16(v.issuer.value);
                w.u64(v.snapshot.value);
            } else if constexpr (std::is_same_v<T, RecoverRequest>) {
                w.u8(kRecoverRequest);
                w.u64(v.command_id);
                w.u8(static_cast<std::uint8_t>(v.mode));
            } else if constexpr (std::is_same_v<T, RekeyCommand>) {
                w.u8(kRekey);
                w.u64(v.command_id);
                w.u8(static_cast<std::uint8_t>(v.step));
                w.u64(v.fingerprint);
                w.u16(static_cast<std::uint16_t>(v.path.size()));
                w.bytes(std::span(reinterpret_cast<const std::uint8_t*>(v.path.data()), v.path.size()));
            } else if constexpr (std::is_same_v<T, StatusQuery>) {
                w.u8(kStatusQuery);
                w.u64(v.command_id);
            } else if constexpr (std::is_same_v<T, StatusReply>) {
                // Precondition: within the bounds (the drivers build it).
                w.u8(kStatusReply);
                w.u64(v.command_id);
                w.u8(static_cast<std::uint8_t>(v.values.size()));
                for (const auto& [name, value] : v.values) {
                    w.u8(static_cast<std::uint8_t>(name.size()));
                    w.bytes(std::span(reinterpret_cast<const std::uint8_t*>(name.data()), name.size()));
                    w.u64(static_cast<std::uint64_t>(value));
                }
            } else if constexpr (std::is_same_v<T, KeepSnapshot>) {
                w.u8(kKeep);
                w.u64(v.id.value);
            } else if constexpr (std::is_same_v<T, RingQuery>) {
                w.u8(kRingQuery);
            } else if constexpr (std::is_same_v<T, RingState>) {
                w.u8(kRingState);
                w.u8(v.had_token ? 1 : 0);
                w.u32(v.epoch.value);
            } else if constexpr (std::is_same_v<T, CommandAck>) {
                w.u8(kAck);
                w.u64(v.command_id);
                w.u8(v.ok ? 1 : 0);
            }
        },
        m);
    return out;
}

}  // namespace ringwatch
