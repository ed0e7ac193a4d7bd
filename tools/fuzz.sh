#!/usr/bin/env bash
# Builds the MIDI reader's libFuzzer target (clang, AddressSanitizer, UndefinedBehaviorSanitizer)
# in build-fuzz/ and runs it from the committed seed corpus for a fixed time.
#   tools/fuzz.sh [SECONDS]   (default 60)
# New inputs the fuzzer finds go to build-fuzz/corpus/; a crashing input is saved as
# build-fuzz/crash-* and the script fails.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
esac
seconds=${1:-60}

tools/setup.sh
CXX=clang++ cmake -S tests/fuzz -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz --target fuzz_midi_reader
mkdir -p build-fuzz/corpus
status=0
build-fuzz/fuzz_midi_reader build-fuzz/corpus tests/fuzz/corpus \
  -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix=build-fuzz/ >build-fuzz/fuzz.log 2>&1 || status=$?
# libFuzzer's progress lines are left in build-fuzz/fuzz.log; show the rest.
grep -v -E '^#[0-9]+' build-fuzz/fuzz.log || true
if [ "$status" -ne 0 ]; then
  echo "fuzz.sh: the fuzzer found a problem (exit $status); see build-fuzz/crash-* and build-fuzz/fuzz.log" >&2
  exit "$status"
fi
echo "fuzz.sh: no finding in $seconds s"
