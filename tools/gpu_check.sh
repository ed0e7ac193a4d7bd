#!/usr/bin/env bash
# The first thing to run on a machine with a GPU (one H100/H200, 16 cores: under 8 minutes, so that
# a second run fits in the 15 minutes a session gets). Every step has its own timeout and every
# step is reported, whatever happened to the others:
#   configure, build   build-gpu/ (Release, CUDA) for the card's own architecture (nvidia-smi's
#                      compute_cap: sm_90 machine code and compute_90 PTX on an H100/H200), -lineinfo
#   cuobjdump          the binaries hold machine code for the card (cuobjdump --list-elf/--list-ptx)
#   tests              the GPU's test cases: legato_tests -tc='cuda*' (tests/test_cuda*.cpp,
#                      test_lstm_persistent.cpp, test_lstm_wavefront.cpp, test_trainer_cuda.cpp) and
#                      the programs' --device cuda case (train and compose on the card); the CPU
#                      suite is CI's (tools/test.sh), not the GPU's
#   nccl               one rank on one GPU: NCCL's sum of a device buffer (legato_tests -tc='cuda: NCCL*':
#                      a communicator of one from ncclGetUniqueId, ncclAllReduce checked against the
#                      buffer); where mpirun exists, the trainer on --device cuda over the GPUs (two
#                      at most; one rank is the launch alone). Skipped, saying so, without NCCL
#   bench              bench_lstm: whole pieces first (the persistent generator against cuDNN
#                      stepped), then ours against cuDNN at the seed's shapes, the layer wavefront's
#                      training step among them (JSON next to the report); without cuDNN ours alone
#   train              the seed preset trained on the seed corpus for a few seconds on the GPU and
#                      on the CPU (throughput from the trainer's progress lines), 500 tokens composed
#   memcheck, racecheck, synccheck, initcheck
#                      compute-sanitizer over the same CUDA cases, our kernels only (cuBLAS's are
#                      not instrumented: --kernel-name kns=legato), with the caching device
#                      allocator switched to exact-size blocks (LEGATO_EXACT_ALLOC=1)
# and writes bench/results/gpu-<card>.md: per step passed / failed / timed out / skipped, seconds,
# and the tail of its output (full logs in build-gpu/gpu_check/).
#
#   tools/gpu_check.sh             the check (needs a GPU); exit 0 when every step passed
#   tools/gpu_check.sh --emulated  the same steps, in the same order and with the same budget
#                                  logic, on the CPU emulator of the kernels (CI runs it): the
#                                  emulated suite with the same test filter, trainer and composer
#                                  built against the emulator (build/bin/emulated/), bench_lstm's
#                                  filter checked against its list; the steps only a card can run
#                                  (compute-sanitizer, cuobjdump where it is missing) are reported
#                                  as skipped. Uses build/ (tools/test.sh's); report in
#                                  build/gpu_check/gpu-emulated.md. Exit 0 when no step failed.
#   tools/gpu_check.sh --out DIR   also copies the report, the bench JSON and the logs into DIR
#   tools/gpu_check.sh --dry-run   no GPU needed: says which tools the check will call are missing
#                                  and whether third_party/ holds what the GPU machine lacks (made by
#                                  tools/copy_headers.sh); exit 1 when something the build needs is
#                                  missing, tools only a GPU machine has (nvidia-smi,
#                                  compute-sanitizer, ...) are reported but not fatal
#   GPU_CHECK_BUDGET=SECONDS       the whole run's time limit (default 450); the steps' timeouts
#                                  share it, each later step keeping a minimum share
#   GPU_CHECK_BUILD=DIR            the build folder (default build-gpu; build with --emulated)
#
# Needs only CUDA (nvcc, cuobjdump, compute-sanitizer), CMake, a C++ compiler and, where Debian's
# packages are missing, third_party/: header copies (include/), Google Benchmark (benchmark/) and
# the seed corpus (seed-midi/). cuDNN comes from the toolkit or from Python's nvidia-cudnn package.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
root=$PWD

dry_run=0
emulated=0
out_dir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) dry_run=1 ;;
    --emulated) emulated=1 ;;
    --out) out_dir="${2:?--out needs a folder}"; shift ;;
    --out=*) out_dir="${1#--out=}" ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "gpu_check: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done

build=${GPU_CHECK_BUILD:-$([ $emulated = 1 ] && echo build || echo build-gpu)}
budget=${GPU_CHECK_BUDGET:-450}
third=$root/third_party
bench_cmake=$third/benchmark/lib/x86_64-linux-gnu/cmake/benchmark
# The GPU's test cases: the doctest cases named "cuda: ..." (tests/test_cuda*.cpp,
# test_lstm_persistent.cpp, test_lstm_wavefront.cpp, test_trainer_cuda.cpp: the files the emulated
# suite is made of) and the programs' own --device cuda case. The allocator's own test checks that
# freed blocks are reused, which exact-size allocation turns off on purpose: it runs in the tests
# step, not under the sanitizers (the emulated suite's exact-size run leaves it out the same way).
test_cases='cuda*,programs: --device cuda*'
cuda_filter=(-tc='cuda*' -tce='*caching device allocator*')
# bench_lstm's GPU benchmarks are named side/mode/L<layers>/H<hidden>/B<batch>/T<steps>/<math>
# (bench/bench_lstm_gpu.cpp): the seed's training step and forward pass (3 x 512, batch 64, 100
# steps), generation (batch 1, one step), and one large layer where cuDNN is at its best; and
# whole pieces (bench/bench_generate_gpu.cpp): 500 tokens of the seed network by the persistent
# kernel (legato/generate/seed/...) against cuDNN stepped with T = 1 and a host-side sample
# (cudnn/step/seed/..., the fastest of its algorithms) and the same step in a CUDA graph with
# sampling on the device (cudnn/graph/seed/...); and the layer wavefront's training step (wavefront/train/..., issue 13:
# engine/cuda/lstm_wavefront.h) beside cuDNN's and ours layer by layer at 3 x 512, T = 100,
# B = 64 (FP32 and TF32) and B = 128 (FP32). Whole pieces run first (bench_lstm registers them first).
bench_filter='^((cudnn|legato)/(train/L3/H512/B64/T100|forward/L3/H512/B64/T100|forward/L3/H512/B1/T1|train/L1/H1024/B128/T100)/(fp32|tf32)(/|$)|wavefront/train/L3/H512/B64/T100/(fp32|tf32)(/|$)|(cudnn|legato|wavefront)/train/L3/H512/B128/T100/fp32(/|$)|(cudnn/step|cudnn/graph|legato/generate)/seed/)'
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
  # The package is a namespace package (no __init__.py): its folder is in __path__, not __file__.
  local dir
  dir=$(python3 -c 'import nvidia.cudnn as m; print(next(iter(m.__path__)))' 2>/dev/null) || return 1
  [ -f "$dir/include/cudnn.h" ] && compgen -G "$dir/lib/libcudnn.so*" >/dev/null || return 1
  echo "$dir"
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
  if [ -e /usr/local/cuda/include/cudnn.h ]; then
    say ok cuDNN "the toolkit's own (/usr/local/cuda/include/cudnn.h), used first"
  else
    gpu_only cuDNN "Python's nvidia-cudnn: $(cudnn_root || echo 'not found: bench_lstm runs without cuDNN')" cudnn_root
  fi
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
  cases=$(cat tests/test_cuda*.cpp tests/test_lstm_persistent.cpp tests/test_lstm_wavefront.cpp \
    tests/test_trainer_cuda.cpp 2>/dev/null | grep -A1 'TEST_CASE(' | grep -c '"cuda')
  echo "  tests:      legato_tests -tc='$test_cases' (the sources hold $cases \"cuda...\" test cases)"
  echo "  sanitizers: legato_tests $(printf '%q ' "${cuda_filter[@]}")(one case excluded), kernels matching kns=legato"
  echo "  nccl:       legato_tests -tc='cuda: NCCL*' (one rank), then the trainer over the GPUs where mpirun exists"
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
if [ $emulated = 1 ]; then
  card="CPU emulator of a CUDA device" driver=- compute_cap=9.0 arch=90 slug=emulated
else
  nvsmi=$(find_tool nvidia-smi) || { echo "gpu_check: no nvidia-smi: is there a GPU here? (tools/gpu_check.sh --dry-run checks without one; --emulated runs the steps on the emulator)" >&2; exit 2; }
  query() { timeout 20 "$nvsmi" --query-gpu="$1" --format=csv,noheader 2>/dev/null | head -n 1; }
  card=$(query name); card=${card:-unknown GPU}
  driver=$(query driver_version)
  compute_cap=$(query compute_cap)
  arch=$(tr -d '. ' <<<"$compute_cap")
  [[ "$arch" =~ ^[0-9]+$ ]] || arch=90  # an old nvidia-smi without compute_cap: the H100/H200's
  slug=$(tr -cs 'A-Za-z0-9' '-' <<<"$card" | sed 's/^-*//; s/-*$//')
fi
logs=$build/gpu_check
if [ $emulated = 1 ]; then  # the emulator's report is CI's, not a result to commit
  report=$logs/gpu-$slug.md
  bench_json=$logs/gpu-$slug.json
else
  report=bench/results/gpu-$slug.md
  bench_json=bench/results/gpu-$slug.json
fi
mkdir -p bench/results "$logs"
rm -rf "$logs"/*.log "$logs"/*.out "$logs"/train-cuda "$logs"/train-cpu "$logs"/train-nccl "$logs"/gpu.mid

nvcc=$(find_tool nvcc || echo nvcc)
cuobjdump=$(find_tool cuobjdump || echo cuobjdump)
sanitizer=$(find_tool compute-sanitizer || echo compute-sanitizer)
if [ $emulated = 1 ]; then
  # build/ as tools/test.sh configured it (CUDA where nvcc is found, the emulator where Boost.Context
  # is): no option that would change its cache and rebuild it.
  flags=(-DCMAKE_BUILD_TYPE=Release)
  targets=(legato_emulated_gpu_tests trainer_emulated composer_emulated legato_tests bench_lstm)
else
  flags=(-DCMAKE_BUILD_TYPE=Release -DLEGATO_CUDA=ON -DCMAKE_CUDA_COMPILER="$nvcc"
         -DCMAKE_CUDA_ARCHITECTURES="$arch" -DLEGATO_CUDA_LINEINFO=ON)
  # Only what the steps run (legato_tests brings the programs it runs: miditool, trainer, composer).
  targets=(legato_tests bench_lstm)
fi
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
# Only our kernels under compute-sanitizer: cuBLAS's are NVIDIA's to check, and instrumenting
# them cost most of the sanitizers' time. Ours are all in legato::kernels (mangled: 6legato7kernels).
kernel_filter=()
if [ $emulated = 0 ] && "$sanitizer" --help 2>/dev/null | grep -q -- '--kernel-name'; then
  kernel_filter=(--kernel-name kns=legato)
fi

# The steps in order, each with its timeout cap (s) and the minimum share (s) kept for it while
# earlier steps run. The caps add up to more than the budget: a step gets min(cap, what is left
# after the later steps' minimum shares), so a slow build squeezes the later steps, not the
# deadline. The budget (450 s) leaves half a minute of the 8 for kill graces and the report.
# The numbers come from docs/gpu_check.md's plan: what each step is expected to take on an H100
# with 16 cores, measured where it could be (on the emulator, on this project's 2-core machines)
# and scaled. The headline numbers (bench, train) come before the sanitizers, so that a run cut
# short still has them.
steps=(configure build cuobjdump tests nccl bench train memcheck racecheck synccheck initcheck)
declare -A step_cap=([configure]=60 [build]=240 [cuobjdump]=20 [tests]=100 [nccl]=40 [bench]=70 [train]=70
                     [memcheck]=60 [racecheck]=50 [synccheck]=30 [initcheck]=40)
declare -A step_floor=([configure]=20 [build]=90 [cuobjdump]=10 [tests]=40 [nccl]=10 [bench]=25 [train]=40
                       [memcheck]=25 [racecheck]=20 [synccheck]=15 [initcheck]=15)
declare -A status seconds limit

step_configure() { cmake -S . -B "$build" "${flags[@]}"; }
step_build() { cmake --build "$build" -j "$(nproc)" --target "${targets[@]}" -- "${keep_going[@]}"; }
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
# The GPU's test cases (test_cases above), with each case's time. On the emulator: the emulated
# suite's "cuda*" cases, which must be the very cases legato_tests holds, and the programs' case
# with the programs built against the emulator.
step_tests() {
  if [ $emulated = 0 ]; then
    "$build"/bin/legato_tests -tc="$test_cases" --duration=true
    return
  fi
  local gpu emu rc=0
  gpu=$("$build"/bin/legato_tests --list-test-cases -tc='cuda*' --no-version | grep '^cuda' | sort)
  emu=$("$build"/bin/legato_emulated_gpu_tests --list-test-cases -tc='cuda*' --no-version | grep '^cuda' | sort)
  if [ -n "$gpu" ] && [ "$gpu" != "$emu" ]; then
    echo "gpu_check: legato_tests and the emulated suite hold different cuda cases:"
    diff <(echo "$gpu") <(echo "$emu")
    rc=1
  fi
  echo "### the emulated suite: $(grep -c . <<<"$emu") cuda cases"
  LEGATO_EMU_SEED=1 "$build"/bin/legato_emulated_gpu_tests -tc='cuda*' --duration=true || rc=1
  echo "### the programs' --device cuda case, programs built against the emulator"
  LEGATO_EMULATED_PROGRAMS="$build/bin/emulated" "$build"/bin/legato_tests -tc='programs: --device cuda*' \
    --duration=true || rc=1
  return $rc
}
# NCCL on the card: the one-rank case, then the trainer over the ranks mpirun can give GPUs to
# (the emulator: two ranks on two emulated GPUs, NCCL's sum done through MPI).
step_nccl() {
  local t=$1 tests=$build/bin/legato_tests bin=$build/bin ranks=1 minutes
  local data=(--data "$seed") recipe=(--preset seed --dropout 0) env=()
  if [ $emulated = 1 ]; then
    tests=$build/bin/legato_emulated_gpu_tests bin=$build/bin/emulated ranks=2 data=() env=(-x LEGATO_EMU_DEVICES=2)
    recipe=(--preset tiny --hidden 16 --seq-len 16 --batch 4 --dropout 0)
  else
    ranks=$(timeout 20 "$(find_tool nvidia-smi)" -L 2>/dev/null | grep -c '^GPU')
    [ "$ranks" -gt 2 ] && ranks=2
    [ "$ranks" -lt 1 ] && ranks=1
  fi
  echo "### $(basename "$tests") -tc='cuda: NCCL*'"
  "$tests" -tc='cuda: NCCL*' --duration=true 2>&1 | tee "$logs/nccl-case.out"
  [ "${PIPESTATUS[0]}" = 0 ] || return 1
  grep -q 'skipped:' "$logs/nccl-case.out" && { echo "gpu_check: the NCCL case was skipped"; return 1; }
  if ! command -v mpirun >/dev/null; then echo "### the trainer over ranks: skipped (no mpirun here)"; return 0; fi
  minutes=$(awk -v t="$t" 'BEGIN { s = t - 25; if (s > 20) s = 20; if (s < 3) s = 3; printf "%.3f", s / 60 }')
  echo "### mpirun -np $ranks trainer ${recipe[*]} --device cuda --max-minutes $minutes"
  mpirun --allow-run-as-root --oversubscribe -x OMP_NUM_THREADS=1 "${env[@]}" -np "$ranks" "$bin"/trainer \
    "${recipe[@]}" --device cuda "${data[@]}" --epochs 1 --val-split 0 --max-minutes "$minutes" \
    --out "$logs/train-nccl" > "$logs/nccl-train.out" 2>&1
  local rc=$?
  tr '\r' '\n' < "$logs/nccl-train.out" | grep -E "^(ranks|device|corpus|stopped|done|trainer|epoch [0-9.]+/[0-9]+:)"
  tr '\r' '\n' < "$logs/nccl-train.out" | grep "tok/s" | tail -n 1
  [ $rc = 0 ] || return 1
  [ "$ranks" -lt 2 ] || grep -q "gradients summed by NCCL" "$logs/nccl-train.out" ||
    { echo "gpu_check: the trainer did not say NCCL sums its gradients"; return 1; }
}
step_sanitizer() {  # step_sanitizer TOOL
  LEGATO_EXACT_ALLOC=1 "$sanitizer" --tool "$1" "${kernel_filter[@]}" --error-exitcode 3 --print-limit 30 \
    "$build"/bin/legato_tests "${cuda_filter[@]}" --duration=true
}
step_bench() {
  if [ $emulated = 1 ]; then  # timing needs the card: the filter is checked against the list
    local list
    list=$("$build"/bin/bench_lstm --benchmark_list_tests --benchmark_filter="$bench_filter") || return
    echo "$list"
    echo "gpu_check: the filter selects $(grep -c . <<<"$list") GPU benchmarks"
    grep -qE '^(legato/generate|cudnn/step)/' <<<"$(head -n 1 <<<"$list")" ||
      { echo "gpu_check: whole pieces are not the first benchmarks"; return 1; }
    grep -q '^legato/generate/seed/' <<<"$list" && grep -q '^legato/train/L3/H512/B64/T100/fp32' <<<"$list" &&
      grep -q '^wavefront/train/L3/H512/B64/T100/fp32' <<<"$list" ||
      { echo "gpu_check: the filter misses a headline benchmark"; return 1; }
    return 0
  fi
  rm -f "$bench_json"
  "$build"/bin/bench_lstm --benchmark_filter="$bench_filter" \
    --benchmark_out="$bench_json" --benchmark_out_format=json || return
  grep -qs '"name"' "$bench_json" || { echo "gpu_check: no GPU benchmark ran (filter: $bench_filter)"; return 1; }
}
step_train() {  # the seed preset for a few seconds on each device (the step's time shared out)
  local t=$1 device minutes start rc=0 bin=$build/bin data=(--data "$seed") recipe=(--preset seed)
  if [ $emulated = 1 ]; then
    # The emulator runs the kernels on the CPU: a tiny network, on the default corpus.
    bin=$build/bin/emulated data=()
    recipe=(--preset tiny --hidden 16 --seq-len 16 --batch 4)
  fi
  minutes=$(awk -v t="$t" 'BEGIN { s = (t - 20) / 2; if (s > 20) s = 20; if (s < 3) s = 3; printf "%.3f", s / 60 }')
  for device in cuda cpu; do
    echo "### trainer ${recipe[*]} --device $device --max-minutes $minutes"
    start=$(date +%s%N)
    "$bin"/trainer "${recipe[@]}" --device "$device" "${data[@]}" --epochs 1 --val-split 0 \
      --max-minutes "$minutes" --out "$logs/train-$device" 2>&1 | tr '\r' '\n' |
      grep -E "^(corpus|device|cpu|epoch|stopped|done|error)|tok/s" | tail -n 5
    [ "${PIPESTATUS[0]}" = 0 ] || rc=1
    echo "wall: $(( ($(date +%s%N) - start) / 1000000 )) ms"
  done
  echo "### composer --device cuda, 500 tokens"
  start=$(date +%s%N)
  "$bin"/composer --device cuda --checkpoint "$logs/train-cuda/last.safetensors" --length 500 \
    --out "$logs/gpu.mid" 2>&1 | tail -n 3
  [ "${PIPESTATUS[0]}" = 0 ] || rc=1
  echo "wall (load, compose, write): $(( ($(date +%s%N) - start) / 1000000 )) ms"
  return $rc
}

# Why a step cannot run (empty: it can).
blocker() {
  case "$1" in
    configure|build) ;;
    cuobjdump) find_tool cuobjdump >/dev/null || echo "no cuobjdump" ;;
    tests)
      [ -x "$build/bin/legato_tests" ] || { echo "legato_tests was not built"; return; }
      [ $emulated = 0 ] || [ -x "$build/bin/legato_emulated_gpu_tests" ] ||
        echo "legato_emulated_gpu_tests was not built (Boost.Context or the toolkit's headers missing)" ;;
    memcheck|racecheck|synccheck|initcheck)
      [ $emulated = 0 ] || { echo "needs the card (compute-sanitizer); the emulated suite ran the emulator's own checks"; return; }
      find_tool compute-sanitizer >/dev/null || { echo "no compute-sanitizer"; return; }
      [ -x "$build/bin/legato_tests" ] || echo "legato_tests was not built" ;;
    nccl)
      if [ $emulated = 1 ]; then
        grep -qs '^LEGATO_NCCL_INCLUDE:PATH=/' "$build/CMakeCache.txt" ||
          { echo "no nccl.h beside the CUDA toolkit's headers: the emulated suite has no NCCL"; return; }
      else
        grep -qs '^LEGATO_BUILT_NCCL:INTERNAL=ON' "$build/CMakeCache.txt" ||
          { echo "this build has no NCCL (nccl.h and libnccl.so not found beside the CUDA toolkit)"; return; }
      fi
      [ -x "$build/bin/legato_tests" ] || echo "legato_tests was not built" ;;
    bench) [ -x "$build/bin/bench_lstm" ] || echo "bench_lstm was not built (Google Benchmark not found: third_party/benchmark)" ;;
    train)
      if [ $emulated = 1 ]; then
        [ -x "$build/bin/emulated/trainer" ] && [ -x "$build/bin/emulated/composer" ] ||
          echo "trainer or composer was not built against the emulator"
        return
      fi
      [ -n "$seed" ] || { echo "no seed corpus (third_party/seed-midi: tools/copy_headers.sh)"; return; }
      [ -x "$build/bin/trainer" ] && [ -x "$build/bin/composer" ] || echo "trainer or composer was not built" ;;
  esac
  case "$1" in configure) ;; *) [ "${status[configure]}" = passed ] || echo "configure did not pass" ;; esac
}

export -f step_configure step_build step_cuobjdump step_tests step_nccl step_sanitizer step_bench step_train find_tool
export build arch bench_filter bench_json logs seed cuobjdump sanitizer emulated test_cases

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
      tests|train|nccl) fn="step_$name $t" ;;
      *) fn="step_$name" ;;
    esac
    echo "gpu_check: $name (timeout ${t} s)"
    s=$(date +%s)
    # timeout(1) signals its whole process group: a timeout ends the step, children included.
    # Exported functions cross into bash -c, arrays do not: declare -p carries them.
    timeout -k 10 "$t" bash -c "$(declare -p flags targets keep_going cuda_filter kernel_filter); $fn" \
      > "$logs/$name.log" 2>&1 < /dev/null
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
  echo "- tests: legato_tests -tc='$test_cases'$([ $emulated = 1 ] && echo ' (the emulated suite, and the programs built against the emulator)')"
  echo "- sanitizers: legato_tests ${cuda_filter[*]} with LEGATO_EXACT_ALLOC=1 (build with -lineinfo), ${kernel_filter[*]:-every kernel}"
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
if [ $emulated = 1 ]; then  # on the emulator only the card's own steps may be skipped
  for name in configure build tests bench train; do
    [[ "${status[$name]}" == skipped* ]] && failures=$((failures + 1))
  done
fi
echo "gpu_check: wrote $report in $total s ($( [ $failures = 0 ] && echo 'no failures' || echo "$failures steps failed or timed out: see the report"))"
[ $failures = 0 ]
