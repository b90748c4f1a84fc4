#!/usr/bin/env bash
# Times every translation unit of a fresh build: one JSON line per object file, slowest first, then
# the whole build's. Usage: bench/build_times.sh BUILD_DIR [CMAKE_ARGS...], e.g.
#   bench/build_times.sh /tmp/bt -DRINGWATCH_SANITIZE=ON     (CI's longest step)
# Run it on an idle machine: the figures are wall times per compiler run, at -j2.
set -euo pipefail
build=${1:?usage: build_times.sh BUILD_DIR [CMAKE_ARGS...]}
shift
src=$(cd "$(dirname "$0")/.." && pwd)
log=$(mktemp)
wrapper=$(mktemp)
trap 'rm -f "$log" "$wrapper"' EXIT
# The compiler launcher: the compile as asked, its elapsed time and object file logged.
cat > "$wrapper" <<'WRAP'
#!/usr/bin/env bash
start=$(date +%s%N)
"$@"
rc=$?
out=""; prev=""
for a in "$@"; do [ "$prev" = "-o" ] && out=$a; prev=$a; done
echo "$(( ($(date +%s%N) - start) / 1000000 )) $out" >> "$BUILD_TIMES_LOG"
exit $rc
WRAP
chmod +x "$wrapper"
rm -rf "$build"
cmake -S "$src" -B "$build" -DCMAKE_CXX_COMPILER_LAUNCHER="$wrapper" "$@" > /dev/null
start=$(date +%s)
BUILD_TIMES_LOG=$log cmake --build "$build" -j2 > /dev/null
total=$(( $(date +%s) - start ))
sort -rn "$log" | awk '{ printf "{\"bench\":\"build_times\",\"object\":\"%s\",\"ms\":%d}\n", $2, $1 }'
awk -v t="$total" '{ s += $1 } END { printf "{\"bench\":\"build_times\",\"objects\":%d,\"compile_ms_sum\":%d,\"wall_s\":%d}\n", NR, s, t }' "$log"
