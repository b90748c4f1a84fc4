// The dashboard's page, style and script (monitor/web/), built into the monitor program.
#pragma once

#include <vector>

#include "monitor/io/web_server.h"

namespace ringwatch::web {

std::vector<io::WebAsset> web_assets();

}  // namespace ringwatch::web
