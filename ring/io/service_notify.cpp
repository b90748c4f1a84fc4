// systemd's notification protocol by libsystemd's sd_notify (see service_notify.h).
#include "ring/io/service_notify.h"

#include <string>

#include <fmt/format.h>
#include <systemd/sd-daemon.h>

namespace ringwatch::io {

namespace {
void notify(std::string_view state, std::string_view status) {
    // A failure to notify (no manager listening) changes nothing for the program: ignored.
    const std::string message = fmt::format("{}\nSTATUS={}", state, status);
    (void)sd_notify(0, message.c_str());
}
}  // namespace

void notify_ready(std::string_view status) { notify("READY=1", status); }
void notify_stopping(std::string_view status) { notify("STOPPING=1", status); }

}  // namespace ringwatch::io
