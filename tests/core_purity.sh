#!/usr/bin/env bash
# Fails when a pure core (any */core/ folder) reaches for I/O, a clock or randomness.
set -u
root=${1:?usage: core_purity.sh SOURCE_DIR}
pattern='#include *[<"](uv\.h|sys/socket\.h|netinet/|arpa/inet\.h|unistd\.h|random|ctime|time\.h|thread)[>"]|std::chrono::(system|steady|high_resolution)_clock|\b(s?rand|time|gettimeofday|clock_gettime|uv_[a-z_]+)\('
hits=$(grep -rnE "$pattern" "$root"/ring/core "$root"/monitor/core 2>/dev/null)
if [ -n "$hits" ]; then
  echo "core purity violated:"
  echo "$hits"
  exit 1
fi
n=$(find "$root"/ring/core "$root"/monitor/core -name '*.cpp' -o -name '*.h' 2>/dev/null | wc -l)
if [ "$n" -eq 0 ]; then
  echo "no core files found under $root: wrong path?"
  exit 1
fi
echo "core purity: $n files clean"
