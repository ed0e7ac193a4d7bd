#!/bin/bash
# Where bench_lstm's seed training step spends its CPU time: `perf record` (999 Hz, CPU samples)
# of the step run for SECONDS, the samples grouped by what runs them and printed as shares of all
# of them, most first. Only the run's second half is counted (perf report --time 50%-100%): the
# network's construction (orthogonal initialisation in float64, its pages cleared) and warm-up
# come first and would otherwise be a quarter of a short run. Needs perf_event_paranoid <= 2.
#   bench/perf_step.sh [BENCH_LSTM=build/bin/bench_lstm] [fp32|bf16=bf16] [SECONDS=20]
set -euo pipefail
usage="usage: bench/perf_step.sh [BENCH_LSTM=build/bin/bench_lstm] [fp32|bf16=bf16] [SECONDS=20]"
if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then echo "$usage"; exit 0; fi
bench=${1:-build/bin/bench_lstm} precision=${2:-bf16} seconds=${3:-20}
[ -x "$bench" ] || { echo "perf_step: $bench is not an executable bench_lstm; $usage" >&2; exit 2; }
command -v perf > /dev/null || { echo "perf_step: perf is not installed (linux-perf); $usage" >&2; exit 2; }
case $precision in fp32) filter='cpu/train_step/seed' ;; bf16) filter='cpu/train_step_bf16/seed' ;;
  *) echo "perf_step: precision is fp32 or bf16, not $precision; $usage" >&2; exit 2 ;; esac
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# GOMP_SPINCOUNT set here keeps the program from starting itself again (tools/openmp_waits.h).
GOMP_SPINCOUNT=${GOMP_SPINCOUNT:-1000} perf record -q -F 999 -o "$work/perf.data" -- \
  "$bench" --benchmark_filter="$filter" --benchmark_min_time="$seconds" > "$work/log" 2>&1 ||
  { echo "perf_step: the run failed: $(tail -3 "$work/log")" >&2; exit 1; }
grep "$filter" "$work/log" | tr -s ' ' | cut -c1-200
# One line per (object, symbol): "percent object symbol"; oneDNN's JIT code has no symbol
# (a [JIT] object). perf's percentages of a time slice can sum past 100: each group is divided
# by their sum.
perf report -i "$work/perf.data" --time 50%-100% --stdio --no-children --sort dso,sym --percent-limit 0 2> /dev/null |
  awk '/^ *[0-9.]+%/ { p = $1; sub("%", "", p); $1 = ""; print p "\t" $0 }' |
  awk -F'\t' '
    { s = $2; g = "other" }
    s ~ /\[JIT\]|perf-[0-9]+\.map|\[unknown\]|brgemm|jit_/ { g = "oneDNN kernels (JIT code)" }
    s ~ /libdnnl/ && g == "other" { g = "oneDNN, outside its kernels" }
    s ~ /cell_forward|cell_backward|libmvec|steps_one_region|step_units/ { g = "the LSTM: cells and their loops" }
    s ~ /libgomp/ { g = "libgomp (forks, joins, barriers, waits)" }
    s ~ /draw_mask|accumulate_masked|philox|dropout/ { g = "dropout" }
    s ~ /to_bf16/ { g = "rounding operands to bf16 (to_bf16)" }
    s ~ /[Rr]msprop|[Aa]dam/ { g = "the optimiser" }
    s ~ /memset|memcpy|memmove/ { g = "memset and memcpy" }
    s ~ /outer_product/ { g = "outer products (K = 1)" }
    s ~ /\[kernel/ && g == "other" { g = "the kernel" }
    { share[g] += $1; all += $1 }
    END { for (g in share) printf "%6.1f%%  %s\n", 100 * share[g] / all, g }' | sort -rn
