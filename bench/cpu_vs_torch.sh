#!/usr/bin/env bash
# Legato's seed training step against PyTorch's, side by side in one run on this machine.
# Needs build/bin/bench_lstm and Debian's python3-torch. Prints both and the ratio.
#   bench/cpu_vs_torch.sh [THREADS]   (default: all cores)
set -euo pipefail
cd "$(dirname "$0")/.."
threads="${1:-$(nproc)}"
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; threads $threads"
export OMP_NUM_THREADS="$threads"
ours=$(build/bin/bench_lstm --benchmark_filter='train_step|sgemm|forward/seed|lstm_layer' --benchmark_min_time=3 \
  --benchmark_format=console 2>/dev/null | grep -E "^cpu/")
echo "$ours"
torch=$(/usr/bin/python3 bench/torch_seed_step.py --threads "$threads" --steps 5)
echo "$torch"
ours_ms=$(awk '/train_step/{print $2}' <<<"$ours")
torch_ms=$(sed -E 's/.*median ([0-9.]+) ms.*/\1/' <<<"$torch")
awk -v a="$ours_ms" -v b="$torch_ms" 'BEGIN{printf "legato / pytorch time: %.2f (%.1fx faster)\n", a/b, b/a}'
