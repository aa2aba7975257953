"""``pytest -n 2 claims/`` (pytest-xdist) must give the same claim records as a serial run: the activation
cache is computed once and shared, and the report is merged from both workers."""

from __future__ import annotations

import pytest

from tests.conftest import run_claims

pytestmark = pytest.mark.needs_data


def test_two_workers_give_the_same_records_as_one(pytestconfig, claims_run, tmp_path):
    parallel = run_claims(pytestconfig, tmp_path, "-n", "2")
    assert (tmp_path / "claims.json").exists(), parallel.stdout[-3000:] + parallel.stderr[-2000:]
    serial_doc, parallel_doc = claims_run.document, parallel.document
    assert parallel.returncode == claims_run.returncode
    assert sorted(parallel_doc["claims"]) == sorted(serial_doc["claims"])  # every worker's records arrived
    assert parallel_doc["claims"] == serial_doc["claims"]
    assert parallel_doc["probes"] == serial_doc["probes"]
    assert parallel_doc["summary"] == serial_doc["summary"]
    assert "EIS VII claims" in parallel.stdout  # the controller printed the verdict table
