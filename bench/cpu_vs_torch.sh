#!/usr/bin/env bash
# Legato's seed training step, fp32 and bf16, against PyTorch's at its best, side by side in one
# run on this machine; prints every time and the ratios.
#   bench/cpu_vs_torch.sh [--previous OLD_BENCH_LSTM] [--rounds N] [THREADS]   (default: all cores)
# --rounds N measures N times in turn (ours, then PyTorch's, then ours again, ...) and ends with
# the median and range of the N per-round ratios: on a shared host whose speed drifts by a quarter
# over minutes, each ratio then compares times taken a minute apart, not five.
# PyTorch at its best: fp32 with OpenBLAS's own choice of kernels and with each core type this CPU
# can run forced (OPENBLAS_CORETYPE=SkylakeX where it has AVX-512, Haswell where AVX2), the
# fastest kept; bf16 under torch.autocast; medians on both sides. --previous adds an older
# build's bench_lstm (the anchor "no slower than before"). Needs ${BUILD:-build}/bin/bench_lstm
# and Debian's python3-torch.
set -euo pipefail
cd "$(dirname "$0")/.."
previous=""
rounds=1
while [ $# -gt 0 ]; do
  case "$1" in
    --previous) previous="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) break ;;
  esac
done
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
torch_step() { /usr/bin/python3 bench/torch_seed_step.py --threads "$threads" --steps 5 "$@"; }
ms_of() { sed -E 's/.*median ([0-9.]+) ms.*/\1/' <<<"$1"; }
flags=$(grep -m1 '^flags' /proc/cpuinfo)
cores=(default)
grep -qw avx512f <<<"$flags" && cores+=(SkylakeX)
grep -qw avx2 <<<"$flags" && cores+=(Haswell)
# "what: 0.42 (2.4x faster)"; the bare ratio goes to the named array for the rounds' summary.
ratio() {
  local line
  line=$(awk -v a="$3" -v b="$4" -v what="$2" 'BEGIN{ if (a > 0 && b > 0) printf "%s: %.2f (%.1fx faster)\n", what, a/b, b/a }')
  [ -n "$line" ] || return 0
  echo "$line"
  eval "$1+=(\"$(awk -v a="$3" -v b="$4" 'BEGIN{ printf "%.4f", a/b }')\")"
}
fp32_ratios=() bf16_ratios=() previous_ratios=()
for ((round = 1; round <= rounds; ++round)); do
  [ "$rounds" -gt 1 ] && echo "round $round of $rounds"
  ours=$(bench "${BUILD:-build}/bin/bench_lstm")
  echo "$ours"
  if [ -n "$previous" ]; then
    before=$(OPENBLAS_VERBOSE=2 bench "$previous" | sed 's/^/previous /')
    echo "previous build's OpenBLAS kernels: $(OPENBLAS_VERBOSE=2 "$previous" --benchmark_filter=none 2>&1 | grep -m1 Core)"
    echo "$before"
  fi
  best_fp32=""
  for core in "${cores[@]}"; do
    if [ "$core" = default ]; then line=$(torch_step); else line=$(OPENBLAS_CORETYPE=$core torch_step); fi
    echo "$line"
    ms=$(ms_of "$line")
    if [ -z "$best_fp32" ] || awk -v a="$ms" -v b="$best_fp32" 'BEGIN{exit !(a < b)}'; then best_fp32=$ms; fi
  done
  bf16_line=$(torch_step --bf16 || true)
  echo "$bf16_line"
  ratio fp32_ratios "legato fp32 / pytorch fp32 at its best, time" "$(time_of cpu/train_step/seed/B64/T100 "$ours")" \
    "$best_fp32"
  ratio bf16_ratios "legato bf16 / pytorch bf16 autocast, time" \
    "$(time_of cpu/train_step_bf16/seed/B64/T100 "$ours")" "$(ms_of "$bf16_line")"
  if [ -n "$previous" ]; then
    ratio previous_ratios "legato fp32 now / previous build, time" "$(time_of cpu/train_step/seed/B64/T100 "$ours")" \
      "$(time_of cpu/train_step/seed/B64/T100 "$(sed 's/^previous //' <<<"$before")")"
  fi
done

# The median and range of the per-round ratios.
summary() {
  [ $# -gt 1 ] || return 0
  printf '%s\n' "${@:2}" | sort -g | awk -v what="$1" '{ r[NR] = $1 }
    END { m = NR % 2 ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2
          printf "%s over %d rounds: median %.2f, from %.2f to %.2f\n", what, NR, m, r[1], r[NR] }'
}
if [ "$rounds" -gt 1 ]; then
  summary "legato fp32 / pytorch fp32 at its best" "${fp32_ratios[@]}"
  summary "legato bf16 / pytorch bf16 autocast" "${bf16_ratios[@]}"
  if [ -n "$previous" ]; then summary "legato fp32 now / previous build" "${previous_ratios[@]}"; fi
fi
