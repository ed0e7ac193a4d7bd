#!/usr/bin/env python3
"""Does composer --infill do what the musician asks of the new bars (docs/infill.md, "Asking for
more")? For every held-out piece and composition seed the same gap is filled without an ask, with
--density low, mid and high, with --key KEY and with --pitch-range LO-HI; counted over the gap's new
notes (every note of the output whose onset lies in the gap: its old ones are all replaced):

- density: the gap's notes per beat (new notes / the gap's beats), and the share of gaps whose
  density falls in the class's third of the checkpoint's density_bounds (the training corpus's);
- key: the share of the new pitched notes whose pitch class lies in KEY's scale (harmonic minor for
  a minor key, as guidance's), beside the same share without the ask;
- range: the share of the new pitched notes within LO-HI, beside the same share without the ask.

    bench/infill_controls.py CHECKPOINT --held DIR [--bars 9-12] [--seeds 1,2] [--key "F# major"]
                             [--pitch-range 60-76] [--bin build/bin] [--jobs 2] [--composer-args "..."]
A benchmark, not a test: the checkpoint must be trained with --infill-rate and --controls density.
"""
import argparse
import concurrent.futures
import json
import os
import re
import struct
import subprocess
import sys
import tempfile

NAMES = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}
MAJOR, HARMONIC_MINOR = [0, 2, 4, 5, 7, 9, 11], [0, 2, 3, 5, 7, 8, 11]


def scale_of(key):
    """'F# major' or 'D minor' as the set of its scale's pitch classes."""
    m = re.fullmatch(r"\s*([A-Ga-g])([#b]?)\s*(major|minor)\s*", key)
    if not m:
        sys.exit(f"infill_controls: --key {key}: give e.g. 'F# major' or 'D minor'")
    tonic = (NAMES[m.group(1).lower()] + {"#": 1, "b": -1, "": 0}[m.group(2)]) % 12
    return {(tonic + s) % 12 for s in (MAJOR if m.group(3) == "major" else HARMONIC_MINOR)}


def density_bounds(checkpoint):
    with open(checkpoint, "rb") as f:
        header = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
    bounds = json.loads(header["__metadata__"]["legato.config"]).get("density_bounds")
    if not bounds or len(bounds) != 2:
        sys.exit("infill_controls: the checkpoint has no density_bounds (trainer --controls density)")
    return bounds


def fill(args, piece, seed, extra, work):
    """(new notes as (pitch, is_drum), the gap's beats) of one composer --infill run; None if refused."""
    out = os.path.join(work, f"{os.path.basename(piece)}_{seed}_{abs(hash(tuple(extra)))}.mid")
    run = subprocess.run([os.path.join(args.bin, "composer"), "--checkpoint", args.checkpoint, "--infill", piece,
                          "--bars", args.bars, "--seed", str(seed), "--out", out] + extra,
                         capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    gap = re.search(r"infilled grid steps (\d+)-(\d+)", run.stdout)
    if run.returncode != 0 or not gap:
        print(f"# {os.path.basename(piece)}: {(run.stderr or run.stdout).strip()[:200]}", file=sys.stderr)
        return None
    start, end = int(gap.group(1)) / 12, int(gap.group(2)) / 12  # grid steps: 12 a quarter
    table = subprocess.run([os.path.join(args.bin, "miditool"), "notes", out], capture_output=True, text=True,
                           check=True).stdout.splitlines()[1:]
    notes = []
    for line in table:
        f = line.split("\t")
        if start - 1e-6 <= float(f[4]) < end - 1e-6:
            notes.append((int(f[1]), f[12] == "1"))
    return notes, end - start


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("checkpoint")
    p.add_argument("--held", required=True, help="folder of held-out MIDI files")
    p.add_argument("--bars", default="9-12")
    p.add_argument("--seeds", default="1,2")
    p.add_argument("--key", default="F# major")
    p.add_argument("--pitch-range", default="60-76")
    p.add_argument("--bin", default="build/bin")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--composer-args", default="", help="more composer options for every run (e.g. --density-strength 10)")
    args = p.parse_args()
    bounds = density_bounds(args.checkpoint)
    scale, (lo, hi) = scale_of(args.key), map(int, args.pitch_range.split("-"))
    pieces = sorted(os.path.join(args.held, f) for f in os.listdir(args.held) if f.lower().endswith((".mid", ".midi")))
    configs = {"none": [], "low": ["--density", "low"], "mid": ["--density", "mid"], "high": ["--density", "high"],
               "key": ["--key", args.key], "range": ["--pitch-range", args.pitch_range]}
    configs = {c: a + args.composer_args.split() for c, a in configs.items()}
    runs = [(c, piece, int(s)) for c in configs for piece in pieces for s in args.seeds.split(",")]
    with tempfile.TemporaryDirectory() as work, concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda r: (r[0], fill(args, r[1], r[2], configs[r[0]], work)), runs))
    per = {c: [r for k, r in results if k == c and r is not None] for c in configs}
    print(f"# {args.checkpoint}, {len(pieces)} pieces x seeds {args.seeds}, bars {args.bars}; "
          f"density thirds {bounds[0]:.2f} | {bounds[1]:.2f} notes per beat")
    print("config\tgaps\tnotes/beat\tin low\tin mid\tin high\tin key\tin range")
    for c, rs in per.items():
        dens = [len(n) / beats for n, beats in rs]
        pitched = [pitch for n, _ in rs for pitch, drum in n if not drum]
        third = [sum(1 for d in dens if k == (0 if d < bounds[0] else 1 if d <= bounds[1] else 2)) / max(1, len(dens))
                 for k in range(3)]
        in_key = sum(1 for q in pitched if q % 12 in scale) / max(1, len(pitched))
        in_range = sum(1 for q in pitched if lo <= q <= hi) / max(1, len(pitched))
        print(f"{c}\t{len(rs)}\t{sum(dens) / max(1, len(dens)):.2f}\t{third[0]:.2f}\t{third[1]:.2f}\t{third[2]:.2f}"
              f"\t{in_key:.3f}\t{in_range:.3f}")


if __name__ == "__main__":
    main()
