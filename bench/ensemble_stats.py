#!/usr/bin/env python3
"""Ensemble statistics of event-scheme token sequences (issue 32's measurements).

  bench/ensemble_stats.py FILE...

Each FILE holds token sequences: `miditool tokens --scheme event` output (NAME<TAB>TOKENS per
line) or composer --tokens-out files (the tokens on one line). For each sequence: the instruments
of its ensemble header, instrument tokens (P<n>/DRUMS) per bar of 4/4 (48 steps), and whether it
follows the event grammar of midi/grammar.h (re-implemented here, so that a composed piece is
checked by a second reading of the rules, not by the code that sampled it); and why a piece
changes instrument as often as it does: notes and onsets per bar, notes and instruments per
onset, notes per instrument run, the busiest member's share, silent members, and how often a
finished note is followed by a change of instrument. Prints min / median / max over the
sequences and the invalid ones.
"""
import statistics
import sys

MAX_SHIFT, MAX_DURATION, STEPS_PER_BAR = 48, 96, 48


def kind(tok):
    if tok in ("BOS", "EOS", "UNK"):
        return tok, 0
    if tok == "DRUMS":
        return "P", -1
    if tok == "IDRUMS":
        return "I", -1
    return tok[0], int(tok[1:])


def check(tokens):
    """None when the sequence follows the grammar, else why not."""
    if not tokens or tokens[0] != "BOS":
        return "no BOS first"
    header, k = [], 1
    while k < len(tokens) and tokens[k][0] == "I":
        v = kind(tokens[k])[1]
        if header and v <= header[-1]:
            return "header not ascending"
        header.append(v)
        k += 1
    if not header:
        return "no ensemble"
    last, instrument = ("I", 0), None
    for tok in tokens[k:]:
        t, v = kind(tok)
        done = last[0] in ("D", "I")
        if t == "D":
            ok = last[0] == "N" or (last == ("D", MAX_DURATION))
        elif t == "T":
            ok = done or last == ("T", MAX_SHIFT)
        elif t == "P":
            ok = (done or last[0] == "T") and v in header and v != instrument
            instrument = v
        elif t == "V":
            ok = done or last[0] in ("T", "P")
        elif t == "N":
            ok = instrument is not None and (done or last[0] in ("T", "P", "V"))
        elif t == "EOS":
            ok = last[0] == "D"
        else:
            ok = False
        if not ok:
            return f"{tok} after {last}"
        last = (t, v)
    return None


def notes_of(tokens):
    """(onset step, instrument) of every note, instrument as in the header (-1: drums)."""
    now, instrument, notes = 0, None, []
    for tok in tokens:
        t, v = kind(tok)
        if t == "T":
            now += v
        elif t == "P":
            instrument = v
        elif t == "N":
            notes.append((now, instrument))
    return notes


def texture(tokens, header):
    """Why a piece changes instrument as often as it does: notes and onsets per bar, notes and
    instruments per onset, notes per instrument run (between two P/DRUMS tokens), the share of
    the notes its busiest ensemble member plays and how many members play no note."""
    notes = notes_of(tokens)
    bars = max(1.0, sum(int(t[1:]) for t in tokens if t[0] == "T") / STEPS_PER_BAR)
    onsets = {}
    for step, instrument in notes:
        onsets.setdefault(step, set()).add(instrument)
    per_member = {kind(h)[1]: 0 for h in header}
    for _, instrument in notes:
        per_member[instrument] = per_member.get(instrument, 0) + 1
    n = max(1, len(notes))
    runs = max(1, sum(1 for t in tokens if t[0] == "P" or t == "DRUMS"))
    return (len(notes) / bars, len(onsets) / bars, len(notes) / max(1, len(onsets)),
            sum(len(s) for s in onsets.values()) / max(1, len(onsets)), len(notes) / runs,
            max(per_member.values(), default=0) / n, sum(1 for c in per_member.values() if c == 0))


def changes_after_notes(tokens):
    """The share of finished pitched notes, and of drum notes, that an instrument token follows
    (a note ends at the first token after its durations): how often the piece changes instrument
    where it could."""
    counts = {False: [0, 0], True: [0, 0]}  # drums? -> [changes, finished notes]
    instrument, last = None, None
    for tok in tokens:
        t, v = kind(tok)
        if last == "D" and t != "D":
            counts[instrument == -1][0] += t == "P"
            counts[instrument == -1][1] += 1
        if t == "P":
            instrument = v
        last = t
    return tuple(c / n if n else 0.0 for c, n in (counts[False], counts[True]))


def stats(tokens):
    header = [t for t in tokens[1:] if t[0] == "I"]
    steps = sum(int(t[1:]) for t in tokens if t[0] == "T")
    changes = sum(1 for t in tokens if t[0] == "P" or t == "DRUMS")
    programs = len([t for t in header if t != "IDRUMS"])
    return (len(header), programs, changes / max(1.0, steps / STEPS_PER_BAR), steps / STEPS_PER_BAR,
            *texture(tokens, header), *changes_after_notes(tokens))


def main(paths):
    pieces = []
    for path in paths:
        for line in open(path):
            line = line.strip()
            if line:
                pieces.append((path, line.split("\t")[-1].split()))
    rows = [(p, stats(t), check(t)) for p, t in pieces]
    for name, i in (("instruments per piece (drums count)", 0), ("programs per piece", 1),
                    ("instrument tokens per bar", 2), ("bars", 3), ("notes per bar", 4),
                    ("onsets per bar", 5), ("notes per onset", 6), ("instruments per onset", 7),
                    ("notes per instrument run", 8), ("busiest member's share of notes", 9),
                    ("silent ensemble members", 10), ("instrument changes after a pitched note", 11),
                    ("instrument changes after a drum note", 12)):
        v = [r[1][i] for r in rows]
        print(f"{name}: min {min(v):.2f}, median {statistics.median(v):.2f}, max {max(v):.2f}")
    bad = [(p, why) for p, _, why in rows if why]
    print(f"{len(rows)} sequences, {len(bad)} invalid")
    for p, why in bad[:5]:
        print(f"  invalid: {p}: {why}")


if __name__ == "__main__":
    main(sys.argv[1:])
