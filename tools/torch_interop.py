#!/usr/bin/python3
"""The PyTorch module equivalent to Legato's MusicLSTM, and a checkpoint written from it.

Writes tests/data/torch_music_lstm.safetensors: a small MusicLSTM made in PyTorch, saved as
safetensors with Legato's metadata added, plus the logits PyTorch computes for a fixed token
window (metadata "test.tokens" and "test.logits"). tests/test_interop.cpp loads the file with
Legato and checks that it computes the same logits.

Also usable the other way round: `load(path)` reads a Legato checkpoint into the module.
Needs Debian's python3-torch (run with /usr/bin/python3); the safetensors format is simple
enough to read and write here without the safetensors package.
"""
import json
import pathlib
import struct

import numpy as np
import torch


class MusicLSTM(torch.nn.Module):
    """tokens [T, B] (int64) -> logits [T, B, V]; state_dict names match Legato's checkpoints."""

    def __init__(self, vocab, hidden=512, layers=3, dense=256, embedding_dim=None, dropout=0.3, dense_relu=False):
        super().__init__()
        self.vocab, self.scalar, self.dense_relu = vocab, embedding_dim is None, dense_relu
        if not self.scalar:
            self.embedding = torch.nn.Embedding(vocab, embedding_dim)
        self.lstm = torch.nn.LSTM(1 if self.scalar else embedding_dim, hidden, layers, dropout=dropout)
        self.dense1 = torch.nn.Linear(hidden, dense)
        self.drop = torch.nn.Dropout(dropout)
        self.dense2 = torch.nn.Linear(dense, vocab)

    def forward(self, tokens):
        x = tokens.unsqueeze(-1).float() / self.vocab if self.scalar else self.embedding(tokens)
        y, _ = self.lstm(x)
        h = self.dense1(y)
        if self.dense_relu:
            h = torch.relu(h)
        return self.dense2(self.drop(h))


def save(path, module, metadata):
    tensors = {k: v.detach().float().contiguous().numpy() for k, v in module.state_dict().items()}
    header, offset = {"__metadata__": metadata}, 0
    for name, a in tensors.items():
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
    head = json.dumps(header).encode()
    head += b" " * (-len(head) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)) + head)
        for a in tensors.values():
            f.write(a.astype("<f4").tobytes())


def load(path):
    raw = pathlib.Path(path).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    config = json.loads(meta["legato.config"])
    module = MusicLSTM(config["vocab"], config["hidden"], config["layers"], config["dense"],
                       config["embedding_dim"] if config["input"] == "embedding" else None,
                       config["dropout"], config["dense_relu"])
    state = {}
    for name, e in header.items():
        a, b = e["data_offsets"]
        state[name] = torch.from_numpy(np.frombuffer(raw[8 + n + a:8 + n + b], dtype="<f4").reshape(e["shape"]).copy())
    module.load_state_dict(state)
    return module, meta


def main():
    torch.manual_seed(7)
    vocab, hidden, layers, dense, emb = 9, 6, 2, 5, 4
    module = MusicLSTM(vocab, hidden, layers, dense, emb, dropout=0.2, dense_relu=True).eval()
    tokens = torch.tensor([[3, 1], [8, 0], [2, 2], [5, 7]])  # [T, B]
    with torch.no_grad():
        logits = module(tokens)[-1]  # the prediction after the window, [B, V]
    config = {"vocab": vocab, "input": "embedding", "embedding_dim": emb, "hidden": hidden, "layers": layers,
              "dropout": 0.2, "dense": dense, "dense_relu": True, "scheme": "event", "objective": "all",
              "seq_len": 4}
    metadata = {"format": "pt", "legato.config": json.dumps(config),
                "legato.vocab": json.dumps([f"T{k}" for k in range(vocab)]),
                "test.tokens": json.dumps(tokens.tolist()), "test.logits": json.dumps(logits.tolist())}
    out = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data" / "torch_music_lstm.safetensors"
    save(out, module, metadata)
    again, _ = load(out)  # and the file reads back into PyTorch
    with torch.no_grad():
        assert torch.allclose(again.eval()(tokens)[-1], logits)
    print(f"wrote {out} ({out.stat().st_size} bytes, torch {torch.__version__})")


if __name__ == "__main__":
    main()
