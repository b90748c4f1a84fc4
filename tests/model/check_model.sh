#!/usr/bin/env bash
# Checks tests/model/ring_terms.pml with SPIN: every interleaving of the scope, for safety and for
# liveness under weak fairness, then each planted bug, which must be caught (a trail written).
#
#   check_model.sh [--large] [--keep DIR]
#     --large     the liveness run with the safety run's scope too (3 claims; minutes, a benchmark)
#     --keep DIR  keep the verifiers and the planted bugs' trails in DIR (replay one with
#                 `spin -t -p -DBUG_... ring_terms.pml` there)
set -euo pipefail
model="$(cd "$(dirname "$0")" && pwd)/ring_terms.pml"
large=0 keep=""
while [ $# -gt 0 ]; do
  case "$1" in
    --large) large=1 ;;
    --keep) keep="${2:?--keep needs a directory}"; shift ;;
    *) echo "usage: check_model.sh [--large] [--keep DIR]" >&2; exit 2 ;;
  esac
  shift
done
for tool in spin cc; do
  command -v "$tool" > /dev/null || { echo "check_model: '$tool' not found (bash .ci/install-deps --tests installs it)" >&2; exit 1; }
done
if [ -n "$keep" ]; then
  mkdir -p "$keep" && work="$(cd "$keep" && pwd)"
else
  work=$(mktemp -d) && trap 'rm -rf "$work"' EXIT
fi
failed=0

# run NAME MODE EXPECT DEFINES...: MODE safety|liveness; EXPECT "none" or a pattern of pan's report.
run() {
  local name=$1 mode=$2 expect=$3; shift 3
  local dir="$work/$name" flags=(-O2 -DCOLLAPSE -DMEMLIM=8192) args=(-m100000)
  mkdir -p "$dir" && cp "$model" "$dir/"
  if [ "$mode" = safety ]; then flags+=(-DSAFETY -DNOCLAIM); else flags+=(-DNFAIR=3); args+=(-a -f); fi
  (cd "$dir" && spin -a "$@" ring_terms.pml > spin.log && cc "${flags[@]}" -o pan pan.c 2> cc.log) || {
    echo "FAIL $name: the verifier did not build:"; cat "$dir/spin.log" "$dir/cc.log"; failed=1; return; }
  local start=$SECONDS
  (cd "$dir" && ./pan "${args[@]}" > pan.log 2>&1) || true
  local log="$dir/pan.log" took=$((SECONDS - start))
  local states; states=$(awk '/states, stored/{print $1; exit}' "$log")
  local errors; errors=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' "$log" | head -1)
  local what="$mode, ${states:-?} states, ${took} s"
  if [ "$expect" = none ]; then
    if [ "$errors" = 0 ] && ! grep -qE "Search not completed|max search depth too small|out of memory" "$log"; then
      echo "ok   $name ($what): every interleaving, no violation"
    else
      echo "FAIL $name ($what):"; grep -E "^pan|error|Warning" "$log"; failed=1
    fi
  elif grep -qE "$expect" "$log"; then
    echo "ok   $name ($what): caught, $(grep -m1 -E '^pan:1:' "$log" | sed 's/^pan:1: //')"
  else
    echo "FAIL $name ($what): the planted bug was not caught (expected /$expect/):"; grep -E "^pan|errors" "$log"; failed=1
  fi
}

run safety safety none
run liveness liveness none -DMAXCLAIMS=2
[ $large = 1 ] && run liveness_3_claims liveness none
run bug_obey_old safety 'assertion violated .*highest' -DBUG_OBEY_OLD
run bug_forget_issued safety 'assertion violated .*born' -DBUG_FORGET_ISSUED
run bug_no_review liveness 'acceptance cycle' -DMAXCLAIMS=2 -DBUG_NO_REVIEW
exit $failed
