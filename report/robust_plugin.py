"""pytest plugin: ``pytest claims/ --robustness`` measures every claim's robustness (see
:mod:`analysis.robustness`) and records it as ``robustness`` in the claim's record.

A claim's test calls ``verdict.judge(DECLARATION, sample)`` (the declaration sits next to the test; one code
path): with the flag, that call also runs the judge's bootstrap and multiverse. A claim whose test judges nothing
gets ``{"declared": false}``: every view says "not measured". Without the flag nothing here runs (no import of
hypothesis).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from report.claim import RECORD_PROPERTY


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("eis")
    group.addoption(
        "--robustness", action="store_true", default=False,
        help="also measure each claim's robustness: a seeded bootstrap of its images and a hypothesis search over "
        "its declared analysis choices; recorded in claims.json and every view",
    )
    group.addoption(
        "--robustness-resamples", type=int, default=None, metavar="N",
        help="bootstrap resamples per claim with --robustness (default 200)",
    )


def _enabled(config: pytest.Config) -> bool:
    return bool(config.getoption("robustness", default=False))


def resamples(config: pytest.Config) -> int:
    from analysis.robustness import RESAMPLES

    n = config.getoption("robustness_resamples", default=None)
    return RESAMPLES if n is None else int(n)


def pytest_configure(config: pytest.Config) -> None:
    n = config.getoption("robustness_resamples", default=None)
    if n is not None and n < 1:
        raise pytest.UsageError(f"--robustness-resamples must be a positive number, got {n}")


def measure_claim(config: pytest.Config, declaration: Any, data: Any, judgement: Any) -> dict[str, Any]:
    """The claim's robustness record. A measurement that breaks (a judge that cannot handle a resample, say)
    costs the claim its robustness record, which says why, never its verdict."""
    from analysis.robustness import measure, undeclared
    from report.records import jsonable

    try:
        return jsonable(measure(declaration, data, judgement, resamples=resamples(config)))
    except Exception as exc:  # noqa: BLE001 - reported in the record and every view
        return undeclared(f"robustness measurement failed: {type(exc).__name__}: {exc}", "measurement failed")


def _claim_id(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker("claim")
    return marker.args[0].id if marker is not None and marker.args else None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item):
    yield
    if not _enabled(item.config) or _claim_id(item) is None:
        return
    for k, (name, value) in enumerate(item.user_properties):
        if name != RECORD_PROPERTY:
            continue
        rec = json.loads(value)
        if "robustness" in rec:
            return
        from analysis.robustness import undeclared

        rec["robustness"] = undeclared("no robustness declaration yet (README: Robustness, how to declare one)")
        item.user_properties[k] = (name, json.dumps(rec))
        return
