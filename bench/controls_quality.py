#!/usr/bin/env python3
"""How well composer follows control tokens (docs/controls.md, issue 27 section 3).

Composes N pieces for each asked key and each density class with a checkpoint trained with
--controls key,density, and reports the share whose detected key (miditool info's `detected`
line: midi::detect_key) is the one asked for, and the share whose notes per beat fall in the
asked class by the checkpoint's own corpus thirds (density_bounds in its config).

    bench/controls_quality.py CHECKPOINT [--pieces 10] [--bars 16] [--keys "D minor,G major"] [--bin build/bin]
                              [--key-strength S] [--density-strength S] [--grid-strength S] [--measure key,density]

--key-strength and --density-strength go to composer (model/control_guide.h); both 0 measures the
control tokens alone, without them composer's defaults (guidance on).
"""
import argparse
import json
import os
import re
import struct
import subprocess
import sys
import tempfile


def config_of(checkpoint):
    with open(checkpoint, "rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(size))
    return json.loads(header["__metadata__"]["legato.config"])


def detected(binary, path):
    out = subprocess.run([binary, "info", path], capture_output=True, text=True, check=True).stdout
    m = re.search(r"^detected\s+(.+?), ([0-9.]+) notes per beat$", out, re.M)
    return m.group(1), float(m.group(2))


NAMES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]


def signature(key):
    """The major tonic of a key's signature (a minor key's relative major); None for "no key"."""
    parts = key.split()
    if len(parts) != 2 or parts[0] not in NAMES:
        return None
    return (NAMES.index(parts[0]) + (3 if parts[1] == "minor" else 0)) % 12


def density_class(value, bounds):
    return "low" if value < bounds[0] else "mid" if value < bounds[1] else "high"


def compose(args, folder, flags, seed):
    out = os.path.join(folder, "piece.mid")
    strengths = []
    if args.key_strength is not None:
        strengths += ["--key-strength", str(args.key_strength)]
    if args.density_strength is not None:
        strengths += ["--density-strength", str(args.density_strength)]
    if args.grid_strength is not None:
        strengths += ["--grid-strength", str(args.grid_strength)]
    subprocess.run([os.path.join(args.bin, "composer"), "--checkpoint", args.checkpoint, "--bars", str(args.bars),
                    "--seed", str(seed), "--num-outputs", str(args.pieces), "--out", out] + flags + strengths,
                   capture_output=True, text=True, check=True)
    names = [out] if args.pieces == 1 else [os.path.join(folder, f"piece_{k + 1}.mid") for k in range(args.pieces)]
    return [detected(os.path.join(args.bin, "miditool"), n) for n in names]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoint")
    p.add_argument("--pieces", type=int, default=10, help="pieces per key and per density class")
    p.add_argument("--bars", type=int, default=16)
    p.add_argument("--keys", default="C major,A minor,D minor,G major,E minor,F major")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--bin", default="build/bin")
    p.add_argument("--measure", default="key,density", help="which controls to measure (of those the checkpoint has)")
    p.add_argument("--key-strength", type=float, help="composer's --key-strength (0: the key token alone)")
    p.add_argument("--density-strength", type=float, help="composer's --density-strength (0: the token alone)")
    p.add_argument("--grid-strength", type=float, help="composer's --grid-strength (0: off)")
    args = p.parse_args()
    config = config_of(args.checkpoint)
    if "controls" not in config:
        sys.exit("controls_quality.py: the checkpoint was trained without control tokens")
    bounds = config["density_bounds"]
    with tempfile.TemporaryDirectory() as folder:
        if "key" in config["controls"] and "key" in args.measure.split(","):
            hits = signed = total = 0
            for key in args.keys.split(","):
                got = compose(args, folder, ["--key", key], args.seed)
                right = sum(k == key for k, _ in got)
                signed += sum(signature(k) == signature(key) for k, _ in got)
                print(f"--key {key:9s}: {right}/{len(got)} detected so ({', '.join(k for k, _ in got)})")
                hits, total = hits + right, total + len(got)
            print(f"key: {hits}/{total} = {100 * hits / total:.0f}% of the pieces in the key asked for; "
                  f"{signed}/{total} = {100 * signed / total:.0f}% in its key signature (the mode aside)")
        if "density" in config["controls"] and "density" in args.measure.split(","):
            hits = total = 0
            for asked in ("low", "mid", "high"):
                got = compose(args, folder, ["--density", asked], args.seed)
                right = sum(density_class(d, bounds) == asked for _, d in got)
                values = ", ".join(f"{d:.2f}" for _, d in got)
                print(f"--density {asked:4s}: {right}/{len(got)} in its third (notes per beat {values})")
                hits, total = hits + right, total + len(got)
            print(f"density: {hits}/{total} = {100 * hits / total:.0f}% in the class asked for "
                  f"(thirds at {bounds[0]:.2f} and {bounds[1]:.2f} notes per beat)")


if __name__ == "__main__":
    main()
