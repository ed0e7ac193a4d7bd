#!/usr/bin/env python3
"""Composing 500 tokens from Python against composer's own generation, interleaved (issue 28).

Each round runs `composer --length 500 --seed K` (its printed time: the composition alone, inside
the process, the model already loaded) and then `model.compose(length=500, seed=K)` in this
process (wall clock around the call: composing, the score, the Python objects). The goal: Python
costs no more than 5% over composer. Without --checkpoint one is made: the `tiny` preset trained
for a moment on FOLDER (what the weights are does not change the time).

  PYTHONPATH=build/python python3 bench/compose_python.py [--rounds N] [--checkpoint FILE] [--bin DIR] FOLDER
"""
import argparse
import pathlib
import re
import statistics
import subprocess
import sys
import tempfile
import time


def composer_seconds(composer, checkpoint, seed, out):
    """The composition time composer prints ('..., 0.271 s, seed 7')."""
    text = subprocess.run([composer, "--checkpoint", str(checkpoint), "--length", "500", "--seed", str(seed),
                           "--out", str(out)], check=True, capture_output=True, text=True).stdout
    found = re.search(r"([0-9.]+) s, seed", text)
    if not found:
        raise RuntimeError(f"composer printed no time: {text!r}")
    return float(found.group(1))


def make_checkpoint(bin_dir, folder, out):
    subprocess.run([str(bin_dir / "trainer"), "--preset", "tiny", "--data", str(folder), "--max-minutes", "0.001",
                    "--eval-pieces", "0", "--out", str(out)], check=True, capture_output=True)
    return out / "last.safetensors"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=pathlib.Path, help="a MIDI folder to make the checkpoint from")
    parser.add_argument("--rounds", type=int, default=9, help="interleaved rounds (default 9)")
    parser.add_argument("--checkpoint", type=pathlib.Path, help="a checkpoint to compose with instead")
    parser.add_argument("--bin", type=pathlib.Path, default=pathlib.Path("build/bin"), help="where composer is")
    args = parser.parse_args()
    if args.rounds < 1:
        print("compose_python.py: --rounds must be 1 or more", file=sys.stderr)
        return 2
    if not (args.bin / "composer").exists():
        print(f"compose_python.py: no composer in {args.bin}", file=sys.stderr)
        return 2
    try:
        import legato
    except ImportError as e:
        print(f"compose_python.py: {e} (PYTHONPATH=build/python)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        if args.checkpoint:
            checkpoint = args.checkpoint
        elif args.folder.is_dir():
            checkpoint = make_checkpoint(args.bin, args.folder, tmp)
        else:
            print(f"compose_python.py: {args.folder} is not a folder", file=sys.stderr)
            return 2
        model = legato.load(checkpoint)
        model.compose(length=500, seed=0)  # warm: the first call sets up what later calls reuse
        composer_times, python_times = [], []
        for k in range(1, args.rounds + 1):
            composer_times.append(composer_seconds(args.bin / "composer", checkpoint, k, tmp / "piece.mid"))
            start = time.perf_counter()
            model.compose(length=500, seed=k)
            python_times.append(time.perf_counter() - start)
    c, p = statistics.median(composer_times), statistics.median(python_times)
    print(f"checkpoint {checkpoint}; {args.rounds} rounds, interleaved; wall clock")
    print(f"composer (its own generation time): median {c:.3f} s, min {min(composer_times):.3f} s")
    print(f"legato Model.compose(length=500):   median {p:.3f} s, min {min(python_times):.3f} s")
    print(f"Python over composer: {100 * (p / c - 1):+.1f}% at the median, "
          f"{100 * (min(python_times) / min(composer_times) - 1):+.1f}% at the min (goal: at most +5%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
