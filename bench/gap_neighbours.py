#!/usr/bin/env python3
"""What the bars beside a gap tell of it, in real pieces (quality.md, session 11): for every gap of
4 bars of 4/4 starting at the given bars of each held-out piece (with notes in it and in the 4 bars
on each side), how well the bars before it alone, and the bars before and after it together,
predict its notes per beat (mean absolute error of their mean density) and its pitch classes (how
many of the gap's are missing from theirs). What an infilling could gain over a continuation by
reading the suffix.

    bench/gap_neighbours.py HELD_DIR... [--gaps 9,17,25] [--bin build/bin]
"""
import argparse
import os
import subprocess
import sys


def notes_of(bin_dir, path):
    """(onset beat, pitch, is_drum) per note, by miditool notes."""
    out = subprocess.run([os.path.join(bin_dir, "miditool"), "notes", path], capture_output=True, text=True,
                         check=True).stdout
    return [(float(f[4]), int(f[1]), f[12] == "1") for f in (line.split("\t") for line in out.splitlines()[1:])]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("held", nargs="+", help="folders of held-out MIDI pieces")
    p.add_argument("--gaps", default="9,17,25", help="the gaps' first bars")
    p.add_argument("--bin", default="build/bin")
    args = p.parse_args()
    rows = []
    for folder in args.held:
        for name in sorted(os.listdir(folder)):
            if not name.lower().endswith((".mid", ".midi")):
                continue
            notes = notes_of(args.bin, os.path.join(folder, name))
            for first in (int(g) for g in args.gaps.split(",")):
                a, b = (first - 1) * 4, (first + 3) * 4

                def density(x, y):
                    return sum(1 for n in notes if x <= n[0] < y) / (y - x)

                def classes(x, y):
                    return {n[1] % 12 for n in notes if x <= n[0] < y and not n[2]}

                gap, before, after = density(a, b), density(a - 16, a), density(b, b + 16)
                if gap == 0 or before == 0 or after == 0:
                    continue
                in_gap, in_before, in_after = classes(a, b), classes(a - 16, a), classes(b, b + 16)
                rows.append((abs(gap - before), abs(gap - (before + after) / 2), len(in_gap),
                             len(in_gap - in_before), len(in_gap - (in_before | in_after)), len(in_before),
                             len(in_before | in_after)))
    if not rows:
        sys.exit("gap_neighbours.py: no gap with notes in it and on both sides")
    n = len(rows)
    print(f"{n} gaps of 4 bars (4/4) in {len(args.held)} folder(s)")
    print(f"notes per beat, mean absolute error: bars before {sum(r[0] for r in rows) / n:.2f}, "
          f"bars before and after {sum(r[1] for r in rows) / n:.2f}")
    print(f"pitch classes: {sum(r[2] for r in rows) / n:.2f} in a gap, of them not in the bars before "
          f"{sum(r[3] for r in rows) / n:.2f} (of their {sum(r[5] for r in rows) / n:.2f}), not in the bars before and "
          f"after {sum(r[4] for r in rows) / n:.2f} (of their {sum(r[6] for r in rows) / n:.2f})")


if __name__ == "__main__":
    main()
