#!/usr/bin/env bash
# Legato's seed training step, fp32 and bf16, against PyTorch's at its best, side by side in one
# run on this machine; prints every time and the ratios.
#   bench/cpu_vs_torch.sh [--previous OLD_BENCH_LSTM] [THREADS]   (default: all cores)
# PyTorch at its best: fp32 with OpenBLAS's own choice of kernels and with each core type this CPU
# can run forced (OPENBLAS_CORETYPE=SkylakeX where it has AVX-512, Haswell where AVX2), the
# fastest kept; bf16 under torch.autocast; medians on both sides. --previous adds an older
# build's bench_lstm (the anchor "no slower than before"). Needs ${BUILD:-build}/bin/bench_lstm
# and Debian's python3-torch.
set -euo pipefail
cd "$(dirname "$0")/.."
previous=""
if [ "${1:-}" = "--previous" ]; then previous="$2"; shift 2; fi
case "${1:-}" in -h|--help) sed -n '2,9p' "$0"; exit 0 ;; esac
threads="${1:-$(nproc)}"
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; threads $threads"
export OMP_NUM_THREADS="$threads"
# As a user's machine has it: OpenBLAS chooses its own kernels unless this script forces them.
unset OPENBLAS_CORETYPE

# The time column (ms) of one benchmark in bench_lstm's console output.
time_of() { awk -v name="$1" '$1 == name || $1 == name "/real_time" {print $2}' <<<"$2"; }

# The median of 5 repetitions (each the mean of the iterations that fill a second), as the PyTorch
# script reports the median of 5 steps: on a shared host one slow stretch moves a mean, not a median.
bench() {
  "$1" --benchmark_filter='train_step|sgemm|gemm_bf16' --benchmark_min_time=1 --benchmark_repetitions=5 \
    --benchmark_report_aggregates_only=true --benchmark_format=console 2>&1 |
    grep -E "^cpu/.*_median|^cpu:" | sed -E 's/_median / /'
}
ours=$(bench "${BUILD:-build}/bin/bench_lstm")
echo "$ours"
if [ -n "$previous" ]; then
  before=$(OPENBLAS_VERBOSE=2 bench "$previous" | sed 's/^/previous /')
  echo "previous build's OpenBLAS kernels: $(OPENBLAS_VERBOSE=2 "$previous" --benchmark_filter=none 2>&1 | grep -m1 Core)"
  echo "$before"
fi

torch_step() { /usr/bin/python3 bench/torch_seed_step.py --threads "$threads" --steps 5 "$@"; }
ms_of() { sed -E 's/.*median ([0-9.]+) ms.*/\1/' <<<"$1"; }
flags=$(grep -m1 '^flags' /proc/cpuinfo)
cores=(default)
grep -qw avx512f <<<"$flags" && cores+=(SkylakeX)
grep -qw avx2 <<<"$flags" && cores+=(Haswell)
best_fp32=""
for core in "${cores[@]}"; do
  if [ "$core" = default ]; then line=$(torch_step); else line=$(OPENBLAS_CORETYPE=$core torch_step); fi
  echo "$line"
  ms=$(ms_of "$line")
  if [ -z "$best_fp32" ] || awk -v a="$ms" -v b="$best_fp32" 'BEGIN{exit !(a < b)}'; then best_fp32=$ms; fi
done
bf16_line=$(torch_step --bf16 || true)
echo "$bf16_line"

ratio() { awk -v a="$2" -v b="$3" -v what="$1" 'BEGIN{ if (a > 0 && b > 0) printf "%s: %.2f (%.1fx faster)\n", what, a/b, b/a }'; }
ratio "legato fp32 / pytorch fp32 at its best, time" "$(time_of cpu/train_step/seed/B64/T100 "$ours")" "$best_fp32"
ratio "legato bf16 / pytorch bf16 autocast, time" "$(time_of cpu/train_step_bf16/seed/B64/T100 "$ours")" \
  "$(ms_of "$bf16_line")"
if [ -n "$previous" ]; then
  ratio "legato fp32 now / previous build, time" "$(time_of cpu/train_step/seed/B64/T100 "$ours")" \
    "$(time_of cpu/train_step/seed/B64/T100 "$(sed 's/^previous //' <<<"$before")")"
fi
