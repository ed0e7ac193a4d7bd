#!/usr/bin/env bash
# Legato's seed training step, fp32 and bf16, against PyTorch's at its best, side by side in one
# run on this machine; prints every time, which PyTorch setting won, and the ratios.
#   bench/cpu_vs_torch.sh [--previous OLD_BENCH_LSTM] [--rounds N] [THREADS]   (default: all cores)
# --rounds N measures N times in turn (ours, then PyTorch's, then ours again, ...) and ends with
# the median and range of the N per-round ratios: on a shared host whose speed drifts by a quarter
# over minutes, each ratio then compares times taken a minute apart, not five.
# PyTorch at its best, set up as well as Legato is:
#   - its BLAS: refused when its products run on the reference BLAS (Debian's python3-torch does
#     until libopenblas0-pthread or libopenblas0-openmp is installed: about 10x slower, a ratio
#     that would flatter us); the script says which BLAS it found;
#   - fp32 with OpenBLAS's own choice of kernels and with each core type this CPU can run forced
#     (OPENBLAS_CORETYPE=SkylakeX where it has AVX-512, Haswell where AVX2), each with OpenMP's
#     default spin-wait and with GOMP_SPINCOUNT=1000 (which Legato's programs set for
#     themselves: 2-7x on 2 shared cores), the fastest kept;
#   - bf16 under torch.autocast with both spins, the fastest kept.
# Medians on both sides; Legato's lines carry products_share, the share of its step spent inside
# the products (measured by their own clocks). --previous adds an older build's bench_lstm (the
# anchor "no slower than before"). Needs ${BUILD:-build}/bin/bench_lstm and Debian's python3-torch.
set -euo pipefail
cd "$(dirname "$0")/.."
previous=""
rounds=1
while [ $# -gt 0 ]; do
  case "$1" in
    --previous) previous="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
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
torch_blas=$(/usr/bin/python3 bench/torch_seed_step.py --blas) || { echo "cpu_vs_torch: PyTorch does not run (python3-torch)" >&2; exit 1; }
echo "pytorch's BLAS: $torch_blas"
if [[ "$torch_blas" == reference* ]]; then
  echo "cpu_vs_torch: PyTorch's products run on the reference BLAS, about 10x slower than it can be: install libopenblas0-pthread or libopenblas0-openmp first (a ratio against this would flatter Legato)" >&2
  exit 1
fi
# One PyTorch step timing with OPENBLAS_CORETYPE and GOMP_SPINCOUNT set ("default": unset).
torch_with() {
  local core=$1 spin=$2; shift 2
  local env=(env -u OPENBLAS_CORETYPE -u GOMP_SPINCOUNT)
  [ "$core" = default ] || env+=(OPENBLAS_CORETYPE="$core")
  [ "$spin" = default ] || env+=(GOMP_SPINCOUNT="$spin")
  "${env[@]}" /usr/bin/python3 bench/torch_seed_step.py --threads "$threads" --steps 5 "$@"
}
spins=(default 1000)
# The fastest of the settings given as "core spin" pairs, each run with the arguments after "--":
# prints every run's line, then "best MS core X, spin Y".
fastest() {
  local best="" setting="" pairs=() pair line ms core spin
  while [ "$1" != -- ]; do pairs+=("$1"); shift; done
  shift
  for pair in "${pairs[@]}"; do
    read -r core spin <<<"$pair"
    line=$(torch_with "$core" "$spin" "$@") || continue
    echo "$line"
    ms=$(ms_of "$line")
    if [ -z "$best" ] || awk -v a="$ms" -v b="$best" 'BEGIN{exit !(a < b)}'; then best=$ms setting="core $core, spin $spin"; fi
  done
  echo "best $best $setting"
}

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
  pairs=()
  for core in "${cores[@]}"; do for spin in "${spins[@]}"; do pairs+=("$core $spin"); done; done
  runs=$(fastest "${pairs[@]}" --)
  sed '$d' <<<"$runs"
  read -r _ best_fp32 fp32_setting <<<"$(tail -n 1 <<<"$runs")"
  echo "pytorch fp32 at its best: $best_fp32 ms ($fp32_setting)"
  runs=$(fastest "default default" "default 1000" -- --bf16)
  sed '$d' <<<"$runs"
  read -r _ best_bf16 bf16_setting <<<"$(tail -n 1 <<<"$runs")"
  echo "pytorch bf16 autocast at its best: $best_bf16 ms ($bf16_setting)"
  ratio fp32_ratios "legato fp32 / pytorch fp32 at its best, time" "$(time_of cpu/train_step/seed/B64/T100 "$ours")" \
    "$best_fp32"
  ratio bf16_ratios "legato bf16 / pytorch bf16 autocast at its best, time" \
    "$(time_of cpu/train_step_bf16/seed/B64/T100 "$ours")" "$best_bf16"
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
