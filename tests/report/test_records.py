"""Claim records (report.records) and the verdict → pytest outcome mapping (report.claim), without a model."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from claims import CATALOGUE_ORDER as CLAIM_IDS
from report.claim import Verdict
from report.records import (
    ClaimRecord,
    ClaimSpec,
    RunContext,
    SectionRecord,
    decide,
    format_value,
    from_wire,
    jsonable,
    load_known_nonreproductions,
    ordered,
    to_wire,
)

SHA = "ab" * 32

# -------------------------------------------------------------------------------------------- helpers


def spec(id: str = "v-shape", **overrides) -> ClaimSpec:
    fields = dict(id=id, quote="the write-up's words", claimed=0.99, accept="R² ≥ 0.99")
    fields.update(overrides)
    return ClaimSpec(**fields)


def entry_toml(
    claim: str = "v-shape",
    sha: str = SHA,
    measured: str | None = "R² 0.95",
    why: str | None = "another checkpoint; reviewed in #12",
) -> str:
    lines = ["[[nonreproduction]]", f'claim = "{claim}"', f'checkpoint_sha256 = "{sha}"']
    if measured is not None:
        lines.append(f'measured = "{measured}"')
    if why is not None:
        lines.append(f'why = "{why}"')
    return "\n".join(lines) + "\n"


def write_toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "known_nonreproductions.toml"
    path.write_text(text, encoding="utf-8")
    return path


def fake_item() -> SimpleNamespace:
    """What Verdict needs from a pytest item: its node id."""
    return SimpleNamespace(nodeid="claims/test_x.py::test_v_shape")


def recorded(verdict: Verdict) -> dict:
    """The verdict's record as it travels: serialised and rebuilt (the same dataclass), in its JSON form."""
    wired = to_wire(verdict.record)
    rebuilt = from_wire(wired)
    assert isinstance(rebuilt, ClaimRecord) and to_wire(rebuilt) == wired
    return {"id": rebuilt.id, **rebuilt.to_json()}


# ---------------------------------------------------------------------------------------------- decide


@pytest.mark.parametrize(
    "holds,erratum,verdict",
    [(True, False, "holds"), (True, True, "holds"), (False, True, "erratum"), (False, False, "fails")],
)
def test_decide_prefers_holds_then_erratum_then_fails(holds, erratum, verdict):
    assert decide(holds, erratum) == verdict


def test_decide_defaults_to_no_erratum():
    assert decide(False) == "fails"


# -------------------------------------------------------------------------------------------- jsonable


@pytest.mark.parametrize(
    "value,expected",
    [
        (np.float32(1.5), 1.5),
        (np.float64(-2.25), -2.25),
        (np.int64(3), 3),
        (np.uint8(255), 255),
        (np.bool_(True), True),
        (np.array(4.5), 4.5),
        (7, 7),
        ("text", "text"),
        (None, None),
    ],
    ids=["float32", "float64", "int64", "uint8", "bool_", "0-d-array", "int", "str", "None"],
)
def test_jsonable_turns_numpy_scalars_into_plain_python(value, expected):
    out = jsonable(value)
    assert out == expected and type(out) is type(expected)


def test_jsonable_rounds_every_float_to_the_portable_number_of_significant_digits():
    assert jsonable(0.962516666666667) == 0.96251667
    assert jsonable([np.float64(1 / 3), {"x": np.float32(2 / 3)}]) == [0.33333333, {"x": 0.66666669}]
    assert jsonable(12345678901.0) == 12345679000.0 and jsonable(-1.234567891e-9) == -1.2345679e-9
    # two values that differ only in the digits machines disagree on give the same record
    assert jsonable(0.1 + 0.2) == jsonable(0.3)


def test_jsonable_keeps_booleans_boolean():
    assert jsonable([np.bool_(False), True]) == [False, True]
    assert all(type(v) is bool for v in jsonable([np.bool_(False), True]))


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf"), np.float32("nan"), np.float64("inf")])
def test_jsonable_turns_nan_and_infinity_into_none(value):
    assert jsonable(value) is None


def test_jsonable_converts_arrays_tuples_and_nested_containers():
    value = {
        "matrix": np.array([[1, 2], [3, 4]], dtype=np.int16),
        "with_nan": np.array([0.5, np.nan, np.inf]),
        "pair": (np.float32(0.25), "x"),
        3: {"deep": [np.int8(-1), (np.bool_(True),)]},
        np.int64(5): "numpy key",
    }
    out = jsonable(value)
    assert out == {
        "matrix": [[1, 2], [3, 4]],
        "with_nan": [0.5, None, None],
        "pair": [0.25, "x"],
        "3": {"deep": [-1, [True]]},
        "5": "numpy key",
    }
    json.dumps(out, allow_nan=False)  # strict JSON


@pytest.mark.parametrize(
    "value",
    [
        object(),
        {1, 2},
        Path("x"),
        1j,
        np.complex128(1j),
        b"bytes",
        np.datetime64("2024-01-01"),
        [np.array([object()], dtype=object)],
    ],
    ids=["object", "set", "path", "complex", "np-complex", "bytes", "datetime64", "nested-object"],
)
def test_jsonable_refuses_unknown_types_with_type_error(value):
    with pytest.raises(TypeError, match="cannot put .* into a claim record"):
        jsonable(value)


# ------------------------------------------------------------------------------------ specs and records


def test_claim_spec_refuses_an_unknown_dependency():
    with pytest.raises(ValueError, match="depends_on must be 'model' or 'data'"):
        spec(depends_on="weights")


def test_claim_record_json_is_strict_json_with_the_spec():
    record = ClaimRecord(
        spec=spec(),
        verdict="holds",
        measured={"r2": np.float32(0.995), "bad": np.nan},
        summary="fine",
        figures=["figures/v.png"],
    )
    out = record.to_json()
    assert out["verdict"] == "holds" and out["quote"] == "the write-up's words" and out["claimed"] == 0.99
    assert out["measured"] == {"r2": pytest.approx(0.995), "bad": None}
    assert out["figures"] == ["figures/v.png"]
    json.dumps(out, allow_nan=False)


def test_ordered_puts_catalogue_claims_first_then_unknown_ids_alphabetically():
    claims = {"zeta": 1, CLAIM_IDS[3]: 2, "alpha": 3, CLAIM_IDS[0]: 4}
    assert [k for k, _ in ordered(claims, CLAIM_IDS)] == [CLAIM_IDS[0], CLAIM_IDS[3], "alpha", "zeta"]


def test_format_value_writes_dicts_sequences_and_floats_briefly():
    assert format_value({"one": 48, "anti_one": 31.0}) == "one 48, anti_one 31"
    assert format_value((0.5, 2)) == "0.5/2"
    assert format_value(0.123456789) == "0.123457"


# ----------------------------------------------------------------------------- known non-reproductions


def test_known_nonreproductions_of_a_missing_file_are_empty(tmp_path):
    assert load_known_nonreproductions(tmp_path / "absent.toml") == {}


def test_the_shipped_known_nonreproductions_file_loads():
    from claims.matrix import KNOWN_NONREPRODUCTIONS

    assert load_known_nonreproductions(KNOWN_NONREPRODUCTIONS)


def test_known_nonreproductions_are_keyed_by_claim_and_checkpoint(tmp_path):
    path = write_toml(tmp_path, entry_toml() + "\n" + entry_toml(claim="pca-variance", sha="cd" * 32))
    known = load_known_nonreproductions(path)
    assert set(known) == {("v-shape", SHA), ("pca-variance", "cd" * 32)}
    assert known[("v-shape", SHA)]["why"] == "another checkpoint; reviewed in #12"
    assert known[("v-shape", SHA)]["measured"] == "R² 0.95"


def test_a_file_with_only_comments_has_no_known_nonreproductions(tmp_path):
    assert load_known_nonreproductions(write_toml(tmp_path, "# nothing listed\n")) == {}


@pytest.mark.parametrize("missing", ["measured", "why"])
def test_an_entry_missing_a_field_is_refused_naming_the_file_and_field(tmp_path, missing):
    path = write_toml(tmp_path, entry_toml(**{missing: None}))
    with pytest.raises(ValueError) as info:
        load_known_nonreproductions(path)
    assert str(path) in str(info.value) and f"lacks {missing}" in str(info.value)


def test_an_entry_with_an_empty_field_is_refused(tmp_path):
    path = write_toml(tmp_path, entry_toml(why=""))
    with pytest.raises(ValueError, match="lacks why"):
        load_known_nonreproductions(path)


def test_invalid_toml_is_refused_naming_the_file(tmp_path):
    path = write_toml(tmp_path, "[[nonreproduction]]\nclaim = \n")
    with pytest.raises(ValueError) as info:
        load_known_nonreproductions(path)
    assert str(path) in str(info.value)


def test_a_table_instead_of_an_array_of_tables_is_refused_naming_the_file(tmp_path):
    path = write_toml(tmp_path, entry_toml().replace("[[nonreproduction]]", "[nonreproduction]"))
    with pytest.raises(ValueError) as info:
        load_known_nonreproductions(path)
    assert str(path) in str(info.value) and "[[nonreproduction]]" in str(info.value)


# ----------------------------------------------------------------------------- verdicts → pytest outcomes


def test_a_claim_that_holds_passes_and_is_recorded():
    item = fake_item()
    verdict = Verdict(item, spec())
    verdict.measured(r2=np.float64(0.995))
    verdict.figure("figures/v.png")
    verdict.figure("figures/v.png")
    verdict.conclude(True, summary="R² 0.995")
    record = recorded(verdict)
    assert record["id"] == "v-shape" and record["verdict"] == "holds"
    assert record["measured"] == {"r2": 0.995} and record["figures"] == ["figures/v.png"]
    assert record["test"] == "claims/test_x.py::test_v_shape"
    assert record["rerun"] == "pytest claims/test_x.py::test_v_shape"


def test_an_erratum_xfails_with_the_correction():
    verdict = Verdict(fake_item(), spec())
    with pytest.raises(pytest.xfail.Exception, match="erratum: the corrected formula holds"):
        verdict.conclude(False, summary="s", erratum=True, correction="the corrected formula holds")
    assert recorded(verdict)["erratum"] == "the corrected formula holds"


def test_an_erratum_needs_its_correction():
    with pytest.raises(ValueError, match="needs the correction"):
        Verdict(fake_item(), spec()).conclude(False, summary="s", erratum=True)


def test_a_claim_that_fails_fails_the_test_with_the_quote_and_measurement():
    verdict = Verdict(fake_item(), spec())
    with pytest.raises(pytest.fail.Exception) as info:
        verdict.conclude(False, summary="R² 0.5")
    assert "the write-up's words" in str(info.value) and "R² 0.5" in str(info.value)
    assert recorded(verdict)["verdict"] == "fails"


def test_a_known_nonreproduction_xfails_but_stays_fails_in_the_record():
    known = {"claim": "v-shape", "checkpoint_sha256": SHA, "measured": "m", "why": "reviewed"}
    verdict = Verdict(fake_item(), spec(), known)
    with pytest.raises(pytest.xfail.Exception, match="known non-reproduction"):
        verdict.conclude(False, summary="R² 0.5")
    record = recorded(verdict)
    assert record["verdict"] == "fails" and record["known_nonreproduction"] == "reviewed"


def test_a_known_nonreproduction_does_not_apply_to_a_claim_that_holds():
    known = {"claim": "v-shape", "checkpoint_sha256": SHA, "measured": "m", "why": "reviewed"}
    verdict = Verdict(fake_item(), spec(), known)
    verdict.conclude(True, summary="R² 0.995")
    assert recorded(verdict)["known_nonreproduction"] is None


def test_nan_measurements_are_recorded_as_null():
    verdict = Verdict(fake_item(), spec())
    verdict.measured(value=math.nan)
    verdict.conclude(True, summary="s")
    assert recorded(verdict)["measured"] == {"value": None}


def test_every_record_type_travels_as_itself():
    """One channel, serialised once: each record comes back as the same dataclass with the same JSON form."""
    rec = ClaimRecord(
        spec=spec(claimed=[0.99, 1]),
        verdict="holds",
        measured={"r2": 0.995},
        summary="s",
        figures=["figures/v.png"],
        test="t.py::t",
        robustness={"declared": False, "cell": "x"},
    )
    probe = ClaimRecord(
        spec=ClaimSpec(id="p", quote="q?", claimed=None, accept="a", family="probes", kind="probe"),
        verdict="holds",
        measured={"found": 1},
    )
    context = RunContext(checkpoint={"path": "m.pt", "sha256": SHA}, data={"train": 3})
    section = SectionRecord("ood", {"family": "scale", "n": 2})
    for record in (rec, probe, context, section):
        assert from_wire(to_wire(record)) == record


def test_the_catalogue_order_names_exactly_the_marked_claims():
    """CLAIMS.md's order (claims.CATALOGUE_ORDER) is the only list of ids; the claims themselves are their
    @claim markers. The two must name the same claims, or a claim would be unordered or an order entry dead."""
    from claims import catalogue

    known = catalogue()
    assert set(CLAIM_IDS) == set(known.claim_ids)
    assert known.claim_ids == tuple(CLAIM_IDS)
    assert known.probe_ids and set(known.data_only) | set(known.model_dependent) == set(known.claim_ids)


def test_every_counterfactual_predicts_claims_of_the_catalogue():
    """Predictions name marked claims (checked when read, no longer when model/counterfactuals.py is imported);
    'every model-dependent claim' is the markers' depends_on="model"."""
    from claims import catalogue
    from model.counterfactuals import COUNTERFACTUALS, Counterfactual, replica

    for cf in (*COUNTERFACTUALS, replica(1)):
        assert set(cf.predicted(catalogue())) <= set(catalogue().claim_ids), cf.name
    assert COUNTERFACTUALS[0].predicted(catalogue()) == catalogue().model_dependent
    with pytest.raises(ValueError, match="unknown claim ids"):
        Counterfactual("typo", "untrained", "r", ("v-shap",)).predicted(catalogue())
