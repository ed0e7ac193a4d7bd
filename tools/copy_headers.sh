#!/usr/bin/env bash
# Copies into third_party/ (git-ignored) what a machine with a compiler, CMake and CUDA but not
# Debian's packages (the GPU machine) needs to build and check everything, for `carry`:
#   third_party/include    Eigen, doctest, nlohmann-json and CLI11 headers (-DLEGATO_HEADERS)
#   third_party/benchmark  Google Benchmark's headers, library and CMake package (-Dbenchmark_DIR),
#                          so that bench_lstm and its cuDNN race build there too
#   third_party/seed-midi  the seed corpus when ../shared has it (gpu_check.sh times training on it)
# tools/gpu_check.sh finds all three by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
dest=third_party/include
mkdir -p "$dest"
cp -r /usr/include/eigen3/Eigen /usr/include/eigen3/unsupported "$dest/"
cp -r /usr/include/doctest /usr/include/nlohmann /usr/include/CLI "$dest/"

# Debian's layout, so that its CMake package finds its files relative to itself. Real files, not
# links: only files travel to the other machine.
bench=third_party/benchmark
libdir=$bench/lib/x86_64-linux-gnu
mkdir -p "$libdir/cmake" "$bench/include"
cp -r /usr/include/benchmark "$bench/include/"
cp -r /usr/lib/x86_64-linux-gnu/cmake/benchmark "$libdir/cmake/"
for lib in /usr/lib/x86_64-linux-gnu/libbenchmark.so.* /usr/lib/x86_64-linux-gnu/libbenchmark_main.a; do
  cp -L "$lib" "$libdir/"
done

seed=../shared/data/seed-midi
if [ -d "$seed" ]; then
  mkdir -p third_party/seed-midi
  cp "$seed"/*.mid third_party/seed-midi/ 2>/dev/null || true
fi
du -sh third_party/*
