// libFuzzer: the TOML config parser. Any text either parses into a config that validates or is
// refused with a ConfigError (one line naming the file); nothing else escapes, nothing crashes.
#include <string>

#include "ring/config/ring_config.h"

using namespace ringwatch;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        const RingConfig c = parse_config(text, "fuzz.toml");
        for (const auto& n : c.nodes) (void)c.position_of(n.id);
        (void)c.insecure_warning();
    } catch (const ConfigError& e) {
        const std::string what = e.what();
        if (what.find('\n') != std::string::npos) __builtin_trap();  // an error is one line
    }
    return 0;
}
