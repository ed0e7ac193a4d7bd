#!/usr/bin/env bash
# Builds the libFuzzer targets of the two readers of files users hand us (clang, AddressSanitizer,
# UndefinedBehaviorSanitizer) in build-fuzz/ and runs each from its committed seed corpus for a
# fixed time: the MIDI reader (lenient and strict) and the safetensors header.
#   tools/fuzz.sh [SECONDS] [midi|safetensors]   (default 60 s each, both)
# New inputs the fuzzers find go to build-fuzz/corpus*/; a crashing input is saved as
# build-fuzz/crash-* and the script fails.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
esac
seconds=${1:-60}
only=${2:-}

tools/setup.sh
CXX=clang++ cmake -S tests/fuzz -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz --target fuzz_midi_reader fuzz_safetensors

# run NAME SEED_CORPUS: one fuzzer, one worker, for $seconds.
run() {
  local name=$1 seeds=$2 status=0
  mkdir -p "build-fuzz/corpus-$name"
  "build-fuzz/fuzz_$name" "build-fuzz/corpus-$name" "$seeds" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix=build-fuzz/ >"build-fuzz/fuzz-$name.log" 2>&1 || status=$?
  # libFuzzer's progress lines are left in the log; show the rest.
  grep -v -E '^#[0-9]+' "build-fuzz/fuzz-$name.log" || true
  if [ "$status" -ne 0 ]; then
    echo "fuzz.sh: fuzz_$name found a problem (exit $status); see build-fuzz/crash-* and build-fuzz/fuzz-$name.log" >&2
    exit "$status"
  fi
  echo "fuzz.sh: fuzz_$name: no finding in $seconds s"
}
[ "$only" = safetensors ] || run midi_reader tests/fuzz/corpus
[ "$only" = midi ] || run safetensors tests/fuzz/corpus_safetensors
