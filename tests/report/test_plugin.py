"""The report plugin (report/plugin.py) on a small synthetic claims module, through pytest's ``pytester``.

No data, no checkpoint, nothing of MNIST: the synthetic conftest supplies ``run_context`` and only the claims
engine's plugin is loaded. A claim's verdict decides its outcome (holds → passed,
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

CONFTEST = """
import pytest

from report.records import RunContext

pytest_plugins = ["report.plugin", "report.robust_plugin"]


@pytest.fixture(scope="session")
def run_context():
    return RunContext(checkpoint={"path": "synthetic.pt", "sha256": "0" * 64, "challenge": False}, data={})
"""

INI = f"""
[pytest]
pythonpath = {PROJECT_ROOT}
markers =
    claim(spec): a claim
    probe(spec): a probe
"""

CLAIMS = """
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
"""


@pytest.fixture
def outcome(pytester: pytest.Pytester):
    pytester.makeconftest(CONFTEST)
    pytester.makeini(INI)
    pytester.makepyfile(test_synthetic_claims=CLAIMS)
    return pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-p", "no:hypothesispytest", "--report-dir", str(pytester.path / "out")
    )


def test_a_claim_or_probe_test_without_a_verdict_fails_loudly(outcome):
    outcome.assert_outcomes(passed=2, failed=4)
    assert outcome.ret != 0
    text = outcome.stdout.str()
    assert "claim 'forgets-to-conclude' ended without a verdict" in text
    assert "claim 'never-asks' ended without a verdict" in text and "never requested the `verdict` fixture" in text
    assert "probe 'probe-forgets' ended without a verdict" in text
    assert "claim 'skips' ended without a verdict: its test skipped" in text
    assert "FAILED test_synthetic_claims.py::test_concludes" not in text


VERDICTS = """
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
"""


@pytest.fixture
def verdicts(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(CONFTEST)
    pytester.makeini(INI)
    pytester.makepyfile(test_verdicts=VERDICTS)
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-p", "no:hypothesispytest", "--report-dir", str(pytester.path / "out"), *args
    )


def test_each_verdict_gives_its_outcome_and_a_record_with_its_node_id(verdicts):
    result = run(verdicts, "-v")
    result.assert_outcomes(passed=1, xfailed=1, failed=1)
    doc = json.loads((verdicts.path / "out" / "claims.json").read_text())  # no catalogue: every run is complete
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
    verdicts.makeconftest(
        CONFTEST
        + """

def pytest_sessionfinish(session):
    import json
    workerinput = getattr(session.config, "workerinput", None)  # not the environment: the outer run may be xdist's
    name = workerinput["workerid"] if workerinput else "controller"
    has = session.config.pluginmanager.has_plugin("eis-claim-collector")
    with open(f"collector-{name}.json", "w") as fh:
        json.dump(has, fh)
"""
    )
    result = run(verdicts, "-p", "xdist", "-n", "1")
    result.assert_outcomes(passed=1, xfailed=1, failed=1)
    assert json.loads((verdicts.path / "collector-controller.json").read_text()) is True
    assert json.loads((verdicts.path / "collector-gw0.json").read_text()) is False
    assert (verdicts.path / "out" / "claims.json").exists()  # the controller wrote the report


def test_v_unclips_the_terminal_table(verdicts):
    verdicts.makepyfile(
        test_more="""
from report.claim import claim

LONG = "a measurement described at length, " * 4 + "the end"


@claim("synthetic-long", quote="q", claimed=1, accept="a")
def test_long(verdict):
    verdict.conclude(True, summary=LONG)
"""
    )
    quiet = run(verdicts, "test_more.py").stdout.str()
    assert "the end" not in quiet and "(-v prints the table unclipped)" in quiet
    verbose = run(verdicts, "test_more.py", "-v").stdout.str()
    assert "described at length, the end" in verbose and "unclipped" not in verbose


# ------------------------------------------------------------------------------- a synthetic claims package
PACKAGE_INI = (
    INI
    + """eis_claims_package = synthetic
eis_known_nonreproductions = synthetic/known.toml
"""
)

PACKAGE_CLAIMS = """
import pytest

from report.claim import claim, probe


@claim("second", quote="q2", claimed={"x": 2}, accept="a", family="fam")
def test_second(verdict):
    verdict.measured(x=2.000000000123)
    verdict.conclude(True, summary="x 2")


@claim("first", quote="q1", claimed=1, accept="a", depends_on="data")
def test_first(verdict):
    verdict.measured(x=0.5)
    verdict.conclude(False, summary="x 0.5")


@probe("a-probe", question="is it?", accept="a")
def test_a_probe(verdict):
    verdict.measured(found=3)
    verdict.conclude(True, summary="3")


def test_a_section(request):
    from report.plugin import record_section

    record_section(request, "ood", {"family": "noise", "verdict": "generalises", "n": 4, "agreement": 1.0,
                                    "n_far": 2, "far_agreement": 1.0, "far_interval": [0.5, 1.0], "looks": [],
                                    "in_distribution_far_agreement": 1.0,
                                    "disagreement_ratio_to_in_distribution": None,
                                    "constant_answer_far_agreement": 0.5, "informative": True})
"""


@pytest.fixture
def package(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(CONFTEST)
    pytester.makeini(PACKAGE_INI)
    pkg = pytester.mkpydir("synthetic")
    (pkg / "__init__.py").write_text('CATALOGUE_ORDER = ("first", "second")\n')
    (pkg / "test_claims.py").write_text(PACKAGE_CLAIMS)
    (pkg / "known.toml").write_text(
        '[[nonreproduction]]\nclaim = "first"\ncheckpoint_sha256 = "'
        + "0" * 64
        + '"\nmeasured = "0.5"\nwhy = "reviewed"\n'
    )
    return pytester


def test_a_complete_run_of_a_claims_package_writes_its_report_in_catalogue_order(package):
    result = run(package, "synthetic", "-p", "xdist", "-n", "2")
    result.assert_outcomes(passed=3, xfailed=1)  # 'first' fails, a known non-reproduction of this checkpoint
    out = package.path / "out"
    doc = json.loads((out / "claims.json").read_text())
    assert list(doc["claims"]) == ["first", "second"] and doc["summary"]["complete"] is True
    first = doc["claims"]["first"]
    assert first["known_nonreproduction"] == "reviewed" and first["verdict"] == "fails"
    assert doc["claims"]["second"]["measured"] == {"x": 2.0} and doc["claims"]["second"]["family"] == "fam"
    assert doc["probes"]["a-probe"]["found"] == {"found": 3}
    assert doc["checkpoint"]["path"] == "synthetic.pt"
    assert list(doc["ood"]["families"]) == ["noise"]
    for name in ("claims.md", "index.html", "badge.svg", "shields.json"):
        assert (out / name).is_file(), name
    assert not (out / "partial").exists()


def test_a_run_without_every_claim_of_the_package_is_partial(package):
    result = run(package, "synthetic", "-k", "second")
    result.assert_outcomes(passed=1, deselected=3)
    assert "PARTIAL RUN: no record of 1 claim: first" in result.stdout.str()
    assert not (package.path / "out" / "claims.json").exists()
    doc = json.loads((package.path / "out" / "partial" / "claims.json").read_text())
    assert doc["summary"]["missing"] == {"claims": ["first"], "probes": ["a-probe"]}


def test_a_serial_and_a_distributed_run_write_the_same_records(package):
    run(package, "synthetic")
    serial = (package.path / "out" / "claims.json").read_bytes()
    run(package, "synthetic", "-p", "xdist", "-n", "2")
    assert (package.path / "out" / "claims.json").read_bytes() == serial


def test_the_robustness_engine_plugs_in_through_its_hooks(package):
    package.makeconftest(
        CONFTEST
        + """

def pytest_eis_robustness_unjudged(item, record):
    return {"declared": False, "why": "synthetic", "fragile": False, "cell": "not measured (synthetic)"}
"""
    )
    run(package, "synthetic", "--robustness")
    doc = json.loads((package.path / "out" / "claims.json").read_text())
    assert doc["claims"]["second"]["robustness"]["cell"] == "not measured (synthetic)"
    assert "not measured (synthetic)" in (package.path / "out" / "claims.md").read_text()


def test_each_test_ships_its_records_on_one_channel_and_the_context_once_per_process(package):
    package.makeconftest(
        CONFTEST
        + """

def pytest_runtest_logreport(report):
    import json
    if report.when == "call":
        names = sorted({name for name, _ in report.user_properties})
        types = [json.loads(value)["type"] for _, value in report.user_properties]
        with open("shipped.jsonl", "a") as fh:
            fh.write(json.dumps({"names": names, "types": types}) + "\\n")
"""
    )
    run(package, "synthetic")
    shipped = [json.loads(line) for line in (package.path / "shipped.jsonl").read_text().splitlines()]
    assert {name for s in shipped for name in s["names"]} == {"eis_record"}
    assert sum(s["types"].count("context") for s in shipped) == 1
    assert sorted(t for s in shipped for t in s["types"] if t != "context") == ["claim", "claim", "probe", "section"]


def test_a_matrix_with_incomplete_models_never_replaces_the_complete_report(package):
    """A degraded matrix (the project's hook lists models without a complete run) goes to partial/ with the rest
    of the report, says so, and fails the session; the complete report stays as it was."""
    run(package, "synthetic")
    complete = (package.path / "out" / "claims.json").read_bytes()
    package.makeconftest(
        CONFTEST
        + """

def pytest_eis_matrix(config, out, document, sections):
    return {"schema_version": 1, "original": document["checkpoint"], "models": ["original", "m"], "claims": {},
            "predictions": {}, "sensitivity_judged": False, "insensitive": [], "incomplete_models": ["m"]}
"""
    )
    result = run(package, "synthetic")
    assert result.ret == 1
    assert "MATRIX NOT REPLACED: no complete claims run of m" in result.stdout.str()
    assert (package.path / "out" / "claims.json").read_bytes() == complete
    assert not (package.path / "out" / "matrix.json").exists()
    assert json.loads((package.path / "out" / "partial" / "matrix.json").read_text())["incomplete_models"] == ["m"]
