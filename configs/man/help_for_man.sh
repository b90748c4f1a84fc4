#!/usr/bin/env bash
# help2man's view of a program with subcommands: `help_for_man.sh PROGRAM --help` prints the
# program's help and then each subcommand's; `--version` is the program's own. The man pages are
# made from what the programs say, so they cannot drift from them.
set -euo pipefail
program="$1"
shift
if [ "${1:-}" = --version ]; then exec "$program" --version; fi
"$program" --help
mapfile -t subcommands < <("$program" --help | awk '/^Subcommands:/{s=1; next} s && /^  [a-z]/{print $1}')
for sub in "${subcommands[@]}"; do
  echo
  echo "Command $sub:"
  "$program" "$sub" --help | sed '1s/^/  /'
done
