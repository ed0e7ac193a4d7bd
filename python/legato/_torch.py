"""legato.to_torch and legato.from_torch: a Legato model as the equivalent PyTorch module and back.
PyTorch is imported only here, when these are called: it is never a dependency of legato."""
import json
import os
import struct
import tempfile

import numpy as np


def _module_class():
    import torch  # noqa: PLC0415 (optional: imported when asked for)

    class MusicLSTM(torch.nn.Module):
        """tokens [T, B] (int64) -> logits [T, B, V]; state_dict names match Legato's checkpoints
        (the module of tools/torch_interop.py)."""

        def __init__(self, vocab, hidden=512, layers=3, dense=256, embedding_dim=None, dropout=0.3, dense_relu=False):
            super().__init__()
            self.vocab, self.scalar, self.dense_relu = vocab, embedding_dim is None, dense_relu
            if not self.scalar:
                self.embedding = torch.nn.Embedding(vocab, embedding_dim)
            self.lstm = torch.nn.LSTM(1 if self.scalar else embedding_dim, hidden, layers,
                                      dropout=dropout if layers > 1 else 0.0)
            self.dense1 = torch.nn.Linear(hidden, dense)
            self.drop = torch.nn.Dropout(dropout)
            self.dense2 = torch.nn.Linear(dense, vocab)
            self.legato_config = {}

        def forward(self, tokens):
            x = tokens.unsqueeze(-1).float() / self.vocab if self.scalar else self.embedding(tokens)
            y, _ = self.lstm(x)
            h = self.dense1(y)
            if self.dense_relu:
                h = torch.relu(h)
            return self.dense2(self.drop(h))

    return MusicLSTM


def to_torch(model):
    """The model as a torch.nn.Module (MusicLSTM: tokens [T, B] int64 -> logits [T, B, V]) with the same
    weights; its legato_config keeps the checkpoint's config for from_torch."""
    import torch

    c = model.config
    module = _module_class()(c["vocab"], c["hidden"], c["layers"], c["dense"],
                             c["embedding_dim"] if c["input"] == "embedding" else None, c["dropout"], c["dense_relu"])
    module.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()})
    module.legato_config = c
    return module.eval()


def from_torch(module, vocab, scheme=None, seq_len=None):
    """A legato.Model from a PyTorch module with MusicLSTM's state_dict names (to_torch's, or your own with
    the same layers) and its vocabulary (token strings in id order). scheme and seq_len default to the
    module's legato_config, else 'event' and 100."""
    from . import load

    sd = {k: v.detach().float().cpu().contiguous().numpy() for k, v in module.state_dict().items()}
    if "dense2.weight" not in sd or "lstm.weight_hh_l0" not in sd:
        raise ValueError("the module has no dense2.weight or lstm.weight_hh_l0: not a MusicLSTM")
    if sd["dense2.weight"].shape[0] != len(vocab):
        raise ValueError(f"the module predicts {sd['dense2.weight'].shape[0]} tokens; the vocabulary has {len(vocab)}")
    base = dict(getattr(module, "legato_config", {}) or {})
    layers = sum(1 for k in sd if k.startswith("lstm.weight_hh_l"))
    config = {
        **base,
        "vocab": len(vocab),
        "input": "embedding" if "embedding.weight" in sd else "scalar",
        "embedding_dim": int(sd["embedding.weight"].shape[1]) if "embedding.weight" in sd else 0,
        "hidden": int(sd["lstm.weight_hh_l0"].shape[1]),
        "layers": layers,
        "dense": int(sd["dense1.weight"].shape[0]),
        "dropout": float(base.get("dropout", 0.0)),
        "dense_relu": bool(getattr(module, "dense_relu", base.get("dense_relu", False))),
        "scheme": scheme or base.get("scheme", "event"),
        "seq_len": int(seq_len or base.get("seq_len", 100)),
    }
    metadata = {"legato.config": json.dumps(config), "legato.vocab": json.dumps(list(vocab))}
    header, offset = {"__metadata__": metadata}, 0
    for name, a in sd.items():
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
    head = json.dumps(header).encode()
    head += b" " * (-len(head) % 8)
    # Through a checkpoint file: the library's loader checks every name and shape against the config.
    fd, path = tempfile.mkstemp(suffix=".safetensors")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(struct.pack("<Q", len(head)) + head)
            for a in sd.values():
                f.write(np.ascontiguousarray(a, "<f4").tobytes())
        return load(path)
    finally:
        os.unlink(path)
