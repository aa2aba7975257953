"""Fixtures for the suite's own tests.

Unit tests use small synthetic inputs and temporary files. The few end-to-end tests run the real claims
suite in a child pytest process through :func:`run_claims` (same inputs as this session: the options and
``EIS_*`` variables are passed through), so they exercise exactly what a user runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from fixtures.locate import PROJECT_ROOT
from report import schema

# Every claims.json and matrix.json a test writes (in this process or a child pytest, which inherits the variable)
# is checked against the published schema, report/claims.schema.json, when it is written.
os.environ[schema.ENV] = "1"


@dataclass(frozen=True)
class ClaimsRun:
    returncode: int
    stdout: str
    stderr: str
    report_dir: Path

    @property
    def document(self) -> dict:
        return json.loads((self.report_dir / "claims.json").read_text())


def claims_command(config: pytest.Config, *extra: str) -> list[str]:
    """``python -m pytest claims/`` with this session's input options (weights, data, cache, --no-download)."""
    args = [sys.executable, "-m", "pytest", "claims/", "-q", "-p", "no:cacheprovider"]
    for option in ("weights", "data_dir", "cache_dir"):
        value = config.getoption(option)
        if value:
            args += [f"--{option.replace('_', '-')}", str(value)]
    if config.getoption("no_download"):
        args.append("--no-download")
    return args + list(extra)


def run_claims(
    config: pytest.Config, report_dir: Path, *extra: str, env: dict[str, str] | None = None, timeout: float = 900
) -> ClaimsRun:
    """Run ``python -m pytest claims/`` in a child process writing its report to ``report_dir``."""
    args = claims_command(config, "--report-dir", str(report_dir), *extra)
    child_env = {**os.environ, **(env or {})}
    child_env.pop("EIS_REPORT_DIR", None)
    proc = subprocess.run(args, cwd=PROJECT_ROOT, env=child_env, capture_output=True, text=True, timeout=timeout)
    return ClaimsRun(proc.returncode, proc.stdout, proc.stderr, report_dir)


@pytest.fixture(scope="session")
def claims_run(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> ClaimsRun:
    """One real ``pytest claims/`` run (serial) of the configured checkpoint, shared by the end-to-end tests."""
    run = run_claims(pytestconfig, tmp_path_factory.mktemp("claims-report"))
    if not (run.report_dir / "claims.json").exists():
        pytest.fail(
            f"the claims run wrote no report (exit {run.returncode}):\n{run.stdout[-3000:]}\n{run.stderr[-2000:]}"
        )
    return run
