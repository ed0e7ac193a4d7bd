"""legato.stats and legato.compare: the numbers of miditool stats and miditool compare."""
import json
import math

import numpy as np
import pytest

import legato
from conftest import run


def test_stats_as_miditool(corpus):
    ours = legato.stats(corpus)
    theirs = [json.loads(line) for line in run("miditool", "stats", "--json", corpus).stdout.splitlines()]
    assert [d["file"] for d in ours] == [d["file"] for d in theirs] and len(ours) == 4
    for a, b in zip(ours, theirs):
        assert set(a) == set(b)
        for k, v in b.items():
            if k == "file":
                continue
            if v is None:
                assert math.isnan(a[k]), k
            else:
                np.testing.assert_allclose(np.asarray(a[k], float), np.asarray(v, float), rtol=1e-12, err_msg=k)
    assert ours[0]["pitch_class_transition_matrix"].shape == (12, 12)
    # a Score measures as its file does
    one = legato.stats(legato.read_midi(corpus / "piece0.mid"))[0]
    assert one["n_notes"] == ours[0]["n_notes"] and one["pitch_entropy"] == ours[0]["pitch_entropy"]


def test_compare_as_miditool(corpus):
    gen = [corpus / "piece0.mid", corpus / "piece1.mid"]
    ref = [corpus / "piece2.mid", corpus / "piece3.mid", corpus / "piece1.mid"]
    ours = legato.compare(gen, ref)
    theirs = json.loads(run("miditool", "compare", *gen, "--against", *ref, "--json").stdout)
    assert ours["generated"] == 2 and ours["corpus"] == 3
    assert ours["mean_oa"] == pytest.approx(theirs["mean_oa"], rel=1e-12)
    assert set(ours["features"]) == set(theirs["features"])
    for name, f in theirs["features"].items():
        for k in ("oa", "kl"):
            if f[k] is None:
                assert math.isnan(ours["features"][name][k])
            else:
                assert ours["features"][name][k] == pytest.approx(f[k], rel=1e-12), (name, k)
    # Scores in place of files give the same numbers
    scores = [legato.read_midi(p) for p in gen]
    assert legato.compare(scores, ref)["mean_oa"] == pytest.approx(ours["mean_oa"], rel=1e-12)


def test_bad_inputs(corpus, tmp_path):
    with pytest.raises(ValueError, match="at least|two|fewer"):
        legato.compare(corpus / "piece0.mid", corpus / "piece1.mid")
    with pytest.raises(FileNotFoundError):
        legato.stats(tmp_path / "nothing")
    with pytest.raises(ValueError):
        legato.stats(42)
    with pytest.raises(ValueError):
        legato.compare([corpus / "piece0.mid"], [1, 2])
