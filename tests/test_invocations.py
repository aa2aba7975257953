"""The same records whatever the invocation: what ``pytest claims/`` records is recorded identically by a run
that also collects the suite's own tests (as ``pytest`` does: it imports modules ``pytest claims/`` never
imports, whose constants hypothesis would otherwise mix into the probes' examples) and selects only the probes
(``-m probe``). ``pytest -n 2`` is compared in tests/test_distributed.py, partial runs in tests/test_partial.py."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_claims

pytestmark = [pytest.mark.needs_data, pytest.mark.slow]


def test_probes_record_the_same_whatever_else_the_run_collected(pytestconfig, claims_run, tmp_path):
    run = run_claims(pytestconfig, tmp_path, "tests/", "-m", "probe")
    partial = tmp_path / "partial" / "claims.json"
    assert partial.exists(), run.stdout[-3000:] + run.stderr[-2000:]
    probes = json.loads(partial.read_text())["probes"]
    assert sorted(probes) == sorted(claims_run.document["probes"])
    assert probes == claims_run.document["probes"]
