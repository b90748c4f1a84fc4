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

}  // namespace ringwatch
