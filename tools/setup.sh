#!/usr/bin/env bash
# Installs the Debian packages Legato needs, when they are missing (as root, or through sudo).
# Usage: tools/setup.sh [extra-package ...]
# One apt-get call installs the missing ones in the order listed (the JACK 2 packages before rtmidi).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  ccache                 # compiler cache: CI's builds and rebuilds of unchanged sources
  universal-ctags        # tools/function_lengths.sh: no function over 80 lines (a ctest)
  libeigen3-dev          # tensors and CPU linear algebra
  libdnnl-dev            # oneDNN: the CPU matrix products, fp32 and bf16 (engine/cpu/products.h)
  doctest-dev            # the test suite
  libboost-context-dev   # fibers: the threads of a block in the CUDA kernel emulator (tests/cuda_emulator/)
  libbenchmark-dev       # bench/
  libcli11-dev           # the programs' command lines
  nlohmann-json3-dev     # safetensors headers and checkpoint metadata
  openttd-openmsx        # the default corpus: 31 free (GPL-2) MIDI files
  libopenmpi-dev openmpi-bin # trainer under mpirun: data parallelism over ranks (dist/; Open MPI 4.1)
  clang libclang-rt-14-dev # tools/fuzz.sh: libFuzzer with the sanitizers
  # Hearing and seeing (render/): JACK 2 first, so that librtmidi-dev's JACK dependency is met by
  # JACK 2 and not JACK 1; jackd2 is the server the playback tests start with its dummy driver.
  libjack-jackd2-dev jackd2
  librtmidi-dev          # live MIDI playback (ALSA sequencer and JACK back-ends)
  libfluidsynth-dev      # WAV rendering
  timgm6mb-soundfont     # a small (6 MB) General MIDI soundfont for it; fluid-soundfont-gm sounds better
  # The LV2 plugin (plugin/): its SDK, lilv for the tests' host, sord_validate (sordi) for its
  # Turtle, lilv-utils (lv2ls, lv2info) and jalv to load it by hand
  lv2-dev liblilv-dev lilv-utils sordi jalv
  # The Python module (python/) and its tests
  pybind11-dev python3-pytest python3-numpy
  # legato-serve (serve/): its HTTP server, and the headless browser its page is tested in
  libcpp-httplib-dev chromium chromium-driver python3-selenium
  python3-mido           # bench/midi_python.py: the pure-Python reader legato.read_folder is measured against
  linux-perf             # bench/perf_step.sh: where a training step's CPU time goes, by perf record
  "$@"
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root or sudo to install ${missing[*]}" >&2; exit 1; }
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
