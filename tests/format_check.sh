#!/usr/bin/env bash
# Fails when a C++ source is not formatted as .clang-format says (Debian's clang-format 14), naming
# the files; `clang-format -i FILE...` mends them.
set -u
root=${1:?usage: format_check.sh SOURCE_DIR}
command -v clang-format > /dev/null || { echo "clang-format not found: run .ci/install-deps --tests"; exit 1; }
cd "$root" || exit 1
files=$(find ring monitor tests bench \( -name '*.cpp' -o -name '*.h' \) -not -path '*/build*' | sort)
[ -n "$files" ] || { echo "no C++ sources under $root: wrong path?"; exit 1; }
# One clang-format for all of them (a process per file took 25 s under CI's load): each violation
# it reports starts with its file's name.
# shellcheck disable=SC2086
bad=$(clang-format --dry-run --Werror $files 2>&1 | sed -n 's/^\([^:]*\):[0-9]*:[0-9]*: error: .*/\1/p' | sort -u)
if [ -n "$bad" ]; then
  echo "not formatted (clang-format -i these):"
  echo "$bad"
  exit 1
fi
echo "format: $(echo "$files" | wc -l) files as .clang-format says"
