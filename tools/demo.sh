#!/usr/bin/env bash
# The main job on the default corpus: installs what is missing, builds, trains a small network
# on Debian's openttd-openmsx music for a few minutes, composes a minute of music in one ensemble
# as out/demo.mid, and renders it as out/demo.wav and out/demo.svg.
#   tools/demo.sh [MINUTES]   (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
minutes="${1:-3}"
case "$minutes" in
  -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
  ''|*[!0-9.]*) echo "demo.sh: MINUTES must be a number, got '$minutes'" >&2; exit 2 ;;
esac

tools/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build

# The GPU when this machine has one and the build has the CUDA backend; the CPU otherwise.
device=cpu
if nvidia-smi -L 2>/dev/null | grep -q '^GPU' && grep -q '^LEGATO_BUILT_CUDA:INTERNAL=ON' build/CMakeCache.txt; then
  device=cuda
fi
mkdir -p out
# The recipe measured best for this corpus in 3 minutes of a 2-core CPU (bench/demo_recipes.sh,
# bench/results/quality.md, 2026-12-06): the default preset (2 x 256, dropout 0.5, every piece in
# C's key signature, best.safetensors by how close its music comes to the held-out pieces). Its
# pieces came closer to the held-out pieces than tiny's, whose validation loss rises from the
# first epochs on, and than tiny with the default's regularisation; on the seed corpus with
# --instruments piano, trained 3 minutes on an unloaded machine, 0.028 below the ceiling.
recipe=(--preset default)
echo "demo: training ${recipe[*]} on the default corpus for up to $minutes minutes ($device)"
build/bin/trainer "${recipe[@]}" --device "$device" --max-minutes "$minutes" --out out/demo-train --overwrite
# A minute of music in the ensemble of a training piece drawn at random (composer prints it).
build/bin/composer --checkpoint out/demo-train/best.safetensors --device "$device" --seconds 60 --temperature 0.9 --top-p 0.95 \
  --out out/demo.mid --tokens-out out/demo.tokens.txt
# Hear it and see it: audio through FluidSynth and the General MIDI soundfont, and a piano roll.
build/bin/miditool render out/demo.mid out/demo.wav
build/bin/miditool roll out/demo.mid out/demo.svg
cat <<TXT

demo: done.
  out/demo.mid                    the composed piece (60 seconds in one ensemble, a named track per instrument)
  out/demo.tokens.txt             its tokens
  out/demo.wav                    the piece as audio (FluidSynth, General MIDI soundfont)
  out/demo.svg                    its piano roll (time across, pitch up, one colour per instrument)
  out/demo-train/best.safetensors the checkpoint (safetensors, loadable in PyTorch: see docs/checkpoints.md)
  out/demo-train/metrics.csv      per-epoch losses;  out/demo-train/loss.svg  the loss curves
TXT
if [ -x build/bin/legato-serve ]; then
  cat <<TXT

Compose more in the browser, from the checkpoint it trained (Ctrl-C stops the server):
  build/bin/legato-serve --models out/demo-train --out out/serve
  then open http://127.0.0.1:8080/ and choose best.safetensors
TXT
fi
