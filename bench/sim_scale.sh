#!/usr/bin/env bash
# The simulator at scale: ringsim runs a ring of 1000 nodes and the monitor for 60 virtual seconds of
# faults (a faulty network throughout; three token losses, two duplications and a crash with restart,
# spread over the minute; purge-and-reissue recovery so that every fault meets a live token), then
# the same script on 100 nodes for comparison. Prints one JSON line per figure: the run's wall time,
# events per second of wall time (the events the simulator's queue ran: datagram arrivals, wake-ups,
# faults), faults caught of those injected, false alarms and peak memory. The rules ringsim checks
# on every run are the judge: it exits non-zero, with a JSON error line, unless every rule held,
# every injected fault took effect and was caught (the token faults by an alarm, the crash by a
# node_down of that node), and no alarm was false. Wall time depends on the machine and its load;
# the verdicts do not (one seed replays exactly). JSON is read and written with jq.
# Usage: bench/sim_scale.sh BIN_DIR (a Release build's bin directory, with ringsim)
set -uo pipefail
bin=${1:?usage: sim_scale.sh BIN_DIR}
ringsim=$bin/ringsim
fail() {
  jq -nc --arg e "$1" '{bench: "sim_scale", error: $e}'
  exit 1
}
command -v jq > /dev/null || { echo '{"bench":"sim_scale","error":"jq not found"}'; exit 1; }
[ -x "$ringsim" ] || fail "$ringsim: not found (cmake --build BUILD --target ringsim)"
work=$(mktemp -d /tmp/ringwatch-sim-scale-XXXXXX)
trap 'rm -rf "$work"' EXIT

# run NODES: the fault script, its nodes placed at the same fractions of the ring at every size.
run() {
  local n=$1
  local at=(250 500 750 100 900 600)
  local k=()
  for a in "${at[@]}"; do k+=($((a * n / 1000))); done
  local crashed=${k[5]} injected=5 label="$n nodes, 60 virtual s"
  local out=$work/ringsim-$n.jsonl
  "$ringsim" --json --seed 1 --nodes "$n" --duration 60s --hold 1ms --app-rate 1 --loss 0.01 --dup 0.01 --reorder 0.01 \
    --recover regenerate --inject "lose:${k[0]}@5s,duplicate:${k[1]}@15s,lose:${k[2]}@30s,duplicate:${k[3]}@45s,lose:${k[4]}@55s" \
    --crash "${crashed}@20s+2s" > "$out" 2> "$work/ringsim-$n.err"
  local rc=$?
  local summary
  summary=$(jq -c 'select(.event == "summary")' "$out" 2> /dev/null | tail -n1)
  [ -n "$summary" ] || fail "$label: ringsim exited $rc without a summary: $(tail -n3 "$work/ringsim-$n.err" | tr '\n' ' ')"
  local crash_seen
  crash_seen=$(jq -c --argjson c "$crashed" 'select(.event == "node_down" and .node == $c)' "$out" | wc -l)
  printf '%s\n' "$summary" | jq -c --arg case "$label" --argjson injected "$injected" --argjson crash_seen "$crash_seen" '
    (.violation_counts["false-alarm"] // 0) as $false
    | {bench: "sim_scale", case: "\($case): wall time", value: .wall_s, unit: "s", events: .events, virtual_s: .virtual_s},
      {bench: "sim_scale", case: "\($case): events per second", value: (if .wall_s > 0 then (.events / .wall_s | round) else null end),
       unit: "events/s", datagrams: .datagrams},
      {bench: "sim_scale", case: "\($case): faults caught", value: (.faults_detected + (if $crash_seen > 0 then 1 else 0 end)), unit: "faults",
       injected: ($injected + 1), token_faults_taken_effect: .faults_taken_effect, token_faults_caught: .faults_detected,
       crash_reported: ($crash_seen > 0)},
      {bench: "sim_scale", case: "\($case): false alarms", value: $false, unit: "alarms", alarms: .incidents},
      {bench: "sim_scale", case: "\($case): peak memory", value: (.max_rss_kb / 1024 | round), unit: "MB"}'
  # The verdicts: every rule held, every fault took effect and was caught, no false alarm.
  local why
  why=$(printf '%s\n' "$summary" | jq -r --argjson injected "$injected" --argjson crash_seen "$crash_seen" --argjson rc "$rc" '
    [ (if $rc != 0 then "ringsim exited \($rc)" else empty end),
      (if .invariants_hold != true then "rules broken: \(.violation_counts | tojson); first: \(.violations[0].what // "")" else empty end),
      (if .faults_taken_effect != $injected then "\(.faults_taken_effect) of \($injected) token faults took effect" else empty end),
      (if .faults_detected != .faults_taken_effect then "\(.faults_detected) of \(.faults_taken_effect) token faults caught" else empty end),
      (if $crash_seen == 0 then "the crash was never reported (no node_down)" else empty end),
      (if (.violation_counts["false-alarm"] // 0) > 0 then "\(.violation_counts["false-alarm"]) false alarm(s)" else empty end)
    ] | join("; ")')
  [ -z "$why" ] || fail "$label: $why (replay: $(grep -m1 '^replay:' "$work/ringsim-$n.err" | sed 's/^replay: //'))"
}

run 1000
run 100
