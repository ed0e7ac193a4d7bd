#!/usr/bin/env bash
# Fails (exit 1, one line per function) when a function outside tests/ is longer than LIMIT lines
# (default 80), from its first line to its closing brace as universal-ctags measures them: small
# functions are the project's standard, and ctest runs this as function_lengths.
#   tools/function_lengths.sh [LIMIT]
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  -h|--help) sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac
limit=${1:-80}
[[ $limit =~ ^[0-9]+$ ]] || { echo "function_lengths.sh: LIMIT must be a whole number, not '$limit'" >&2; exit 2; }
command -v ctags >/dev/null || { echo "function_lengths.sh: needs universal-ctags (tools/setup.sh installs it)" >&2; exit 2; }
long=$(ctags -o - --languages=C++ --langmap=C++:+.cu.cuh --kinds-C++=f --fields=+ne --extras=-F -R \
         kernels engine midi eval render model corpus train tools bench python |
       awk -F'\t' -v limit="$limit" '{
         line = ""; end = ""
         for (i = 4; i <= NF; i++) { if ($i ~ /^line:/) line = substr($i, 6); if ($i ~ /^end:/) end = substr($i, 5) }
         if (line != "" && end != "" && end - line + 1 > limit) printf "%s:%s: %s is %d lines\n", $2, line, $1, end - line + 1
       }' | sort)
if [ -n "$long" ]; then
  echo "$long"
  echo "function_lengths.sh: functions over $limit lines (split them)" >&2
  exit 1
fi
echo "function_lengths.sh: no function over $limit lines"
