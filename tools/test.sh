#!/usr/bin/env bash
# The test command: installs what is missing, builds everything in build/ (Release, warnings on)
# and runs the whole suite through ctest. Ends with "N passed, N failed" (doctest test cases, and
# the Python module's pytest tests where it is built).
#   tools/test.sh             build/ (with the CUDA code whenever nvcc is found)
#   tools/test.sh --sanitize  build-asan/ with AddressSanitizer and UndefinedBehaviorSanitizer
set -euo pipefail
cd "$(dirname "$0")/.."

build=build
flags=(-DCMAKE_BUILD_TYPE=Release)
case "${1:-}" in
  --sanitize)
    build=build-asan
    # The CUDA code is compiled (and checked for warnings) by the plain build; the sanitizers
    # instrument host code only.
    flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DLEGATO_SANITIZE=ON -DLEGATO_CUDA=OFF)
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    ;;
  "") ;;
  -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
  *) echo "test.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
esac

tools/setup.sh
cmake -S . -B "$build" -G Ninja "${flags[@]}" >/dev/null
cmake --build "$build"

status=0
# What the test programs leave in the temporary directory: nothing (tests/temp_dir.h removes its
# folders at exit); anything of ours made after this marker and still there afterwards is a leak.
tmp=${TMPDIR:-/tmp}
marker=$(mktemp "$tmp/legato_test_marker.XXXXXX")
rm -f "$build/Testing/Temporary/LastTestsFailed.log"  # ctest leaves the last failing run's list behind
ctest --test-dir "$build" --output-on-failure || status=$?
left=$(find "$tmp" -maxdepth 1 -name 'legato_*' -newer "$marker" ! -path "$marker" 2>/dev/null | sort || true)
rm -f "$marker"
if [ -n "$left" ] && [ "${LEGATO_KEEP_TEST_DIRS:-}" != 1 ]; then
  echo "test.sh: the suite left these in $tmp (a test's folder not made by tests/temp_dir.h?):" $left >&2
  status=1
fi
log="$build/Testing/Temporary/LastTest.log"
# doctest's summary, one per test run (legato_tests, and legato_emulated_gpu_tests twice where the
# CUDA toolkit's headers are found): "[doctest] test cases: 16 | 16 passed | 0 failed | 0 skipped"
summary=$(grep -h "test cases:" "$log" || true)
passed=$(sed -E 's/.*\| *([0-9]+) passed.*/\1/' <<<"$summary" | awk '{ n += $1 } END { print n + 0 }')
failed=$(sed -E 's/.*\| *([0-9]+) failed.*/\1/' <<<"$summary" | awk '{ n += $1 } END { print n + 0 }')
# pytest's summary (legato_python_tests, where the Python module is built): "2 failed, 40 passed,
# 1 skipped in 9.81s"; counted with doctest's, so the total is every test case of both.
pysummary=$(grep -hE "^(=+ )?[0-9]+ (passed|failed|skipped|error)[^=]* in [0-9.]+s" "$log" || true)
if [ -n "$pysummary" ]; then
  # awk alone: grep finding nothing (no failures) would end the script under pipefail.
  pypassed=$(awk '{ for (i = 2; i <= NF; ++i) if ($i ~ /^passed/) n += $(i - 1) } END { print n + 0 }' <<<"$pysummary")
  pyfailed=$(awk '{ for (i = 2; i <= NF; ++i) if ($i ~ /^(failed|errors?)/) n += $(i - 1) } END { print n + 0 }' \
    <<<"$pysummary")
  passed=$((passed + pypassed)) failed=$((failed + pyfailed))
fi
if [ -z "$summary" ]; then
  echo "test.sh: no doctest summary found in $log" >&2
  passed=0 failed=1 status=1
fi
# A failing check that is neither doctest's nor pytest's (the function lengths, the LV2 bundle's
# Turtle files, a leak above) has no case counted: counted as one each, so that the last line never
# says "0 failed" of a run that failed.
if [ "$status" != 0 ] && [ "$failed" = 0 ]; then
  failed=$(grep -c . "$build/Testing/Temporary/LastTestsFailed.log" 2>/dev/null || true)
  [ "${failed:-0}" -gt 0 ] || failed=1
fi
# The failing checks once more, last: CI keeps the head and the tail of a long log, and the
# skipped GPU cases' messages would push a failure out of both. A doctest block is the text
# between two "=====" lines; pytest's failures start with "FAILED ".
if [ "$failed" != 0 ] || [ "$status" != 0 ]; then
  echo "test.sh: the failures:"
  awk '/^=====/ { if (bad) printf "%s", block; block = ""; bad = 0; next }
       { block = block $0 "\n" } /:[0-9]+: (FATAL )?ERROR: |^FAILED / { bad = 1 }
       END { if (bad) printf "%s", block }' "$log" | head -n 80 || true
fi
grep -h "SKIPPED:" "$log" | sed 's/^.*MESSAGE: /test.sh: /' | sort -u || true
[ "$failed" = 0 ] || status=1
echo "$passed passed, $failed failed"
exit $status
