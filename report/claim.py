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

from collections.abc import Mapping
from typing import Any, Callable, NoReturn

import pytest

from report.records import ClaimRecord, ClaimSpec, decide, jsonable


def claim(
    id: str, *, quote: str, claimed: Any, accept: str, depends_on: str = "model", family: str = ""
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a test as the check of one claim of CLAIMS.md."""
    spec = ClaimSpec(id=id, quote=quote, claimed=claimed, accept=accept, depends_on=depends_on, family=family)
    return pytest.mark.claim(spec)


def xfail(reason: str) -> NoReturn:
    """End the test as xfailed with ``reason``, as ``pytest.xfail`` does, without a traceback: for an expected
    outcome the reason is the whole report, as ``pytest.fail(..., pytrace=False)`` is for a failure. (A traceback
    makes pytest re-parse the test module and repr every fixture argument: ~0.1 s per xfail, measured.)"""
    __tracebackhide__ = True
    raise pytest.xfail.Exception(reason, pytrace=False)


def probe(
    id: str, *, question: str, accept: str, depends_on: str = "model"
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a test as a property probe: a reader's question of the write-up, with a stated acceptance rule.
    Its record goes under ``"probes"`` in claims.json; ``pytest -m probe`` runs the probes alone."""
    spec = ClaimSpec(
        id=id, quote=question, claimed=None, accept=accept, depends_on=depends_on, family="probes", kind="probe"
    )
    return pytest.mark.probe(spec)


class Verdict:
    """Collects one claim's measurements and turns them into a verdict and a pytest outcome. Its
    :attr:`record` is the claim's one record; the plugin ships it when the test has run."""

    def __init__(
        self,
        item: pytest.Item,
        spec: ClaimSpec,
        known: Mapping[str, Any] | None = None,
        known_source: str = "the reviewed list",
    ) -> None:
        self._item = item
        self._known = known  # this checkpoint's entry of the known non-reproductions, if any
        self._known_source = known_source  # where that list lives, for the xfail reason
        self.record = ClaimRecord(spec=spec, test=item.nodeid)
        self.concluded = False
        self.judgement: Any = None

    def judge(self, declaration: Any, data: Any) -> Any:
        """The claim's judge (a callable of its sample) at its default choices, or the same judgement kept by the
        project (the ``pytest_eis_judge`` hook); with ``--robustness`` the robustness engine (the
        ``pytest_eis_robustness`` hook) also measures it, into the record. A claim's verdict and measurements are its
        judgement's: :meth:`conclude` refuses any other."""
        if self.judgement is not None:
            raise RuntimeError(f"{self.record.spec.id}: judged twice; a claim has one judge, called once")
        config = self._item.config
        judgement = config.hook.pytest_eis_judge(item=self._item, declaration=declaration, data=data)
        judgement = self.judgement = declaration(data) if judgement is None else judgement
        if config.getoption("robustness", default=False):
            self.record.robustness = config.hook.pytest_eis_robustness(
                config=config, declaration=declaration, data=data, judgement=judgement
            )
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
        known = self._known if rec.verdict == "fails" else None
        if known:
            rec.known_nonreproduction = known["why"]
        if rec.verdict == "erratum":
            xfail(f"erratum: {correction}")
        if rec.verdict == "fails":
            message = (
                f"{rec.spec.kind} {rec.spec.id!r} does not hold.\n  {'write-up' if rec.spec.kind == 'claim' else 'question'}: {rec.spec.quote}\n"  # noqa: E501
                f"  accept:   {rec.spec.accept}\n  measured: {summary}"
            )
            if known:
                xfail(f"known non-reproduction ({self._known_source}): {known['why']}")
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
            raise JudgeMismatch(
                f"{self.record.spec.id}: the test records other measurements than its judge's "
                "(record exactly verdict.measured(**judgement.measured))"
            )


class JudgeMismatch(AssertionError):
    """A claim test concluded something its judge did not judge: an error of the suite, never a verdict."""
