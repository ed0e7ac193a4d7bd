#!/usr/bin/env bash
# Training at corpus scale, with no download: for each N, a deterministic synthetic corpus of N
# MIDI files (bench/make_corpus.cpp: stretches of the seed corpus, when ../shared/data/seed-midi
# exists, or of pieces it composes itself, re-timed, transposed and spliced), then two trainer
# runs (tiny preset, --transpose 3): the first reads every file and writes the token cache, the
# second starts from the cache. Measured: first load (files/s), cache size, second start, peak
# resident memory (of either run) and training tokens/s, beside the seed corpus's tokens/s.
# Appends the table to bench/results/scale.md with the machine named.
#   bench/corpus_scale.sh N [N ...]        e.g. bench/corpus_scale.sh 1000 10000 100000
# Environment: BUILD (default build), WORK (default /tmp/legato-scale: corpora and outputs),
# TRAIN_MINUTES (default 0.75: training time per run), NOTE (a line about concurrent load).
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  "" | -h | --help) sed -n '2,12p' "$0"; exit 0 ;;
esac
for n in "$@"; do
  [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] || { echo "corpus_scale.sh: N must be a positive integer, not '$n'" >&2; exit 2; }
done
build=${BUILD:-build}
work=${WORK:-/tmp/legato-scale}
minutes=${TRAIN_MINUTES:-0.75}
cmake --build "$build" --target trainer make_corpus >/dev/null
seed=../shared/data/seed-midi
from=()
[ -d "$seed" ] && from=(--from "$seed")
reference=$seed
[ -d "$reference" ] || reference=/usr/share/games/openttd/baseset/openmsx
mkdir -p "$work"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# One trainer run: its log in $1.log, GNU time's report in $1.time.
train() {
  local name=$1 data=$2 out=$3
  shift 3
  /usr/bin/time -v "$build/bin/trainer" --preset tiny --transpose 3 --data "$data" --out "$out" --overwrite \
    --max-minutes "$minutes" --checkpoint-every 0 "$@" >"$work/$name.log" 2>"$work/$name.time"
}
ready() { grep -o 'ready in [0-9.]* s' "$work/$1.log" | grep -o '[0-9.]*' | head -1; }
rss_mb() { awk '/Maximum resident set size/ { printf "%.0f", $6 / 1024 }' "$work/$1.time"; }
# tokens/s of the last progress line before the run stopped
speed() { grep -o '[0-9]* tok/s' "$work/$1.log" | tail -1 | grep -o '[0-9]*'; }

train reference "$reference" "$work/out-reference" --no-cache
ref_speed=$(speed reference)
rows=()
for n in "$@"; do
  corpus=$work/corpus-$n
  if [ ! -f "$corpus/.complete" ]; then
    rm -rf "$corpus"
    "$build/bin/make_corpus" "$n" "$corpus" "${from[@]}"
    touch "$corpus/.complete"
  fi
  out=$work/out-$n
  rm -rf "$out"
  train "first-$n" "$corpus" "$out"
  train "second-$n" "$corpus" "$out"
  grep -q 'corpus cache: mapped' "$work/second-$n.log" || { echo "corpus_scale.sh: the second run did not map the cache" >&2; exit 1; }
  first=$(ready "first-$n")
  cache_mb=$(du -m "$out"/corpus-*.tokens | awk '{ print $1 }')
  tokens=$(grep -o 'training pieces with [0-9]* tokens' "$work/first-$n.log" | grep -o '[0-9]* tokens' | grep -o '[0-9]*')
  peak=$(( $(rss_mb "first-$n") > $(rss_mb "second-$n") ? $(rss_mb "first-$n") : $(rss_mb "second-$n") ))
  s=$(speed "second-$n")
  rows+=("| $n | $tokens | $first | $(awk -v n="$n" -v s="$first" 'BEGIN { printf "%.0f", n / s }') | $cache_mb | $(ready "second-$n") | $peak | $s | $(awk -v a="$s" -v b="$ref_speed" 'BEGIN { printf "%+.1f%%", 100 * (a - b) / b }') |")
  echo "${rows[-1]}"
done

results=bench/results/scale.md
[ -f "$results" ] || printf '# Corpus scale\n\nWritten by `bench/corpus_scale.sh` (see its header for what it measures).\n' >"$results"
{
  echo
  echo "## $(date -u '+%Y-%m-%d %H:%M UTC'): $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
  echo
  echo "Load average before the runs: $load_before; after them: $(cut -d' ' -f1-3 /proc/loadavg). ${NOTE:-}"
  echo "Synthetic corpus from: ${from[1]:-pieces composed by make_corpus}. Trainer: tiny preset, --transpose 3,"
  echo "$minutes minutes of training per run. Reference tokens/s: $reference, same recipe: $ref_speed tok/s."
  echo "The files were just written, so the first load reads them from the page cache, not the disk."
  echo
  echo "| files | training tokens (×7 shifts) | first load s | files/s | cache MB | second start s | peak RSS MB | train tok/s | vs reference |"
  echo "|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
} >>"$results"
echo "corpus_scale.sh: results appended to $results"
