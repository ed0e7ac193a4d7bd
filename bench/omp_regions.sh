#!/bin/bash
# OpenMP parallel regions per seed-network training step, by the function that opens them (each
# costs a fork and a join, and on 2 shared cores the wake-ups of the other thread): runs BENCH's
# train step once after its warm-up with a GOMP_parallel counter preloaded
# (bench/omp_regions/count_regions.c) and prints regions per step, most first, with their names.
#   bench/omp_regions.sh [BENCH_LSTM=build/bin/bench_lstm] [fp32|bf16=bf16]
set -euo pipefail
usage="usage: bench/omp_regions.sh [BENCH_LSTM=build/bin/bench_lstm] [fp32|bf16=bf16]"
if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then echo "$usage"; exit 0; fi
bench=${1:-build/bin/bench_lstm} precision=${2:-bf16}
[ -x "$bench" ] || { echo "omp_regions: $bench is not an executable bench_lstm; $usage" >&2; exit 2; }
case $precision in fp32) filter='cpu/train_step/seed' ;; bf16) filter='cpu/train_step_bf16/seed' ;;
  *) echo "omp_regions: precision is fp32 or bf16, not $precision; $usage" >&2; exit 2 ;; esac
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -O2 -shared -fPIC -o "$work/count.so" "$(dirname "$0")/omp_regions/count_regions.c" -ldl
# GOMP_SPINCOUNT set here keeps the program from starting itself again (tools/openmp_waits.h).
GOMP_SPINCOUNT=${GOMP_SPINCOUNT:-1000} COUNT_REGIONS_OUT="$work/counts" LD_PRELOAD="$work/count.so" \
  "$bench" --benchmark_filter="$filter" --benchmark_min_time=0.01 > "$work/log" 2>&1
grep "$filter" "$work/log" | tr -s ' ' | grep -q ' ms 1 ' ||
  { echo "omp_regions: expected one timed step: $(cat "$work/log")" >&2; exit 1; }
# Two steps ran: the warm-up and the timed one (the network's construction opens none per step).
sort -rn "$work"/counts.* | while read -r count object offset; do
  name=$(nm -C "$object" 2>/dev/null | grep -m1 "^$(printf '%016x' "0x$offset") " | cut -d' ' -f3- || true)
  printf '%7.1f  %s\n' "$(echo "$count / 2" | bc -l)" "${name:-$(basename "$object")+0x$offset}" | cut -c1-150
done | tee "$work/table"
awk '{ s += $1 } END { printf "%7.1f  regions per %s step\n", s, "'"$precision"'" }' "$work/table"
