// The recovery modes' names, one spelling for the config, the command lines and the events.
#include "ring/core/recovery_mode.h"

namespace ringwatch {

std::string_view to_string(RecoveryMode m) {
    switch (m) {
        case RecoveryMode::off: return "off";
        case RecoveryMode::regenerate: return "regenerate";
        case RecoveryMode::rollback: return "rollback";
    }
    return "off";
}

std::optional<RecoveryMode> parse_recovery_mode(std::string_view s) {
    for (RecoveryMode m : {RecoveryMode::off, RecoveryMode::regenerate, RecoveryMode::rollback})
        if (s == to_string(m)) return m;
    return std::nullopt;
}

std::optional<RecoverMode> parse_recover_mode(std::string_view s) {
    for (RecoverMode m : {RecoverMode::regenerate, RecoverMode::rollback})
        if (s == to_string(m)) return m;
    return std::nullopt;
}

}  // namespace ringwatch
