// What the monitor does about a token fault, as one enum from the config file and the command line
// to the verdict's events: nothing but the alarm (off), purge and reissue (regenerate: a new epoch,
// one new token), or restore the newest snapshot judged ok that every node keeps (rollback: a new
// epoch, every node's state and channel as the snapshot recorded them). On the wire a recovery is
// a RecoverMode (regenerate or rollback: `off` orders nothing).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "ring/core/messages.h"

namespace ringwatch {

enum class RecoveryMode : std::uint8_t { off, regenerate, rollback };
std::string_view to_string(RecoveryMode m);
std::optional<RecoveryMode> parse_recovery_mode(std::string_view s);  // "off", "regenerate", "rollback"
// A recovery that orders something: "regenerate" or "rollback".
std::optional<RecoverMode> parse_recover_mode(std::string_view s);

}  // namespace ringwatch
