#!/usr/bin/env bash
# The first thing to run on a machine with a GPU (one H100/H200, 16 cores: under 8 minutes).
# Every step has its own timeout and every step is reported, whatever happened to the others:
#   configure, build   build-gpu/ (Release, CUDA) for the card's own architecture (nvidia-smi's
#                      compute_cap: sm_90 machine code and compute_90 PTX on an H100/H200), -lineinfo
#   cuobjdump          the binaries hold machine code for the card (cuobjdump --list-elf/--list-ptx)
#   tests              the whole suite: every test binary ctest knows (legato_tests, ...)
#   memcheck, racecheck, synccheck, initcheck
#                      compute-sanitizer over the CUDA tests (legato_tests -tc='cuda*'), with the
#                      caching device allocator switched to exact-size blocks (LEGATO_EXACT_ALLOC=1)
#   bench              bench_lstm, ours against cuDNN at the seed's shapes, the layer wavefront's
#                      training step among them (JSON next to the report)
#   train              the seed preset trained on the seed corpus for a few seconds on the GPU and
#                      on the CPU (throughput from the trainer's progress lines), 500 tokens composed
# and writes bench/results/gpu-<card>.md: per step passed / failed / timed out / skipped, seconds,
# and the tail of its output (full logs in build-gpu/gpu_check/).
#
#   tools/gpu_check.sh             the check (needs a GPU); exit 0 when every step passed
#   tools/gpu_check.sh --out DIR   also copies the report, the bench JSON and the logs into DIR
#   tools/gpu_check.sh --dry-run   no GPU needed: says which tools the check will call are missing
#                                  and whether third_party/ holds what the GPU machine lacks (made by
#                                  tools/copy_headers.sh); exit 1 when something the build needs is
#                                  missing, tools only a GPU machine has (nvidia-smi,
#                                  compute-sanitizer, ...) are reported but not fatal
#   GPU_CHECK_BUDGET=SECONDS       the whole run's time limit (default 450); the steps' timeouts
#                                  share it, each later step keeping a minimum share
#   GPU_CHECK_BUILD=DIR            the build folder (default build-gpu)
#
# Needs only CUDA (nvcc, cuobjdump, compute-sanitizer), CMake, a C++ compiler and, where Debian's
# packages are missing, third_party/: header copies (include/), Google Benchmark (benchmark/) and
# the seed corpus (seed-midi/). cuDNN comes from the toolkit or from Python's nvidia-cudnn package.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
root=$PWD

dry_run=0
out_dir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) dry_run=1 ;;
    --out) out_dir="${2:?--out needs a folder}"; shift ;;
    --out=*) out_dir="${1#--out=}" ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "gpu_check: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done

build=${GPU_CHECK_BUILD:-build-gpu}
budget=${GPU_CHECK_BUDGET:-450}
third=$root/third_party
bench_cmake=$third/benchmark/lib/x86_64-linux-gnu/cmake/benchmark
# The CUDA tests are the doctest cases named "cuda: ..." (tests/test_cuda*.cpp,
# tests/test_trainer_cuda.cpp). The allocator's own test checks that freed blocks are reused, which
# exact-size allocation turns off on purpose: it runs in the plain suite, not under the sanitizers.
cuda_filter=(-tc='cuda*' -tce='*caching device allocator*')
# bench_lstm's GPU benchmarks are named side/mode/L<layers>/H<hidden>/B<batch>/T<steps>/<math>
# (bench/bench_lstm_gpu.cpp): the seed's training step and forward pass (3 x 512, batch 64, 100
# steps), generation (batch 1, one step), and one large layer where cuDNN is at its best; and
# whole pieces (bench/bench_generate_gpu.cpp): 500 tokens of the seed network by the persistent
# kernel (legato/generate/seed/...) against cuDNN stepped with T = 1 and a host-side sample
# (cudnn/step/seed/...); and the layer wavefront's training step (wavefront/train/..., issue 13:
# kernels/lstm_wavefront_cuda.h) beside cuDNN's and ours layer by layer at 3 x 512, T = 100,
# B = 64 (FP32 and TF32) and B = 128 (FP32).
bench_filter='^((cudnn|legato)/(train/L3/H512/B64/T100|forward/L3/H512/B64/T100|forward/L3/H512/B1/T1|train/L1/H1024/B128/T100)/(fp32|tf32)(/|$)|wavefront/train/L3/H512/B64/T100/(fp32|tf32)(/|$)|(cudnn|legato|wavefront)/train/L3/H512/B128/T100/fp32(/|$)|(cudnn/step|legato/generate)/seed/)'

find_tool() {  # PATH first, then the toolkit's bin/
  command -v "$1" 2>/dev/null && return 0
  [ -x "/usr/local/cuda/bin/$1" ] && { echo "/usr/local/cuda/bin/$1"; return 0; }
  return 1
}
seed_corpus() {
  local d
  for d in "$third/seed-midi" "$root/shared/data/seed-midi" "$root/../shared/data/seed-midi"; do
    compgen -G "$d/*.mid" >/dev/null && { echo "$d"; return 0; }
  done
  return 1
}
cudnn_root() {  # cuDNN from Python's nvidia-cudnn package when the toolkit has none
  [ -e /usr/local/cuda/include/cudnn.h ] && return 1
  python3 -c 'import nvidia.cudnn, os; print(os.path.dirname(nvidia.cudnn.__file__))' 2>/dev/null
}

# ---- --dry-run ----------------------------------------------------------------------------------
if [ $dry_run = 1 ]; then
  missing_needed=0
  say() { printf '  %-8s %-22s %s\n' "$1" "$2" "$3"; }
  need() {  # need NAME DETAIL CONDITION...: a thing the build needs (fatal when missing)
    local name=$1 detail=$2; shift 2
    if "$@" >/dev/null 2>&1; then say ok "$name" "$detail"; else say MISSING "$name" "$detail"; missing_needed=1; fi
  }
  gpu_only() {  # gpu_only NAME DETAIL CONDITION...: expected on the GPU machine, may be missing here
    local name=$1 detail=$2; shift 2
    if "$@" >/dev/null 2>&1; then say ok "$name" "$detail"; else say missing "$name" "$detail (expected without a GPU; needed there)"; fi
  }
  has_tool() { find_tool "$1" >/dev/null; }
  cmake_new_enough() {
    local v; v=$(cmake --version | sed -n 's/^cmake version \([0-9]*\.[0-9]*\).*/\1/p')
    [ "$(printf '%s\n3.24\n' "$v" | sort -V | head -n 1)" = 3.24 ]
  }
  echo "gpu_check --dry-run: the tools the check calls"
  need cmake "$(cmake --version 2>/dev/null | head -n 1) (3.24 or newer)" cmake_new_enough
  if has_tool ninja; then say ok ninja "$(find_tool ninja)"; else need make "ninja missing: make instead" has_tool make; fi
  need "c++ compiler" "$(find_tool c++ || find_tool g++ || echo none)" has_tool c++
  need nvcc "$(find_tool nvcc) $("$(find_tool nvcc || echo nvcc)" --version 2>/dev/null | sed -n 's/.*release \([0-9.]*\).*/(CUDA \1)/p')" has_tool nvcc
  need timeout "every step runs under timeout(1)" has_tool timeout
  need python3 "$(python3 --version 2>&1)" has_tool python3
  gpu_only nvidia-smi "the card, its compute capability" has_tool nvidia-smi
  gpu_only cuobjdump "machine code in the binaries" has_tool cuobjdump
  gpu_only compute-sanitizer "memcheck, racecheck, synccheck, initcheck" has_tool compute-sanitizer
  gpu_only torch "Python's PyTorch" python3 -c 'import torch'
  gpu_only nvidia.cudnn "Python's nvidia-cudnn (cuDNN for bench_lstm)" python3 -c 'import nvidia.cudnn'
  [ -e /usr/local/cuda/include/cudnn.h ] && say ok cuDNN "the toolkit's own (/usr/local/cuda/include/cudnn.h), used first"
  echo "third_party/ (tools/copy_headers.sh makes it; the GPU machine has no Debian packages)"
  need include/Eigen "-DLEGATO_HEADERS" test -f "$third/include/Eigen/Core"
  need include/doctest "doctest.h" test -f "$third/include/doctest/doctest.h"
  need include/nlohmann "json.hpp" test -f "$third/include/nlohmann/json.hpp"
  need include/CLI "CLI.hpp" test -f "$third/include/CLI/CLI.hpp"
  need benchmark "headers, library, CMake package" bash -c "test -f '$third/benchmark/include/benchmark/benchmark.h' &&
    test -f '$bench_cmake/benchmarkConfig.cmake' && compgen -G '$third/benchmark/lib/x86_64-linux-gnu/libbenchmark.so.*'"
  need seed-midi "the seed corpus for the timing step" bash -c "compgen -G '$third/seed-midi/*.mid'"
  [ -d "$third/seed-midi" ] && say "" "" "$(ls "$third/seed-midi" | wc -l) MIDI files, $(du -sh "$third" | cut -f1) in third_party/ in all"
  echo "the plan (total budget ${budget} s)"
  cases=$(cat tests/test_cuda*.cpp tests/test_trainer_cuda.cpp 2>/dev/null | grep -c 'TEST_CASE("cuda')
  echo "  sanitizers: legato_tests $(printf '%q ' "${cuda_filter[@]}")(the sources hold $cases \"cuda...\" test cases, one excluded)"
  echo "  bench:      bench_lstm --benchmark_filter='$bench_filter'"
  [ "$cases" -gt 1 ] || { echo "  the CUDA test filter selects nothing"; missing_needed=1; }
  if [ $missing_needed = 0 ]; then
    echo "gpu_check --dry-run: ready (what is missing above is only on the GPU machine)"
  else
    echo "gpu_check --dry-run: something the GPU machine needs is MISSING (tools/copy_headers.sh makes third_party/)"
  fi
  exit $missing_needed
fi

# ---- the check ----------------------------------------------------------------------------------
start_all=$(date +%s)
deadline=$((start_all + budget))
nvsmi=$(find_tool nvidia-smi) || { echo "gpu_check: no nvidia-smi: is there a GPU here? (tools/gpu_check.sh --dry-run checks without one)" >&2; exit 2; }
query() { timeout 20 "$nvsmi" --query-gpu="$1" --format=csv,noheader 2>/dev/null | head -n 1; }
card=$(query name); card=${card:-unknown GPU}
driver=$(query driver_version)
compute_cap=$(query compute_cap)
arch=$(tr -d '. ' <<<"$compute_cap")
[[ "$arch" =~ ^[0-9]+$ ]] || arch=90  # an old nvidia-smi without compute_cap: the H100/H200's
slug=$(tr -cs 'A-Za-z0-9' '-' <<<"$card" | sed 's/^-*//; s/-*$//')
report=bench/results/gpu-$slug.md
bench_json=bench/results/gpu-$slug.json
logs=$build/gpu_check
mkdir -p bench/results "$logs"
rm -rf "$logs"/*.log "$logs"/train-cuda "$logs"/train-cpu "$logs"/gpu.mid

nvcc=$(find_tool nvcc || echo nvcc)
cuobjdump=$(find_tool cuobjdump || echo cuobjdump)
sanitizer=$(find_tool compute-sanitizer || echo compute-sanitizer)
flags=(-DCMAKE_BUILD_TYPE=Release -DLEGATO_CUDA=ON -DCMAKE_CUDA_COMPILER="$nvcc"
       -DCMAKE_CUDA_ARCHITECTURES="$arch" -DLEGATO_CUDA_LINEINFO=ON)
[ -d "$third/include" ] && flags+=(-DLEGATO_HEADERS="$third/include")
[ -d "$bench_cmake" ] && flags+=(-Dbenchmark_DIR="$bench_cmake")
if cudnn=$(cudnn_root) && [ -n "$cudnn" ]; then
  flags+=(-DCUDNN_ROOT="$cudnn")
  export LD_LIBRARY_PATH="$cudnn/lib:${LD_LIBRARY_PATH:-}"
fi
# Google Benchmark from third_party/ is a shared library.
[ -d "$third/benchmark/lib/x86_64-linux-gnu" ] && export LD_LIBRARY_PATH="$third/benchmark/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
keep_going=(-k)
if [ ! -f "$build/CMakeCache.txt" ] && find_tool ninja >/dev/null; then flags+=(-G Ninja); fi
if grep -qs '^CMAKE_GENERATOR:INTERNAL=Ninja' "$build/CMakeCache.txt" || [[ " ${flags[*]} " == *" Ninja "* ]]; then
  keep_going=(-k 0)
fi
seed=$(seed_corpus || true)

# The steps in order, each with its timeout cap (s) and the minimum share (s) kept for it while
# earlier steps run. The caps add up to more than the budget: a step gets min(cap, what is left
# after the later steps' minimum shares), so a slow build squeezes the later steps, not the
# deadline. The budget (450 s) leaves half a minute of the 8 for kill graces and the report.
steps=(configure build cuobjdump tests memcheck bench train racecheck synccheck initcheck)
declare -A step_cap=([configure]=60 [build]=240 [cuobjdump]=20 [tests]=100 [memcheck]=60 [bench]=70 [train]=70
                     [racecheck]=50 [synccheck]=30 [initcheck]=40)
declare -A step_floor=([configure]=20 [build]=90 [cuobjdump]=10 [tests]=40 [memcheck]=25 [bench]=25 [train]=40
                       [racecheck]=20 [synccheck]=15 [initcheck]=15)
declare -A status seconds limit

step_configure() { cmake -S . -B "$build" "${flags[@]}"; }
step_build() { cmake --build "$build" -j "$(nproc)" -- "${keep_going[@]}"; }
step_cuobjdump() {  # machine code for the card in every binary that holds CUDA code
  local ok=1 bin found=0
  for bin in "$build"/bin/legato_tests "$build"/bin/trainer "$build"/bin/bench_lstm; do
    [ -e "$bin" ] || continue
    found=$((found + 1))
    echo "### $bin"
    echo "ELF (machine code):"; "$cuobjdump" --list-elf "$bin" | grep -oE 'sm_[0-9]+[a-z]*' | sort | uniq -c
    echo "PTX:"; "$cuobjdump" --list-ptx "$bin" | grep -oE 'sm_[0-9]+[a-z]*' | sort | uniq -c
    if "$cuobjdump" --list-elf "$bin" | grep -oE 'sm_[0-9]+[a-z]*' | grep -qx "sm_${arch}"; then
      echo "sm_${arch} machine code: yes"
    else
      echo "sm_${arch} machine code: NO"; ok=0
    fi
  done
  [ $found -gt 0 ] || { echo "no binary to look at"; ok=0; }
  [ $ok = 1 ]
}
step_tests() { ctest --test-dir "$build" -V --timeout "$1"; }
step_sanitizer() {  # step_sanitizer TOOL
  LEGATO_EXACT_ALLOC=1 "$sanitizer" --tool "$1" --error-exitcode 3 --print-limit 30 \
    "$build"/bin/legato_tests "${cuda_filter[@]}" --duration=true
}
step_bench() {
  rm -f "$bench_json"
  "$build"/bin/bench_lstm --benchmark_filter="$bench_filter" --benchmark_min_time=0.05 \
    --benchmark_out="$bench_json" --benchmark_out_format=json || return
  grep -qs '"name"' "$bench_json" || { echo "gpu_check: no GPU benchmark ran (filter: $bench_filter)"; return 1; }
}
step_train() {  # the seed preset for a few seconds on each device (the step's time shared out)
  local t=$1 device minutes start rc=0
  minutes=$(awk -v t="$t" 'BEGIN { s = (t - 20) / 2; if (s > 20) s = 20; if (s < 3) s = 3; printf "%.3f", s / 60 }')
  for device in cuda cpu; do
    echo "### trainer --preset seed --device $device --max-minutes $minutes"
    start=$(date +%s%N)
    "$build"/bin/trainer --preset seed --device "$device" --data "$seed" --epochs 1 --val-split 0 \
      --max-minutes "$minutes" --out "$logs/train-$device" 2>&1 | tr '\r' '\n' |
      grep -E "^(corpus|device|epoch|stopped|done|error)|tok/s" | tail -n 4
    [ "${PIPESTATUS[0]}" = 0 ] || rc=1
    echo "wall: $(( ($(date +%s%N) - start) / 1000000 )) ms"
  done
  echo "### composer --device cuda, 500 tokens"
  start=$(date +%s%N)
  "$build"/bin/composer --device cuda --checkpoint "$logs/train-cuda/last.safetensors" --length 500 \
    --out "$logs/gpu.mid" 2>&1 | tail -n 2
  [ "${PIPESTATUS[0]}" = 0 ] || rc=1
  echo "wall (load, compose, write): $(( ($(date +%s%N) - start) / 1000000 )) ms"
  return $rc
}

# Why a step cannot run (empty: it can).
blocker() {
  case "$1" in
    configure|build) ;;
    cuobjdump) find_tool cuobjdump >/dev/null || echo "no cuobjdump" ;;
    tests) [ -f "$build/CTestTestfile.cmake" ] || echo "not configured" ;;
    memcheck|racecheck|synccheck|initcheck)
      find_tool compute-sanitizer >/dev/null || { echo "no compute-sanitizer"; return; }
      [ -x "$build/bin/legato_tests" ] || echo "legato_tests was not built" ;;
    bench) [ -x "$build/bin/bench_lstm" ] || echo "bench_lstm was not built (Google Benchmark not found: third_party/benchmark)" ;;
    train)
      [ -n "$seed" ] || { echo "no seed corpus (third_party/seed-midi: tools/copy_headers.sh)"; return; }
      [ -x "$build/bin/trainer" ] && [ -x "$build/bin/composer" ] || echo "trainer or composer was not built" ;;
  esac
  case "$1" in configure) ;; *) [ "${status[configure]}" = passed ] || echo "configure did not pass" ;; esac
}

export -f step_configure step_build step_cuobjdump step_tests step_sanitizer step_bench step_train
export build arch bench_filter bench_json logs seed cuobjdump sanitizer

for i in "${!steps[@]}"; do
  name=${steps[$i]}
  reserve=0
  for later in "${steps[@]:$((i + 1))}"; do reserve=$((reserve + step_floor[$later])); done
  now=$(date +%s)
  t=$((deadline - now - reserve))
  [ "$t" -gt "${step_cap[$name]}" ] && t=${step_cap[$name]}
  # A step squeezed below its minimum share (an earlier one overran by its kill grace) still gets
  # that share while the deadline allows; the later steps absorb it the same way.
  min=$(( step_floor[$name] < deadline - now ? step_floor[$name] : deadline - now ))
  [ "$t" -lt "$min" ] && t=$min
  why=$(blocker "$name")
  if [ -n "$why" ]; then
    status[$name]="skipped: $why"; seconds[$name]=0; limit[$name]=-; echo "$why" > "$logs/$name.log"
  elif [ "$t" -lt 3 ]; then
    status[$name]="skipped: out of time"; seconds[$name]=0; limit[$name]=-; echo "out of time" > "$logs/$name.log"
  else
    limit[$name]=$t
    case "$name" in
      memcheck|racecheck|synccheck|initcheck) fn="step_sanitizer $name" ;;
      tests|train) fn="step_$name $t" ;;
      *) fn="step_$name" ;;
    esac
    echo "gpu_check: $name (timeout ${t} s)"
    s=$(date +%s)
    # timeout(1) signals its whole process group: a timeout ends the step, children included.
    # Exported functions cross into bash -c, arrays do not: declare -p carries them.
    timeout -k 10 "$t" bash -c "$(declare -p flags keep_going cuda_filter); $fn" > "$logs/$name.log" 2>&1 < /dev/null
    rc=$?
    seconds[$name]=$(($(date +%s) - s))
    case $rc in
      0) status[$name]=passed ;;
      124|137) status[$name]="timed out" ;;
      *) status[$name]="failed (exit $rc)" ;;
    esac
  fi
  echo "gpu_check: $name: ${status[$name]} (${seconds[$name]} s)"
done

# ---- the report ---------------------------------------------------------------------------------
total=$(($(date +%s) - start_all))
count() { local n=0 k; for k in "${steps[@]}"; do [[ "${status[$k]}" == $1* ]] && n=$((n + 1)); done; echo $n; }
tail_of() {  # the part of a step's log worth reading in the report
  local f=$logs/$1.log
  [ "$(wc -l < "$f")" -le 60 ] && { cat "$f"; return; }
  case "$1" in
    tests) grep -hE "test cases:|SKIPPED|tests passed|tests failed|\*\*\*Failed|Timeout" "$f" | head -n 40; echo "..."; tail -n 25 "$f" ;;
    memcheck|racecheck|synccheck|initcheck)
      grep -E "^=========" "$f" | head -n 60; echo "..."; tail -n 20 "$f" ;;
    bench) tail -n 80 "$f" ;;
    *) tail -n 40 "$f" ;;
  esac
}
{
  echo "# GPU check: $card"
  echo
  echo "- date: $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo ' with local changes')"
  echo "- card: $card, compute capability $compute_cap (built for sm_$arch), driver $driver"
  echo "- nvcc: $("$nvcc" --version 2>/dev/null | sed -n 's/.*release //p')"
  echo "- host: $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p'), $(nproc) cores"
  echo "- total: $total s of a $budget s budget; $(count passed) passed, $(count failed) failed, $(count 'timed out') timed out, $(count skipped) skipped"
  echo "- sanitizers: legato_tests ${cuda_filter[*]} with LEGATO_EXACT_ALLOC=1 (build with -lineinfo)"
  echo "- full logs: $logs/; bench_lstm's JSON: $bench_json"
  echo
  echo "| step | status | seconds | timeout (s) |"
  echo "|---|---|---|---|"
  for name in "${steps[@]}"; do echo "| $name | ${status[$name]} | ${seconds[$name]} | ${limit[$name]} |"; done
  for name in "${steps[@]}"; do
    echo
    echo "## $name: ${status[$name]}"
    echo
    echo '```'
    tail_of "$name"
    echo '```'
  done
} > "$report"
if [ -n "$out_dir" ]; then
  mkdir -p "$out_dir" && cp "$report" "$out_dir/" && cp -r "$logs" "$out_dir/gpu_check-logs"
  [ -f "$bench_json" ] && cp "$bench_json" "$out_dir/"
fi
failures=$(( $(count failed) + $(count 'timed out') ))
echo "gpu_check: wrote $report in $total s ($( [ $failures = 0 ] && echo 'no failures' || echo "$failures steps failed or timed out: see the report"))"
[ $failures = 0 ]
