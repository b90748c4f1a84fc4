// One process's side of `ring rekey`: the steps of a key rotation (see RekeyCommand), the keys its
// endpoint uses at each, and the configured key file rewritten at the commit. Nodes and the
// monitor share it.
#pragma once

#include <optional>
#include <string>

#include "ring/core/auth.h"
#include "ring/core/messages.h"

namespace ringwatch {

class KeyRotation {
public:
    // `key_path`: the configured key_file (resolved), rewritten at the commit; `current`: its key.
    KeyRotation(std::string key_path, std::optional<AuthKey> current) : key_path_(std::move(key_path)), current_(current) {}

    struct Outcome {
        bool ok;
        std::string said;  // one line for the process's log: what was done, or why not
    };
    // Idempotent per step, so that an operator can run the rotation again after an interruption.
    // The caller then gives its endpoint the keys below.
    Outcome apply(const RekeyCommand& c);
    // What the endpoint sends under, and the second key it accepts while a rotation is under way.
    std::optional<AuthKey> send_key() const;
    std::optional<AuthKey> accepted_too() const;

private:
    std::string key_path_;
    std::optional<AuthKey> current_;
    std::optional<AuthKey> next_;
    bool switched_ = false;  // sending under next_
};

}  // namespace ringwatch
