// Datagram authentication with the ring's shared key: a 16-byte keyed BLAKE2b MAC (libsodium's
// crypto_generichash) over the whole frame. Deterministic: no clock, no randomness.
#pragma once

#include <array>
#include <cstdint>
#include <span>

namespace ringwatch {

inline constexpr std::size_t kKeyBytes = 32;
inline constexpr std::size_t kMacBytes = 16;

struct AuthKey {
    std::array<std::uint8_t, kKeyBytes> bytes{};
    bool operator==(const AuthKey&) const = default;
};

void compute_mac(const AuthKey& key, std::span<const std::uint8_t> data, std::uint8_t out[kMacBytes]);
// Constant-time comparison.
bool verify_mac(const AuthKey& key, std::span<const std::uint8_t> data, const std::uint8_t mac[kMacBytes]);
// Names a key without revealing it (an unkeyed BLAKE2b hash of it): what `ring rekey` tells the
// nodes, so that each checks it loaded the very key the operator meant.
std::uint64_t key_fingerprint(const AuthKey& key);

}  // namespace ringwatch
