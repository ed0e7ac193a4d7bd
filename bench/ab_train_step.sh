#!/bin/bash
# Two builds' seed-network training steps side by side, alternated so that both see the same
# minutes of the machine: bench_lstm's cpu/train_step (fp32) and cpu/train_step_bf16, each build
# in turn, ROUNDS times. Prints one line per run (build, precision, wall ms, CPU ms, products'
# share, page faults per step) and writes them to OUT (default bench/results/ab_train_step.txt)
# with the machine and its load, so that a re-run replaces the numbers.
#   bench/ab_train_step.sh OLD_BENCH_LSTM NEW_BENCH_LSTM [ROUNDS=3] [OUT]
set -euo pipefail
usage="usage: bench/ab_train_step.sh OLD_BENCH_LSTM NEW_BENCH_LSTM [ROUNDS=3] [OUT]"
if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then echo "$usage"; exit 0; fi
if [ $# -lt 2 ]; then echo "ab_train_step: two bench_lstm binaries needed; $usage" >&2; exit 2; fi
old=$1 new=$2 rounds=${3:-3} out=${4:-bench/results/ab_train_step.txt}
for b in "$old" "$new"; do [ -x "$b" ] || { echo "ab_train_step: $b is not an executable bench_lstm" >&2; exit 2; }; done
one() {  # build label, filter -> "label precision wall_ms cpu_ms products_share faults"
  "$1" --benchmark_filter="$3" --benchmark_min_time=2 --benchmark_format=json 2>/dev/null |
    python3 -c '
import json, sys
for b in json.load(sys.stdin)["benchmarks"]:
    print(sys.argv[1], sys.argv[2], round(b["real_time"]), round(b["cpu_time"]),
          round(b.get("products_share", 0), 3), b.get("faults", "-"))' "$2" "$4"
}
{
  echo "# $(date -u +%FT%TZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-), $(nproc) cores"
  echo "# old: $old, new: $new; build precision wall_ms cpu_ms products_share faults/step; load: uptime"
  for r in $(seq "$rounds"); do
    for label in old new; do
      bin=$old; [ "$label" = new ] && bin=$new
      one "$bin" "$label" 'cpu/train_step/seed' fp32
      one "$bin" "$label" 'cpu/train_step_bf16/seed' bf16
    done
    echo "# load after round $r: $(uptime | sed 's/.*load average: //')"
  done
} | tee "$out"
