// The ring's key file: made by libsodium's key generation, private to its owner, 64 hex digits.
// Every program reads it through load_key; ring keygen writes it through write_new_key.
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>

#include "ring/config/ring_config.h"

namespace ringwatch {

std::optional<AuthKey> load_key(const RingConfig& c) {
    if (!c.key_file) return std::nullopt;
    const std::string path = config_relative(c, *c.key_file);
    const auto bad = [&](const std::string& why) {
        return ConfigError(fmt::format("{}: 'ring.key_file' = \"{}\": {}", c.path, *c.key_file, why));
    };
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        throw bad(fmt::format("cannot read {}: {} (make one with: ring keygen {})", path, std::strerror(errno), path));
    if (!S_ISREG(st.st_mode)) throw bad(fmt::format("{} is not a regular file", path));
    // As ssh does for private keys: a key others can read is no longer the ring's secret.
    if ((st.st_mode & 077) != 0)
        throw bad(fmt::format("{} is readable or writable by group or others (mode {:03o}); make it private: chmod 600 {}", path,
                              st.st_mode & 0777, path));
    std::ifstream in(path);
    if (!in) throw bad(fmt::format("cannot read {} (make one with: ring keygen {})", path, path));
    std::string hex, extra;
    in >> hex >> extra;
    AuthKey key;
    std::size_t len = 0;
    const bool ok = extra.empty() && hex.size() == 2 * kKeyBytes &&
                    sodium_hex2bin(key.bytes.data(), key.bytes.size(), hex.data(), hex.size(), nullptr, &len, nullptr) == 0 &&
                    len == kKeyBytes;
    if (!ok) throw bad(fmt::format("{} must hold {} hex digits and nothing else (ring keygen makes one)", path, 2 * kKeyBytes));
    return key;
}

void write_new_key(const std::string& path) {
    if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
    AuthKey key;
    crypto_generichash_keygen(key.bytes.data());  // the key type the MAC uses, from the system's CSPRNG
    std::string hex(2 * kKeyBytes + 1, '\0');
    sodium_bin2hex(hex.data(), hex.size(), key.bytes.data(), key.bytes.size());
    sodium_memzero(key.bytes.data(), key.bytes.size());
    hex.back() = '\n';
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) throw std::runtime_error(fmt::format("{}: {}{}", path, std::strerror(errno), errno == EEXIST ? " (refusing to overwrite a key)" : ""));
    const bool written = ::write(fd, hex.data(), hex.size()) == static_cast<ssize_t>(hex.size()) && ::fsync(fd) == 0;
    ::close(fd);
    sodium_memzero(hex.data(), hex.size());
    if (!written) throw std::runtime_error(fmt::format("{}: write failed", path));
}

}  // namespace ringwatch
