#!/usr/bin/env python3
"""Writes bench/results/floors.md: the lower bounds for the LSTM shapes of the cuDNN race
(issue 5) on an H100 SXM: FLOPs, bytes that must move, and what fits on chip. Run it again with
the card's measured rates once a GPU session has them (see bench/results/gpu-*.md).

    python3 bench/floors.py > bench/results/floors.md
"""

# NVIDIA H100 SXM5 datasheet figures (the H200 has the same SMs, 4.8 TB/s of HBM3e).
SMS = 132
FP32_TFLOPS = 67.0        # non-tensor FP32
TF32_TFLOPS = 495.0       # dense tensor-core TF32
HBM_TBS = 3.35
L2_MB = 50.0
SMEM_KB_PER_SM = 228.0
REGS_KB_PER_SM = 256.0
GRID_SYNC_US = 1.0        # a cooperative grid.sync() on 132 SMs: about a microsecond (to be measured)

T = 100


def lstm(layers, hidden, batch, steps, train):
    """FLOPs (multiply-adds twice), weight bytes, activation bytes for a stack with input = hidden."""
    g = 4 * hidden
    fwd = layers * 2.0 * steps * batch * g * (hidden + hidden)
    flops = 3 * fwd if train else fwd
    weights = layers * 4.0 * g * (hidden + hidden)            # W_ih and W_hh, float32
    acts = layers * 4.0 * steps * batch * (g + 2 * hidden)     # gate cache, h and c
    moved = weights + acts * (2 if train else 1) + 4.0 * steps * batch * hidden
    return flops, weights, acts, moved


def fmt_bytes(b):
    return f"{b / 2**20:.1f} MiB" if b >= 2**20 else f"{b / 2**10:.0f} KiB"


def main():
    print("# Floors for the LSTM race (issue 5), H100 SXM\n")
    print("Datasheet rates, not measurements: FP32 (non-tensor) %.0f TFLOP/s, TF32 tensor %.0f TFLOP/s,"
          " HBM %.2f TB/s, L2 %.0f MB, %d SMs with %.0f KiB shared memory and %.0f KiB registers each"
          " (%.1f MiB and %.1f MiB on the whole chip). Written by `bench/floors.py`; replace the rates with"
          " the card's measured ones when a GPU session has them.\n"
          % (FP32_TFLOPS, TF32_TFLOPS, HBM_TBS, L2_MB, SMS, SMEM_KB_PER_SM, REGS_KB_PER_SM,
             SMS * SMEM_KB_PER_SM / 1024, SMS * REGS_KB_PER_SM / 1024))
    print("Input size = hidden size; T = 100 for training and inference, T = 1 for a generation step."
          " Time floors: FLOPs at the FP32 rate and bytes at HBM bandwidth, whichever is larger; the"
          " recurrence adds a dependent chain of T steps (x layers for a naive schedule, T + L - 1 with a"
          " layer wavefront) that no parallelism removes.\n")
    print("| layers | H | B | mode | GFLOP | weights | activations | FP32 floor (us) | TF32 floor (us) | HBM floor (us) | W_hh of one layer | on chip? |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for layers in (1, 3):
        for hidden in (256, 512, 1024):
            for batch in (1, 8, 32, 64, 128):
                for mode, steps, train in (("train", T, True), ("forward", T, False), ("step", 1, False)):
                    flops, weights, acts, moved = lstm(layers, hidden, batch, steps, train)
                    whh = 4.0 * 4 * hidden * hidden
                    on_chip = SMS * (SMEM_KB_PER_SM + REGS_KB_PER_SM) * 1024
                    fits = ("all layers' weights" if weights <= on_chip
                            else "one layer's W_hh" if whh <= on_chip else "no")
                    print(f"| {layers} | {hidden} | {batch} | {mode} | {flops / 1e9:.2f} | {fmt_bytes(weights)} |"
                          f" {fmt_bytes(acts)} | {flops / (FP32_TFLOPS * 1e6):.1f} | {flops / (TF32_TFLOPS * 1e6):.1f} |"
                          f" {moved / (HBM_TBS * 1e6):.1f} | {fmt_bytes(whh)} | {fits} |")
    w = lstm(3, 512, 1, 1, False)[1]
    print(f"\n**Generation, batch 1, 3 x 512** (the persistent-kernel goal of 5 us per token): the weights are"
          f" {fmt_bytes(w)}; read from HBM every token they alone cost {w / (HBM_TBS * 1e6):.1f} us, over the"
          f" goal, so they must stay on chip across tokens: {SMS} SMs hold"
          f" {SMS * (SMEM_KB_PER_SM + REGS_KB_PER_SM) / 1024:.1f} MiB in shared memory and registers together,"
          f" enough. The arithmetic ({w / 4 / 1e6:.1f} M multiply-adds) takes {2 * (w / 4) / (FP32_TFLOPS * 1e6):.2f} us"
          f" at the FP32 rate; what remains is synchronisation: about 3 grid-wide barriers per token (one per"
          f" layer) at ~{GRID_SYNC_US:.0f} us each, so about {3 * GRID_SYNC_US:.0f} us of the 5 us budget.")
    flops = lstm(3, 512, 64, T, True)[0]
    print(f"\n**Training, 3 x 512, B = 64, T = 100**: {flops / 1e9:.1f} GFLOP, {flops / (FP32_TFLOPS * 1e6):.0f} us at"
          f" the FP32 rate; the recurrent part is {3 * T} dependent steps of a [64, 512] x [512, 2048] product,"
          f" each far too small to fill {SMS} SMs alone, which is why the layer wavefront (layer l+1 at step t"
          f" while layer l runs step t+1) matters: it keeps up to 3 such products in flight.")


if __name__ == "__main__":
    main()
