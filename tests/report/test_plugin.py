"""The report plugin (report/plugin.py) on a small synthetic claims module, through pytest's ``pytester``.

No data, no checkpoint: ``run_context`` is overridden. A claim's verdict decides its outcome (holds → passed,
erratum → xfailed, fails → failed); a test that forgets ``verdict.conclude(...)`` or never asks for the
``verdict`` fixture fails with a message that says so; ``-k <claim-id>`` selects a claim; the collector is
registered only where records are collected (not on an xdist worker); every record carries its node id and
re-run command, and the terminal counts in words.
"""

from __future__ import annotations

import json

import pytest

from fixtures.locate import PROJECT_ROOT

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


VERDICTS = '''
from report.claim import claim


@claim("synthetic-holds", quote="q", claimed=1, accept="a")
def test_holds(verdict):
    verdict.measured(x=1.0)
    verdict.conclude(True, summary="it holds")


@claim("synthetic-erratum", quote="q", claimed=1, accept="a")
def test_erratum(verdict):
    verdict.conclude(False, summary="as printed: no", erratum=True, correction="the corrected reading holds")


@claim("synthetic-fails", quote="q", claimed=1, accept="a")
def test_fails(verdict):
    verdict.conclude(False, summary="it does not hold")
'''


@pytest.fixture
def verdicts(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(CONFTEST)
    pytester.makeini(INI)
    pytester.makepyfile(test_verdicts=VERDICTS)
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:hypothesispytest",
                                         "--report-dir", str(pytester.path / "out"), *args)


def test_each_verdict_gives_its_outcome_and_a_record_with_its_node_id(verdicts):
    result = run(verdicts, "-v")
    result.assert_outcomes(passed=1, xfailed=1, failed=1)
    doc = json.loads((verdicts.path / "out" / "partial" / "claims.json").read_text())  # not the catalogue: partial
    rec = doc["claims"]["synthetic-fails"]
    assert rec["verdict"] == "fails" and rec["test"] == "test_verdicts.py::test_fails"
    assert rec["rerun"] == "pytest test_verdicts.py::test_fails"
    text = result.stdout.str()
    assert "3 claims: 1 hold, 1 erratum, 1 fail" in text
    assert "synthetic-fails fails; re-run it alone: pytest test_verdicts.py::test_fails" in text


def test_minus_k_with_a_claim_id_selects_that_claim(verdicts):
    result = run(verdicts, "-k", "synthetic-erratum")
    result.assert_outcomes(xfailed=1, deselected=2)
    assert "1 claim: 0 hold, 1 erratum, 0 fail" in result.stdout.str()


def test_the_collector_is_registered_only_where_records_are_collected(verdicts):
    verdicts.makeconftest(CONFTEST + '''

def pytest_sessionfinish(session):
    import json, os
    name = os.environ.get("PYTEST_XDIST_WORKER", "controller")
    has = session.config.pluginmanager.has_plugin("eis-claim-collector")
    with open(f"collector-{name}.json", "w") as fh:
        json.dump(has, fh)
''')
    result = run(verdicts, "-p", "xdist", "-n", "1")
    result.assert_outcomes(passed=1, xfailed=1, failed=1)
    assert json.loads((verdicts.path / "collector-controller.json").read_text()) is True
    assert json.loads((verdicts.path / "collector-gw0.json").read_text()) is False
    assert (verdicts.path / "out" / "partial" / "claims.json").exists()  # the controller wrote the report


def test_the_terminal_says_why_the_matrix_is_deselected_and_v_unclips_the_table(verdicts):
    verdicts.makeini(INI + "    matrix: claims × models\n")
    verdicts.makepyfile(test_more='''
import pytest

from report.claim import claim

LONG = "a measurement described at length, " * 4 + "the end"


@claim("synthetic-long", quote="q", claimed=1, accept="a")
def test_long(verdict):
    verdict.conclude(True, summary=LONG)


@pytest.mark.matrix
def test_a_model():
    pass
''')
    quiet = run(verdicts, "test_more.py").stdout.str()
    assert "1 test of claims × models deselected: the matrix runs only with --models" in quiet
    assert "the end" not in quiet and "(-v prints the table unclipped)" in quiet
    verbose = run(verdicts, "test_more.py", "-v").stdout.str()
    assert "described at length, the end" in verbose and "unclipped" not in verbose
