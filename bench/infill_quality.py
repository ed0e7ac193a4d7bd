#!/usr/bin/env python3
"""Infilling against continuation (issue 27 section 3; docs/infill.md): for held-out pieces with
4 bars removed, compare (a) the bars infilled (composer --infill, both sides of the gap read),
(b) a continuation that reads only the bars before the gap (composer --infill --infill-sees
before: a plain continuation from the music before the gap, held to end exactly at the gap's end),
and (c) the original bars.

Reported: per MGEval feature the overlapped area (miditool compare --json) of the 4-bar excerpts
of (a) and of (b) against those of (c); and at both seams (the gap's start and its end) the pitch
step of the top voice (highest pitched note at the last onset before the seam to that at the first
onset at or after it, in semitones) and the timing (beats from that last onset to that first
one), as the overlapped area of their histograms with the same quantities at every bar line of
the real held-out pieces (the reference; "real at the gaps" is the original pieces at the same
seams: what music that belongs there scores with this many samples). Pitch-step bins: one per
semitone from -12 to +12, and one for each side beyond; timing bins: a sixteenth note wide up to
2 beats, and one beyond. Mean |pitch step| and mean timing stand beside each for reading.

    bench/infill_quality.py CHECKPOINT --held DIR [--gaps 9,17,25] [--gap-bars 4] [--alternatives 2]
                            [--seed 1] [--bin build/bin] [--keep DIR]
                            [--composer-args "OPTIONS for (a) and (b)"] [--infill-args "OPTIONS for (a) alone"]
                            [--continue-args "OPTIONS for (b) alone"]
"""
import argparse
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
from collections import Counter

TICKS = 480  # the excerpts' resolution


def run(args, check=True):
    return subprocess.run(args, capture_output=True, text=True, check=check).stdout


def notes_of(bin_dir, path):
    """(onset beat, end beat, pitch, program, channel, is_drum) per note."""
    out = run([os.path.join(bin_dir, "miditool"), "notes", path])
    notes = []
    for line in out.splitlines()[1:]:
        f = line.split("\t")
        notes.append((float(f[4]), float(f[5]), int(f[1]), int(f[9]), int(f[10]), f[12] == "1"))
    return notes


def bar_lines(bin_dir, path):
    """The beats (quarter notes) each bar starts at, from the file's meters (4/4 without one), and
    the piece's mean seconds per beat (the excerpts' tempo)."""
    out = run([os.path.join(bin_dir, "miditool"), "info", path])
    per_quarter = int(re.search(r"^division\s+(\d+)", out, re.M).group(1))
    seconds, length = map(float, re.search(r"([0-9.]+) s, ([0-9.]+) quarter notes", out).groups())
    meters = [(int(t) / per_quarter, int(n), int(d)) for t, n, d in re.findall(r"tick (\d+)\s+(\d+)/(\d+)\s*$", out, re.M)]
    lines, beat = [], 0.0
    while beat < length:
        lines.append(beat)
        current = [m for m in sorted(meters) if m[0] <= beat + 1e-9] or [(0.0, 4, 4)]
        beat += 4.0 * current[-1][1] / current[-1][2]
    return lines, seconds / length


def vlq(value):
    out = [value & 0x7F]
    while value > 0x7F:
        value >>= 7
        out.insert(0, (value & 0x7F) | 0x80)
    return bytes(out)


def write_excerpt(path, notes, start, end, seconds_per_beat):
    """The notes with onsets in [start, end), moved to 0 and cut at `end`, as a one-track MIDI file."""
    events = [(0, 0, b"\xff\x51\x03" + round(seconds_per_beat * 1e6).to_bytes(3, "big"))]
    for channel, program in sorted({(n[4], n[3]) for n in notes if start <= n[0] < end and not n[5]}):
        events.append((0, 1, bytes([0xC0 | channel, program])))
    for b0, b1, pitch, _, channel, _ in notes:
        if start <= b0 < end:
            on, off = round((b0 - start) * TICKS), round((min(b1, end) - start) * TICKS)
            events.append((on, 3, bytes([0x90 | channel, pitch, 80])))
            events.append((max(off, on + 1), 2, bytes([0x80 | channel, pitch, 0])))
    track, now = b"", 0
    for tick, _, data in sorted(events, key=lambda e: (e[0], e[1])):
        track += vlq(tick - now) + data
        now = tick
    track += vlq(0) + b"\xff\x2f\x00"
    with open(path, "wb") as f:
        f.write(b"MThd" + struct.pack(">IHHH", 6, 0, 1, TICKS) + b"MTrk" + struct.pack(">I", len(track)) + track)


def seam(notes, at):
    """(pitch step, timing) of the top voice across beat `at`; None without notes on both sides."""
    onsets = {}
    for b0, _, pitch, _, _, drum in notes:
        if not drum:
            onsets[b0] = max(pitch, onsets.get(b0, -1))
    before = [b for b in onsets if b < at - 1e-9]
    after = [b for b in onsets if b >= at - 1e-9]
    if not before or not after:
        return None
    last, first = max(before), min(after)
    return onsets[first] - onsets[last], first - last


def histogram(values, edges_of):
    counts = Counter(edges_of(v) for v in values)
    return {k: c / len(values) for k, c in counts.items()}


def overlap(a, b, edges_of):
    if not a or not b:
        return float("nan")
    ha, hb = histogram(a, edges_of), histogram(b, edges_of)
    return sum(min(ha.get(k, 0), hb.get(k, 0)) for k in set(ha) | set(hb))


def step_bin(step):
    return max(-13, min(13, step))


def timing_bin(beats):
    return min(8, int(beats * 4 + 1e-9))  # sixteenths up to 2 beats, then one bin


def infill(args, folder, piece, first, mode):
    """composer --infill for bars first..first+gap-1: the gap in beats and the written files."""
    name = f"{os.path.splitext(os.path.basename(piece))[0]}_{first}_{mode}"
    out = os.path.join(folder, name + ".mid")
    last = first + args.gap_bars - 1
    extra = args.composer_args.split() + (args.infill_args if mode == "both" else args.continue_args).split()
    text = run([os.path.join(args.bin, "composer"), "--checkpoint", args.checkpoint, "--infill", piece, "--bars",
                f"{first}-{last}", "--infill-sees", mode, "--seed", str(args.seed), "--num-outputs",
                str(args.alternatives), "--out", out] + extra)
    m = re.search(r"infilled grid steps (\d+)-(\d+)", text)
    files = [out] if args.alternatives == 1 else [os.path.join(folder, f"{name}_{k + 1}.mid")
                                                   for k in range(args.alternatives)]
    return int(m.group(1)) / 12.0, int(m.group(2)) / 12.0, files


def gaps_of(args, piece, lines):
    """The gaps' first bars that the piece has room for: the gap and 4 bars after it."""
    return [g for g in (int(x) for x in args.gaps.split(",")) if g + args.gap_bars + 4 <= len(lines)]


def measure(args, folder):
    kinds = {"a": "both", "b": "before"}
    seams = {k: ([], []) for k in ("a", "b", "c")}  # kind -> (at the gap's start, at its end)
    excerpts = {k: [] for k in seams}
    quarters = {k: [] for k in seams}  # kind -> per gap, its notes in each quarter of it
    reference, gaps = [], []
    pieces = sorted(os.path.join(args.held, n) for n in os.listdir(args.held) if n.lower().endswith((".mid", ".midi")))
    for piece in pieces:
        lines, seconds_per_beat = bar_lines(args.bin, piece)
        original = notes_of(args.bin, piece)
        reference += [s for s in (seam(original, b) for b in lines[1:]) if s]
        for first in gaps_of(args, piece, lines):
            for kind, mode in kinds.items():
                start, end, files = infill(args, folder, piece, first, mode)
                for path in files:
                    notes = notes_of(args.bin, path)
                    for side, at in enumerate((start, end)):
                        seams[kind][side].append(seam(notes, at))
                    quarters[kind].append(by_quarter(notes, start, end))
                    excerpts[kind].append(path[:-4] + "_gap.mid")
                    write_excerpt(excerpts[kind][-1], notes, start, end, seconds_per_beat)
            gaps.append(f"{os.path.basename(piece)} bars {first}-{first + args.gap_bars - 1} (beats {start:g}-{end:g})")
            for side, at in enumerate((start, end)):
                seams["c"][side].append(seam(original, at))
            quarters["c"].append(by_quarter(original, start, end))
            excerpts["c"].append(os.path.join(folder, f"{os.path.basename(piece)}_{first}_original_gap.mid"))
            write_excerpt(excerpts["c"][-1], original, start, end, seconds_per_beat)
    return seams, excerpts, reference, gaps, quarters


def by_quarter(notes, start, end):
    """The notes with onsets in each quarter of [start, end): a middle that crowds its end shows here."""
    counts = [0] * 4
    for b0, *_ in notes:
        if start <= b0 < end:
            counts[min(3, int((b0 - start) / (end - start) * 4))] += 1
    return counts


def compare(args, generated, reference):
    out = run([os.path.join(args.bin, "miditool"), "compare", "--json"] + generated + ["--against"] + reference)
    return json.loads(out)


def seam_row(label, values, reference):
    found = [v for v in values if v]
    steps, timings = [s for s, _ in found], [t for _, t in found]
    ref_steps, ref_timings = [s for s, _ in reference], [t for _, t in reference]
    return (f"| {label} | {len(found)} | {overlap(steps, ref_steps, step_bin):.3f} | "
            f"{sum(abs(s) for s in steps) / max(len(steps), 1):.2f} | {overlap(timings, ref_timings, timing_bin):.3f} | "
            f"{sum(timings) / max(len(timings), 1):.2f} |")


def report(args, seams, excerpts, reference, gaps, quarters):
    print(f"checkpoint {args.checkpoint}; {len(gaps)} gaps of {args.gap_bars} bars, {args.alternatives} "
          f"alternatives each (seed {args.seed}); composer options: (a) and (b) [{args.composer_args}], "
          f"(a) [{args.infill_args}], (b) [{args.continue_args}]:")
    for g in gaps:
        print(f"  {g}")
    oa = {k: compare(args, excerpts[k], excerpts["c"]) for k in ("a", "b")}
    print("\n| feature | (a) infilled vs (c) | (b) continued vs (c) |\n|---|---|---|")
    for feature in sorted(oa["a"]["features"]):
        print(f"| {feature} | {oa['a']['features'][feature]['oa']:.3f} | {oa['b']['features'][feature]['oa']:.3f} |")
    print(f"| **mean OA** | **{oa['a']['mean_oa']:.3f}** | **{oa['b']['mean_oa']:.3f}** |")
    ref_steps = [s for s, _ in reference]
    print(f"\nseams against the real pieces' bar lines ({len(reference)} seams; mean |pitch step| "
          f"{sum(abs(s) for s in ref_steps) / len(ref_steps):.2f}, mean timing "
          f"{sum(t for _, t in reference) / len(reference):.2f} beats)")
    print("\n| seam | n | pitch step OA | mean abs pitch step | timing OA | mean timing (beats) |\n|---|---|---|---|---|---|")
    labels = {"a": "(a) infilled", "b": "(b) continued", "c": "(c) real at the gaps"}
    for side, where in enumerate(("gap start", "gap end")):
        for k in ("a", "b", "c"):
            print(seam_row(f"{where}: {labels[k]}", seams[k][side], reference))
    print("\n| notes per gap | 1st quarter | 2nd | 3rd | 4th |\n|---|---|---|---|---|")
    for k in ("a", "b", "c"):
        means = [sum(q[i] for q in quarters[k]) / max(len(quarters[k]), 1) for i in range(4)]
        print(f"| {labels[k]} | " + " | ".join(f"{m:.1f}" for m in means) + " |")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoint", help="a checkpoint trained with --infill-rate")
    p.add_argument("--held", required=True, help="folder of held-out MIDI pieces (the run's validation pieces)")
    p.add_argument("--gaps", default="9,17,25", help="the gaps' first bars, in every piece long enough")
    p.add_argument("--gap-bars", type=int, default=4)
    p.add_argument("--alternatives", type=int, default=2, help="compositions per gap and kind (--num-outputs)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--bin", default="build/bin")
    p.add_argument("--composer-args", default="", help="more composer options for (a) and (b) alike, e.g. "
                   "\"--infill-overshoot forbid\"")
    p.add_argument("--infill-args", default="", help="more composer options for (a) only, those that read what "
                   "follows the gap, e.g. \"--infill-candidates 4\"")
    p.add_argument("--continue-args", default="", help="more composer options for (b) only, e.g. \"--infill-range "
                   "before\" beside (a)'s \"--infill-range around\"")
    p.add_argument("--keep", help="write the compositions and excerpts into this folder (default: a temporary one)")
    args = p.parse_args()
    if not os.path.isdir(args.held):
        sys.exit(f"infill_quality.py: --held {args.held}: not a folder")
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
        report(args, *measure(args, args.keep))
        return
    with tempfile.TemporaryDirectory() as folder:
        report(args, *measure(args, folder))


if __name__ == "__main__":
    try:
        main()
    except subprocess.CalledProcessError as e:
        last = (e.stderr or "").strip().splitlines()[-1:] or ["no message"]
        sys.exit(f"infill_quality.py: {' '.join(e.cmd[:2])} failed: {last[0]}")
