#!/usr/bin/env python3
"""Does the network read the suffix? (issue 27 section 3; quality.md, session 11.) For gaps of 4
bars (bars 9-12 and 17-20 of each held-out piece) the cross-entropy, in nats per token, of the gap's
original notes (its note, duration and shift tokens) as the middle after:

  (A) the prompt composer lays out for the gap: its own suffix and the prefix, in the checkpoint's
      layout (composer --infill --tokens-out: what the network reads);
  (B) the same prompt with the suffix of a gap of another piece in its suffix's place.

A network that uses the suffix predicts the original middle better after its own suffix than after
another's (A below B); one that ignores it scores them alike. With --tail N only the middle's last N
tokens are scored (those just before the gap's end, where the suffix should help most). The
original middle is what composer reads, for the gap four bars later, after this gap's prefix (from
its start as the network reads it: its first token may repeat the end of a shift split at the gap).
Needs the Python module (build/python) and NumPy.

    bench/infill_nll.py CHECKPOINT --held DIR [--bin build/bin] [--prefix-tokens 200] [--tail N]
"""
import argparse
import os
import subprocess
import sys
import tempfile

SENTINELS = ("<suffix>", "<prefix>", "<middle>")


def read_by_composer(args, piece, first, work, prefix_tokens):
    """The tokens composer reads before it writes bars first..first+3 (None if refused)."""
    tokens = os.path.join(work, "tokens.txt")
    run = subprocess.run([os.path.join(args.bin, "composer"), "--checkpoint", args.checkpoint, "--infill", piece,
                          "--bars", f"{first}-{first + 3}", "--seed", "1", "--out", os.path.join(work, "x.mid"),
                          "--tokens-out", tokens, "--infill-prefix-tokens", str(prefix_tokens)],
                         capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    if run.returncode != 0:
        return None
    t = open(tokens).read().split()
    return t[:t.index("<middle>") + 1]


def parts_of(prompt):
    """The prompt cut at its sentinels: [(sentinel, tokens after it), ...] in order."""
    out = []
    for t in prompt:
        if t in SENTINELS:
            out.append((t, []))
        else:
            out[-1][1].append(t)
    return out


def gaps_of(args, work):
    """(prompt, suffix, original middle, piece) per gap: the prompt as composer lays it out
    (args.prefix_tokens of the prefix), its suffix's tokens, and the notes the gap holds."""
    gaps = []
    for name in sorted(os.listdir(args.held)):
        piece = os.path.join(args.held, name)
        for first in (9, 17):
            prompt = read_by_composer(args, piece, first, work, args.prefix_tokens)
            this = read_by_composer(args, piece, first, work, 100000)
            later = read_by_composer(args, piece, first + 4, work, 100000)
            if not prompt or not this or not later:
                continue
            suffix = next(tokens for s, tokens in parts_of(prompt) if s == "<suffix>")
            whole = next(tokens for s, tokens in parts_of(this) if s == "<prefix>")  # from the piece's start
            longer = next(tokens for s, tokens in parts_of(later) if s == "<prefix>")
            end = len(whole) - 1  # its last token may be a shift split at the gap's start
            if longer[:end] != whole[:end] or len(longer) - end < 20:
                continue
            gaps.append((prompt, suffix, longer[end:], name))
    return gaps


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("checkpoint")
    p.add_argument("--held", required=True)
    p.add_argument("--bin", default="build/bin")
    p.add_argument("--prefix-tokens", type=int, default=200, help="tokens of the prefix composer reads in (A) and (B)")
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

    def with_suffix(prompt, suffix):  # the prompt with its suffix's tokens replaced
        out = []
        for sentinel, tokens in parts_of(prompt):
            out += [sentinel] + (suffix if sentinel == "<suffix>" else tokens)
        return out

    a, b = [], []
    for k, (prompt, suffix, middle, name) in enumerate(gaps):
        other = next(g[1] for g in gaps[k + 1:] + gaps[:k] if g[3] != name)  # another piece's suffix
        a.append(nats(prompt, middle))
        b.append(nats(with_suffix(prompt, other[:len(suffix)]), middle))
    n = len(a)
    order = " ".join(s for s, _ in parts_of(gaps[0][0]))  # the layout
    print(f"{args.checkpoint} ({order}): {n} gaps; nats per note, duration and shift token of the original "
          f"middle{f' (its last {args.tail} tokens)' if args.tail else ''}:")
    print(f"  (A) own suffix {sum(a) / n:.3f}   (B) another piece's suffix {sum(b) / n:.3f}   A below B in "
          f"{sum(x < y for x, y in zip(a, b))} of {n}")


if __name__ == "__main__":
    main()
