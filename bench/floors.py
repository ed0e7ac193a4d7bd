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
    persistent_generator()


def persistent_split(layers, inp, hidden, dense, vocab, sms=SMS, threads=256):
    """kernels/lstm_persistent.cu's plan_generation and layout_of: blocks, units per block and the
    bytes of shared memory per block (scratch for sampling, the input vector, every layer's slice
    of W_ih | W_hh in odd row strides, biases, cell state, dense1 and dense2 rows)."""
    ceil = lambda a, b: -(-a // b)
    blocks = min(sms, ceil(hidden, 4))  # at least 4 units per block
    units, drows, vrows = ceil(hidden, blocks), ceil(dense, blocks), ceil(vocab, blocks)
    blocks = max(ceil(hidden, units), ceil(dense, drows), ceil(vocab, vrows))
    padded = lambda k: k if k % 2 else k + 1
    take = lambda n, size: ceil(n * size, 16) * 16
    sort = 1
    while sort < vocab:
        sort *= 2
    scratch = take(sort, 8) + 2 * take(threads, 8) + take(sort, 4) * 2 + 3 * take(threads, 4)
    scratch += take(max(4 * units, drows, vrows), 4) + take(max(inp + hidden, 2 * hidden, dense), 4)
    weights = 0
    for k in range(layers):
        cols = (inp if k == 0 else hidden) + hidden
        weights += take(4 * units * padded(cols), 4) + 2 * take(4 * units, 4) + take(units, 4)
    head = take(drows * padded(hidden), 4) + take(drows, 4) + take(vrows * padded(dense), 4) + take(vrows, 4)
    return blocks, units, drows, vrows, scratch, weights, head


def persistent_generator():
    blocks, units, drows, vrows, scratch, weights, head = persistent_split(3, 1, 512, 256, 279)
    total = scratch + weights + head
    print(f"\n## The persistent generator (issue 13): the seed network on chip\n")
    print(f"The seed network (3 x LSTM(512) with the scalar input, Dense(256), Dense(279)) is"
          f" {(4 * 512 * 513 + 2 * 4 * 512 * 1024 + 256 * 512 + 279 * 256) * 4 / 2**20:.1f} MiB of float32 weights."
          f" `kernels/lstm_persistent.cu` gives each of {blocks} blocks (one per SM of {SMS}, 256 threads) {units}"
          f" units of every layer (all four gate rows of each: {4 * units} rows of W_ih | W_hh per layer, 513 or"
          f" 1024 columns), {drows} rows of dense1 and {vrows} of dense2, all in shared memory, loaded once per"
          f" piece: {weights / 1024:.1f} KiB of LSTM weights, {head / 1024:.1f} KiB of dense rows and"
          f" {scratch / 1024:.1f} KiB of scratch (the input vector, reductions, the sort of the logits for"
          f" sampling), {total / 1024:.1f} KiB of the 227 KiB a block may opt in to. Registers hold nothing"
          f" but loop state in this version.\n")
    print("What does not fit, at 132 SMs x 227 KiB (the kernel then falls back to stepping the network with"
          " cuBLAS and sampling on the host, model::Generator):\n")
    print("| network | blocks | units per block | shared memory per block | fits |")
    print("|---|---|---|---|---|")
    for layers, inp, hidden, dense, vocab in ((3, 1, 512, 256, 279), (2, 96, 512, 256, 254), (4, 1, 512, 256, 279),
                                              (3, 1, 768, 256, 279), (2, 96, 1024, 256, 254),
                                              (3, 1, 1024, 256, 279), (3, 1, 512, 256, 2000)):
        b, u, d, v, sc, w, h = persistent_split(layers, inp, hidden, dense, vocab)
        kib = (sc + w + h) / 1024
        name = f"{layers} x {hidden}, {'scalar' if inp == 1 else f'embedding {inp}'}, V {vocab}"
        print(f"| {name} | {b} | {u} | {kib:.1f} KiB | {'yes' if kib <= 227 else 'no'} |")
    barriers = 3 + 2
    print(f"\n**Floor and prediction, per token.** {barriers} grid barriers (one after each layer, dense1 and"
          f" dense2; sampling is repeated by every block on the same logits and needs none) at"
          f" ~{GRID_SYNC_US:.0f} us: {barriers * GRID_SYNC_US:.0f} us. On-chip reads: a block reads its"
          f" {(weights + head) / 1024:.0f} KiB of weights from shared memory once per token, at 128 bytes per"
          f" clock per SM (~1.98 GHz) {(weights + head) / 128 / 1.98e3:.2f} us, plus the h vectors (2 KiB"
          f" per layer) from L2 after each barrier (~0.3 us latency each, 5 per token). Sampling: greedy is"
          f" one reduction (~0.2 us); top-k or top-p sorts the 279 logits (a bitonic sort of 512: 45 block"
          f" barriers, ~2 us), temperature alone needs no sort. Prediction for version 1: about 8 us per token"
          f" greedy and 10 us with top-k/top-p (500 tokens in 4-5 ms), over the 5 us goal because of the"
          f" barriers; cuDNN stepped with T = 1 plus a host-side sample: about 50 us per token (several"
          f" launches, the weights read from L2 every token, the logits copied to the host), so 5-6 times"
          f" slower. The next versions (bench/results/notes.md) replace the grid barriers by per-layer"
          f" arrival counters and start each layer's recurrent product before its input arrives.")


if __name__ == "__main__":
    main()
