"""One judge per claim: a claim's verdict and measurements are what its declared judge returns on its sample at
the default reading, so ``--robustness`` resamples the very function that decided the verdict.

:class:`report.claim.Verdict` enforces it test by test (a claim test must call ``verdict.judge`` and conclude exactly
the judgement); the end-to-end test below checks it on a real run's records, judge by judge."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from analysis.robustness import Judgement
from report.claim import JudgeMismatch, Verdict
from report.records import ClaimSpec
from tests.conftest import run_claims

pytest_plugins = ["pytester"]


class FakeItem(SimpleNamespace):
    """The parts of a pytest item a Verdict uses."""


def a_verdict(kind: str = "claim") -> Verdict:
    item = FakeItem(
        nodeid="claims/test_x.py::test_x",
        user_properties=[],
        config=SimpleNamespace(
            getoption=lambda name, default=None: default, hook=SimpleNamespace(pytest_eis_judge=lambda **kwargs: None)
        ),
    )
    spec = ClaimSpec(id="x", quote="q", claimed=1, accept="a", kind=kind)
    return Verdict(item, spec)


def judging(holds: bool, measured: dict, erratum: bool = False):
    return lambda data: Judgement(holds, {}, erratum=erratum, measured=measured)


@pytest.mark.parametrize("holds, erratum", [(False, False), (True, False), (False, True)])
def test_a_claim_that_concludes_another_verdict_than_its_judge_is_refused(holds, erratum):
    v = a_verdict()
    v.judge(judging(not holds, {"a": 1}, erratum=not erratum and not holds), None)
    v.measured(a=1)
    with pytest.raises(JudgeMismatch, match="its judge"):
        v.conclude(holds, erratum=erratum, correction="c", summary="s")


def test_a_claim_that_records_other_measurements_than_its_judge_is_refused():
    v = a_verdict()
    v.judge(judging(True, {"a": 1.0, "b": [1, 2]}), None)
    v.measured(a=1.0, b=[1, 3])
    with pytest.raises(JudgeMismatch, match="measurements"):
        v.conclude(True, summary="s")


def test_a_claim_judged_twice_is_refused():
    v = a_verdict()
    v.judge(judging(True, {}), None)
    with pytest.raises(RuntimeError, match="twice"):
        v.judge(judging(True, {}), None)


def test_a_claim_that_records_its_judgement_concludes():
    v = a_verdict()
    v.judge(judging(True, {"a": 1.0}), None)
    v.measured(a=1.0)
    v.conclude(True, summary="s")
    assert v.record.verdict == "holds" and v.record.measured == {"a": 1.0}


def test_a_probe_needs_no_judge():
    v = a_verdict("probe")
    v.conclude(True, summary="s")
    assert v.record.verdict == "holds"


def test_every_claim_of_a_real_run_records_exactly_what_its_judge_returns(pytestconfig, tmp_path):
    """Each judge, called again on its own on the sample its test gave it (the full sample, the default reading),
    returns the verdict and the measurements the claim's record holds; and every claim of the run was judged. The
    checked run follows one on the same cache, so its records come from the judgements that run kept
    (claims/judgements.py): a kept judgement that differs from its judge's fails here."""
    keeping = run_claims(pytestconfig, tmp_path / "first")
    assert (tmp_path / "first" / "claims.json").exists(), keeping.stdout[-3000:] + keeping.stderr[-2000:]
    log = tmp_path / "judgements.json"
    run = run_claims(
        pytestconfig, tmp_path / "report", "-p", "tests.claims.judge_log", env={"EIS_JUDGEMENTS": str(log)}
    )
    assert (tmp_path / "report" / "claims.json").exists(), run.stdout[-3000:] + run.stderr[-2000:]
    assert "JudgeMismatch" not in run.stdout, run.stdout[-3000:]
    records = run.document["claims"]
    judged = json.loads(log.read_text())
    assert len(records) >= 26
    assert set(records) <= set(judged)  # every claim judged (a probe may be judged too)
    for claim, record in records.items():
        assert judged[claim]["verdict"] == record["verdict"], claim
        assert judged[claim]["measured"] == record["measured"], claim


TWO_CLAIMS = """
from types import SimpleNamespace

from analysis.robustness import Judgement
from report.claim import Verdict
from report.records import ClaimSpec


class Item:
    nodeid, user_properties = "n", []

    class config:
        getoption = staticmethod(lambda name, default=None: default)
        hook = SimpleNamespace(pytest_eis_judge=lambda **kwargs: None)  # no project keeps judgements


def test_one_judged_one_not():
    judged = Verdict(Item(), ClaimSpec(id="judged", quote="q", claimed=1, accept="a"), "0")
    judged.judge(lambda d: Judgement(True, {}, measured={"a": 1}), None)
    Verdict(Item(), ClaimSpec(id="not-judged", quote="q", claimed=1, accept="a"), "0").measured(a=1)
"""


def test_a_test_that_judges_nothing_is_missing_from_the_log(pytester: pytest.Pytester, monkeypatch):
    """A claim whose test never calls its judge is missing from the judgements a run writes, so the check above
    (every record judged) fails on it."""
    from fixtures.locate import PROJECT_ROOT

    pytester.makeini(f"[pytest]\npythonpath = {PROJECT_ROOT}\n")
    pytester.makepyfile(test_two=TWO_CLAIMS)
    log = pytester.path / "judgements.json"
    monkeypatch.setenv("EIS_JUDGEMENTS", str(log))
    result = pytester.runpytest_subprocess(
        "-p", "tests.claims.judge_log", "-p", "no:cacheprovider", "-p", "no:hypothesispytest"
    )
    result.assert_outcomes(passed=1)
    assert set(json.loads(log.read_text())) == {"judged"}
