// The ring's key files: made by libsodium's key generation, private to their owner, 64 hex digits.
// Every program reads one through read_key_file (load_key for the configured one); ring keygen
// writes one through write_new_key; a key rotation's commit replaces one through replace_key_file.
#include "ring/config/key_file.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include <fmt/format.h>

#include "ring/config/ring_config.h"
#include "ring/io/small_file.h"

namespace ringwatch {

namespace {
std::string to_hex(const AuthKey& key) {
    std::string hex(2 * kKeyBytes + 1, '\0');
    sodium_bin2hex(hex.data(), hex.size(), key.bytes.data(), key.bytes.size());
    hex.back() = '\n';
    return hex;
}

// Creates `path` (mode 0600, never an existing file) holding `text`, fsync'd. False on failure.
bool write_private(const std::string& path, const std::string& text, int& error) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        error = errno;
        return false;
    }
    const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
    error = written ? 0 : errno;
    ::close(fd);
    return written;
}
}  // namespace

AuthKey read_key_file(const std::string& path) {
    // A key file is 65 bytes: a kilobyte allows any whitespace around the key, and a 4 GB file
    // planted at the path is refused from its first kilobyte.
    constexpr std::size_t kMaxBytes = 1024;
    io::SmallFile f = io::read_small_file(path, kMaxBytes);
    struct Wiper {
        std::string& b;
        ~Wiper() { sodium_memzero(b.data(), b.size()); }
    } wiper{f.bytes};
    switch (f.problem) {
        case io::SmallFile::Problem::none: break;
        case io::SmallFile::Problem::cannot_open:
            throw KeyFileError(fmt::format("{} (make one with: ring keygen {})", io::describe(f, path, kMaxBytes), path));
        case io::SmallFile::Problem::too_large:
            throw KeyFileError(
                fmt::format("{}: not a key file (it must hold {} hex digits and nothing else)", io::describe(f, path, kMaxBytes), 2 * kKeyBytes));
        default: throw KeyFileError(io::describe(f, path, kMaxBytes));
    }
    // As ssh does for private keys: a key others can read is no longer the ring's secret.
    if ((f.st.st_mode & 077) != 0)
        throw KeyFileError(fmt::format("{} is readable or writable by group or others (mode {:03o}); make it private: chmod 600 {}", path,
                                       f.st.st_mode & 0777, path));
    const auto key = parse_key_text(f.bytes);
    if (!key) throw KeyFileError(fmt::format("{} must hold {} hex digits and nothing else (ring keygen makes one)", path, 2 * kKeyBytes));
    return *key;
}

std::optional<AuthKey> parse_key_text(std::string_view text) {
    // One word of 64 hex digits, whitespace around it allowed.
    const auto first = text.find_first_not_of(" \t\r\n");
    const auto last = text.find_last_not_of(" \t\r\n");
    const std::string_view hex = first == std::string_view::npos ? std::string_view{} : text.substr(first, last - first + 1);
    AuthKey key;
    std::size_t len = 0;
    const bool ok = hex.size() == 2 * kKeyBytes &&
                    sodium_hex2bin(key.bytes.data(), key.bytes.size(), hex.data(), hex.size(), nullptr, &len, nullptr) == 0 && len == kKeyBytes;
    if (!ok) return std::nullopt;
    return key;
}

std::optional<AuthKey> load_key(const RingConfig& c) {
    if (!c.key_file) return std::nullopt;
    try {
        return read_key_file(config_relative(c, *c.key_file));
    } catch (const KeyFileError& e) {
        throw ConfigError(fmt::format("{}: 'ring.key_file' = \"{}\": {}", c.path, *c.key_file, e.what()));
    }
}

std::string key_path(const RingConfig& c) { return c.key_file ? config_relative(c, *c.key_file) : std::string(); }

void write_new_key(const std::string& path) {
    if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
    AuthKey key;
    crypto_generichash_keygen(key.bytes.data());  // the key type the MAC uses, from the system's CSPRNG
    std::string hex = to_hex(key);
    sodium_memzero(key.bytes.data(), key.bytes.size());
    int error = 0;
    const bool written = write_private(path, hex, error);
    sodium_memzero(hex.data(), hex.size());
    if (!written)
        throw std::runtime_error(fmt::format("{}: {}{}", path, std::strerror(error), error == EEXIST ? " (refusing to overwrite a key)" : ""));
}

bool holds_key(const std::string& path, const AuthKey& key) {
    try {
        return read_key_file(path) == key;
    } catch (const KeyFileError&) {
        return false;
    }
}

void replace_key_file(const std::string& path, const AuthKey& key) {
    // Unique per process: nodes sharing a directory may commit the same rotation at once.
    const std::string temporary = fmt::format("{}.new-{}", path, ::getpid());
    std::string hex = to_hex(key);
    int error = 0;
    ::unlink(temporary.c_str());  // left by a crash of an earlier process with our pid
    const bool written = write_private(temporary, hex, error);
    sodium_memzero(hex.data(), hex.size());
    if (!written || ::rename(temporary.c_str(), path.c_str()) != 0) {
        if (written) error = errno;
        ::unlink(temporary.c_str());
        throw KeyFileError(fmt::format("cannot replace {}: {}", path, std::strerror(error)));
    }
    // The rename itself must survive a crash: sync the directory.
    const std::string dir = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/') + 1);
    const int dfd = ::open(dir.empty() ? "/" : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
}

}  // namespace ringwatch
