"""The two things a claim test uses: the ``@claim(...)`` decorator (the write-up's words and the acceptance
rule) and the ``verdict`` fixture's :class:`Verdict` (what was measured, and the conclusion).

    @claim("labeling-function", quote="... recovers model performance with 96.2% accuracy",
           claimed=0.962, accept="within ±0.1 pp of 96.2%")
    def test_labeling_function(verdict, train):
        agreement = ...
        verdict.measured(agreement=agreement)
        verdict.conclude(holds=abs(agreement - 0.962) <= 0.001, summary=f"{agreement:.2%}")
"""

from __future__ import annotations

import json
from typing import Any, Callable

import pytest

from report.records import ClaimRecord, ClaimSpec, decide, jsonable, load_known_nonreproductions

RECORD_PROPERTY = "eis_claim"
PROBE_PROPERTY = "eis_probe"


def claim(
    id: str, *, quote: str, claimed: Any, accept: str, depends_on: str = "model", family: str = ""
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a test as the check of one claim of CLAIMS.md."""
    spec = ClaimSpec(id=id, quote=quote, claimed=claimed, accept=accept, depends_on=depends_on, family=family)
    return pytest.mark.claim(spec)


def probe(id: str, *, question: str, accept: str, depends_on: str = "model") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a test as a property probe: a reader's question of the write-up, with a stated acceptance rule.
    Its record goes under ``"probes"`` in claims.json; ``pytest -m probe`` runs the probes alone."""
    spec = ClaimSpec(id=id, quote=question, claimed=None, accept=accept, depends_on=depends_on, family="probes", kind="probe")
    return pytest.mark.probe(spec)


class Verdict:
    """Collects one claim's measurements and turns them into a verdict and a pytest outcome."""

    def __init__(self, item: pytest.Item, spec: ClaimSpec, checkpoint_sha256: str) -> None:
        self._item = item
        self._sha = checkpoint_sha256
        self.record = ClaimRecord(spec=spec, test=item.nodeid)
        self.concluded = False
        self.robustness: dict[str, Any] | None = None
        self.judgement: Any = None

    def judge(self, declaration: Any, data: Any) -> Any:
        """The claim's declared judge at its default choices (see :mod:`analysis.robustness`); with
        ``--robustness`` also its bootstrap and multiverse, recorded with the verdict. A claim's verdict and
        measurements are its judgement's: :meth:`conclude` refuses any other."""
        if self.judgement is not None:
            raise RuntimeError(f"{self.record.spec.id}: judged twice; a claim has one judge, called once")
        judgement = self.judgement = declaration(data)
        if self._item.config.getoption("robustness", default=False):
            # the robustness plugin (report/robust_plugin.py, which imports this module) as pytest registered it
            robust = self._item.config.pluginmanager.get_plugin("report.robust_plugin")
            self.robustness = robust.measure_claim(self._item.config, declaration, data, judgement)
        return judgement

    def measured(self, **values: Any) -> None:
        self.record.measured.update(values)

    def figure(self, relpath: str) -> None:
        if relpath not in self.record.figures:
            self.record.figures.append(relpath)

    def conclude(self, holds: bool, *, summary: str, erratum: bool = False, correction: str | None = None) -> None:
        """Decide the verdict, store the record, and end the test: pass, xfail (erratum), or fail."""
        if erratum and not correction:
            raise ValueError("an erratum needs the correction that holds")
        rec = self.record
        self._check_judged(bool(holds), bool(erratum))
        self.concluded = True
        rec.verdict = decide(bool(holds), bool(erratum))
        rec.summary = summary
        if rec.verdict == "erratum":
            rec.erratum = correction
        known = load_known_nonreproductions().get((rec.spec.id, self._sha)) if rec.verdict == "fails" else None
        if known:
            rec.known_nonreproduction = known["why"]
        prop = PROBE_PROPERTY if rec.spec.kind == "probe" else RECORD_PROPERTY
        extra = {"robustness": self.robustness} if self.robustness is not None else {}
        self._item.user_properties.append((prop, json.dumps({"id": rec.spec.id, **rec.to_json(), **extra})))
        if rec.verdict == "erratum":
            pytest.xfail(f"erratum: {correction}")
        if rec.verdict == "fails":
            message = (
                f"{rec.spec.kind} {rec.spec.id!r} does not hold.\n  {'write-up' if rec.spec.kind == 'claim' else 'question'}: {rec.spec.quote}\n"
                f"  accept:   {rec.spec.accept}\n  measured: {summary}"
            )
            if known:
                pytest.xfail(f"known non-reproduction (claims/known_nonreproductions.toml): {known['why']}")
            pytest.fail(message, pytrace=False)

    def _check_judged(self, holds: bool, erratum: bool) -> None:
        """A judged claim concludes exactly what its judge judged: its verdict and its measurements (that every
        claim of the suite is judged, tests/claims/test_judges.py checks on a real run)."""
        j = self.judgement
        if j is None:
            return
        verdict = decide(holds, erratum)
        if verdict != j.verdict:
            raise JudgeMismatch(f"{self.record.spec.id}: the test concludes {verdict!r}, its judge {j.verdict!r}")
        if jsonable(self.record.measured) != jsonable(dict(j.measured)):
            raise JudgeMismatch(f"{self.record.spec.id}: the test records other measurements than its judge's "
                                "(record exactly verdict.measured(**judgement.measured))")


class JudgeMismatch(AssertionError):
    """A claim test concluded something its judge did not judge: an error of the suite, never a verdict."""
