"""A claim or probe test that ends without a verdict is an error of the suite, never a silent pass.

The report plugin runs on a small synthetic claims module (no data, no checkpoint: ``run_context`` is
overridden) in a child pytest (pytester); a test that forgets ``verdict.conclude(...)`` or never asks for
the ``verdict`` fixture must fail with a message that says so, and the run's exit status must be non-zero.
"""

from __future__ import annotations

from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]

pytest_plugins = ["pytester"]

CONFTEST = '''
import pytest

pytest_plugins = ["report.plugin"]


def pytest_addoption(parser):
    parser.addoption("--probe-profile", default=None)  # registered by fixtures.plugin in the real suite


@pytest.fixture(scope="session")
def run_context():
    return {"checkpoint": {"path": "synthetic.pt", "sha256": "0" * 64, "challenge": False}, "data": {}}
'''

INI = f"""
[pytest]
pythonpath = {PROJECT_ROOT}
markers =
    claim(spec): a claim
    probe(spec): a probe
"""

CLAIMS = '''
import pytest

from report.claim import claim, probe


@claim("concludes", quote="q", claimed=1, accept="a")
def test_concludes(verdict):
    verdict.measured(x=1)
    verdict.conclude(True, summary="ok")


@claim("forgets-to-conclude", quote="q", claimed=1, accept="a")
def test_forgets_to_conclude(verdict):
    verdict.measured(x=1)


@claim("never-asks", quote="q", claimed=1, accept="a")
def test_never_asks_for_a_verdict():
    pass


@claim("skips", quote="q", claimed=1, accept="a")
def test_skips_instead_of_concluding(verdict):
    pytest.skip("nothing to measure")


@probe("probe-forgets", question="q", accept="a")
def test_probe_forgets(verdict):
    verdict.measured(found=1)


def test_an_ordinary_test_needs_no_verdict():
    pass
'''


@pytest.fixture
def outcome(pytester: pytest.Pytester):
    pytester.makeconftest(CONFTEST)
    pytester.makeini(INI)
    pytester.makepyfile(test_synthetic_claims=CLAIMS)
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:hypothesispytest",
                                         "--report-dir", str(pytester.path / "out"))


def test_a_claim_or_probe_test_without_a_verdict_fails_loudly(outcome):
    outcome.assert_outcomes(passed=2, failed=4)
    assert outcome.ret != 0
    text = outcome.stdout.str()
    assert "claim 'forgets-to-conclude' ended without a verdict" in text
    assert "claim 'never-asks' ended without a verdict" in text and "never requested the `verdict` fixture" in text
    assert "probe 'probe-forgets' ended without a verdict" in text
    assert "claim 'skips' ended without a verdict: its test skipped" in text
    assert "FAILED test_synthetic_claims.py::test_concludes" not in text
