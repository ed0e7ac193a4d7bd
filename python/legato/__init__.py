"""Legato from Python: read MIDI, tokenize, train, compose and measure with the C++ library.

    import legato
    model = legato.load("out/train/best.safetensors")
    model.compose(length=500, seed=1)[0].write("piece.mid")

docs/python.md is the tour; help(legato.load) and the others say the details.
"""
from ._legato import (  # noqa: F401
    NOTE_DTYPE,
    MidiError,
    Model,
    Score,
    State,
    compare,
    detokenize,
    load,
    read_folder,
    read_midi,
    stats,
    tokenize,
    train,
)

__all__ = [
    "NOTE_DTYPE", "MidiError", "Model", "Score", "State", "detokenize", "load", "read_folder", "read_midi",
    "tokenize", "stats", "compare", "train",
]
