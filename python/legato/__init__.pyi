# Type hints for the `legato` module (the extension's functions and the pure-Python ones).
import os
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np
import numpy.typing as npt

PathLike = Union[str, os.PathLike[str]]
Pieces = Union[PathLike, "Score", Sequence[Union[PathLike, "Score"]]]

NOTE_DTYPE: np.dtype

class MidiError(ValueError):
    """A MIDI file that cannot be read (or, with strict=True, one that is damaged)."""

class Score:
    """A piece of music: notes, tempo and meter changes."""
    def __init__(self, resolution: int = 480) -> None: ...
    notes: npt.NDArray[np.void]
    @property
    def tempo_changes(self) -> npt.NDArray[np.void]: ...
    @property
    def time_signature_changes(self) -> npt.NDArray[np.void]: ...
    @property
    def warnings(self) -> list[str]: ...
    @property
    def resolution(self) -> int: ...
    @property
    def end_time(self) -> float: ...
    @property
    def path(self) -> str: ...
    @property
    def tokens(self) -> Optional[npt.NDArray[np.int32]]: ...
    @property
    def primer_length(self) -> int: ...
    def write(self, path: PathLike) -> None: ...
    def __len__(self) -> int: ...

class State:
    """The LSTM state of Model.step, advanced in place."""
    @property
    def steps(self) -> int: ...

class Model:
    """A trained network with its configuration and vocabulary."""
    @property
    def config(self) -> dict[str, Any]: ...
    @property
    def vocab(self) -> list[str]: ...
    @property
    def scheme(self) -> str: ...
    @property
    def seq_len(self) -> int: ...
    @property
    def path(self) -> str: ...
    @property
    def precision(self) -> str: ...
    def compose(
        self,
        length: Optional[int] = None,
        temperature: float = 1.0,
        top_k: int = 0,
        top_p: Optional[float] = None,
        seed: Optional[int] = None,
        primer: Union[None, PathLike, Score, Sequence[int], npt.NDArray[np.integer]] = None,
        n: int = 1,
        greedy: bool = False,
        tempo: float = 0.0,
        two_hands: bool = True,
        key: Optional[str] = None,
        density: Optional[str] = None,
        style: Optional[str] = None,
        key_strength: float = 4.0,
        density_strength: float = 5.0,
        pitch_range: Optional[tuple[int, int]] = None,
        range_strength: float = 8.0,
    ) -> list[Score]: ...
    def logits(self, tokens: Union[Sequence[int], npt.NDArray[np.integer]]) -> npt.NDArray[np.float32]: ...
    def step(self, token: int, state: Optional[State] = None) -> tuple[npt.NDArray[np.float32], State]: ...
    def state_dict(self) -> dict[str, npt.NDArray[np.float32]]: ...

def read_midi(path: PathLike, strict: bool = False, sustain: bool = False, pairing: str = "pretty_midi") -> Score: ...
def read_folder(
    path: PathLike,
    strict: bool = False,
    sustain: bool = False,
    pairing: str = "pretty_midi",
    progress: Union[bool, Callable[[int, int], None]] = False,
    threads: int = 0,
) -> list[Score]: ...
def tokenize(
    score: Score, scheme: str = "event", vocab: Optional[Sequence[str]] = None
) -> tuple[npt.NDArray[np.int32], list[str]]: ...
def detokenize(
    ids: Union[Sequence[int], npt.NDArray[np.integer]], vocab: Sequence[str], scheme: str = "event"
) -> Score: ...
def load(path: PathLike, precision: str = "fp32") -> Model: ...
def train(
    data: Union[None, PathLike, Sequence[PathLike]] = None,
    preset: str = "default",
    out: PathLike = "out/train",
    max_minutes: float = 0.0,
    callback: Optional[Callable[[dict[str, Any]], None]] = None,
    resume: bool = False,
    overwrite: bool = False,
    verbose: bool = True,
    **options: Any,
) -> dict[str, str]: ...
def stats(paths: Pieces) -> list[dict[str, Any]]: ...
def compare(generated: Pieces, reference: Pieces) -> dict[str, Any]: ...
def to_torch(model: Model) -> Any: ...
def from_torch(
    module: Any, vocab: Sequence[str], scheme: Optional[str] = None, seq_len: Optional[int] = None
) -> Model: ...
