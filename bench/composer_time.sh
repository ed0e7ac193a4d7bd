#!/usr/bin/env bash
# The whole composer process, 500 tokens from a seed-sized checkpoint, at fp32 and bf16: wall
# time and peak memory of each run (/usr/bin/time), side by side with an older build's composer.
#   bench/composer_time.sh [--previous OLD_COMPOSER] [--checkpoint FILE] [RUNS]   (default 3 runs)
# Without --checkpoint, one is made: the seed preset trained for one step on ${DATA:-the seed
# corpus in ../shared/data/seed-midi} (what the weights are does not change the time). Needs
# ${BUILD:-build}/bin/{trainer,composer}.
set -euo pipefail
cd "$(dirname "$0")/.."
previous="" checkpoint=""
while [ $# -gt 0 ]; do
  case "$1" in
    --previous) previous="$2"; shift 2 ;;
    --checkpoint) checkpoint="$2"; shift 2 ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) break ;;
  esac
done
runs="${1:-3}"
bin="${BUILD:-build}/bin"
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
if [ -z "$checkpoint" ]; then
  "$bin/trainer" --preset seed --data "${DATA:-../shared/data/seed-midi}" --max-minutes 0.001 --eval-pieces 0 \
    --out "$out" >/dev/null
  checkpoint="$out/last.safetensors"
fi
echo "checkpoint: $checkpoint ($(du -h "$checkpoint" | cut -f1))"
one_run() {  # one_run LABEL COMPOSER [flags]
  local label="$1" composer="$2"
  shift 2
  /usr/bin/time -f "$label: %e s, peak %M KB" "$composer" --checkpoint "$checkpoint" --length 500 --seed 1 \
    --out "$out/piece.mid" "$@" 2>&1 >/dev/null | tail -1
}
for k in $(seq "$runs"); do
  [ -z "$previous" ] || one_run "previous build" "$previous"
  one_run "fp32" "$bin/composer" --precision fp32
  one_run "bf16" "$bin/composer" --precision bf16  # where the CPU has no bf16: composer's one-line refusal
done
