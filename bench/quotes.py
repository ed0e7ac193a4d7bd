#!/usr/bin/env python3
"""Generalisation (issue 27 section 3): the share of 16-note melodic stretches of some pieces that
occur verbatim in a training piece, as pitch intervals (so that a transposed quote counts).

A piece's melody here: for each part (track and channel, drums left out), its highest note at
each onset, in time order (the skyline); a stretch is 16 consecutive such notes, compared by their
15 intervals. Held-out pieces measured the same way say how much real music quotes the training
pieces by chance or by idiom.

    bench/quotes.py --train TRAIN_FILES_OR_DIRS... --pieces MIDI... [--length 16] [--miditool build/bin/miditool]
"""
import argparse
import os
import subprocess
from collections import defaultdict


def midi_files(paths):
    for p in paths:
        if os.path.isdir(p):
            for root, _, names in os.walk(p):
                yield from (os.path.join(root, n) for n in sorted(names) if n.lower().endswith((".mid", ".midi")))
        else:
            yield p


def melodies(miditool, path):
    out = subprocess.run([miditool, "notes", path], capture_output=True, text=True, check=True).stdout
    parts = defaultdict(dict)  # (track, channel) -> onset tick -> highest pitch
    for line in out.splitlines()[1:]:
        f = line.split("\t")
        if len(f) < 13 or f[12] == "1":
            continue
        key, tick, pitch = (f[11], f[10]), int(f[6]), int(f[1])
        parts[key][tick] = max(pitch, parts[key].get(tick, -1))
    return [[p for _, p in sorted(onsets.items())] for onsets in parts.values()]


def stretches(miditool, path, length):
    found = []
    for melody in melodies(miditool, path):
        steps = [b - a for a, b in zip(melody, melody[1:])]
        found += [tuple(steps[k:k + length - 1]) for k in range(len(steps) - length + 2)]
    return found


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--train", nargs="+", required=True)
    p.add_argument("--pieces", nargs="+", required=True)
    p.add_argument("--length", type=int, default=16)
    p.add_argument("--miditool", default="build/bin/miditool")
    a = p.parse_args()
    train = set()
    pieces = set(os.path.abspath(x) for x in midi_files(a.pieces))
    for f in midi_files(a.train):
        if os.path.abspath(f) not in pieces:  # a piece never counts as its own training piece
            train.update(stretches(a.miditool, f, a.length))
    quoted = total = 0
    for f in sorted(pieces):
        s = stretches(a.miditool, f, a.length)
        q = sum(x in train for x in s)
        quoted, total = quoted + q, total + len(s)
        print(f"{os.path.basename(f)}: {q}/{len(s)} stretches found in a training piece")
    print(f"all: {quoted}/{total} = {100 * quoted / max(total, 1):.1f}% of {a.length}-note stretches quoted")


if __name__ == "__main__":
    main()
