// Telling systemd how a service is doing (a `Type=notify` unit): READY=1 once the program's sockets
// are bound and it serves, STOPPING=1 as it stops, a STATUS= line for `systemctl status`. Outside
// systemd (no $NOTIFY_SOCKET) each call does nothing.
#pragma once

#include <string_view>

namespace ringwatch::io {

void notify_ready(std::string_view status);
void notify_stopping(std::string_view status);

}  // namespace ringwatch::io
