#!/usr/bin/python3
"""Writes tests/data/lstm_torch_ref.bin: torch.nn.LSTM (float64) inputs, weights, outputs and
gradients, so the C++ tests compare against PyTorch without Python at test time.

Needs Debian's python3-torch (run with /usr/bin/python3). Format: see tests/reference_file.h.
"""
import pathlib
import struct

import torch

T, B, I, H = 7, 3, 5, 6  # H not a multiple of anything convenient, on purpose


def main():
    torch.manual_seed(1234)
    lstm = torch.nn.LSTM(I, H, num_layers=1).double()
    x = torch.randn(T, B, I, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(1, B, H, dtype=torch.float64, requires_grad=True)
    c0 = torch.randn(1, B, H, dtype=torch.float64, requires_grad=True)
    y, (h_n, c_n) = lstm(x, (h0, c0))
    wy, wh, wc = (torch.randn_like(t) for t in (y, h_n, c_n))
    loss = (y * wy).sum() + (h_n * wh).sum() + (c_n * wc).sum()
    loss.backward()

    arrays = {
        "x": x, "h0": h0[0], "c0": c0[0],
        "weight_ih": lstm.weight_ih_l0, "weight_hh": lstm.weight_hh_l0,
        "bias_ih": lstm.bias_ih_l0, "bias_hh": lstm.bias_hh_l0,
        "y": y, "h_n": h_n[0], "c_n": c_n[0], "wy": wy, "wh": wh[0], "wc": wc[0],
        "grad_x": x.grad, "grad_h0": h0.grad[0], "grad_c0": c0.grad[0],
        "grad_weight_ih": lstm.weight_ih_l0.grad, "grad_weight_hh": lstm.weight_hh_l0.grad,
        "grad_bias_ih": lstm.bias_ih_l0.grad, "grad_bias_hh": lstm.bias_hh_l0.grad,
    }
    out = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data" / "lstm_torch_ref.bin"
    with open(out, "wb") as f:
        f.write(b"LGREF1\n")
        for name, t in arrays.items():
            t = t.detach().contiguous().double()
            f.write(struct.pack("<I", len(name)) + name.encode())
            f.write(struct.pack("<I", t.dim()) + struct.pack(f"<{t.dim()}q", *t.shape))
            f.write(t.numpy().astype("<f8").tobytes())
    print(f"wrote {out} ({out.stat().st_size} bytes, torch {torch.__version__})")


if __name__ == "__main__":
    main()
