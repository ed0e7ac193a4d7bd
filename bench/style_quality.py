#!/usr/bin/env python3
"""Does composer --style S compose closer to S's held-out pieces than to the other styles'? (issue 27 §3)

For each style, composes N pieces with a checkpoint trained with --controls ...,style, then
compares them (miditool compare: MGEval's overlapped areas) against every style's held-out pieces,
and prints the mean OA of each pair and the features that differ most between a style's own
held-out set and the others'.

    bench/style_quality.py CHECKPOINT --held classical=DIR --held openmsx=DIR [--pieces 10]
                           [--seconds 150 | --seconds classical=155 --seconds openmsx=87] [--seed 1] [--bin build/bin]
                           [--train classical=DIR --train openmsx=DIR [--range-strength S]]

With --train STYLE=DIR for a style (its training pieces; files also in its --held folder are left out),
its pieces are composed with --pitch-range LO-HI, the style's range: the median over its training
pieces of their pitched notes' 5th and 95th percentiles (quality.md, 2026-12-07, style guidance).

Without --train, composer draws the range itself from the checkpoint's profile of the style (trainer
writes one per style: docs/controls.md), and without --seconds the length too; the line composer
says it in is printed under the style's.

The pieces are composed as long as a style's pieces are (--seconds: one length for all, or one per
style; none: the checkpoint's profile's, or composer's --length for a checkpoint without profiles): MGEval's n_notes, n_pitch_classes_used, n_pitches_used and pitch_range grow with a piece's
length, so 30-second pieces against pieces of 2 to 4 minutes score near 0 on the first two whatever
they sound like (quality.md, 2026-12-07).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile


def compare(miditool, pieces, held):
    out = subprocess.run([miditool, "compare", *pieces, "--against", held, "--json"], capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out)


def per_style(values, style, default):
    """A [STYLE=]VALUE option for `style`: its own STYLE=VALUE, else the one plain value, else `default`."""
    plain = [float(v) for v in values if "=" not in v]
    own = dict(v.split("=", 1) for v in values if "=" in v)
    return float(own[style]) if style in own else plain[-1] if plain else default


def seconds_of(args, style):
    """The seconds asked for `style`; None: composer's own (the style's profile's length)."""
    return per_style(args.seconds, style, None)


def percentile(values, share):
    """The value at `share` (0..1) of the sorted `values`, nearest rank."""
    return values[min(len(values) - 1, int(len(values) * share))]


def style_range(miditool, train, held):
    """The style's pitch range: the medians of its training pieces' 5th and 95th pitch percentiles."""
    lows, highs = [], []
    for name in sorted(os.listdir(train)):
        if not name.lower().endswith((".mid", ".midi")) or os.path.exists(os.path.join(held, name)):
            continue
        rows = subprocess.run([miditool, "notes", os.path.join(train, name)], capture_output=True, text=True,
                              check=True).stdout.splitlines()
        header = rows[0].split("\t")
        pitch, drum = header.index("pitch"), header.index("is_drum")
        pitches = sorted(int(r.split("\t")[pitch]) for r in rows[1:] if r.split("\t")[drum] == "0")
        if pitches:
            lows.append(percentile(pitches, 0.05))
            highs.append(percentile(pitches, 0.95))
    if not lows:
        sys.exit(f"style_quality.py: no pitched notes in the training pieces of {train}")
    return int(statistics.median(lows)), int(round(statistics.median(highs)))


def compose(args, style, folder, pitch_range):
    out = os.path.join(folder, f"{style}.mid")
    guided = ["--pitch-range", f"{pitch_range[0]}-{pitch_range[1]}"] if pitch_range else []
    for flag, values in (("--range-strength", args.range_strength), ("--style-key-strength", args.style_key_strength)):
        if per_style(values, style, None) is not None:  # --range-strength: the profile's range or --train's
            guided += [flag, f"{per_style(values, style, None):g}"]
    seconds = seconds_of(args, style)
    length = ["--seconds", f"{seconds:g}"] if seconds is not None else []
    said = subprocess.run([os.path.join(args.bin, "composer"), "--checkpoint", args.checkpoint, "--style", style,
                           "--num-outputs", str(args.pieces), *length, "--seed", str(args.seed), "--out", out, *guided],
                          capture_output=True, text=True, check=True).stdout
    profile = [line for line in said.splitlines() if line.startswith(f"style {style}'s profile: ")]
    pieces = [os.path.join(folder, f"{style}_{k + 1}.mid") for k in range(args.pieces)] if args.pieces > 1 else [out]
    return pieces, guided, profile


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoint")
    p.add_argument("--held", action="append", required=True, metavar="STYLE=DIR",
                   help="a style's held-out pieces (at least 2; give every style)")
    p.add_argument("--pieces", type=int, default=10, help="pieces per style")
    p.add_argument("--seconds", action="append", default=[], metavar="[STYLE=]SECONDS",
                   help="the pieces' length, for all styles or for one (default: composer's, the style's profile's)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--bin", default="build/bin")
    p.add_argument("--train", action="append", default=[], metavar="STYLE=DIR",
                   help="a style's training pieces: compose it with --pitch-range, the style's range")
    p.add_argument("--range-strength", action="append", default=[], metavar="[STYLE=]S",
                   help="composer's --range-strength, for all styles or for one (default: composer's)")
    p.add_argument("--style-key-strength", action="append", default=[], metavar="[STYLE=]S",
                   help="composer's --style-key-strength, for all styles or for one (default: composer's)")
    args = p.parse_args()
    held = dict(h.split("=", 1) for h in args.held if "=" in h)
    train = dict(t.split("=", 1) for t in args.train if "=" in t)
    if len(held) != len(args.held) or len(held) < 2:
        sys.exit("style_quality.py: give --held STYLE=DIR for two styles or more")
    if len(train) != len(args.train) or not set(train) <= set(held):
        sys.exit("style_quality.py: give --train STYLE=DIR only for styles given --held")
    miditool = os.path.join(args.bin, "miditool")
    ranges = {style: style_range(miditool, train[style], held[style]) for style in train}
    wins = 0
    with tempfile.TemporaryDirectory() as folder:
        for style in held:
            pieces, flags, profile = compose(args, style, folder, ranges.get(style))
            result = {h: compare(miditool, pieces, d) for h, d in held.items()}
            own, others = result[style], [result[h] for h in held if h != style]
            best_other = max(r["mean_oa"] for r in others)
            wins += own["mean_oa"] > best_other
            pairs = ", ".join(f"against {h} {r['mean_oa']:.3f}" for h, r in result.items())
            guided = "".join(f", {f} {v}" for f, v in zip(flags[::2], flags[1::2]))
            length = "the profile's length" if seconds_of(args, style) is None else f"{seconds_of(args, style):g} s"
            print(f"--style {style} ({length}{guided}): mean OA {pairs}: {'own' if own['mean_oa'] > best_other else 'OTHER'} higher")
            for line in profile:
                print(f"  composer: {line}")
            gaps = sorted(own["features"], key=lambda f: own["features"][f]["oa"] -
                          max(r["features"][f]["oa"] for r in others))
            for f in gaps[:3] + gaps[-3:]:
                other = max(r["features"][f]["oa"] for r in others)
                print(f"  {f:30s} own {own['features'][f]['oa']:.3f}  other {other:.3f}")
    print(f"styles: {wins}/{len(held)} closer to their own held-out pieces than to the others' "
          f"({args.pieces} pieces each, seed {args.seed})")


if __name__ == "__main__":
    main()
