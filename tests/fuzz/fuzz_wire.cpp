// libFuzzer: the datagram decoder (frames, with and without a key) and the message decoder.
// Whatever the bytes, decoding never crashes, never reads out of bounds, and what decodes encodes
// back to something that decodes to the same.
#include <cstdlib>

#include "ring/core/messages.h"
#include "ring/core/wire.h"

using namespace ringwatch;

namespace {
void check(bool ok) {
    if (!ok) std::abort();
}

void check_message(std::span<const std::uint8_t> bytes) {
    Message m;
    if (decode_message(bytes, m) != MessageError::none) return;
    const Bytes again = encode_message(m);
    Message m2;
    check(decode_message(again, m2) == MessageError::none);
    check(encode_message(m2) == again);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> in(data, size);
    static const AuthKey key{};  // all zeros: the fuzzer can never forge its MAC, which is the point
    wire::Frame frame;
    (void)wire::decode_frame(in, frame, &key);
    if (wire::decode_frame(in, frame) == wire::DecodeError::none) {
        // Encoded again, the frame decodes to the same header and messages.
        Bytes out;
        wire::encode_frame(frame.header, frame.messages, out);
        wire::Frame again;
        check(wire::decode_frame(out, again) == wire::DecodeError::none);
        check(again.header.seq == frame.header.seq && again.header.counter == frame.header.counter && again.messages.size() == frame.messages.size());
        for (const auto& m : frame.messages) check_message(m);
    }
    check_message(in);  // the bytes as one message, too
    return 0;
}
