"""Legato from Python: read MIDI, tokenize, train, compose and measure with the C++ library.

    import legato
    model = legato.load("out/train/best.safetensors")
    model.compose(length=500, seed=1)[0].write("piece.mid")

docs/python.md is the tour; help(legato.load) and the others say the details.
"""
import os as _os

# OpenMP's threads wait 1,000 turns instead of 300,000 before they sleep, as the programs set it
# (tools/openmp_waits.h): beside other busy work a spinning thread holds the core its partner needs
# (composing took 2 s instead of 0.04 s on a loaded machine). Read by libgomp when it loads, so set
# before the extension is imported; a GOMP_SPINCOUNT or OMP_WAIT_POLICY of your own is kept.
if "GOMP_SPINCOUNT" not in _os.environ and "OMP_WAIT_POLICY" not in _os.environ:
    _os.environ["GOMP_SPINCOUNT"] = "1000"

from ._legato import (  # noqa: E402, F401
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
from ._torch import from_torch, to_torch  # noqa: E402

__all__ = [
    "NOTE_DTYPE", "MidiError", "Model", "Score", "State", "detokenize", "load", "read_folder", "read_midi",
    "tokenize", "stats", "compare", "train", "to_torch", "from_torch",
]
