// libFuzzer: what a node reads back from its state directory (a saved snapshot, the delivery
// record) and the key file's text. Whatever the bytes, decoding never crashes, never allocates by
// a count the bytes cannot hold (libFuzzer's -rss_limit_mb and -malloc_limit_mb catch that), and
// what decodes encodes back to bytes that decode to the same.
#include <cstdlib>
#include <string_view>

#include "ring/config/key_file.h"
#include "ring/core/saved_snapshot.h"

using namespace ringwatch;

namespace {
void check(bool ok) {
    if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> in(data, size);
    if (const auto s = decode_saved(in)) {
        const auto again = decode_saved(encode_saved(*s));
        check(again && *again == *s);
    }
    if (const auto d = decode_deliveries(in)) {
        const auto again = decode_deliveries(encode_deliveries(*d));
        check(again && *again == *d);
    }
    if (const auto k = parse_key_text(std::string_view(reinterpret_cast<const char*>(data), size))) {
        // A key that parses is 64 hex digits with whitespace around; written back, it parses the same.
        static constexpr char hex[] = "0123456789abcdef";
        std::string text;
        for (std::uint8_t b : k->bytes) {
            text += hex[b >> 4];
            text += hex[b & 15];
        }
        const auto again = parse_key_text(text);
        check(again && *again == *k);
    }
    return 0;
}
