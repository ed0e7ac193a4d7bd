"""Shared fixtures: small MIDI files written byte by byte here (no test needs the seed corpus, and
the bytes do not come from Legato's own writer), the programs of the build, a small checkpoint."""
import os
import pathlib
import struct
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(os.environ.get("LEGATO_BIN_DIR", ROOT / "build" / "bin"))


def vlq(n):
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def track(events):
    """events: (tick, bytes) in any order -> an MTrk chunk with its end-of-track."""
    data, now = b"", 0
    for tick, msg in sorted(events, key=lambda e: e[0]):
        data += vlq(tick - now) + msg
        now = tick
    data += b"\x00\xff\x2f\x00"
    return b"MTrk" + struct.pack(">I", len(data)) + data


def midi_bytes(parts, tpq=480, tempos=((0, 500000),), meter=(4, 4)):
    """parts: lists of (pitch, start_tick, end_tick, velocity, channel, program) -> a format-1 file
    with a tempo track (every tempo change, the meter) and one track per part."""
    conductor = [(t, b"\xff\x51\x03" + us.to_bytes(3, "big")) for t, us in tempos]
    conductor.append((0, bytes([0xFF, 0x58, 4, meter[0], meter[1].bit_length() - 1, 24, 8])))
    chunks = [track(conductor)]
    for notes in parts:
        events = []
        for pitch, start, end, vel, ch, prog in notes:
            events.append((0, bytes([0xC0 | ch, prog])))
            events.append((start, bytes([0x90 | ch, pitch, vel])))
            events.append((end, bytes([0x80 | ch, pitch, 0])))
        # note-offs before note-ons at the same tick, as files usually have them
        events.sort(key=lambda e: (e[0], 0 if e[1][0] & 0xF0 == 0x80 else 1))
        chunks.append(track(events))
    return b"MThd" + struct.pack(">IHHH", 6, 1, len(chunks), tpq) + b"".join(chunks)


def piece(k, length=150):
    """Arpeggios and chords on a 16th-note grid (tests/small_corpus.h's pieces), piano on channel 0,
    plus a drum part on channel 9 for the odd ones."""
    notes = []
    for i in range(length):
        pitch = 48 + (i * (5 + k) + (i // 7) * 3) % 36
        start, end = 120 * i, 120 * i + 120 * (1 + i % 3)
        notes.append((pitch, start, end, 60 + i % 40, 0, 0))
        if i % 4 == 0:
            notes.append((min(127, pitch + 4), start, end, 80, 0, 0))
    parts = [notes]
    if k % 2:
        parts.append([(36 + i % 3, 240 * i, 240 * i + 60, 100, 9, 0) for i in range(length // 2)])
    return midi_bytes(parts, tempos=((0, 500000), (4800, 400000 + 1000 * k)))


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    """A folder of four small pieces."""
    d = tmp_path_factory.mktemp("corpus")
    for k in range(4):
        (d / f"piece{k}.mid").write_bytes(piece(k))
    return d


def run(program, *args, check=True):
    return subprocess.run([str(BIN / program), *map(str, args)], capture_output=True, text=True, check=check)


# A network small enough to train in seconds: trainer's options, as the C++ tests' small_training.
SMALL = dict(preset="tiny", epochs=1, hidden=8, layers=2, embedding=4, seq_len=12, batch=4, val_split=0.34,
             eval_pieces=0)


def trainer_args(options):
    args = []
    for k, v in options.items():
        args += ["--" + k.replace("_", "-"), v]
    return args


@pytest.fixture(scope="session")
def checkpoint(corpus, tmp_path_factory):
    """best.safetensors of a small run of the trainer program (event scheme)."""
    out = tmp_path_factory.mktemp("run")
    run("trainer", "--data", corpus, "--out", out, "--overwrite", *trainer_args(SMALL))
    return out / "best.safetensors"


@pytest.fixture(scope="session")
def other_checkpoint(corpus, tmp_path_factory):
    """A checkpoint of another vocabulary: the seed scheme."""
    out = tmp_path_factory.mktemp("run_seed")
    run("trainer", "--data", corpus, "--out", out, "--overwrite", *trainer_args({**SMALL, "preset": "seed"}))
    return out / "best.safetensors"


@pytest.fixture(scope="session")
def controls_checkpoint(corpus, tmp_path_factory):
    """A small run trained with control tokens (docs/controls.md): key and density."""
    out = tmp_path_factory.mktemp("run_controls")
    run("trainer", "--data", corpus, "--out", out, "--overwrite", "--controls", "key,density",
        *trainer_args({**SMALL, "val_split": 0}))
    return out / "best.safetensors"


@pytest.fixture(scope="session")
def style_checkpoint(tmp_path_factory):
    """A small run with two styles (folders: short pieces and long ones), and so their profiles."""
    data = tmp_path_factory.mktemp("styles")
    for k in range(4):
        folder = data / ("short" if k < 2 else "long")
        folder.mkdir(exist_ok=True)
        (folder / f"piece{k}.mid").write_bytes(piece(k, length=80 if k < 2 else 300))
    out = tmp_path_factory.mktemp("run_styles")
    run("trainer", "--data", data, "--out", out, "--overwrite", "--style-from-folders",
        *trainer_args({**SMALL, "val_split": 0}))
    return out / "best.safetensors"
