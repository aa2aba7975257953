"""Judgements kept in the cache folder (claims/judgements.py): computed once, read back equal, recomputed when
damaged, and keyed by every source file."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.robustness import Bound, Judgement
from claims import judgements


def a_judgement() -> Judgement:
    return Judgement(
        False,
        {"share": 0.031},
        erratum=True,
        measured={"share": 0.031, "ids": np.arange(3), "nested": {"x": (1, 2.5)}},
        bounds={"share": Bound(high=0.0)},
        erratum_bounds={"share": Bound(high=0.05)},
    )


def test_a_kept_judgement_is_computed_once_and_read_back_as_it_was(tmp_path):
    calls = []

    def judge() -> Judgement:
        calls.append(1)
        return a_judgement()

    path = tmp_path / "judgements" / "x.npz"
    first, second = judgements.kept_judgement(path, judge), judgements.kept_judgement(path, judge)
    assert len(calls) == 1
    for kept in (first, second):
        assert kept.verdict == a_judgement().verdict and kept.bounds == a_judgement().bounds
        assert np.array_equal(kept.measured["ids"], np.arange(3)) and kept.measured["nested"] == {"x": (1, 2.5)}


def test_a_damaged_judgement_file_is_judged_again(tmp_path):
    path = tmp_path / "x.npz"
    judgements.kept_judgement(path, a_judgement)
    damaged = bytearray(path.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    path.write_bytes(bytes(damaged))
    calls = []
    with pytest.warns(UserWarning, match="damaged"):
        kept = judgements.kept_judgement(path, lambda: calls.append(1) or a_judgement())
    assert calls == [1] and kept.headline == {"share": 0.031}


def test_the_code_version_changes_with_every_source_file_of_the_packages(tmp_path, monkeypatch):
    for package in judgements.PACKAGES:
        (tmp_path / package / "deep").mkdir(parents=True)
        (tmp_path / package / "deep" / "m.py").write_text("X = 1\n")
    (tmp_path / "conftest.py").write_text("")
    monkeypatch.setattr(judgements, "PROJECT_ROOT", tmp_path)
    version = judgements.code_version.__wrapped__
    before = version()
    for changed in [tmp_path / p / "deep" / "m.py" for p in judgements.PACKAGES] + [tmp_path / "conftest.py"]:
        text = changed.read_text()
        changed.write_text(text + "# edited\n")
        assert version() != before, changed
        changed.write_text(text)
    assert version() == before
    (tmp_path / "analysis" / "new.py").write_text("")
    assert version() != before
