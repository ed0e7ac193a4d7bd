#!/usr/bin/env python3
"""Does composer --infill keep the rest of the file? (issue 27 section 1; docs/infill.md)

For each MIDI file: composer --infill FILE --bars A-B, then
- every note whose onset lies outside the gap (the grid steps composer reports) must come back
  with the same pitch, ticks, velocity, program, channel and track (`miditool notes`);
- every event but notes and ends of track must come back in the same track at the same tick
  (read with mido, a parser of its own), except program changes added inside the gap (where a
  new note's channel plays another program at its onset).
Files composer declines (a gap past the music's end) are counted apart; a file the reader had to
repair is written anew by design and reported as such.

    bench/infill_keeps_file.py CHECKPOINT FILE|FOLDER... [--bars 9-12] [--bin build/bin] [--seed 1]
"""
import argparse
import collections
import csv
import io
import os
import re
import subprocess
import sys
import tempfile

import mido


def ticks_per_quarter(miditool, path):
    """As the reader counts them: the division, or for SMPTE half the ticks per second (120 bpm)."""
    info = subprocess.run([miditool, "info", path], capture_output=True, text=True, check=True).stdout
    smpte = re.search(r"SMPTE, (\d+) ticks per second", info)
    return int(smpte.group(1)) // 2 if smpte else int(re.search(r"(\d+) ticks per quarter", info).group(1))


def notes_outside(miditool, path, gap, division):
    out = subprocess.run([miditool, "notes", path], capture_output=True, text=True, check=True).stdout
    kept = collections.Counter()
    for row in csv.DictReader(io.StringIO(out), delimiter="\t"):
        step = (int(row["start_tick"]) * 12 * 2 + division) // (2 * division)  # the grid step, rounded
        if not gap[0] <= step < gap[1]:
            kept[tuple(row[k] for k in ("pitch", "start_tick", "end_tick", "velocity", "program", "channel",
                                        "track", "is_drum"))] += 1
    return kept


def other_events(path):
    events = collections.Counter()
    for index, track in enumerate(mido.MidiFile(path).tracks):
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type not in ("note_on", "note_off", "end_of_track"):
                events[(index, tick, str(msg.copy(time=0)))] += 1
    return events


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint")
    ap.add_argument("files", nargs="+")
    ap.add_argument("--bars", default="9-12")
    ap.add_argument("--bin", default="build/bin")
    ap.add_argument("--seed", default="1")
    args = ap.parse_args()
    files = []
    for f in args.files:
        files += sorted(os.path.join(f, n) for n in os.listdir(f) if n.lower().endswith((".mid", ".midi"))) \
            if os.path.isdir(f) else [f]
    counts = collections.Counter()
    with tempfile.TemporaryDirectory() as work:
        for path in files:
            out = os.path.join(work, "filled.mid")
            run = subprocess.run([os.path.join(args.bin, "composer"), "--checkpoint", args.checkpoint, "--infill", path,
                                  "--bars", args.bars, "--seed", args.seed, "--out", out], capture_output=True, text=True)
            name = os.path.basename(path)
            if run.returncode != 0:
                counts["declined"] += 1
                print(f"{name}: declined: {(run.stdout + run.stderr).strip().splitlines()[-1]}")
                continue
            gap = tuple(map(int, re.search(r"grid steps (\d+)-(\d+)", run.stdout).groups()))
            if "written anew" in run.stdout:
                counts["written anew"] += 1
                print(f"{name}: written anew (the reader repaired it)")
                continue
            division = ticks_per_quarter(os.path.join(args.bin, "miditool"), path)
            lost = notes_outside(os.path.join(args.bin, "miditool"), path, gap, division) - \
                notes_outside(os.path.join(args.bin, "miditool"), out, gap, division)
            before, after = other_events(path), other_events(out)
            missing = before - after
            added = after - before
            ticks = (gap[0] * division // 12, gap[1] * division // 12)
            stray = [e for e in added if "program_change" not in e[2] or not ticks[0] <= e[1] < ticks[1]]
            ok = not lost and not missing and not stray
            counts["kept" if ok else "CHANGED"] += 1
            print(f"{name}: {'kept' if ok else 'CHANGED'}: {sum(lost.values())} notes outside the gap lost, "
                  f"{sum(missing.values())} other events lost, {sum(added.values())} added "
                  f"({len(stray)} not a program change inside the gap)")
    print("files: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
    return 1 if counts["CHANGED"] else 0


if __name__ == "__main__":
    sys.exit(main())
