// Each message's wire format, described once: its type byte (wire_type<T>) and its fields in wire
// order (describe). The same description encodes (io is a MessageWriter, the message const) and
// decodes (io is a MessageReader), and tests fill samples with it: the two directions cannot drift.
//
// What an io offers (see message_io.h): u8/u16/u32/u64/i64 (big-endian, of exactly that type),
// id (a StrongInt, as wide as its value), flag (a bool: 0 or 1), enumeration (a u8 in [first, last]),
// bytes (a u16 length, then the bytes; too_long over the bound), name (a u8 length in [1, bound],
// then the bytes), list (a u8 count, then the items; cut to the bound on encode, or the bound is the
// encoder's precondition), counted_list (a u32 true count, then a list of at most the bound and
// exactly min(count, bound) items), require (a rule across fields: bad_value when broken), and
// checkpoint (decoding: a short read, then a bad value, among the fields so far is reported here).
//
// Decoding errors keep the order of checks the format has always had: a bad value is reported at
// the next checkpoint (a length, the end, or an explicit one) unless a short read comes first.
#pragma once

#include <array>
#include <concepts>
#include <cstdint>
#include <type_traits>
#include <variant>

#include "ring/core/messages.h"

namespace ringwatch {

// The type byte, first on the wire. Undefined for a type not given one: it does not compile.
template <typename T>
struct wire_type;
template <typename T>
inline constexpr std::uint8_t wire_type_v = wire_type<T>::value;

template <std::uint8_t V>
using type_byte = std::integral_constant<std::uint8_t, V>;
template <>
struct wire_type<Token> : type_byte<1> {};
template <>
struct wire_type<MarkerMessage> : type_byte<2> {};
template <>
struct wire_type<SnapshotStart> : type_byte<3> {};
template <>
struct wire_type<SnapshotReport> : type_byte<4> {};
template <>
struct wire_type<InjectCommand> : type_byte<5> {};
template <>
struct wire_type<SendCommand> : type_byte<6> {};
template <>
struct wire_type<CommandAck> : type_byte<7> {};
template <>
struct wire_type<ImpairCommand> : type_byte<8> {};
// 9: the demo's old hand-made token, replaced by RecoverCommand. Never reuse it.
inline constexpr std::uint8_t kRetiredTypeByte = 9;
template <>
struct wire_type<RingQuery> : type_byte<10> {};
template <>
struct wire_type<RingState> : type_byte<11> {};
template <>
struct wire_type<RecoverCommand> : type_byte<12> {};
template <>
struct wire_type<KeepSnapshot> : type_byte<13> {};
template <>
struct wire_type<RecoverRequest> : type_byte<14> {};
template <>
struct wire_type<RekeyCommand> : type_byte<15> {};
template <>
struct wire_type<StatusQuery> : type_byte<16> {};
template <>
struct wire_type<StatusReply> : type_byte<17> {};
template <>
struct wire_type<ViewOrder> : type_byte<18> {};
template <>
struct wire_type<IssueToken> : type_byte<19> {};
template <>
struct wire_type<LeaseRequest> : type_byte<20> {};
template <>
struct wire_type<LeaseGrant> : type_byte<21> {};
template <>
struct wire_type<TermClaim> : type_byte<22> {};
template <>
struct wire_type<TermPromise> : type_byte<23> {};
template <>
struct wire_type<MonitorHello> : type_byte<24> {};

// What a list longer than its bound does on encode.
enum class Excess { cut, forbidden /* a bug: RW_ASSERT */ };

// describe(io, m) takes m const (encoding) or not (decoding): T is M or const M.
template <typename T, typename M>
concept fields_of = std::same_as<std::remove_const_t<T>, M>;

inline constexpr std::uint32_t kCertainPpm = 1'000'000;  // a chance of one, in parts per million

template <typename Io, fields_of<TokenSummary> T>
void describe(Io& io, T& s) {
    io.enumeration(s.kind, TokenKind::free_token, TokenKind::busy);
    io.checkpoint();  // a bad kind is reported even when the rest is cut short
    io.id(s.epoch);
    io.id(s.src);
}

template <typename Io, fields_of<Token> T>
void describe(Io& io, T& t) {
    io.enumeration(t.kind, TokenKind::free_token, TokenKind::busy);
    io.checkpoint();  // as in a summary
    io.id(t.epoch);
    io.id(t.src);
    io.id(t.dst);
    io.u64(t.msg_id);
    io.id(t.src_incarnation);
    io.flag(t.copied);
    io.checkpoint();  // a bad copied is reported before a short payload length
    io.bytes(t.payload, kMaxPayloadBytes);
    // A free token carries no message.
    io.require(t.kind == TokenKind::busy || (t.payload.empty() && !t.copied && t.msg_id == 0 && t.src_incarnation == Incarnation{}));
}

template <typename Io, fields_of<MarkerMessage> T>
void describe(Io& io, T& m) {
    io.id(m.id);
}

template <typename Io, fields_of<SnapshotStart> T>
void describe(Io& io, T& s) {
    io.id(s.id);
    io.id(s.abandon_before);
}

template <typename Io, fields_of<NodeState> T>
void describe(Io& io, T& s) {
    io.counted_list(s.held, s.held_count, kMaxTokensInReport, [&io](auto& x) { describe(io, x); });
    io.u32(s.queue_length);
    io.u64(s.tokens_forwarded);
    io.u64(s.messages_delivered);
    io.flag(s.had_token);
    io.id(s.epoch);
}

template <typename Io, fields_of<EpochCount> T>
void describe(Io& io, T& c) {
    io.id(c.epoch);
    io.u32(c.tokens);
}

template <typename Io, fields_of<SnapshotReport> T>
void describe(Io& io, T& r) {
    io.id(r.id);
    io.id(r.node);
    io.id(r.incarnation);
    describe(io, r.state);
    io.id(r.channel_from);
    io.checkpoint();  // a bad had_token is reported before a short in-flight list
    io.counted_list(r.in_flight, r.in_flight_count, kMaxTokensInReport, [&io](auto& x) { describe(io, x); });
    io.list(r.in_flight_epochs, kMaxEpochCounts + 1, Excess::cut, [&io](auto& x) { describe(io, x); });
    io.list(r.kept, kMaxKeptSnapshots, Excess::cut, [&io](auto& x) { io.id(x); });
    io.id(r.pinned);
}

template <typename Io, fields_of<InjectCommand> T>
void describe(Io& io, T& c) {
    io.u64(c.command_id);
    io.enumeration(c.kind, InjectKind::lose, InjectKind::duplicate);
}

template <typename Io, fields_of<SendCommand> T>
void describe(Io& io, T& c) {
    io.u64(c.command_id);
    io.id(c.to);
    io.bytes(c.payload, kMaxPayloadBytes);
}

template <typename Io, fields_of<CommandAck> T>
void describe(Io& io, T& a) {
    io.u64(a.command_id);
    io.flag(a.ok);
}

template <typename Io, fields_of<ImpairCommand> T>
void describe(Io& io, T& c) {
    io.u64(c.command_id);
    io.u32(c.loss_ppm);
    io.u32(c.duplicate_ppm);
    io.u32(c.delay_us);
    io.require(c.loss_ppm <= kCertainPpm && c.duplicate_ppm <= kCertainPpm);
}

template <typename Io, fields_of<RingQuery> T>
void describe(Io&, T&) {}

template <typename Io, fields_of<RingState> T>
void describe(Io& io, T& s) {
    io.flag(s.had_token);
    io.id(s.epoch);
}

template <typename Io, fields_of<RecoverCommand> T>
void describe(Io& io, T& c) {
    io.u64(c.command_id);
    io.enumeration(c.mode, RecoverMode::regenerate, RecoverMode::rollback);
    io.id(c.epoch);
    io.id(c.issuer);
    io.id(c.snapshot);
    io.id(c.term);
}

template <typename Io, fields_of<KeepSnapshot> T>
void describe(Io& io, T& k) {
    io.id(k.id);
    io.id(k.term);
}

template <typename Io, fields_of<RecoverRequest> T>
void describe(Io& io, T& q) {
    io.u64(q.command_id);
    io.enumeration(q.mode, RecoverMode::regenerate, RecoverMode::rollback);
}

template <typename Io, fields_of<RekeyCommand> T>
void describe(Io& io, T& c) {
    io.u64(c.command_id);
    io.enumeration(c.step, RekeyStep::prepare, RekeyStep::abort);
    io.u64(c.fingerprint);
    io.bytes(c.path, kMaxKeyPathBytes);  // a short path length is reported before a bad step
}

template <typename Io, fields_of<StatusQuery> T>
void describe(Io& io, T& q) {
    io.u64(q.command_id);
}

template <typename Io, fields_of<StatusReply> T>
void describe(Io& io, T& r) {
    io.u64(r.command_id);
    io.list(r.values, kMaxStatusValues, Excess::forbidden, [&io](auto& v) {
        io.name(v.first, kMaxStatusNameBytes);
        io.i64(v.second);
    });
}

template <typename Io, fields_of<ViewOrder> T>
void describe(Io& io, T& v) {
    io.u64(v.command_id);
    io.id(v.epoch);
    io.id(v.term);
    io.bytes(v.members, kMaxViewBitmapBytes);
}

template <typename Io, fields_of<IssueToken> T>
void describe(Io& io, T& c) {
    io.u64(c.command_id);
    io.id(c.epoch);
    io.id(c.term);
}

template <typename Io, fields_of<LeaseRequest> T>
void describe(Io& io, T& r) {
    io.i64(r.stamp);
    io.id(r.view_epoch);
    io.id(r.term);
}

template <typename Io, fields_of<LeaseGrant> T>
void describe(Io& io, T& g) {
    io.i64(g.stamp);
    io.u32(g.lease_ms);
    io.id(g.term);
    io.require(g.lease_ms <= kMaxLeaseMs);
}

template <typename Io, fields_of<TermClaim> T>
void describe(Io& io, T& c) {
    io.id(c.term);
    io.u64(c.round);
}

template <typename Io, fields_of<TermPromise> T>
void describe(Io& io, T& p) {
    io.id(p.term);
    io.u64(p.round);
    io.flag(p.ok);
    io.id(p.promised);
    io.id(p.promised_to);
    io.id(p.epoch);
}

template <typename Io, fields_of<MonitorHello> T>
void describe(Io& io, T& h) {
    io.id(h.term);
    io.flag(h.leading);
    io.id(h.view_epoch);
    io.id(h.born);
    io.bytes(h.members, kMaxViewBitmapBytes);
}

// Every alternative of Message has a type byte and a description (for both directions), and no two
// share a type byte: checked here, so a new message type cannot encode to nothing unnoticed.
namespace message_fields_check {
// Any type will do as the io: the check asks whether describe(io, m) exists, not for its body.
struct AnyIo {};

template <typename T>
constexpr bool wire_ready() {
    static_assert(
        requires { wire_type<T>::value; }, "a Message alternative has no type byte: add a wire_type<T> specialization in message_fields.h");
    static_assert(
        requires(AnyIo & io, T & m, const T& c) {
            describe(io, m);
            describe(io, c);
        },
        "a Message alternative has no describe(io, msg): describe its fields in message_fields.h");
    return true;
}

template <typename... Ts>
constexpr bool type_bytes_distinct(std::variant<Ts...>*) {
    constexpr std::array<std::uint8_t, sizeof...(Ts)> bytes{wire_type<Ts>::value...};
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        if (bytes[i] == 0 || bytes[i] == kRetiredTypeByte) return false;
        for (std::size_t j = i + 1; j < bytes.size(); ++j)
            if (bytes[i] == bytes[j]) return false;
    }
    return true;
}

template <typename... Ts>
constexpr bool all_wire_ready(std::variant<Ts...>*) {
    return (wire_ready<Ts>() && ...);
}

static_assert(all_wire_ready(static_cast<Message*>(nullptr)));
static_assert(type_bytes_distinct(static_cast<Message*>(nullptr)), "two Message alternatives share a type byte (or use 0 or the retired 9)");
}  // namespace message_fields_check

}  // namespace ringwatch
