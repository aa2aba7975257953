"""A pytest plugin for a child ``pytest claims/`` run (``-p tests.claims.judge_log``): every time a claim test
calls ``verdict.judge(declaration, sample)``, the judge is called once more on that sample at its default reading,
on its own, and its verdict and measurements are written to the file named by ``$EIS_JUDGEMENTS`` when the session
ends, for tests/claims/test_judges.py to compare with the records the tests wrote."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from report.claim import Verdict
from report.records import jsonable

_judgements: dict[str, dict[str, Any]] = {}
_judge = Verdict.judge


def _logged_judge(self: Verdict, declaration: Any, data: Any) -> Any:
    again = declaration(data)
    _judgements[self.record.spec.id] = {"verdict": again.verdict, "measured": jsonable(dict(again.measured))}
    return _judge(self, declaration, data)


def pytest_configure(config: pytest.Config) -> None:
    Verdict.judge = _logged_judge


def pytest_unconfigure(config: pytest.Config) -> None:
    Verdict.judge = _judge
    path = os.environ.get("EIS_JUDGEMENTS")
    if path:
        Path(path).write_text(json.dumps(_judgements, indent=1, sort_keys=True))
