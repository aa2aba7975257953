"""Judgements kept in the cache folder (claims/judgements.py): computed once, read back equal (types and bits),
recomputed when damaged or unreadable, never kept when the codec cannot store them, and keyed by every source file."""

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
    for root_module in ("conftest.py", "verdicts.py"):
        (tmp_path / root_module).write_text("")
    monkeypatch.setattr(judgements, "PROJECT_ROOT", tmp_path)
    version = judgements.code_version.__wrapped__
    before = version()
    roots = [tmp_path / "conftest.py", tmp_path / "verdicts.py"]
    for changed in [tmp_path / p / "deep" / "m.py" for p in judgements.PACKAGES] + roots:
        text = changed.read_text()
        changed.write_text(text + "# edited\n")
        assert version() != before, changed
        changed.write_text(text)
    assert version() == before
    (tmp_path / "analysis" / "new.py").write_text("")
    assert version() != before


def test_every_kept_value_comes_back_with_its_type_and_bits():
    values = {
        "f": 0.1 + 0.2,
        "neg_zero": -0.0,
        "nan": float("nan"),
        "inf": float("-inf"),
        "i": 7,
        "b": True,
        "none": None,
        "s": "x",
        "list": [1, 2.5, "a"],
        "tuple": (1, (2, 3)),
        "f64": np.float64(1 / 3),
        "i64": np.int64(-5),
        "npbool": np.bool_(False),
        "arrays": [np.arange(6, dtype=np.int64).reshape(2, 3), np.array([0.1, -0.0, np.nan]), np.zeros(0, bool)],
    }
    back = judgements.decode(judgements.encode(values))
    assert list(back) == list(values)
    for key, value in values.items():
        got = back[key]
        assert type(got) is type(value), key
        if key == "arrays":
            for a, b in zip(value, got):
                assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
        elif isinstance(value, float):
            assert np.float64(got).tobytes() == np.float64(value).tobytes(), key
        else:
            assert got == value, key


def test_a_judgement_holding_what_the_codec_cannot_store_is_judged_every_time_not_kept(tmp_path):
    calls = []

    def judge() -> Judgement:
        calls.append(1)
        return Judgement(True, {}, measured={"odd": {1: "an int key"}})

    path = tmp_path / "x.npz"
    for _ in range(2):
        assert judgements.kept_judgement(path, judge).measured == {"odd": {1: "an int key"}}
    assert len(calls) == 2 and not path.exists()
    with pytest.raises(TypeError):
        judgements.encode({"s": {1, 2}})


def test_a_stored_value_the_codec_cannot_read_is_judged_again(tmp_path):
    from fixtures.cache import memoised_json

    path = tmp_path / "x.npz"
    memoised_json(path, lambda: {"__kept__": "something else"})
    assert judgements.kept_judgement(path, a_judgement).headline == {"share": 0.031}
    assert judgements.kept_judgement(path, lambda: pytest.fail("judged again")).headline == {"share": 0.031}
