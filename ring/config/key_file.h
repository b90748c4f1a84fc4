// The ring's key files, in one place: read (private, 64 hex digits), made (libsodium's key
// generation), replaced atomically (the last step of a key rotation).
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "ring/core/auth.h"

namespace ringwatch {

// A key file that cannot be used; the message names the file, the problem and the fix.
struct KeyFileError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Throws KeyFileError when the file is missing, not a regular file, readable or writable by group
// or others, or not exactly 64 hex digits.
AuthKey read_key_file(const std::string& path);
// The key in a key file's text: 64 hex digits, whitespace around them allowed; nothing otherwise.
std::optional<AuthKey> parse_key_text(std::string_view text);
// Writes a new random key to `path` (mode 0600); never overwrites. Throws std::runtime_error.
void write_new_key(const std::string& path);
// True when the file at `path` is a valid key file holding `key` (false for any problem with it).
bool holds_key(const std::string& path, const AuthKey& key);
// Puts `key` at `path` in one step (a private temporary file beside it, fsync'd, renamed over it),
// so that a crash leaves the old key or the new one, never half of either. Throws KeyFileError.
void replace_key_file(const std::string& path, const AuthKey& key);

}  // namespace ringwatch
