"""legato.read_midi, read_folder, Score, tokenize, detokenize, and their bad inputs."""
import warnings

import numpy as np
import pytest

import legato
from conftest import midi_bytes, piece, run


def test_notes_fields_and_units(tmp_path):
    # two notes at 480 ticks per quarter, 120 bpm until tick 960, then 60 bpm
    path = tmp_path / "a.mid"
    path.write_bytes(midi_bytes([[(60, 0, 480, 90, 0, 5), (64, 960, 1440, 70, 9, 0)]],
                                tempos=((0, 500000), (960, 1000000)), meter=(3, 4)))
    s = legato.read_midi(path)
    n = s.notes
    assert n.dtype == legato.NOTE_DTYPE and len(s) == 2
    assert list(n["pitch"]) == [60, 64]
    assert list(n["start"]) == [0.0, 1.0] and list(n["end"]) == [0.5, 2.0]  # seconds
    assert list(n["start_beat"]) == [0.0, 2.0] and list(n["end_beat"]) == [1.0, 3.0]
    assert list(n["start_tick"]) == [0, 960] and list(n["end_tick"]) == [480, 1440]
    assert list(n["velocity"]) == [90, 70] and list(n["program"]) == [5, 0]
    assert list(n["channel"]) == [0, 9] and list(n["is_drum"]) == [False, True] and list(n["track"]) == [1, 1]
    assert list(s.tempo_changes["qpm"]) == [120.0, 60.0] and list(s.tempo_changes["time"]) == [0.0, 1.0]
    m = s.time_signature_changes
    assert (m["numerator"][0], m["denominator"][0]) == (3, 4)
    assert s.resolution == 480 and s.end_time == 2.0 and s.warnings == [] and s.path == str(path)


def test_notes_agree_with_miditool_exactly(corpus):
    # miditool notes prints every field as exact decimal text (%.17g)
    lines = run("miditool", "notes", corpus).stdout.splitlines()
    header = lines[0].split("\t")
    rows = [line.split("\t") for line in lines[1:]]
    scores = legato.read_folder(corpus)
    ours = []
    for s in scores:
        name = s.path.rsplit("/", 1)[1]
        for r in s.notes:
            ours.append([name] + [repr(float(r[f])) if isinstance(r[f], np.floating) else str(int(r[f]))
                                  for f in header[1:]])
    assert len(ours) == len(rows) > 500
    for a, b in zip(ours, rows):
        assert a[0] == b[0]
        for field, x, y in zip(header[1:], a[1:], b[1:]):
            assert float(x) == float(y), (field, a, b)


def test_write_reads_back(tmp_path, corpus):
    s = legato.read_midi(corpus / "piece1.mid")
    s.write(tmp_path / "out.mid")
    back = legato.read_midi(tmp_path / "out.mid")
    for f in ("pitch", "start", "end", "velocity", "channel", "program"):
        assert np.array_equal(np.sort(back.notes, order=["start_tick", "pitch", "channel"])[f],
                              np.sort(s.notes, order=["start_tick", "pitch", "channel"])[f]), f


def test_set_notes_from_seconds(tmp_path):
    s = legato.Score()
    notes = np.zeros(3, legato.NOTE_DTYPE)
    notes["pitch"] = [60, 62, 64]
    notes["start"] = [0.0, 0.5, 1.0]
    notes["end"] = [0.5, 1.0, 2.0]
    notes["velocity"] = 100
    s.notes = notes
    assert list(s.notes["start_tick"]) == [0, 480, 960] and list(s.notes["end_beat"]) == [1.0, 2.0, 4.0]
    s.write(tmp_path / "x.mid")
    assert list(legato.read_midi(tmp_path / "x.mid").notes["end"]) == [0.5, 1.0, 2.0]


def test_bad_notes_raise_value_error():
    s = legato.Score()
    with pytest.raises(ValueError, match="NOTE_DTYPE"):
        s.notes = np.zeros(3)
    with pytest.raises(ValueError, match="one-dimensional"):
        s.notes = np.zeros((2, 2), legato.NOTE_DTYPE)
    bad = np.zeros(1, legato.NOTE_DTYPE)
    bad["pitch"], bad["velocity"] = 200, 64
    with pytest.raises(ValueError, match="pitch 200"):
        s.notes = bad
    bad["pitch"], bad["start"], bad["end"] = 60, 1.0, 0.5
    with pytest.raises(ValueError, match="start"):
        s.notes = bad
    with pytest.raises(ValueError):
        legato.Score(resolution=0)


def test_damaged_files(tmp_path):
    good = piece(0)
    # bytes after the last track: repaired with a warning, refused when strict
    (tmp_path / "tail.mid").write_bytes(good + b"\x00\x01")
    s = legato.read_midi(tmp_path / "tail.mid")
    assert len(s) > 0 and len(s.warnings) == 1 and "byte" in s.warnings[0]
    with pytest.raises(legato.MidiError, match="tail.mid: byte"):
        legato.read_midi(tmp_path / "tail.mid", strict=True)
    (tmp_path / "junk.mid").write_bytes(b"not a midi file at all")
    with pytest.raises(legato.MidiError, match="junk.mid"):
        legato.read_midi(tmp_path / "junk.mid")
    assert issubclass(legato.MidiError, ValueError)
    with pytest.raises(FileNotFoundError, match="missing.mid"):
        legato.read_midi(tmp_path / "missing.mid")
    with pytest.raises(OSError, match="folder"):
        legato.read_midi(tmp_path)
    with pytest.raises(OSError, match="cannot be written"):
        s.write(tmp_path / "no" / "such" / "folder.mid")
    with pytest.raises(ValueError, match="pairing"):
        legato.read_midi(tmp_path / "tail.mid", pairing="lifo")
    # every truncation of a good file: a score or MidiError, never a crash
    for cut in range(0, len(good), 7):
        (tmp_path / "cut.mid").write_bytes(good[:cut])
        try:
            legato.read_midi(tmp_path / "cut.mid")
        except legato.MidiError:
            pass


def test_read_folder(tmp_path, corpus, capfd):
    seen = []
    scores = legato.read_folder(corpus, progress=lambda done, total: seen.append((done, total)))
    assert [s.path.rsplit("/", 1)[1] for s in scores] == [f"piece{k}.mid" for k in range(4)]
    assert seen[-1] == (4, 4)
    legato.read_folder(corpus, progress=True)
    assert "read 4/4 files" in capfd.readouterr().err
    with pytest.raises(ValueError, match="progress"):
        legato.read_folder(corpus, progress="yes")
    for s in scores:  # the same scores as one at a time
        assert np.array_equal(s.notes, legato.read_midi(s.path).notes)
    (tmp_path / "ok.mid").write_bytes(piece(2))
    (tmp_path / "bad.mid").write_bytes(b"MThd")
    with pytest.warns(UserWarning, match="1 of 2 files could not be read.*bad.mid"):
        assert len(legato.read_folder(tmp_path, threads=2)) == 1
    with pytest.raises(FileNotFoundError):
        legato.read_folder(tmp_path / "nowhere")
    with pytest.raises(ValueError):
        legato.read_folder(tmp_path, threads=-1)


def test_read_folder_threads_and_a_failing_callback(corpus):
    # on 1 thread the caller reads, on more the readers do: the same scores, in file order, whatever the count
    one = legato.read_folder(corpus, threads=1)
    for threads in (2, 3, 5, 0):
        many = legato.read_folder(corpus, threads=threads)
        assert [s.path for s in many] == [s.path for s in one]
        assert all(np.array_equal(a.notes, b.notes) for a, b in zip(many, one))

    def fail(done, total):
        raise RuntimeError(f"stop at {done}/{total}")

    with pytest.raises(RuntimeError, match="stop at"):  # the readers are joined and the error comes through
        legato.read_folder(corpus, threads=3, progress=fail)


def test_tokenize_round_trip(corpus):
    s = legato.read_midi(corpus / "piece0.mid")
    ids, vocab = legato.tokenize(s, scheme="event")
    assert ids.dtype == np.int32 and ids.ndim == 1 and len(ids) > len(s)
    assert vocab[:3] == ["UNK", "BOS", "EOS"] and ids.max() < len(vocab)
    back = legato.detokenize(ids, vocab, scheme="event")
    assert np.array_equal(back.notes["pitch"], s.notes["pitch"])  # on the grid: the same notes
    assert np.array_equal(back.tokens, ids)
    # the tokens are miditool's
    line = run("miditool", "tokens", "--scheme", "event", corpus / "piece0.mid").stdout
    assert line.split("\t", 1)[1].split() == [vocab[i] for i in ids]
    seed_ids, seed_vocab = legato.tokenize(s, scheme="seed")
    assert len(seed_ids) > 0 and "UNK" not in seed_vocab
    # with a given vocabulary, unknown tokens become UNK
    ids2, _ = legato.tokenize(s, vocab=["UNK", "BOS", "EOS"])
    assert set(ids2.tolist()) <= {0, 1, 2} and 0 in ids2


def test_tokenize_bad_input(corpus):
    s = legato.read_midi(corpus / "piece0.mid")
    ids, vocab = legato.tokenize(s)
    with pytest.raises(ValueError, match="scheme|seed"):
        legato.tokenize(s, scheme="abc")
    with pytest.raises(ValueError, match="integers"):
        legato.detokenize(ids.astype(np.float32), vocab)
    with pytest.raises(ValueError, match="one-dimensional"):
        legato.detokenize(ids.reshape(-1, 1), vocab)
    with pytest.raises(ValueError, match="not a token id"):
        legato.detokenize([len(vocab)], vocab)
    with pytest.raises(ValueError, match="not a token id"):
        legato.detokenize([-1], vocab)
    with pytest.raises(ValueError, match="UNK"):
        legato.tokenize(s, scheme="seed", vocab=["C4"])
    with pytest.raises(TypeError):
        legato.tokenize("not a score")


def test_stub_names_every_function_and_help_works():
    import pathlib

    stub = (pathlib.Path(legato.__file__).parent / "__init__.pyi").read_text()
    for name in legato.__all__:
        assert f"def {name}(" in stub or f"class {name}" in stub or f"{name}:" in stub, name
    for f in (legato.read_midi, legato.load, legato.train, legato.Model.compose, legato.compare):
        assert len(f.__doc__) > 80
    assert "strict" in legato.read_midi.__doc__
