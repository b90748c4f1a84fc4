#!/usr/bin/env bash
# The exhaustive checkers' larger scopes (minutes, not CI's seconds): ringcheck over the production
# processes and SPIN's liveness run with three claims. One JSON line per run:
# {"bench": "check", "case", "states", "transitions", "wall_s", "result"}.
#
# Usage: bench/check_bench.sh [BUILD_DIR=build]     (about 10 minutes on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build "$build" -j2 --target ringcheck > /dev/null

ringcheck() {
  local name=$1; shift
  local out; out=$("$build/bin/ringcheck" "$@" | grep -E '^states ') || true
  # states N transitions N leaves N depth N wall Xs: RESULT
  echo "$out" | awk -v name="$name" '{
    result = $0; sub(/.*: /, "", result); wall = $10; sub(/s:$/, "", wall);
    printf("{\"bench\": \"check\", \"case\": \"%s\", \"states\": %s, \"transitions\": %s, \"wall_s\": %s, \"result\": \"%s\"}\n", name, $2, $4, wall, result) }'
}
ringcheck ringcheck_no_fault --settle 55ms --horizon 8ms
ringcheck ringcheck_lose --settle 55ms --horizon 8ms --inject lose
ringcheck ringcheck_duplicate --settle 55ms --horizon 8ms --inject duplicate
ringcheck ringcheck_lose_and_duplicate --settle 55ms --horizon 8ms --inject lose,duplicate
ringcheck ringcheck_lose_regenerate --settle 55ms --horizon 12ms --inject lose --recover regenerate
ringcheck ringcheck_lose_rollback --settle 55ms --horizon 12ms --inject lose --recover rollback
ringcheck ringcheck_crash --settle 55ms --horizon 8ms --crashes 1 --evict-after 0
ringcheck ringcheck_2_nodes_crash_leases --nodes 2 --settle 55ms --horizon 8ms --crashes 1
ringcheck ringcheck_message --settle 55ms --horizon 8ms --messages 1
ringcheck ringcheck_monitor_pause --settle 55ms --horizon 8ms --monitor-pauses 1 --max-states 3000000
ringcheck ringcheck_2_monitors --monitors 2 --settle 55ms --horizon 8ms
ringcheck ringcheck_2_nodes_2_monitors_lose_regenerate --monitors 2 --nodes 2 --settle 50ms --horizon 8ms --inject lose --recover regenerate
ringcheck ringcheck_2_nodes_message_crash_rollback --nodes 2 --settle 55ms --horizon 12ms --messages 1 --crashes 1 --recover rollback --evict-after 0

keep=$(mktemp -d)
trap 'rm -rf "$keep"' EXIT
line=$(tests/model/check_model.sh --large --keep "$keep" | grep '^ok   liveness_3_claims' || echo "FAIL")
states=$(echo "$line" | sed -n 's/.*liveness, \([0-9]*\) states.*/\1/p')
took=$(echo "$line" | sed -n 's/.* states, \([0-9]*\) s).*/\1/p')
echo "{\"bench\": \"check\", \"case\": \"spin_liveness_3_claims\", \"states\": ${states:-0}, \"wall_s\": ${took:-0}, \"result\": \"$([ -n "$states" ] && echo 'every interleaving, no violation' || echo FAIL)\"}"
