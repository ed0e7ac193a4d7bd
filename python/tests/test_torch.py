"""legato.to_torch / from_torch: the same logits in PyTorch, and back to the same weights."""
import numpy as np
import pytest

import legato

torch = pytest.importorskip("torch", reason="PyTorch is not installed (the round trip needs it)")


def test_round_trip(checkpoint):
    m = legato.load(checkpoint)
    module = legato.to_torch(m)
    tokens = np.array([1, 4, 7, 4, 9, 12, 3], np.int64)
    with torch.no_grad():
        theirs = module(torch.from_numpy(tokens)[:, None])[:, 0, :].numpy()
    np.testing.assert_allclose(m.logits(tokens), theirs, rtol=1e-4, atol=1e-5)
    back = legato.from_torch(module, m.vocab)
    assert back.config["hidden"] == m.config["hidden"] and back.scheme == m.scheme and back.vocab == m.vocab
    for k, v in m.state_dict().items():
        assert np.array_equal(back.state_dict()[k], v), k
    # a module trained further in PyTorch comes back with its own weights
    with torch.no_grad():
        module.dense2.bias += 1.0
    changed = legato.from_torch(module, m.vocab)
    np.testing.assert_allclose(changed.logits(tokens), m.logits(tokens) + 1.0, rtol=1e-4, atol=1e-4)


def test_bad_inputs(checkpoint):
    m = legato.load(checkpoint)
    with pytest.raises(ValueError, match="vocabulary"):
        legato.from_torch(legato.to_torch(m), m.vocab[:-1])
    with pytest.raises(ValueError, match="not a MusicLSTM"):
        legato.from_torch(torch.nn.Linear(2, 2), m.vocab)
