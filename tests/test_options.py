"""Bad options stop the run at start-up with one usage error (exit status 4), never a traceback in a test."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from fixtures.locate import PROJECT_ROOT
from model.runs import selected


def run_pytest(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "claims/", "-q", "-p", "no:cacheprovider", *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "args,env,message",
    [
        (("--models", "nonsense"), None, "no model named 'nonsense'"),
        (("--hypothesis-profile", "bogus"), None, "unknown hypothesis profile 'bogus'"),
    ],
    ids=["unknown-model", "unknown-hypothesis-profile"],
)
def test_a_bad_option_is_one_usage_error(args, env, message):
    proc = run_pytest(*args, env=env)
    output = proc.stdout + proc.stderr
    assert proc.returncode == pytest.ExitCode.USAGE_ERROR, output[-2000:]
    assert message in output and "Traceback" not in output


def test_model_sets_and_names_resolve():
    assert [cf.name for cf in selected("small")] == ["untrained", "silenced-anti-one"]
    assert [cf.name for cf in selected("untrained, entangled")] == ["untrained", "entangled"]
    assert selected(None) == ()
    with pytest.raises(ValueError, match="known: untrained"):
        selected("untrained,nope")
