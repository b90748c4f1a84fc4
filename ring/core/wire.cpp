// Encodes and decodes link datagrams; nothing else.
#include "ring/core/wire.h"

#include "ring/core/check.h"

#include "ring/core/bytes.h"

namespace ringwatch::wire {

std::string_view to_string(DecodeError e) {
    switch (e) {
        case DecodeError::none: return "none";
        case DecodeError::truncated: return "truncated";
        case DecodeError::bad_magic: return "bad_magic";
        case DecodeError::bad_version: return "bad_version";
        case DecodeError::bad_type: return "bad_type";
        case DecodeError::bad_flags: return "bad_flags";
        case DecodeError::bad_auth: return "bad_auth";
        case DecodeError::sack_too_long: return "sack_too_long";
        case DecodeError::empty_message: return "empty_message";
        case DecodeError::message_too_long: return "message_too_long";
        case DecodeError::trailing_bytes: return "trailing_bytes";
        case DecodeError::oversized: return "oversized";
        case DecodeError::bad_mac: return "bad_mac";
    }
    return "unknown";
}

bool may_wait(std::span<const std::uint8_t> d) {
    if (d.size() < kFixedHeaderBytes || d[0] != (kMagic >> 8) || d[1] != (kMagic & 0xff)) return false;
    if (d[kFlagsOffset] & kFlagWantAck) return false;
    const std::size_t count_at = kCountOffset + d[kSackLenOffset];
    return count_at < d.size() && d[count_at] == 0;
}

DecodeError decode_frame(std::span<const std::uint8_t> datagram, Frame& out, const AuthKey* key) {
    if (datagram.size() > kMaxDatagramBytes) return DecodeError::oversized;
    if (datagram.size() < kFixedHeaderBytes) return DecodeError::truncated;
    constexpr std::size_t kAuthOffset = 5;
    if (key) {
        // Nothing of an unauthenticated datagram is looked at beyond the auth byte.
        if (datagram[kAuthOffset] != kAuthMac) return DecodeError::bad_auth;
        if (datagram.size() < kFixedHeaderBytes + kMacBytes) return DecodeError::truncated;
        const auto body = datagram.first(datagram.size() - kMacBytes);
        if (!verify_mac(*key, body, datagram.data() + body.size())) return DecodeError::bad_mac;
        datagram = body;
    } else if (datagram[kAuthOffset] != kAuthNone) {
        return DecodeError::bad_auth;
    }
    ByteReader r(datagram);
    if (r.u16() != kMagic) return DecodeError::bad_magic;
    if (r.u8() != kVersion) return DecodeError::bad_version;
    if (r.u8() != kTypeLink) return DecodeError::bad_type;
    FrameHeader& h = out.header;
    h.flags = r.u8();
    if (h.flags & ~kKnownFlags) return DecodeError::bad_flags;
    r.u8();  // auth: checked above
    h.src = NodeId{r.u16()};
    h.dst = NodeId{r.u16()};
    h.src_incarnation = Incarnation{r.u64()};
    h.dst_incarnation = Incarnation{r.u64()};
    h.counter = r.u64();
    h.seq = Seq{r.u64()};
    h.ack = Seq{r.u64()};
    h.tsval = r.u32();
    h.tsecr = r.u32();
    h.sack_len = r.u8();
    if (h.sack_len > kMaxSackBytes) return DecodeError::sack_too_long;
    auto sack = r.bytes(h.sack_len);
    if (!r.ok()) return DecodeError::truncated;
    std::copy(sack.begin(), sack.end(), h.sack);
    std::fill(h.sack + h.sack_len, h.sack + kMaxSackBytes, 0);
    const std::uint8_t count = r.u8();
    if (!r.ok()) return DecodeError::truncated;
    out.messages.clear();
    for (unsigned i = 0; i < count; ++i) {
        const std::uint16_t len = r.u16();
        if (!r.ok()) return DecodeError::truncated;
        if (len == 0) return DecodeError::empty_message;
        if (len > kMaxMessageBytes) return DecodeError::message_too_long;
        auto body = r.bytes(len);
        if (!r.ok()) return DecodeError::truncated;
        out.messages.push_back(body);
    }
    if (r.remaining() != 0) return DecodeError::trailing_bytes;
    return DecodeError::none;
}

void encode_frame(const FrameHeader& h, std::span<const std::span<const std::uint8_t>> messages, Bytes& out, const AuthKey* key) {
    RW_ASSERT(h.sack_len <= kMaxSackBytes);
    RW_ASSERT(messages.size() <= kMaxMessagesPerFrame);
    out.clear();
    // One allocation for the whole frame, not one per doubling as it grows.
    std::size_t size = header_size(h.sack_len) + (key ? kMacBytes : 0);
    for (auto m : messages) size += kMessageLengthBytes + m.size();
    out.reserve(size);
    ByteWriter w(out);
    w.u16(kMagic);
    w.u8(kVersion);
    w.u8(kTypeLink);
    w.u8(h.flags);
    w.u8(key ? kAuthMac : kAuthNone);
    w.u16(h.src.value);
    w.u16(h.dst.value);
    w.u64(h.src_incarnation.value);
    w.u64(h.dst_incarnation.value);
    w.u64(h.counter);
    w.u64(h.seq.value);
    w.u64(h.ack.value);
    w.u32(h.tsval);
    w.u32(h.tsecr);
    w.u8(h.sack_len);
    w.bytes(std::span<const std::uint8_t>(h.sack, h.sack_len));
    w.u8(static_cast<std::uint8_t>(messages.size()));
    for (auto m : messages) {
        RW_ASSERT(!m.empty() && m.size() <= kMaxMessageBytes);
        w.u16(static_cast<std::uint16_t>(m.size()));
        w.bytes(m);
    }
    RW_ASSERT(out.size() <= kMaxFrameBytes);
    if (key) {
        std::uint8_t mac[kMacBytes];
        compute_mac(*key, out, mac);
        out.insert(out.end(), mac, mac + kMacBytes);
    }
}

}  // namespace ringwatch::wire
