// Keyed MACs over datagrams, with libsodium.
#include "ring/core/auth.h"

#include <sodium.h>

namespace ringwatch {

namespace {
// libsodium picks its BLAKE2b implementation in sodium_init(); idempotent and thread-safe here.
void ready() {
    static const int initialised = sodium_init();
    (void)initialised;
}
}  // namespace

void compute_mac(const AuthKey& key, std::span<const std::uint8_t> data, std::uint8_t out[kMacBytes]) {
    ready();
    crypto_generichash(out, kMacBytes, data.data(), data.size(), key.bytes.data(), key.bytes.size());
}

bool verify_mac(const AuthKey& key, std::span<const std::uint8_t> data, const std::uint8_t mac[kMacBytes]) {
    std::uint8_t expected[kMacBytes];
    compute_mac(key, data, expected);
    return sodium_memcmp(expected, mac, kMacBytes) == 0;
}

std::uint64_t key_fingerprint(const AuthKey& key) {
    ready();
    static constexpr std::uint8_t kContext[] = "ringwatch key fingerprint";
    std::uint8_t h[8];
    crypto_generichash_state st;
    crypto_generichash_init(&st, nullptr, 0, sizeof h);
    crypto_generichash_update(&st, kContext, sizeof kContext);
    crypto_generichash_update(&st, key.bytes.data(), key.bytes.size());
    crypto_generichash_final(&st, h, sizeof h);
    std::uint64_t v = 0;
    for (std::uint8_t b : h) v = v << 8 | b;
    return v;
}

}  // namespace ringwatch
