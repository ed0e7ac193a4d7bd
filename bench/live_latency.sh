#!/usr/bin/env bash
# One bench_live run: 200 answers at 240 bpm after 2 beats of silence, each cut 0.15 s in (about
# 3.8 minutes), with the machine's load average before and after, written into a result file that
# a re-run replaces (docs/live.md, bench/results/README.md).
#   bench/live_latency.sh [BENCH_LIVE] [OUT]
#     BENCH_LIVE  the bench_live binary (build/bin/bench_live); another build's for a side-by-side run
#     OUT         the result file (bench/results/live_latency.txt)
set -euo pipefail
case "${1:-}" in -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
cd "$(dirname "$0")/.."
bench=${1:-build/bin/bench_live}
out=${2:-bench/results/live_latency.txt}
[ -x "$bench" ] || { echo "live_latency.sh: no bench_live at '$bench' (cmake --build build --target bench_live)" >&2; exit 2; }
{
  echo "# $bench, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores"
  echo "# before: $(uptime | sed 's/.*load average/load average/')"
  "$bench" --answers 200 --tempo 240 --answer-after 2 --cut-after 0.15
  echo "# after: $(uptime | sed 's/.*load average/load average/')"
} > "$out.tmp"
mv "$out.tmp" "$out"
cat "$out"
