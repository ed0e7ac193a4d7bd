"""legato.load and Model: compose (as composer does), logits, step, state_dict; bad inputs."""
import numpy as np
import pytest

import legato
from conftest import run


def test_load(checkpoint):
    m = legato.load(checkpoint)
    assert m.scheme == "event" and m.vocab[:3] == ["UNK", "BOS", "EOS"]
    c = m.config
    assert c["hidden"] == 8 and c["layers"] == 2 and c["vocab"] == len(m.vocab) and m.seq_len == 12
    assert "hidden 8 x 2" in repr(m)


def test_precision_as_composer_chooses_it(checkpoint, tmp_path):
    assert legato.load(checkpoint).precision == "fp32"
    with pytest.raises(ValueError, match="tf32 is the GPU's"):
        legato.load(checkpoint, precision="tf32")
    with pytest.raises(ValueError, match="unknown 'fp16'"):
        legato.load(checkpoint, precision="fp16")
    # bf16 where composer takes it, with composer's tokens for the same seed; refused where composer refuses it
    c = run("composer", "--checkpoint", checkpoint, "--precision", "bf16", "--seed", 7, "--length", 60,
            "--out", tmp_path / "c.mid", "--tokens-out", tmp_path / "c.txt", check=False)
    if c.returncode != 0:
        assert c.returncode == 2 and "bf16" in c.stderr
        with pytest.raises(ValueError, match="bf16"):
            legato.load(checkpoint, precision="bf16")
        return
    m = legato.load(checkpoint, precision="bf16")
    assert m.precision == "bf16"
    tokens = m.compose(length=60, seed=7)[0].tokens
    assert (tmp_path / "c.txt").read_text().split() == [m.vocab[i] for i in tokens]
    # its products really are bf16's: the logits move, by bf16's rounding and no more
    x = np.arange(1, 9, dtype=np.int32)
    low, full = m.logits(x), legato.load(checkpoint).logits(x)
    assert not np.array_equal(low, full) and np.allclose(low, full, atol=0.05)


def test_compose_by_seed_and_as_composer(checkpoint, tmp_path):
    m = legato.load(checkpoint)
    a = m.compose(length=60, seed=7)[0]
    b = m.compose(length=60, seed=7)[0]
    c = m.compose(length=60, seed=8)[0]
    assert np.array_equal(a.tokens, b.tokens) and not np.array_equal(a.tokens, c.tokens)
    assert np.array_equal(a.notes, b.notes) and a.primer_length >= 1
    # composer with the same seed writes the same tokens (primer, then generated)
    run("composer", "--checkpoint", checkpoint, "--seed", 7, "--length", 60, "--out", tmp_path / "c.mid",
        "--tokens-out", tmp_path / "c.txt")
    assert (tmp_path / "c.txt").read_text().split() == [m.vocab[i] for i in a.tokens]
    order = ["start_tick", "pitch", "channel"]
    theirs, ours = np.sort(legato.read_midi(tmp_path / "c.mid").notes, order=order), np.sort(a.notes, order=order)
    assert len(ours) > 0 and np.array_equal(theirs["pitch"], ours["pitch"])
    assert np.array_equal(theirs["start_tick"], ours["start_tick"])
    pieces = m.compose(length=30, seed=3, n=3, temperature=0.8, top_k=5, top_p=0.9)
    assert len(pieces) == 3 and len({tuple(p.tokens) for p in pieces}) > 1


def test_compose_primers(checkpoint, corpus):
    m = legato.load(checkpoint)
    ids, _ = legato.tokenize(legato.read_midi(corpus / "piece0.mid"), vocab=m.vocab)
    p = m.compose(length=20, seed=1, primer=ids[:30])[0]
    assert p.primer_length == 30 and np.array_equal(p.tokens[:30], ids[:30])
    from_score = m.compose(length=20, seed=1, primer=legato.read_midi(corpus / "piece0.mid"))[0]
    from_path = m.compose(length=20, seed=1, primer=str(corpus / "piece0.mid"))[0]
    assert np.array_equal(from_score.tokens, from_path.tokens)
    assert from_path.primer_length == m.seq_len  # the end of the file: one window


def test_logits_and_step_agree(checkpoint):
    m = legato.load(checkpoint)
    tokens = np.array([1, 5, 9, 5, 7], np.int64)
    full = m.logits(tokens)
    assert full.shape == (5, len(m.vocab)) and full.dtype == np.float32
    state = None
    for t, tok in enumerate(tokens):
        row, state = m.step(int(tok), state)
        np.testing.assert_allclose(row, full[t], rtol=1e-5, atol=1e-5)
    assert state.steps == 5
    # the row depends on the context: the state is carried
    assert not np.allclose(full[1], full[3])


def test_state_dict(checkpoint):
    sd = legato.load(checkpoint).state_dict()
    assert sd["lstm.weight_ih_l0"].shape == (32, 4) and sd["embedding.weight"].shape[1] == 4
    assert all(a.dtype == np.float32 for a in sd.values()) and "dense2.bias" in sd


def test_bad_inputs(checkpoint, other_checkpoint, tmp_path):
    with pytest.raises(FileNotFoundError):
        legato.load(tmp_path / "missing.safetensors")
    with pytest.raises(OSError, match="folder"):
        legato.load(tmp_path)
    (tmp_path / "junk.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{}garbage")
    with pytest.raises(ValueError):
        legato.load(tmp_path / "junk.safetensors")
    m = legato.load(checkpoint)
    other = legato.load(other_checkpoint)
    assert len(other.vocab) != len(m.vocab)
    # a primer from a checkpoint of another vocabulary: ids that are not this model's
    big = np.arange(len(m.vocab), len(m.vocab) + 3)
    with pytest.raises(ValueError, match="not a token id of this model"):
        m.compose(length=5, primer=big)
    with pytest.raises(ValueError, match="one-dimensional"):
        m.compose(length=5, primer=other)  # the other model itself is no primer either
    with pytest.raises(ValueError, match="integers"):
        m.compose(length=5, primer=np.array([1.5, 2.5]))
    with pytest.raises(ValueError, match="one-dimensional"):
        m.compose(length=5, primer=np.ones((2, 2), np.int32))
    with pytest.raises(FileNotFoundError):
        m.compose(length=5, primer=str(tmp_path / "none.mid"))
    for bad in (dict(length=0), dict(temperature=0), dict(temperature=float("nan")), dict(top_k=-1),
                dict(top_p=0), dict(top_p=1.5), dict(n=0), dict(tempo=-3)):
        with pytest.raises(ValueError):
            m.compose(**bad)
    with pytest.raises(ValueError):
        m.logits(np.array([len(m.vocab)]))
    with pytest.raises(ValueError):
        m.step(-1)
    _, state = other.step(0)
    with pytest.raises(ValueError, match="another model"):
        m.step(0, state)


def test_compose_under_controls(controls_checkpoint, checkpoint, corpus):
    """key=, density=, style= reach the same pipeline as composer's --key, --density, --style, with its
    one-line refusals; guidance keeps a key=... piece in that key's scale."""
    m = legato.load(controls_checkpoint)
    asked = next(t[5:-1] for t in m.vocab if t.startswith("<key:") and t != "<key:none>")  # one it knows
    names = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
    tonic, mode = asked.split()
    signature = (names.index(tonic) + (3 if mode == "minor" else 0)) % 12
    scale = {(signature + step) % 12 for step in (0, 2, 4, 5, 7, 9, 11)}

    def off_scale(pieces):
        return sum(int(n["pitch"]) % 12 not in scale for p in pieces for n in p.notes if not n["is_drum"])

    guided = m.compose(length=300, seed=2, n=3, key=asked, density="high")
    tokens_only = m.compose(length=300, seed=2, n=3, key=asked, density="high", key_strength=0, density_strength=0)
    assert off_scale(tokens_only) > 0
    assert off_scale(guided) < off_scale(tokens_only) / 4
    # without a control asked, a model with controls composes from BOS alone, as before
    plain = m.compose(length=40, seed=4)[0]
    assert not any(m.vocab[t].startswith("<") for t in plain.tokens)
    for kwargs, message in [
        (dict(density="dense"), "--density dense: unknown to this checkpoint; known: "),
        (dict(style="jazz"), "--style jazz: this checkpoint was trained without the style control"),
        (dict(key="H minor"), "not a key"),
        (dict(key=asked, key_strength=-1), "--key-strength"),
        (dict(key=asked, primer=[1, 2, 3]), "a primer brings its own key"),
    ]:
        with pytest.raises(ValueError, match=message):
            m.compose(length=10, seed=1, **kwargs)
    with pytest.raises(ValueError, match="trained without control tokens"):
        legato.load(checkpoint).compose(length=10, key="C major")


def test_compose_pitch_range_and_style_profile(style_checkpoint, checkpoint):
    """pitch_range=/range_strength= as composer's --pitch-range/--range-strength, on any model; with style=
    and neither length nor pitch_range, the style's profile (its training pieces' range and length)."""
    m = legato.load(style_checkpoint)

    def outside(pieces, lo, hi):
        return sum(not lo <= int(n["pitch"]) <= hi for p in pieces for n in p.notes if not n["is_drum"])

    plain = legato.load(checkpoint)
    free = plain.compose(length=300, seed=2, n=3, pitch_range=(60, 66), range_strength=0)
    kept = plain.compose(length=300, seed=2, n=3, pitch_range=(60, 66))
    assert outside(free, 60, 66) > 0
    assert outside(kept, 60, 66) < outside(free, 60, 66) / 4
    composer = run("composer", "--checkpoint", style_checkpoint, "--style", "long", "--seed", "3", "--out",
                   style_checkpoint.parent / "c.mid").stdout
    said = next(line for line in composer.splitlines() if line.startswith("style long's profile: pitch range "))
    lo, hi = map(int, said.split("pitch range ")[1].split()[0].split("-"))
    by_profile = list(m.compose(seed=3, style="long")[0].tokens)
    assert by_profile == list(m.compose(seed=3, style="long", pitch_range=(lo, hi))[0].tokens)
    assert by_profile != list(m.compose(seed=3, style="long", range_strength=0)[0].tokens)
    assert list(m.compose(seed=3, style="long", length=500)[0].tokens) != by_profile  # not 500 tokens: its length
    # composer's piece without --seconds or --length is the same piece
    composed = legato.read_midi(style_checkpoint.parent / "c.mid")
    assert len(composed.notes) == len(m.compose(seed=3, style="long")[0].notes)
    for bad in [(72, 36), (-1, 60), (60, 128)]:
        with pytest.raises(ValueError, match="pitch_range .*: give LO-HI"):
            m.compose(length=10, seed=1, pitch_range=bad)
    with pytest.raises(ValueError, match="--range-strength"):
        m.compose(length=10, seed=1, pitch_range=(60, 70), range_strength=-1)
