#!/usr/bin/env python3
"""Sums up bench/infill_quality.py's reports by configuration: over every file PREFIX_*.txt, the
mean OA of (a) infilled and (b) continued, their mean difference with its standard error, how many
measurements (a) won, and the same for the pitch-step OA at the seams after the gap and before it
(the gap's start, where the new notes must follow on from the old), and the timing OA after it.
With --features, each feature's OA the same way, one table per configuration.

    bench/infill_summary.py DIR PREFIX [PREFIX ...] [--features]
"""
import argparse
import glob
import os
import re
import statistics


def measurements(folder, prefix):
    out = []
    for path in sorted(glob.glob(os.path.join(folder, prefix + "_s*_seed*.txt"))):
        text = open(path).read()
        oa = re.search(r"\*\*mean OA\*\* \| \*\*([0-9.]+)\*\* \| \*\*([0-9.]+)\*\*", text)
        end_a = re.search(r"gap end: \(a\) infilled \| \d+ \| ([0-9.]+)", text)
        end_b = re.search(r"gap end: \(b\) continued \| \d+ \| ([0-9.]+)", text)
        start_a = re.search(r"gap start: \(a\) infilled \| \d+ \| ([0-9.]+)", text)
        start_b = re.search(r"gap start: \(b\) continued \| \d+ \| ([0-9.]+)", text)
        timing = [re.search(rf"gap end: \({k}\) \w+ \| \d+ \| [0-9.]+ \| [0-9.]+ \| ([0-9.]+)", text) for k in "ab"]
        if not (oa and end_a and end_b and start_a and start_b and all(timing)):
            raise SystemExit(f"infill_summary.py: {path} is not an infill_quality.py report")
        out.append(tuple(float(m.group(k)) for m, k in ((oa, 1), (oa, 2), (end_a, 1), (end_b, 1), (start_a, 1),
                                                          (start_b, 1), (timing[0], 1), (timing[1], 1))))
    return out


def features(folder, prefix):
    """Per feature, the (a) and (b) OA of each report."""
    out = {}
    for path in sorted(glob.glob(os.path.join(folder, prefix + "_s*_seed*.txt"))):
        for name, a, b in re.findall(r"^\| (\w+) \| ([0-9.]+) \| ([0-9.]+) \|$", open(path).read(), re.M):
            out.setdefault(name, []).append((float(a), float(b)))
    return out


def print_features(folder, prefix):
    print(f"\n{prefix}:\n\n| feature | n | OA (a) / (b) | (a) − (b) ± s.e. | (a) ahead |\n|---|---|---|---|---|")
    for name, pairs in sorted(features(folder, prefix).items()):
        diff = [a - b for a, b in pairs]
        se = statistics.stdev(diff) / len(diff) ** 0.5 if len(diff) > 1 else float("nan")
        print(f"| {name} | {len(pairs)} | {statistics.mean(a for a, _ in pairs):.3f} / "
              f"{statistics.mean(b for _, b in pairs):.3f} | {statistics.mean(diff):+.4f} ± {se:.4f} "
              f"| {sum(d > 0 for d in diff)} of {len(pairs)} |")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folder")
    p.add_argument("prefixes", nargs="+")
    p.add_argument("--features", action="store_true", help="each feature's OA too, a table per configuration")
    args = p.parse_args()
    print("| configuration | n | mean OA (a) / (b) | (a) − (b) ± s.e. | (a) ahead | gap end pitch step (a) / (b) "
          "| (a) ahead | gap start pitch step (a) / (b) | (a) ahead | gap end timing (a) / (b) | (a) ahead |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for prefix in args.prefixes:
        m = measurements(args.folder, prefix)
        if len(m) < 2:
            raise SystemExit(f"infill_summary.py: fewer than 2 reports {prefix}_s*_seed*.txt in {args.folder}")
        diff = [x[0] - x[1] for x in m]
        se = statistics.stdev(diff) / len(diff) ** 0.5
        print(f"| {prefix} | {len(m)} | {statistics.mean(x[0] for x in m):.3f} / {statistics.mean(x[1] for x in m):.3f} "
              f"| {statistics.mean(diff):+.4f} ± {se:.4f} | {sum(d > 0 for d in diff)} of {len(m)} "
              f"| {statistics.mean(x[2] for x in m):.3f} / {statistics.mean(x[3] for x in m):.3f} "
              f"| {sum(x[2] > x[3] for x in m)} of {len(m)} "
              f"| {statistics.mean(x[4] for x in m):.3f} / {statistics.mean(x[5] for x in m):.3f} "
              f"| {sum(x[4] > x[5] for x in m)} of {len(m)} "
              f"| {statistics.mean(x[6] for x in m):.3f} / {statistics.mean(x[7] for x in m):.3f} "
              f"| {sum(x[6] > x[7] for x in m)} of {len(m)} |")
    if args.features:
        for prefix in args.prefixes:
            print_features(args.folder, prefix)


if __name__ == "__main__":
    main()
