#!/usr/bin/env python3
"""Does the network read the suffix? (issue 27 section 3; quality.md, session 11.) For gaps of 4
bars (bars 9-12 and 17-20 of each held-out piece) the cross-entropy, in nats per token, of the gap's
original notes (its note, duration and shift tokens) as the middle after:

  (A) its own suffix and the prefix, in the checkpoint's infilling layout;
  (B) the suffix of a gap of another piece and the same prefix;
  (C) the prefix alone, read plainly (what a continuation reads).

A network that uses the suffix predicts the original middle better after its own suffix than after
another's (A below B); one that ignores it scores them alike. With --tail N only the middle's last N
tokens are scored (those just before the gap's end, where the suffix should help most).

The layouts come from composer itself (--tokens-out of composer --infill: what the network reads),
so they are the checkpoint's own; the original middle is what composer reads, for the gap four bars
later, as the end of its prefix. Needs the Python module (build/python) and NumPy.

    bench/infill_nll.py CHECKPOINT --held DIR [--bin build/bin] [--prefix-tokens 200] [--tail N]
"""
import argparse
import os
import subprocess
import sys
import tempfile

SENTINELS = ("<suffix>", "<prefix>", "<middle>")


def read_by_composer(args, piece, first, work):
    """The suffix and prefix tokens composer lays out for bars first..first+3 (None if refused), and
    which side comes first ("psm" or "spm")."""
    tokens = os.path.join(work, "tokens.txt")
    run = subprocess.run([os.path.join(args.bin, "composer"), "--checkpoint", args.checkpoint, "--infill", piece,
                          "--bars", f"{first}-{first + 3}", "--seed", "1", "--out", os.path.join(work, "x.mid"),
                          "--tokens-out", tokens, "--infill-prefix-tokens", "100000"],
                         capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    if run.returncode != 0:
        return None
    t = open(tokens).read().split()
    marks = sorted((t.index(s), s) for s in SENTINELS)
    part = {s: t[i + 1:marks[k + 1][0]] for k, (i, s) in enumerate(marks[:-1])}
    return part["<suffix>"], part["<prefix>"], "psm" if marks[0][1] == "<prefix>" else "spm"


def gaps_of(args, work):
    """(suffix, prefix, original middle, layout) per gap."""
    gaps = []
    for name in sorted(os.listdir(args.held)):
        piece = os.path.join(args.held, name)
        for first in (9, 17):
            this, later = read_by_composer(args, piece, first, work), read_by_composer(args, piece, first + 4, work)
            if not this or not later:
                continue
            suffix, prefix, layout = this
            n = len(prefix) - 1  # its last token may be a shift split at the gap's start
            if later[1][:n] != prefix[:n] or len(later[1]) - n < 20:
                continue
            gaps.append((suffix[:args.suffix_tokens], prefix, later[1][n:], layout))
    return gaps


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("checkpoint")
    p.add_argument("--held", required=True)
    p.add_argument("--bin", default="build/bin")
    p.add_argument("--prefix-tokens", type=int, default=200, help="tokens of the prefix read in (A) and (B)")
    p.add_argument("--suffix-tokens", type=int, default=100, help="tokens of the suffix read in (A) and (B)")
    p.add_argument("--tail", type=int, default=0, help="score only the middle's last N tokens (0: all)")
    args = p.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [os.path.join(args.bin, "..", "python"), os.path.join(here, "..", "build", "python")]
    import numpy as np
    import legato

    model = legato.load(args.checkpoint)
    ids = {t: i for i, t in enumerate(model.vocab)}
    with tempfile.TemporaryDirectory() as work:
        gaps = gaps_of(args, work)
    if len(gaps) < 2:
        sys.exit("infill_nll.py: fewer than two gaps found")

    def nats(context, middle):
        seq = [ids[t] for t in context + middle]
        z = model.logits(seq)
        top = z.max(1, keepdims=True)
        logp = z - top - np.log(np.exp(z - top).sum(1, keepdims=True))
        first = len(middle) - args.tail if args.tail else 0
        k0 = len(context)
        scored = [-logp[k0 + j - 1, seq[k0 + j]] for j in range(max(first, 0), len(middle)) if middle[j][0] in "NDT"]
        return float(np.mean(scored))

    def layout(kind, suffix, prefix):
        if kind == "psm":
            return ["<prefix>"] + prefix + ["<suffix>"] + suffix + ["<middle>"]
        return ["<suffix>"] + suffix + ["<prefix>"] + prefix + ["<middle>"]

    a, b, c = [], [], []
    for k, (suffix, prefix, middle, kind) in enumerate(gaps):
        other = next(g[0] for g in gaps[k + 1:] + gaps[:k] if g[1][:50] != prefix[:50])  # another piece's
        a.append(nats(layout(kind, suffix, prefix[-args.prefix_tokens:]), middle))
        b.append(nats(layout(kind, other, prefix[-args.prefix_tokens:]), middle))
        c.append(nats(prefix[-(args.prefix_tokens + args.suffix_tokens):], middle))
    n = len(a)
    print(f"{args.checkpoint} ({gaps[0][3]}): {n} gaps; nats per note, duration and shift token of the original "
          f"middle{f' (its last {args.tail} tokens)' if args.tail else ''}:")
    print(f"  (A) own suffix {sum(a) / n:.3f}   (B) another piece's suffix {sum(b) / n:.3f}   (C) the prefix alone "
          f"{sum(c) / n:.3f}   A below B in {sum(x < y for x, y in zip(a, b))} of {n}, A below C in "
          f"{sum(x < y for x, y in zip(a, c))} of {n}")


if __name__ == "__main__":
    main()
