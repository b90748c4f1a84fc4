// Encodes and decodes the messages carried by the links, from their descriptions in
// message_fields.h (the type byte picks the description); nothing else.
#include "ring/core/messages.h"

#include <array>
#include <utility>

#include "ring/core/message_fields.h"
#include "ring/core/message_io.h"

namespace ringwatch {

namespace {

template <typename T>
MessageError decode_as(std::span<const std::uint8_t> body, Message& out) {
    MessageReader io(body);
    T m{};
    describe(io, m);
    io.checkpoint();
    if (io.error() != MessageError::none) return io.error();
    out = std::move(m);
    return io.remaining() == 0 ? MessageError::none : MessageError::trailing_bytes;
}

// The decoder of each type byte (null: no such type), from the types of Message.
using Decoder = MessageError (*)(std::span<const std::uint8_t>, Message&);
template <std::size_t... I>
constexpr std::array<Decoder, 256> decoders(std::index_sequence<I...>) {
    std::array<Decoder, 256> table{};
    ((table[wire_type_v<std::variant_alternative_t<I, Message>>] = &decode_as<std::variant_alternative_t<I, Message>>), ...);
    return table;
}
constexpr std::array<Decoder, 256> kDecoders = decoders(std::make_index_sequence<std::variant_size_v<Message>>{});

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
    const Decoder decode = kDecoders[bytes[0]];
    return decode ? decode(bytes.subspan(1), out) : MessageError::unknown_type;
}

bool is_token_message(std::span<const std::uint8_t> bytes) { return !bytes.empty() && bytes[0] == wire_type_v<Token>; }
bool is_driver_message(std::span<const std::uint8_t> bytes) {
    return !bytes.empty() && (bytes[0] == wire_type_v<RekeyCommand> || bytes[0] == wire_type_v<StatusQuery>);
}

Bytes encode_message(const Message& m) {
    Bytes out;
    out.reserve(64);  // most messages fit: one allocation, not one per doubling as it grows
    MessageWriter io(out);
    std::visit(
        [&io](const auto& v) {
            io.u8(wire_type_v<std::decay_t<decltype(v)>>);
            describe(io, v);
        },
        m);
    return out;
}

}  // namespace ringwatch
