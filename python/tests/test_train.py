"""legato.train: the trainer's run and files, the progress callback, Ctrl-C, bad options."""
import json
import os
import signal

import pytest

import legato
from conftest import SMALL

OPTIONS = {k: v for k, v in SMALL.items() if k != "preset"}


def test_train_writes_the_trainers_files(corpus, tmp_path):
    seen = []
    result = legato.train(data=corpus, preset="tiny", out=tmp_path / "run", callback=seen.append, verbose=False,
                          **{**OPTIONS, "epochs": 2})
    for name in ("best.safetensors", "last.safetensors", "last.state.safetensors", "metrics.csv", "run.json",
                 "validation.txt", "loss.svg"):
        assert (tmp_path / "run" / name).exists(), name
    settings = json.loads((tmp_path / "run" / "run.json").read_text())
    assert settings["hidden"] == "8" and settings["seq-len"] == "12" and settings["epochs"] == "2"
    batches = [e for e in seen if e["metrics"] is None]
    ends = [e for e in seen if e["metrics"] is not None]
    assert len(ends) == 2 and [e["metrics"]["epoch"] for e in ends] == [1.0, 2.0]
    assert batches and batches[-1]["step"] == len(batches) and batches[0]["batches"] >= batches[0]["batch"] == 1
    assert all(e["loss"] > 0 for e in batches) and "val_loss" in ends[0]["metrics"]
    assert result["best"].endswith("best.safetensors")
    m = legato.load(result["best"])
    assert m.config["hidden"] == 8 and len(m.compose(length=10, seed=1)[0].tokens) > 1


def test_infill_rate_trains_for_infilling(corpus, tmp_path):
    result = legato.train(data=corpus, preset="tiny", out=tmp_path / "run", verbose=False,
                          **{**OPTIONS, "seq_len": 24, "infill_rate": 0.5})
    m = legato.load(result["best"])
    assert m.config["infill_rate"] == 0.5
    assert {"<suffix>", "<prefix>", "<middle>"} <= set(m.vocab)
    with pytest.raises(ValueError, match="number"):
        legato.train(data=corpus, preset="tiny", out=tmp_path / "bad", infill_rate="half")


def test_ctrl_c_checkpoints_then_raises(corpus, tmp_path, capsys):
    out = tmp_path / "run"

    seen = []

    def interrupt(progress):  # Ctrl-C at the second batch
        seen.append(progress)
        if progress["step"] == 2 and progress["metrics"] is None:
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(KeyboardInterrupt, match="checkpoint written"):
        legato.train(data=corpus, preset="tiny", out=out, callback=interrupt, verbose=False,
                     **{**OPTIONS, "epochs": 3, "batch": 1})
    # stopped a few batches later (the callback runs a little behind the training thread), in epoch 1
    stopped = seen[-1]["step"]
    assert 2 <= stopped < seen[0]["batches"] and all(e["metrics"] is None for e in seen)
    assert (out / "last.safetensors").exists() and (out / "last.state.safetensors").exists()
    assert not (out / "best.safetensors").exists()  # stopped inside the first epoch
    # Python's own Ctrl-C handling is back after the run
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    # and the run goes on from there
    seen.clear()
    capsys.readouterr()
    legato.train(data=corpus, preset="tiny", out=out, resume=True, callback=seen.append)
    assert (out / "best.safetensors").exists() and seen[0]["step"] == stopped + 1
    # verbose: the trainer's own lines on sys.stdout
    assert f"resuming at epoch 1, batch {stopped}" in capsys.readouterr().out


def test_a_raising_callback_stops_the_run(corpus, tmp_path):
    def fail(progress):
        raise RuntimeError("enough")

    with pytest.raises(RuntimeError, match="enough"):
        legato.train(data=corpus, preset="tiny", out=tmp_path / "run", callback=fail, verbose=False, **OPTIONS)
    assert (tmp_path / "run" / "last.safetensors").exists()


def test_bad_options(corpus, tmp_path):
    out = tmp_path / "run"
    with pytest.raises(ValueError, match="unknown training option 'hiden'"):
        legato.train(data=corpus, preset="tiny", out=out, hiden=8)
    with pytest.raises(ValueError, match="preset"):
        legato.train(data=corpus, preset="huge", out=out)
    with pytest.raises(ValueError, match="whole number"):
        legato.train(data=corpus, preset="tiny", out=out, epochs=1.5)
    with pytest.raises(ValueError, match="number"):
        legato.train(data=corpus, preset="tiny", out=out, lr="fast")
    with pytest.raises(ValueError):
        legato.train(data=corpus, preset="tiny", out=out, **{**OPTIONS, "hidden": 0})
    with pytest.raises(ValueError):
        legato.train(data=corpus, preset="tiny", out=out, callback=42)
    with pytest.raises(FileNotFoundError):
        legato.train(data=tmp_path / "nowhere", preset="tiny", out=out)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError):
        legato.train(data=tmp_path / "empty", preset="tiny", out=out, **OPTIONS)
