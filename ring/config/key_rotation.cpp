// A key rotation step by step: prepare accepts both keys, switch sends under the new one (still
// accepting the old, which peers not yet switched use), commit forgets the old one.
#include "ring/config/key_rotation.h"

#include <fmt/format.h>

#include "ring/config/key_file.h"

namespace ringwatch {

KeyRotation::Outcome KeyRotation::apply(const RekeyCommand& c) {
    if (!current_) return {false, "key rotation refused: this ring has no key_file (give it one and restart it instead)"};
    const std::uint64_t now_fp = key_fingerprint(*current_);
    switch (c.step) {
        case RekeyStep::prepare: {
            if (now_fp == c.fingerprint && !next_) return {true, fmt::format("key rotation: key {:016x} is already the ring's key", now_fp)};
            AuthKey key;
            try {
                key = read_key_file(c.path);
            } catch (const KeyFileError& e) {
                return {false, fmt::format("key rotation refused: {}", e.what())};
            }
            if (key_fingerprint(key) != c.fingerprint)
                return {false, fmt::format("key rotation refused: {} holds key {:016x}, not the {:016x} the operator's tool has", c.path,
                                           key_fingerprint(key), c.fingerprint)};
            next_ = key;
            switched_ = false;
            return {true, fmt::format("key rotation: accepting key {:016x} (from {}) beside key {:016x}", c.fingerprint, c.path, now_fp)};
        }
        case RekeyStep::switch_over:
            if (!next_ || key_fingerprint(*next_) != c.fingerprint) {
                if (now_fp == c.fingerprint) return {true, fmt::format("key rotation: already sending under key {:016x}", now_fp)};
                return {false, fmt::format("key rotation refused: asked to switch to key {:016x}, which was not prepared", c.fingerprint)};
            }
            switched_ = true;
            return {true, fmt::format("key rotation: sending under key {:016x}, still accepting key {:016x}", c.fingerprint, now_fp)};
        case RekeyStep::commit: {
            if (now_fp == c.fingerprint && !next_) return {true, fmt::format("key rotation: key {:016x} already committed", now_fp)};
            if (!next_ || !switched_ || key_fingerprint(*next_) != c.fingerprint)
                return {false,
                        fmt::format("key rotation refused: asked to commit key {:016x}, which this process does not send under", c.fingerprint)};
            std::string written = "; " + key_path_ + " already held it";
            if (!holds_key(key_path_, *next_)) {
                try {
                    replace_key_file(key_path_, *next_);
                    written = fmt::format(", written to {}", key_path_);
                } catch (const KeyFileError& e) {
                    // The rotation still holds in memory; a restart would read the old key.
                    written = fmt::format("; WARNING: {} (restarting this process would bring back the old key)", e.what());
                }
            }
            current_ = next_;
            next_.reset();
            switched_ = false;
            return {true, fmt::format("key rotation: key {:016x} is the ring's key, the old one is refused from now on{}", c.fingerprint, written)};
        }
        case RekeyStep::abort:
            if (!next_) return {true, "key rotation: nothing to abort"};
            next_.reset();
            switched_ = false;
            return {true, fmt::format("key rotation aborted: back to key {:016x} alone", now_fp)};
    }
    return {false, "key rotation: unknown step"};
}

std::optional<AuthKey> KeyRotation::send_key() const { return switched_ ? next_ : current_; }

std::optional<AuthKey> KeyRotation::accepted_too() const {
    if (!next_) return std::nullopt;
    return switched_ ? current_ : next_;
}

}  // namespace ringwatch
