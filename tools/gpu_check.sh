#!/usr/bin/env bash
# On a machine with a GPU: builds with CUDA, runs the whole test suite, runs the CUDA tests under
# compute-sanitizer (memcheck and racecheck), times training on the seed corpus on the GPU and the
# CPU when it came along, runs bench_lstm when it was built, and writes
# bench/results/gpu-<card>.md with the card, the driver and every figure.
# Needs only CUDA, CMake and a compiler, plus header copies in third_party/include where
# Debian's packages are missing (tools/copy_headers.sh makes them on a Debian machine).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v nvidia-smi >/dev/null || { echo "gpu_check: no nvidia-smi: is there a GPU here?" >&2; exit 2; }
flags=(-DCMAKE_BUILD_TYPE=Release -DLEGATO_CUDA=ON)
[ -d third_party/include ] && flags+=(-DLEGATO_HEADERS="$PWD/third_party/include")
bench_cmake=third_party/benchmark/lib/x86_64-linux-gnu/cmake/benchmark
[ -d "$bench_cmake" ] && flags+=(-Dbenchmark_DIR="$PWD/$bench_cmake")
# cuDNN (the race's opponent) from the toolkit, or else from Python's nvidia-cudnn package.
if [ ! -e /usr/local/cuda/include/cudnn.h ]; then
  cudnn=$(python3 -c 'import nvidia.cudnn, os; print(os.path.dirname(nvidia.cudnn.__file__))' 2>/dev/null || true)
  if [ -n "$cudnn" ]; then
    flags+=(-DCUDNN_ROOT="$cudnn")
    export LD_LIBRARY_PATH="$cudnn/lib:${LD_LIBRARY_PATH:-}"
  fi
fi
command -v ninja >/dev/null && flags+=(-G Ninja)
cmake -S . -B build-gpu "${flags[@]}" > /dev/null
cmake --build build-gpu -j "$(nproc)"

card=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -n 1)
driver=$(nvidia-smi --query-gpu=driver_version --format=csv,noheader | head -n 1)
slug=$(tr -cs 'A-Za-z0-9' '-' <<<"$card" | sed 's/-*$//')
report="bench/results/gpu-$slug.md"
mkdir -p bench/results
log=$(mktemp -d)

status=0
build-gpu/bin/legato_tests > "$log/tests.txt" 2>&1 || status=1
sanitizer=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
for tool in memcheck racecheck; do
  "$sanitizer" --tool "$tool" --error-exitcode 3 build-gpu/bin/legato_tests -tc='cuda*' > "$log/$tool.txt" 2>&1 || status=1
done
# End to end on the seed corpus when it came along (tools/copy_headers.sh copies it): the seed
# preset trained for a fixed time on the GPU and on this machine's CPU (throughput from the
# trainer's progress lines), then 500 tokens composed on the GPU.
if [ -d third_party/seed-midi ]; then
  {
    for device in cuda cpu; do
      echo "### trainer --preset seed --device $device (2 minutes)"
      start=$(date +%s%N)
      build-gpu/bin/trainer --preset seed --device "$device" --data third_party/seed-midi --epochs 1 \
        --max-minutes 2 --out "$log/train-$device" 2>&1 | grep -E "^(corpus|device|epoch|stopped|done)|tok/s" | tail -n 4
      echo "wall: $(( ($(date +%s%N) - start) / 1000000 )) ms"
    done
    echo "### composer --device cuda, 500 tokens"
    start=$(date +%s%N)
    build-gpu/bin/composer --device cuda --checkpoint "$log/train-cuda/last.safetensors" --length 500 \
      --out "$log/gpu.mid" 2>&1 | tail -n 2
    echo "wall (load, compose, write): $(( ($(date +%s%N) - start) / 1000000 )) ms"
  } > "$log/train.txt" 2>&1 || status=1
else
  echo "no third_party/seed-midi: run tools/copy_headers.sh where ../shared has the seed corpus" > "$log/train.txt"
fi
if [ -x build-gpu/bin/bench_lstm ]; then
  # Short minimum times: about 360 GPU benchmarks (each shape validated against cuDNN first).
  build-gpu/bin/bench_lstm --benchmark_min_time=0.05 > "$log/bench.txt" 2>&1 || status=1
else
  # Google Benchmark is a Debian package (a shared library only): carry it or install it to get
  # the cuDNN comparison here.
  echo "bench_lstm not built: Google Benchmark was not found on this machine" > "$log/bench.txt"
fi

{
  echo "# GPU check: $card"
  echo
  echo "- date: $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
  echo "- card: $card, driver $driver, $(nvcc --version | tail -n 1)"
  echo "- host: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
  for part in tests memcheck racecheck train bench; do
    echo
    echo "## $part"
    echo
    echo '```'
    if [ "$part" = bench ]; then cat "$log/$part.txt"; else tail -n 40 "$log/$part.txt"; fi
    echo '```'
  done
} > "$report"
echo "gpu_check: wrote $report ($( [ $status = 0 ] && echo 'all passed' || echo 'FAILURES: see the report'))"
exit $status
