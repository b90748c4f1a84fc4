// The version every program reports with --version. CMake's project(VERSION) must say the same: the
// `version_*` tests compare the two.
#pragma once

namespace ringwatch {

inline constexpr const char* kVersion = "0.1.0";

}  // namespace ringwatch
