#!/usr/bin/env bash
# Copies the header-only dependencies (Eigen, doctest, nlohmann-json, CLI11) from this machine's
# Debian packages into third_party/include (git-ignored), for a machine that has a compiler,
# CMake and CUDA but not Debian's packages (the GPU machine): configure there with
# -DLEGATO_HEADERS=$PWD/third_party/include.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
dest=third_party/include
mkdir -p "$dest"
cp -r /usr/include/eigen3/Eigen /usr/include/eigen3/unsupported "$dest/"
cp -r /usr/include/doctest /usr/include/nlohmann /usr/include/CLI "$dest/"
du -sh "$dest"
