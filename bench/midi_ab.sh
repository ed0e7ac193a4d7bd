#!/usr/bin/env bash
# Two builds of the MIDI reader side by side in one run (issue 28): BASE's and NEW's bench_midi,
# alternated ROUNDS times on one core, each run the best CPU time of its repetitions of
# read_folder_fast; prints every pair, the median ratio NEW/BASE and the load around the run.
#   bench/midi_ab.sh BASE_BENCH_MIDI NEW_BENCH_MIDI [FOLDER] [ROUNDS]
#   e.g. bench/midi_ab.sh /tmp/main/bench_midi build/bin/bench_midi ../shared/data/seed-midi 7
# Alternating spreads a loaded machine's slow spells over both builds; taskset pins both to the
# same core (the last one) so neither gains from a quieter core.
set -euo pipefail
if [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ] || [ $# -lt 2 ]; then
  sed -n '2,8p' "$0"
  [ $# -ge 2 ] || [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ] || exit 2
  exit 0
fi
base="$1" new="$2" folder="${3:-../shared/data/seed-midi}" rounds="${4:-7}"
for b in "$base" "$new"; do
  [ -x "$b" ] || { echo "midi_ab.sh: $b is not a program" >&2; exit 2; }
done
[ -d "$folder" ] || { echo "midi_ab.sh: $folder is not a folder" >&2; exit 2; }
core=$(($(nproc) - 1))
# One run: the best CPU time (ms) of 5 repetitions, and its MB/s.
one() {
  taskset -c "$core" "$1" "$folder" --benchmark_filter=read_folder_fast --benchmark_repetitions=5 \
    --benchmark_min_time=0.3 --benchmark_format=json 2>/dev/null |
    python3 -c 'import json,sys
runs=[r for r in json.load(sys.stdin)["benchmarks"] if r.get("run_type")=="iteration"]
best=min(runs,key=lambda r:r["cpu_time"])
print("%.4f %.1f" % (best["cpu_time"], best["MB"]))'
}
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
ratios=()
for k in $(seq "$rounds"); do
  read -r tb mb < <(one "$base")
  read -r tn mn < <(one "$new")
  r=$(python3 -c "print(f'{$tn/$tb:.3f}')")
  ratios+=("$r")
  echo "round $k: base $tb ms ($mb MB/s), new $tn ms ($mn MB/s), new/base $r"
done
median=$(printf '%s\n' "${ratios[@]}" | sort -n | python3 -c 'import sys; v=[float(x) for x in sys.stdin]; print(f"{v[len(v)//2]:.3f}")')
echo "median time ratio new/base: $median ($(python3 -c "print(f'{1/$median:.2f}')")x the speed); load after: $(cut -d' ' -f1-3 /proc/loadavg)"
