#!/usr/bin/env python3
"""Each gap against its own original bars (issue 27 section 3; quality.md, session 11): the pairs
that bench/infill_quality.py's set comparison does not look at.

infill_quality.py compares the set of infilled excerpts (a) and the set of continued ones (b) with
the set of original bars (c), feature by feature (MGEval's overlapped area): a middle that fits the
bars around its own gap and one that fits some other gap score alike there, as long as the sets'
distributions agree. Here each excerpt is compared with the original bars of its own gap instead:
per feature, the distance |f(x) - f(c)| (L1 for the histograms and the matrices), divided by the
feature's mean distance over all the pairs of both kinds so that features can be averaged; per gap,
the mean over features and alternatives. Reported: per feature the mean normalised distance of (a)
and (b) and in how many gaps (a)'s is the smaller, and the same over all features, with the sign
test's two-sided p (exact binomial, ties left out). A lower distance is nearer the gap's own bars.
Beside them, as the measure's control, the continuations against the original bars of a gap of
another piece: how far apart bars that do not belong together are on the same scale.

    bench/infill_paired.py KEEP_DIR... [--bin build/bin]
KEEP_DIR: the folder of a run of bench/infill_quality.py --keep (its *_gap.mid excerpts).
"""
import argparse
import json
import math
import os
import re
import subprocess
import sys
from collections import defaultdict


def features(bin_dir, paths):
    """{path: {feature: value}} by miditool stats --json (one JSON object per line)."""
    out = subprocess.run([os.path.join(bin_dir, "miditool"), "stats", "--json"] + paths, capture_output=True, text=True,
                         check=True).stdout
    by_name = {}
    for line in out.splitlines():
        if line.startswith("{"):
            row = json.loads(line)
            by_name[os.path.basename(row.pop("file"))] = row
    return {p: by_name[os.path.basename(p)] for p in paths if os.path.basename(p) in by_name}


def distance(x, y):
    if isinstance(x, list):
        return sum(distance(a, b) for a, b in zip(x, y))
    if x is None or y is None or (isinstance(x, float) and math.isnan(x)) or (isinstance(y, float) and math.isnan(y)):
        return None
    return abs(float(x) - float(y))


def gaps_of(folder):
    """{(folder, piece, first bar): {"c": path, "a": [paths], "b": [paths]}}"""
    gaps = defaultdict(lambda: {"c": None, "a": [], "b": []})
    for name in sorted(os.listdir(folder)):
        m = re.fullmatch(r"(.+?)(?:\.midi?)?_(\d+)_(original|both|before)(?:_(\d+))?_gap\.mid", name, re.I)
        if not m:
            continue
        key = (folder, m.group(1), int(m.group(2)))
        kind = {"original": "c", "both": "a", "before": "b"}[m.group(3)]
        if kind == "c":
            gaps[key]["c"] = os.path.join(folder, name)
        else:
            gaps[key][kind].append(os.path.join(folder, name))
    return {k: v for k, v in gaps.items() if v["c"] and v["a"] and v["b"]}


def sign_test(wins, losses):
    n, k = wins + losses, min(wins, losses)
    if n == 0:
        return float("nan")
    return min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folders", nargs="+", help="folders written by bench/infill_quality.py --keep")
    p.add_argument("--bin", default="build/bin")
    args = p.parse_args()
    gaps = {}
    for folder in args.folders:
        gaps.update(gaps_of(folder))
    if not gaps:
        sys.exit("infill_paired.py: no gap with its original, infilled and continued excerpts in " + " ".join(args.folders))
    paths = [g["c"] for g in gaps.values()] + [p for g in gaps.values() for p in g["a"] + g["b"]]
    f = {}
    for k in range(0, len(paths), 200):
        f.update(features(args.bin, paths[k:k + 200]))
    names = sorted({n for row in f.values() for n in row})
    # The control: each gap's continuations against the original bars of a gap of another piece (the
    # next such gap in order), which says how far apart bars that do not belong together are.
    keys = sorted(gaps)
    other = {k: next((j for j in keys[i + 1:] + keys[:i] if j[:2] != k[:2]), k) for i, k in enumerate(keys)}
    # raw[feature][gap][kind]: the mean distance of the kind's alternatives to the gap's original
    raw = defaultdict(dict)
    for n in names:
        for key, g in gaps.items():
            c = f[g["c"]].get(n)
            per = {}
            for kind in ("a", "b", "x"):
                c = f[gaps[other[key]]["c"] if kind == "x" else g["c"]].get(n)
                ds = [distance(f[x].get(n), c) for x in g["b" if kind == "x" else kind] if x in f]
                ds = [d for d in ds if d is not None]
                if ds:
                    per[kind] = sum(ds) / len(ds)
            if len(per) == 3:
                raw[n][key] = per
    print(f"{len(gaps)} gaps from {len(args.folders)} folders; distance to the gap's own original bars, "
          f"divided by the feature's mean over both kinds (lower is nearer)")
    print("\n| feature | gaps | (a) infilled | (b) continued | (a) nearer | sign test p | (b) against another piece's gap |"
          "\n|---|---|---|---|---|---|---|")
    per_gap = defaultdict(lambda: {"a": [], "b": [], "x": []})
    for n in names:
        rows = raw[n]
        scale = sum(v["a"] + v["b"] for v in rows.values()) / (2 * len(rows)) if rows else 0
        if not rows or scale == 0:
            continue
        wins = sum(1 for v in rows.values() if v["a"] < v["b"])
        losses = sum(1 for v in rows.values() if v["a"] > v["b"])
        mean_a = sum(v["a"] for v in rows.values()) / len(rows) / scale
        mean_b = sum(v["b"] for v in rows.values()) / len(rows) / scale
        mean_x = sum(v["x"] for v in rows.values()) / len(rows) / scale
        print(f"| {n} | {len(rows)} | {mean_a:.3f} | {mean_b:.3f} | {wins} of {wins + losses} | "
              f"{sign_test(wins, losses):.3f} | {mean_x:.3f} |")
        for key, v in rows.items():
            for kind in ("a", "b", "x"):
                per_gap[key][kind].append(v[kind] / scale)
    da = {k: sum(v["a"]) / len(v["a"]) for k, v in per_gap.items()}
    db = {k: sum(v["b"]) / len(v["b"]) for k, v in per_gap.items()}
    dx = {k: sum(v["x"]) / len(v["x"]) for k, v in per_gap.items()}
    wins = sum(1 for k in da if da[k] < db[k])
    losses = sum(1 for k in da if da[k] > db[k])
    print(f"| **all features** | {len(da)} | **{sum(da.values()) / len(da):.3f}** | **{sum(db.values()) / len(db):.3f}** "
          f"| **{wins} of {wins + losses}** | {sign_test(wins, losses):.3f} | {sum(dx.values()) / len(dx):.3f} |")


if __name__ == "__main__":
    main()
