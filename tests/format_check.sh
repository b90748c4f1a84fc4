#!/usr/bin/env bash
# Fails when a C++ source is not formatted as .clang-format says (Debian's clang-format 14), naming
# the files; `clang-format -i FILE...` mends them.
set -u
root=${1:?usage: format_check.sh SOURCE_DIR}
command -v clang-format > /dev/null || { echo "clang-format not found: run .ci/install-deps --tests"; exit 1; }
cd "$root" || exit 1
files=$(find ring monitor tests bench \( -name '*.cpp' -o -name '*.h' \) -not -path '*/build*' | sort)
[ -n "$files" ] || { echo "no C++ sources under $root: wrong path?"; exit 1; }
bad=$(for f in $files; do clang-format --dry-run --Werror "$f" > /dev/null 2>&1 || echo "$f"; done)
if [ -n "$bad" ]; then
  echo "not formatted (clang-format -i these):"
  echo "$bad"
  exit 1
fi
echo "format: $(echo "$files" | wc -l) files as .clang-format says"
