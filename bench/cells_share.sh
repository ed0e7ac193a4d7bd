#!/bin/bash
# Where a seed-network training step's CPU samples go, by group: `perf record` of BENCH's train
# step for SECONDS, then the samples of its steady steps only: those before the last sample of the
# network's construction (nn::orthogonal and its float64 products) are left out, as
# bench/results/cpu.md's profiles did by hand. Groups: the LSTM's cells (cell_* and libmvec's
# vector tanh and exp), the time-loop regions' own code, oneDNN's JIT kernels (samples in
# anonymous code), libgomp, to_bf16, dropout, RMSprop, the kernel, the rest. Prints one line per
# group: share of the steady samples.
#   bench/cells_share.sh [BENCH_LSTM=build/bin/bench_lstm] [fp32|bf16=bf16] [SECONDS=15]
set -euo pipefail
usage="usage: bench/cells_share.sh [BENCH_LSTM=build/bin/bench_lstm] [fp32|bf16=bf16] [SECONDS=15]"
if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then echo "$usage"; exit 0; fi
bench=${1:-build/bin/bench_lstm} precision=${2:-bf16} seconds=${3:-15}
[ -x "$bench" ] || { echo "cells_share: $bench is not an executable bench_lstm; $usage" >&2; exit 2; }
command -v perf >/dev/null || { echo "cells_share: perf is not installed (linux-perf)" >&2; exit 2; }
case $precision in fp32) filter='cpu/train_step/seed' ;; bf16) filter='cpu/train_step_bf16/seed' ;;
  *) echo "cells_share: precision is fp32 or bf16, not $precision; $usage" >&2; exit 2 ;; esac
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
perf record -F 999 -o "$work/perf.data" "$bench" --benchmark_filter="$filter" \
  --benchmark_min_time="$seconds" > "$work/log" 2> "$work/perf.log" ||
  { echo "cells_share: perf record failed: $(tail -3 "$work/perf.log")" >&2; exit 1; }
grep "$filter" "$work/log" | tr -s ' ' | cut -c1-200
perf script -i "$work/perf.data" -F ip,sym 2> /dev/null | python3 -c '
import re, sys
samples = []
for line in sys.stdin:
    parts = line.strip().split(None, 1)  # "ADDRESS SYMBOL", the symbol "[unknown]" in JIT code
    if not parts: continue
    samples.append(parts[1] if len(parts) > 1 else "[unknown]")
construction = re.compile(r"orthogonal|Eigen::internal::gebp_kernel<double|random_tensor")
last = max((i for i, s in enumerate(samples) if construction.search(s)), default=-1)
steady = samples[last + 1:]
groups = [("cells (cell_*, libmvec tanh and exp)", r"cell_|_ZGV\w*(tanh|exp)"),
          ("time-loop regions outside the cells", r"steps_one_region|backward_step_units"),
          ("oneDNN JIT kernels (anonymous code)", r"^\[unknown\]$"),
          ("libgomp", r"gomp|GOMP"), ("to_bf16", r"to_bf16"), ("dropout", r"draw_mask|dropout|masked"),
          ("RMSprop", r"Rmsprop"), ("kernel", r"^\S*(_raw_spin|clear_page|page|futex|schedule|switch)")]
counts = {name: 0 for name, _ in groups}
rest = 0
for s in steady:
    for name, pattern in groups:
        if re.search(pattern, s):
            counts[name] += 1
            break
    else:
        rest += 1
n = max(len(steady), 1)
print(f"{len(steady)} steady samples (of {len(samples)})")
for name, _ in groups: print(f"{100 * counts[name] / n:6.1f}%  {name}")
print(f"{100 * rest / n:6.1f}%  the rest")
'
