// The link datagram codec: round trips, and every malformed shape is rejected with its own error.
#include <catch2/catch.hpp>

#include "ring/core/bytes.h"
#include "ring/core/wire.h"

using namespace ringwatch;
using namespace ringwatch::wire;

namespace {

FrameHeader sample_header() {
    FrameHeader h;
    h.flags = kFlagWantAck;
    h.src = NodeId{3};
    h.dst = NodeId{4};
    h.src_incarnation = Incarnation{0x1122334455667788ULL};
    h.dst_incarnation = Incarnation{0x99aabbccddeeff00ULL};
    h.seq = Seq{1000};
    h.ack = Seq{77};
    h.tsval = 0xdeadbeef;
    h.tsecr = 12345;
    h.sack_len = 2;
    h.sack[0] = 0b101;
    h.sack[1] = 0x80;
    return h;
}

Bytes encode(const FrameHeader& h, std::vector<Bytes> msgs) {
    std::vector<std::span<const std::uint8_t>> spans(msgs.begin(), msgs.end());
    Bytes out;
    encode_frame(h, spans, out);
    return out;
}

DecodeError decode(const Bytes& b) {
    Frame f;
    return decode_frame(b, f);
}

// Offsets into the fixed header, for corrupting one field at a time.
constexpr std::size_t kOffVersion = 2, kOffType = 3, kOffFlags = 4, kOffAuth = 5, kOffSackLen = 58;

}  // namespace

TEST_CASE("wire: a frame round-trips with every field intact", "[wire]") {
    const FrameHeader h = sample_header();
    const Bytes d = encode(h, {Bytes{1, 2, 3}, Bytes(kMaxMessageBytes, 0xab), Bytes{9}});
    Frame f;
    REQUIRE(decode_frame(d, f) == DecodeError::none);
    CHECK(f.header.flags == h.flags);
    CHECK(f.header.src == h.src);
    CHECK(f.header.dst == h.dst);
    CHECK(f.header.src_incarnation == h.src_incarnation);
    CHECK(f.header.dst_incarnation == h.dst_incarnation);
    CHECK(f.header.seq == h.seq);
    CHECK(f.header.ack == h.ack);
    CHECK(f.header.tsval == h.tsval);
    CHECK(f.header.tsecr == h.tsecr);
    CHECK(f.header.sack_len == 2);
    CHECK(f.header.sacked(0));
    CHECK_FALSE(f.header.sacked(1));
    CHECK(f.header.sacked(2));
    CHECK(f.header.sacked(15));
    CHECK_FALSE(f.header.sacked(16));
    REQUIRE(f.messages.size() == 3);
    CHECK(Bytes(f.messages[0].begin(), f.messages[0].end()) == Bytes{1, 2, 3});
    CHECK(f.messages[1].size() == kMaxMessageBytes);
    CHECK(Bytes(f.messages[2].begin(), f.messages[2].end()) == Bytes{9});
}

TEST_CASE("wire: the largest frame fits the datagram budget with the MAC reserve", "[wire]") {
    FrameHeader h = sample_header();
    h.sack_len = kMaxSackBytes;
    const Bytes d = encode(h, {Bytes(kMaxMessageBytes, 1)});
    CHECK(d.size() == kMaxFrameBytes);
    CHECK(d.size() + kMacReserveBytes == kMaxDatagramBytes);
    CHECK(decode(d) == DecodeError::none);
}

TEST_CASE("wire: every truncation of a valid frame is rejected as truncated", "[wire]") {
    const Bytes d = encode(sample_header(), {Bytes{1, 2, 3}, Bytes{4, 5}});
    for (std::size_t n = 0; n < d.size(); ++n) {
        INFO("length " << n);
        CHECK(decode(Bytes(d.begin(), d.begin() + static_cast<std::ptrdiff_t>(n))) == DecodeError::truncated);
    }
}

TEST_CASE("wire: each corrupted header field has its own error", "[wire]") {
    const Bytes good = encode(sample_header(), {Bytes{1}});
    auto corrupt = [&](std::size_t off, std::uint8_t v) {
        Bytes b = good;
        b[off] = v;
        return decode(b);
    };
    CHECK(corrupt(0, 'X') == DecodeError::bad_magic);
    CHECK(corrupt(1, 'X') == DecodeError::bad_magic);
    CHECK(corrupt(kOffVersion, 1) == DecodeError::bad_version);  // the format before datagram counters
    CHECK(corrupt(kOffVersion, 3) == DecodeError::bad_version);
    CHECK(corrupt(kOffVersion, 0) == DecodeError::bad_version);
    CHECK(corrupt(kOffType, 0) == DecodeError::bad_type);
    CHECK(corrupt(kOffType, 7) == DecodeError::bad_type);
    CHECK(corrupt(kOffFlags, 0x04) == DecodeError::bad_flags);
    CHECK(corrupt(kOffFlags, 0x81) == DecodeError::bad_flags);
    CHECK(corrupt(kOffAuth, 1) == DecodeError::bad_auth);  // claims a MAC we have no key for
    CHECK(corrupt(kOffAuth, 2) == DecodeError::bad_auth);
    CHECK(corrupt(kOffSackLen, kMaxSackBytes + 1) == DecodeError::sack_too_long);
    CHECK(corrupt(kOffSackLen, 0xff) == DecodeError::sack_too_long);
}

TEST_CASE("wire: message lengths are checked one by one", "[wire]") {
    FrameHeader h = sample_header();
    h.sack_len = 0;
    Bytes b = encode(h, {Bytes{7, 7}});
    const std::size_t len_off = header_size(0);  // the count byte is at header_size - 1

    SECTION("a zero-length message") {
        b[len_off] = 0;
        b[len_off + 1] = 0;
        CHECK(decode(b) == DecodeError::empty_message);
    }
    SECTION("a length over the maximum") {
        const auto too_long = static_cast<std::uint16_t>(kMaxMessageBytes + 1);
        b[len_off] = static_cast<std::uint8_t>(too_long >> 8);
        b[len_off + 1] = static_cast<std::uint8_t>(too_long);
        CHECK(decode(b) == DecodeError::message_too_long);
    }
    SECTION("a length longer than what is left") {
        b[len_off + 1] = 3;
        CHECK(decode(b) == DecodeError::truncated);
    }
    SECTION("a length shorter than what is left") {
        b[len_off + 1] = 1;
        CHECK(decode(b) == DecodeError::trailing_bytes);
    }
    SECTION("a count larger than the messages present") {
        b[len_off - 1] = 2;
        CHECK(decode(b) == DecodeError::truncated);
    }
    SECTION("extra bytes after the last message") {
        b.push_back(0);
        CHECK(decode(b) == DecodeError::trailing_bytes);
    }
    SECTION("a datagram longer than any sender of ours makes, whatever it holds") {
        b.resize(kMaxDatagramBytes + 1, 0);
        CHECK(decode(b) == DecodeError::oversized);
        b.resize(kMaxDatagramBytes);
        CHECK(decode(b) == DecodeError::trailing_bytes);
    }
}

TEST_CASE("wire: random garbage never decodes and never reads out of bounds", "[wire]") {
    // Run under ASan in CI: any read past the buffer fails the test.
    std::uint64_t x = 88172645463325252ULL;
    auto next = [&x] {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        return x;
    };
    const Bytes good = encode(sample_header(), {Bytes{1, 2, 3}, Bytes{4}});
    int decoded = 0;
    for (int i = 0; i < 20000; ++i) {
        Bytes b = good;
        // Flip a few bytes of a valid frame, sometimes cut it: the nastiest inputs are near-valid.
        const int flips = 1 + static_cast<int>(next() % 4);
        for (int k = 0; k < flips; ++k) b[next() % b.size()] = static_cast<std::uint8_t>(next());
        if (next() % 4 == 0) b.resize(next() % b.size());
        Frame f;
        if (decode_frame(b, f) == DecodeError::none) {
            ++decoded;
            // Whatever decodes must re-encode to exactly the same bytes: the codec is canonical.
            std::vector<std::span<const std::uint8_t>> spans(f.messages.begin(), f.messages.end());
            Bytes again;
            encode_frame(f.header, spans, again);
            REQUIRE(again == b);
        }
    }
    CHECK(decoded > 0);  // flips in payload bytes still decode; the check above then has teeth
}

TEST_CASE("bytes: a reader stays failed after a short read", "[wire]") {
    const Bytes b{1, 2, 3};
    ByteReader r(b);
    CHECK(r.u16() == 0x0102);
    CHECK(r.u32() == 0);
    CHECK_FALSE(r.ok());
    CHECK(r.u8() == 0);
    CHECK(r.bytes(1).empty());
}

TEST_CASE("wire: with the ring's key every frame carries a MAC, and only valid MACs decode", "[wire][auth]") {
    AuthKey key;
    for (std::size_t i = 0; i < key.bytes.size(); ++i) key.bytes[i] = static_cast<std::uint8_t>(i * 7 + 1);
    AuthKey other = key;
    other.bytes[0] ^= 1;
    const Bytes m{1, 2, 3};
    std::vector<std::span<const std::uint8_t>> spans{m};
    Bytes d;
    encode_frame(sample_header(), spans, d, &key);
    Frame f;
    REQUIRE(decode_frame(d, f, &key) == DecodeError::none);
    CHECK(Bytes(f.messages[0].begin(), f.messages[0].end()) == m);
    CHECK(decode_frame(d, f, &other) == DecodeError::bad_mac);
    CHECK(decode_frame(d, f) == DecodeError::bad_auth);  // a keyless node refuses it
    Bytes plain = encode(sample_header(), {m});
    CHECK(decode_frame(plain, f, &key) == DecodeError::bad_auth);  // a keyed node refuses plain frames
    for (std::size_t i = 0; i < d.size(); ++i) {
        if (i == kOffAuth) continue;
        Bytes b = d;
        b[i] ^= 0x10;
        INFO("flipped byte " << i);
        CHECK(decode_frame(b, f, &key) == DecodeError::bad_mac);
    }
    Bytes big;
    FrameHeader h = sample_header();
    h.sack_len = kMaxSackBytes;
    const Bytes largest(kMaxMessageBytes, 9);
    std::vector<std::span<const std::uint8_t>> one{largest};
    encode_frame(h, one, big, &key);
    CHECK(big.size() == kMaxDatagramBytes);  // the reserve is exactly the MAC
}

TEST_CASE("wire: may_wait holds for pure acknowledgements only, read from the bytes as the kernel's filter reads them", "[wire]") {
    FrameHeader ack = sample_header();
    ack.flags = 0;
    CHECK(may_wait(encode(ack, {})));  // an ack with a selective-ack bitmap of two bytes
    ack.sack_len = 0;
    CHECK(may_wait(encode(ack, {})));
    ack.sack_len = kMaxSackBytes;
    CHECK(may_wait(encode(ack, {})));
    FrameHeader retransmitted = ack;
    retransmitted.flags = kFlagRetransmit;
    CHECK(may_wait(encode(retransmitted, {})));
    // Asking for a prompt answer (hello, keep-alive) or carrying a message: the reader is woken.
    CHECK_FALSE(may_wait(encode(sample_header(), {})));
    CHECK_FALSE(may_wait(encode(ack, {Bytes{1, 2, 3}})));
    // With a MAC trailer it is still read from the header.
    Bytes keyed;
    AuthKey key;
    key.bytes.fill(7);
    encode_frame(ack, {}, keyed, &key);
    CHECK(may_wait(keyed));
    // Anything else is not plainly such a frame.
    Bytes whole = encode(ack, {});
    CHECK_FALSE(may_wait(std::span(whole).first(whole.size() - 1)));  // its count byte cut off
    Bytes foreign = whole;
    foreign[0] = 'X';
    CHECK_FALSE(may_wait(foreign));
    CHECK_FALSE(may_wait(Bytes{}));
    CHECK_FALSE(may_wait(Bytes{'R', 'W'}));
}
