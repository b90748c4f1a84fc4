// Why a verdict is what it is, in a sentence a person can check against the cut: which nodes held
// which tokens, which channels recorded tokens in flight, and what made a snapshot inconclusive.
#pragma once

#include <string>

#include "monitor/core/verdict.h"

namespace ringwatch {

std::string explain_verdict(const Verdict& v);

}  // namespace ringwatch
