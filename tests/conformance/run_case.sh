#!/usr/bin/env bash
# Runs one conformance case through clreplay: expected.snap must match stdout exactly (exit 0), or
# expected.error must appear on stderr (exit 2). Delays come from the case's `delays` file (all 0
# without one).
set -u
clreplay=${1:?usage: run_case.sh CLREPLAY CASE_DIR}
dir=${2:?usage: run_case.sh CLREPLAY CASE_DIR}
cd "$dir" || exit 1
# stderr goes to a file of this run's own, not into the case directory (two builds may run the
# cases at once, and a checkout may be read-only).
errfile=$(mktemp)
trap 'rm -f "$errfile"' EXIT
delays=0
[ -f delays ] && delays=$(tr -d ' \n' < delays)
out=$("$clreplay" --top case.top --events case.events --delays "$delays" 2>"$errfile")
rc=$?
err=$(cat "$errfile")
if [ -f expected.snap ]; then
  if [ $rc -ne 0 ]; then echo "exit $rc: $err"; exit 1; fi
  if ! diff -u expected.snap <(printf '%s\n' "$out"); then echo "output differs from expected.snap"; exit 1; fi
  echo "ok: $(basename "$dir")"
else
  if [ $rc -ne 2 ]; then echo "expected exit 2, got $rc"; exit 1; fi
  want=$(cat expected.error)
  case "$err" in *"$want"*) echo "ok: $(basename "$dir") fails as expected: $err";; *) echo "stderr: $err"; echo "expected: $want"; exit 1;; esac
fi
