#!/usr/bin/python3
"""PyTorch's time for one training step of the seed network, the anchor for bench_lstm's
cpu/train_step/seed: scalar input, LSTM(512) x3 with dropout 0.3 between layers, Linear(256),
dropout 0.3, Linear(279), softmax, Keras-style categorical cross-entropy on the last step,
RMSprop (alpha 0.9, eps 1e-7, eps outside the square root as Keras). Batch 64, 100 steps, float32.

Run with Debian's python3-torch: /usr/bin/python3 bench/torch_seed_step.py [--threads 2] [--steps 5] [--bf16] [--blas]
--bf16 runs the step under torch.autocast("cpu", dtype=torch.bfloat16), as PyTorch users on CPUs
with AVX512-BF16 or AMX do. Set OPENBLAS_CORETYPE in the environment to force OpenBLAS's kernels
and GOMP_SPINCOUNT to shorten OpenMP's spin-wait (bench/cpu_vs_torch.sh tries both). Prints the
median step time and GFLOP/s (same FLOP count as bench/seed_network.h); --blas prints which BLAS
the products run on.
"""
import argparse
import contextlib
import os
import statistics
import time

import torch

V, H, D, B, T, L = 279, 512, 256, 64, 100, 3


class Seed(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(1, H, num_layers=L, dropout=0.3)
        self.dense1 = torch.nn.Linear(H, D)
        self.drop = torch.nn.Dropout(0.3)
        self.dense2 = torch.nn.Linear(D, V)

    def forward(self, x):
        y, _ = self.lstm(x)
        return torch.softmax(self.dense2(self.drop(self.dense1(y[-1]))), dim=-1)


def train_flops():
    f = 0.0
    for k in range(L):
        i = 1 if k == 0 else H
        f += 2.0 * T * B * 4 * H * (i + H)                 # forward
        f += 2.0 * (T - 1) * B * 4 * H * H * 2             # dh recurrence and dW_hh
        f += 2.0 * T * B * 4 * H * i * (1 if k == 0 else 2)  # dW_ih (and dx)
    return f + 3 * 2.0 * B * (H * D + D * V)


def blas():
    """Which BLAS this PyTorch runs its float32 products on. Debian's python3-torch goes through
    libblas.so.3, which is the reference BLAS (about 10x slower) until an OpenBLAS package takes
    over the alternative; with the reference in place, OpenBLAS may still be loaded (through
    liblapack.so.3) while the products resolve to the reference, so the mapped libraries are read
    first and threadpoolctl (python3-threadpoolctl) only names the OpenBLAS in use."""
    a = torch.ones(64, 64)
    (a @ a).sum().item()  # loads whatever the product needs
    with open("/proc/self/maps") as maps:
        paths = sorted({line.split()[-1] for line in maps if "blas" in line.split()[-1]})
    reference = [p for p in paths if "/blas/libblas.so" in p]  # Debian's libblas3
    if reference or not paths:
        return "reference " + (reference[0] if reference else "(no BLAS library loaded)")
    try:
        import threadpoolctl
        for lib in threadpoolctl.threadpool_info():
            if lib.get("user_api") == "blas":
                return f"{lib['internal_api']} {lib.get('version')} {lib.get('threading_layer')} ({lib['filepath']})"
    except ImportError:
        pass
    return ", ".join(paths)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--bf16", action="store_true", help="bf16 autocast")
    ap.add_argument("--blas", action="store_true", help="print which BLAS the products run on, and exit")
    args = ap.parse_args()
    if args.blas:
        print(blas())
        return
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = Seed()
    opt = torch.optim.RMSprop(model.parameters(), lr=0.001, alpha=0.9, eps=1e-7)
    x = (torch.arange(T * B) % V).float().reshape(T, B, 1) / V
    target = torch.arange(B) % V
    times = []
    for step in range(args.steps + 1):
        start = time.perf_counter()
        autocast = torch.autocast("cpu", dtype=torch.bfloat16) if args.bf16 else contextlib.nullcontext()
        with autocast:
            p = model(x)
        p = p.float()
        p = p / p.sum(-1, keepdim=True)
        loss = -torch.log(p.clamp(1e-7, 1 - 1e-7)).gather(1, target[:, None]).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step > 0:  # the first step warms up
            times.append(time.perf_counter() - start)
    t = statistics.median(times)
    mode = "bf16 autocast" if args.bf16 else "fp32"
    core = os.environ.get("OPENBLAS_CORETYPE", "default")
    spin = os.environ.get("GOMP_SPINCOUNT", "default")
    print(f"torch {torch.__version__} {mode} threads {args.threads} openblas core {core} spin {spin}: "
          f"seed train step median {t * 1000:.0f} ms over {len(times)} steps, {train_flops() / t / 1e9:.1f} GFLOP/s")


if __name__ == "__main__":
    main()
