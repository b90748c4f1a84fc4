#!/usr/bin/env bash
# How long a SIGKILLed node takes to be reported down: a 5-node ring and `monitor --json` on
# 127.0.0.1; each trial kills one node (round robin, never the same twice in a row), takes the time
# just before the signal, and polls the monitor's output for the node_down event; the node is then
# started again and awaited back (node_up) before the next trial. Prints one JSON line per trial and
# a summary line with the median, next to Corosync's measured figure (../shared/anchors: token loss
# declared 3235 ms median after SIGKILL with default settings, new membership 7615 ms).
# JSON is written and read with jq. Usage: bench/node_down_bench.sh BIN_DIR [TRIALS=10]
set -u
bin=${1:?usage: node_down_bench.sh BIN_DIR [TRIALS]}
trials=${2:-10}
work=$(mktemp -d /tmp/ringwatch-bench-XXXXXX)
declare -A pid
cleanup() { for p in "${pid[@]}" ${mon:-}; do kill -TERM "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
exec 2>/dev/null  # bash's notices about the nodes it killed on purpose
mapfile -t ports < <("$bin/free_ports" 6)
{
  printf '[ring]\nname = "bench"\nhold_ms = 20\n\n[monitor]\naddress = "127.0.0.1:%s"\ninterval_ms = 100\ntimeout_ms = 1000\nnode_timeout_ms = 1000\n' "${ports[0]}"
  for i in 0 1 2 3 4; do printf '\n[[nodes]]\nid = %d\naddress = "127.0.0.1:%s"\n' "$i" "${ports[$((i + 1))]}"; done
} > "$work/ring.toml"
start_node() { "$bin/ring" node "$work/ring.toml" --id "$1" >> "$work/nodes.out" 2>&1 & pid[$1]=$!; }
: > "$work/nodes.out"; : > "$work/monitor.out"
for i in 0 1 2 3 4; do start_node $i; done
"$bin/monitor" "$work/ring.toml" --json > "$work/monitor.out" 2> /dev/null & mon=$!
# count FILTER: the monitor's events that jq's FILTER selects (a line still being written is skipped)
count() { jq -c "select($1)" "$work/monitor.out" 2> /dev/null | wc -l; }
wait_for() {  # wait_for FILTER N SECONDS
  local deadline=$((SECONDS + $3 + 1))
  until [ "$(count "$1")" -ge "$2" ]; do
    [ "$SECONDS" -ge "$deadline" ] && { jq -nc --arg e "waited $3 s for $2 x $1" '{bench: "node_down", error: $e}'; exit 1; }
    sleep 0.002
  done
}
wait_for '.verdict == "ok"' 10 20
results=()
for ((t = 0; t < trials; t++)); do
  victim=$((1 + t % 4))
  downs=$(count '.event == "node_down"'); ups=$(count '.event == "node_up"')
  before=$(date +%s%N)
  kill -KILL "${pid[$victim]}"
  wait_for '.event == "node_down"' $((downs + 1)) 10
  after=$(date +%s%N)
  ms=$(( (after - before) / 1000000 ))
  line=$(jq -c 'select(.event == "node_down")' "$work/monitor.out" 2> /dev/null | tail -n1)
  address=$(printf '%s' "$line" | jq -r '.address')
  jq -nc --argjson t "$t" --argjson n "$victim" --argjson ms "$ms" --arg a "$address" \
    '{bench: "node_down", trial: $t, node: $n, kill_to_node_down_ms: $ms, address: $a}'
  results+=("$ms")
  wait "${pid[$victim]}" 2>/dev/null
  start_node $victim
  wait_for '.event == "node_up"' $((ups + 1)) 10
done
sorted=$(printf '%s\n' "${results[@]}" | sort -n)
median=$(printf '%s\n' "$sorted" | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
jq -nc --argjson trials "$trials" --argjson median "$median" --argjson min "$(printf '%s\n' "$sorted" | head -n1)" \
  --argjson max "$(printf '%s\n' "$sorted" | tail -n1)" \
  '{bench: "node_down", trials: $trials, median_ms: $median, min_ms: $min, max_ms: $max, corosync_token_loss_median_ms: 3235, corosync_membership_median_ms: 7615}'
