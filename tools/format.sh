#!/usr/bin/env bash
# Formats every C++ and CUDA source that git tracks, or that is new and not ignored (so that a file
# not yet added is formatted before its commit, not found by CI after it), with clang-format and
# the style in .clang-format (Google's, 120 columns: the style the code was written in).
#   tools/format.sh           rewrites the files in place
#   tools/format.sh --check   changes nothing; lists the files that differ and exits 1 if any (CI)
set -euo pipefail
cd "$(dirname "$0")/.."
check=0
case "${1:-}" in
  --check) check=1 ;;
  "") ;;
  -h|--help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "format.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
esac
tools/setup.sh clang-format
mapfile -t files < <(git ls-files --cached --others --exclude-standard '*.cpp' '*.h' '*.cu' '*.cuh')
if [ $check = 0 ]; then
  clang-format -i "${files[@]}"
  exit 0
fi
bad=()
for f in "${files[@]}"; do
  clang-format "$f" | cmp -s - "$f" || bad+=("$f")
done
if [ ${#bad[@]} -gt 0 ]; then
  printf 'format.sh: not formatted (run tools/format.sh): %s\n' "${bad[@]}" >&2
  exit 1
fi
echo "format.sh: all ${#files[@]} files formatted"
