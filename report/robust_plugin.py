"""pytest plugin: ``pytest claims/ --robustness`` measures every claim's robustness (see
:mod:`analysis.robustness`) and records it as ``robustness`` in the claim's record.

Two ways a claim is covered:

- its test calls ``verdict.judge(DECLARATION, sample)`` (the declaration sits next to the test; one code path);
- or its declaration lives in :mod:`claims.robustness_external` with the fixtures its sample is built from;
  after the test ran, its judge is run at the default choices and must give the test's verdict, else the
  record says ``"consistent": false`` (the declaration is stale).

A claim with neither gets ``{"declared": false}``: every view says "not measured". Without the flag nothing
here runs (no fixture requested).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from report.claim import RECORD_PROPERTY

_DATA = pytest.StashKey[tuple]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("eis")
    group.addoption(
        "--robustness", action="store_true", default=False,
        help="also measure each claim's robustness: its allowed readings enumerated, a seeded bootstrap of its "
        "images against its acceptance bounds, and a held-out replication; recorded in claims.json and every view",
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


@pytest.fixture(autouse=True)
def _robustness_sample(request: pytest.FixtureRequest) -> None:
    """With --robustness, build the sample of a claim whose declaration lives in claims/robustness_external.py
    (from the fixtures it names) during setup, for the check after the test."""
    if not _enabled(request.config) or not isinstance(request.node, pytest.Item):
        return
    cid = _claim_id(request.node)
    if cid is None:
        return
    from claims.robustness_external import EXTERNAL

    ext = EXTERNAL.get(cid)
    if ext is not None:
        values = {name: request.getfixturevalue(name) for name in ext.fixtures}
        request.node.stash[_DATA] = (ext.declaration, ext.build(**values))


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
        if _DATA in item.stash:
            declaration, data = item.stash[_DATA]
            del item.stash[_DATA]  # its per-resample caches die with the test, not with the session
            judgement = declaration(data)
            rob = measure_claim(item.config, declaration, data, judgement)
            rob["consistent"] = judgement.verdict == rec["verdict"]
            if not rob["consistent"]:
                rob["fragile"], rob["settled"] = True, False
                rob["cell"] = f"inconsistent declaration · {rob.get('cell', '')}"
                rob["fragile_because"] = rob.get("fragile_because", []) + [
                    f"its declaration judges {judgement.verdict}, the test {rec['verdict']}: stale declaration"]
        else:
            from analysis.robustness import undeclared

            rob = undeclared("no robustness declaration yet (README: Robustness, how to declare one)")
        rec["robustness"] = rob
        item.user_properties[k] = (name, json.dumps(rec))
        return
