"""The same records whatever the invocation: what ``pytest claims/`` records is recorded identically by a run
that also collects the suite's own tests (as ``pytest`` does: it imports modules ``pytest claims/`` never
imports, whose constants hypothesis would otherwise mix into the probes' examples) and selects only the probes
(``-m probe``). ``pytest -n 2`` is compared in tests/test_distributed.py, partial runs in tests/report/test_partial.py."""  # noqa: E501

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


def test_a_run_from_another_directory_creates_nothing_there(pytestconfig, tmp_path):
    """hypothesis's storage (even the explore profile's example database) and pytest-benchmark's runs live in the
    cache folder and the project, whatever the working directory."""
    import subprocess
    import sys

    from fixtures.locate import PROJECT_ROOT

    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    args = [
        sys.executable,
        "-m",
        "pytest",
        str(PROJECT_ROOT / "claims" / "test_probes.py"),
        "-q",
        "-p",
        "no:cacheprovider",
        "--hypothesis-profile",
        "explore",
        "--report-dir",
        str(tmp_path / "report"),
    ]
    for option in ("weights", "data_dir", "cache_dir"):
        if pytestconfig.getoption(option):
            args += [f"--{option.replace('_', '-')}", str(pytestconfig.getoption(option))]
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert list(cwd.iterdir()) == []
