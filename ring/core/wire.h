// The link's datagram format and its strict codec. Decoding never throws, never reads past the
// buffer, and rejects anything not exactly well-formed.
//
// Layout (big-endian):
//   u16 magic 'RW'  u8 version  u8 type  u8 flags  u8 auth
//   u16 src  u16 dst  u64 src_incarnation  u64 dst_incarnation  u64 counter (per link, from 1)
//   u64 seq (of the first message)  u64 ack (every seq below it was received)
//   u32 tsval (sender's clock, us, never 0)  u32 tsecr (echo of a peer's tsval, 0 = none)
//   u8 sack_len (bytes, <= 128)  sack bitmap: bit i set = seq ack+1+i received (lsb first)
//   u8 count  { u16 len (1..kMaxMessageBytes)  bytes }*count
//   auth 0: nothing follows.  auth 1: a 16-byte keyed MAC over all the bytes before it.
//   A decoder with a key accepts only auth 1 with a valid MAC; one without a key only auth 0.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "ring/core/auth.h"
#include "ring/core/types.h"

namespace ringwatch::wire {

inline constexpr std::uint16_t kMagic = 0x5257;  // "RW"
inline constexpr std::uint8_t kVersion = 2;
inline constexpr std::uint8_t kTypeLink = 1;
inline constexpr std::uint8_t kFlagWantAck = 0x01;  // please answer promptly (hello, keep-alive)
// The frame repeats messages sent before: its timestamp echo is stale, so it gives no RTT sample.
inline constexpr std::uint8_t kFlagRetransmit = 0x02;
inline constexpr std::uint8_t kKnownFlags = kFlagWantAck | kFlagRetransmit;
inline constexpr std::uint8_t kAuthNone = 0;
inline constexpr std::uint8_t kAuthMac = 1;

// One datagram fits an Ethernet MTU without IP fragmentation; a MAC trailer has room reserved.
inline constexpr std::size_t kMaxDatagramBytes = 1472;
inline constexpr std::size_t kMacReserveBytes = 16;
inline constexpr std::size_t kMaxSackBytes = 128;  // covers the default window of 1024 messages
inline constexpr std::size_t kMaxSackBits = kMaxSackBytes * 8;
inline constexpr std::size_t kFixedHeaderBytes = 2 + 1 + 1 + 1 + 1 + 2 + 2 + 8 + 8 + 8 + 8 + 8 + 4 + 4 + 1 + 1;
inline constexpr std::size_t kMaxHeaderBytes = kFixedHeaderBytes + kMaxSackBytes;
inline constexpr std::size_t kMessageLengthBytes = 2;
inline constexpr std::size_t kMaxFrameBytes = kMaxDatagramBytes - kMacReserveBytes;
inline constexpr std::size_t kMaxMessageBytes = kMaxFrameBytes - kMaxHeaderBytes - kMessageLengthBytes;
inline constexpr std::size_t kMaxMessagesPerFrame = 255;

enum class DecodeError : std::uint8_t {
    none,
    truncated,
    bad_magic,
    bad_version,
    bad_type,
    bad_flags,
    bad_auth,
    sack_too_long,
    empty_message,
    message_too_long,
    trailing_bytes,
    oversized,  // longer than kMaxDatagramBytes: no sender of ours makes one
    bad_mac,
};
inline constexpr std::size_t kDecodeErrorCount = static_cast<std::size_t>(DecodeError::bad_mac) + 1;
std::string_view to_string(DecodeError e);

struct FrameHeader {
    std::uint8_t flags = 0;
    NodeId src;
    NodeId dst;
    Incarnation src_incarnation;
    Incarnation dst_incarnation;
    // Every datagram a link sends has the next value: the receiver accepts each value once (replay).
    std::uint64_t counter = 0;
    Seq seq;  // of messages[0]; the rest follow consecutively
    Seq ack;
    // Round-trip measurement by echoed timestamps: unambiguous even for retransmissions.
    std::uint32_t tsval = 0;
    std::uint32_t tsecr = 0;
    // Bit i: seq ack+1+i was received. Only the bytes needed are sent.
    std::uint8_t sack[kMaxSackBytes] = {};
    std::uint8_t sack_len = 0;

    bool want_ack() const { return flags & kFlagWantAck; }
    bool retransmit() const { return flags & kFlagRetransmit; }
    bool sacked(std::size_t i) const { return i < sack_len * 8u && (sack[i / 8] >> (i % 8)) & 1u; }
};

// A decoded frame; messages point into the decoded buffer, which must outlive it.
struct Frame {
    FrameHeader header;
    std::vector<std::span<const std::uint8_t>> messages;
};

// Fills `out` on success. On error `out` is unspecified. With a key, the MAC is checked first.
DecodeError decode_frame(std::span<const std::uint8_t> datagram, Frame& out, const AuthKey* key = nullptr);

// Appends one encoded datagram to `out` (which is cleared first). Precondition (asserted): the
// messages fit, i.e. encoded_size(...) <= kMaxFrameBytes and each message is 1..kMaxMessageBytes.
// With a key, the frame carries auth 1 and its MAC (kMacReserveBytes are reserved for it).
void encode_frame(const FrameHeader& header, std::span<const std::span<const std::uint8_t>> messages, Bytes& out, const AuthKey* key = nullptr);

inline std::size_t header_size(std::uint8_t sack_len) { return kFixedHeaderBytes + sack_len; }

// Where may_wait looks (and the kernel's filter of a quiet socket, io/udp_socket.cpp, with it).
inline constexpr std::size_t kFlagsOffset = 4;
inline constexpr std::size_t kSackLenOffset = kFixedHeaderBytes - 2;
inline constexpr std::size_t kCountOffset = kFixedHeaderBytes - 1;  // plus sack_len

// A frame nobody needs to be woken for: it carries no message and asks for no prompt answer (a
// pure acknowledgement). Read from the bytes alone, unauthenticated: a forged frame that says so
// only waits, then is judged like any other. Anything not plainly such a frame says false.
bool may_wait(std::span<const std::uint8_t> datagram);

}  // namespace ringwatch::wire
