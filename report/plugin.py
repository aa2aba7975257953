"""pytest plugin: the ``verdict`` fixture, collection of claim records (also across pytest-xdist workers),
the verdict table at the end of the run, and the report files in ``--report-dir``.

Records travel as ``user_properties`` on test reports, which xdist ships from workers to the controller. The
collector (:class:`ClaimCollector`) is registered only where records are collected — the xdist controller or a
serial run, like pytest's own junitxml — and writes the report there, once, from all records; a worker only runs
tests and ships their records.

Partial runs are honest: a run without a record of every claim and every probe (``-k``, ``-m probe``, ``-x``, one
node id, a test that errors) never touches the complete report. It writes its own report into
``<report-dir>/partial/`` (its badge grey and saying "partial"), and the terminal lists what is missing. A
complete run removes a stale ``partial/`` folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fixtures.locate import ENV, resolve_report_dir, shown_path
from report.claim import PROBE_PROPERTY, RECORD_PROPERTY, Verdict
from report.matrix import MODEL_RUN_PROPERTY
from report.ood import OOD_PROPERTY
from report.ood import merge as ood_merge

CONTEXT_PROPERTY = "eis_context"
#: Where a partial run's report goes, inside the report folder.
PARTIAL = "partial"
COLLECTOR = pytest.StashKey["ClaimCollector"]()
VERDICT = pytest.StashKey[Verdict]()
#: Known after collection, wherever tests run (a serial run or an xdist worker): does this run select every
#: claim and probe? (Decides where figures go.)
SELECTION_PARTIAL = pytest.StashKey[bool]()
#: How many matrix tests were deselected because the run has no ``--models`` (said in the terminal).
MATRIX_DESELECTED = pytest.StashKey[int]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("eis")
    group.addoption(
        "--report-dir", metavar="DIR", help=f"where the report is written (default report/out) [env {ENV['report_dir']}]"
    )
    group.addoption(
        "--models", metavar="SET", default=None,
        help="also run every claim on other models: 'small' (untrained, anti-1 silenced), 'full' (adds a different "
        "labelling and 3 retrained replicas), 'replicas:N' (N seeded replicas: the replica study) or comma-separated "
        "names; writes matrix.json",
    )


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


class ClaimCollector:
    """Gathers every claim and probe record of the run; the controller writes the report at the end."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.claims: dict[str, dict[str, Any]] = {}
        self.probes: dict[str, dict[str, Any]] = {}
        self.ood: dict[str, Any] = {}  # claims/test_ood.py: inputs beyond the data (report/ood.py)
        self.context: dict[str, Any] | None = None
        self.model_runs: dict[str, str] = {}  # claims × models: each model's run, as shipped by its test
        self.written: Path | None = None
        self.missing: dict[str, list[str]] = {"claims": [], "probes": []}
        self.incomplete_models: list[str] = []  # --models: models whose run this session left incomplete

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call":
            return
        for name, value in report.user_properties:
            if name == RECORD_PROPERTY:
                rec = json.loads(value)
                self.claims[rec.pop("id")] = rec
            elif name == PROBE_PROPERTY:
                rec = json.loads(value)
                self.probes[rec.pop("id")] = rec
            elif name == OOD_PROPERTY:
                ood_merge(self.ood, json.loads(value))
            elif name == CONTEXT_PROPERTY and self.context is None:
                self.context = json.loads(value)
            elif name == MODEL_RUN_PROPERTY:
                self.model_runs[json.loads(value)["name"]] = value

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """With ``--models``, a checkpoint folder the models cannot be written to is a usage error before any test.
        (Nothing is deleted here: each model's run replaces its last one only once complete, report/matrix.py.)"""
        if self.config.getoption("models") and not self.config.option.collectonly:
            check_model_folder(self.config)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if not (self.claims or self.probes or self.ood):
            return
        from report.write import build_document, write_report

        root = resolve_report_dir(self.config.getoption("report_dir"))
        doc = build_document(self.context or {}, self.claims, self.probes, ood=self.ood or None)  # once
        self.missing = doc["summary"].get("missing", {"claims": [], "probes": []})
        records = [*self.claims.values(), *self.probes.values()]
        if not doc["summary"]["complete"]:
            out = root / PARTIAL
            _gather_figures(root, out, records)
            self.written = write_report(out, doc)
            return
        matrix = self._matrix(root, doc)
        # A matrix without a complete run of every model is degraded: it never replaces the complete report and
        # matrix.json (nor replica-study.md); like a partial run it goes to partial/.
        out = root / PARTIAL if self.incomplete_models else root
        if self.incomplete_models:
            _gather_figures(root, out, records)
            if session.exitstatus == pytest.ExitCode.OK:  # e.g. a replica whose claims all ran but a probe did not
                session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if matrix is not None and matrix.get("replica_study"):
            from report.matrix import write_study_files

            write_study_files(matrix, out)
        self.written = write_report(out, doc, matrix=matrix)
        if not self.incomplete_models:
            import shutil

            shutil.rmtree(root / PARTIAL, ignore_errors=True)

    def _matrix(self, out: Path, original: dict[str, Any]) -> dict[str, Any] | None:
        """The claims × models matrix from the per-model runs this session made (None without --models);
        ``original`` is this run's document. Models without a complete run go to ``incomplete_models``."""
        from report.matrix import build_matrix, is_complete, received, selected, session_run

        models = selected(self.config.getoption("models"))
        if not models:
            return None
        token = self.config.pluginmanager.get_plugin("eis-matrix-session").token
        runs = {}
        for cf in models:  # as shipped by the model's test (from any worker, on any machine); else on disk
            run = received(self.model_runs[cf.name]) if cf.name in self.model_runs else session_run(out, cf.name, token)
            if run is not None:
                runs[cf.name] = run
        self.incomplete_models = [cf.name for cf in models
                                  if cf.name not in runs or not is_complete(runs[cf.name].document, cf)]
        return build_matrix(self.claims, self.context or {}, runs, models, original_doc=original,
                            ood=self.ood or None)

    def pytest_terminal_summary(self, terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
        tr = terminalreporter
        deselected = config.stash.get(MATRIX_DESELECTED, 0)
        if deselected:
            tr.write_line(f"{plural(deselected, 'test')} of claims × models deselected: the matrix runs only with "
                          "--models small|full|replicas:N", yellow=True)
        if not (self.claims or self.probes or self.ood):
            return
        from report.write import plural_counts, verdict_table_rows

        tr.section("EIS VII claims: what the write-up said, what we measured")
        if self.claims:
            rows = verdict_table_rows(self.claims, clip=config.get_verbosity() < 1)
            widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
            for k, row in enumerate(rows):
                line = "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()
                v = row[-1]
                tr.write_line(line, bold=k == 0, green=v == "holds", yellow=v == "erratum", red=v.startswith("fails"))
            clipped = config.get_verbosity() < 1 and rows != verdict_table_rows(self.claims, clip=False)
            tr.write_line(plural_counts(self.claims) + (" (-v prints the table unclipped)" if clipped else ""))
        if self.ood.get("families"):
            from report.ood import finish, terminal_lines

            for line, markup in terminal_lines(finish(self.ood)):
                tr.write_line(line, **markup)
        ckpt = (self.context or {}).get("checkpoint", {})
        tr.write_line(f"checkpoint: {ckpt.get('path')} (sha256 {str(ckpt.get('sha256'))[:12]}…)")
        for cid, rec in (*self.claims.items(), *self.probes.items()):
            if rec.get("verdict") == "fails" and rec.get("rerun"):
                tr.write_line(f"{cid} fails; re-run it alone: {rec['rerun']}")
        if self.missing["claims"] or self.missing["probes"]:
            for kind, ids in self.missing.items():
                if ids:
                    tr.write_line(f"PARTIAL RUN: no record of {plural(len(ids), kind.rstrip('s'))}: {', '.join(ids)}",
                                  yellow=True, bold=True)
            root = resolve_report_dir(config.getoption("report_dir"))
            tr.write_line(f"partial report: {self.written} (a complete report in {root} is never touched by a partial run; "
                          "run `pytest claims/` for it)", yellow=True)
        elif self.incomplete_models:
            root = resolve_report_dir(config.getoption("report_dir"))
            tr.write_line(f"MATRIX NOT REPLACED: no complete claims run of {', '.join(self.incomplete_models)} (see "
                          "the failed tests above)", yellow=True, bold=True)
            tr.write_line(f"partial report: {self.written} (the complete report and matrix.json in {root} are "
                          "replaced only when every model's run is complete; fix the cause and run the same command "
                          "again)", yellow=True)
        elif self.written:
            tr.write_line(f"report: {self.written}")


def check_options(config: pytest.Config) -> None:
    """Options and reviewed files that would otherwise fail inside a test with a traceback: one usage error."""
    from report.matrix import selected
    from report.records import load_known_nonreproductions

    try:
        selected(config.getoption("models"))
        load_known_nonreproductions()
    except (KeyError, ValueError) as exc:
        raise pytest.UsageError(str(exc).strip('"')) from None


def check_model_folder(config: pytest.Config) -> None:
    """``<cache>/models``, where ``--models`` builds and trains checkpoints, must be a writable folder (an
    unusable cache folder itself is left to the inputs' check, which names every problem at once)."""
    import os

    from fixtures.errors import SetupError
    from fixtures.locate import default_cache_dir, writable_dir

    cache = default_cache_dir(config.getoption("cache_dir"))
    if not (cache.is_dir() and os.access(cache, os.W_OK)):
        return
    try:
        writable_dir(cache / "models", "model checkpoint folder (--models builds its checkpoints there)",
                     "--cache-dir", ENV["cache_dir"])
    except SetupError as exc:
        raise pytest.UsageError(f"the claims suite cannot start:\n- {exc}") from None


def plural(n: int, noun: str) -> str:
    """``"1 claim"``, ``"2 claims"``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def pytest_configure(config: pytest.Config) -> None:
    check_options(config)
    config.stash[SELECTION_PARTIAL] = False
    if not _is_worker(config):  # records are collected (and the report written) on the controller only
        collector = ClaimCollector(config)
        config.stash[COLLECTOR] = collector
        config.pluginmanager.register(collector, "eis-claim-collector")
    from report.matrix import MatrixSession

    config.pluginmanager.register(MatrixSession(config), "eis-matrix-session")


def pytest_itemcollected(item: pytest.Item) -> None:
    """A claim's or probe's id is a keyword of its test: ``pytest -k v-shape`` selects that claim."""
    marker = item.get_closest_marker("claim") or item.get_closest_marker("probe")
    if marker is not None and marker.args:
        item.extra_keyword_matches.add(marker.args[0].id)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without ``--models`` the claims × models tests are deselected (and the terminal says why)."""
    if config.getoption("models"):
        return
    matrix = [i for i in items if i.get_closest_marker("matrix")]
    if matrix:
        config.hook.pytest_deselected(items=matrix)
        items[:] = [i for i in items if not i.get_closest_marker("matrix")]
        config.stash[MATRIX_DESELECTED] = len(matrix)


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """After -k/-m deselection: does this run select every claim and probe? (Decides where figures go.)"""
    from report.write import missing_records

    selected = {"claim": {}, "probe": {}}
    for item in session.items:
        for kind in selected:
            marker = item.get_closest_marker(kind)
            if marker is not None and marker.args:
                selected[kind][marker.args[0].id] = True
    if selected["claim"] or selected["probe"]:
        missing = missing_records(selected["claim"], selected["probe"])
        session.config.stash[SELECTION_PARTIAL] = bool(missing["claims"] or missing["probes"])


def _gather_figures(root: Path, out: Path, records: list[dict[str, Any]]) -> None:
    """A partial report's folder holds exactly its records' figures: copy those drawn into ``root`` (a run that
    selected everything but stopped early, e.g. ``-x``) and delete those of an earlier partial run."""
    import shutil

    wanted = {f for rec in records for f in rec.get("figures", [])}
    for rel in wanted:
        if not (out / rel).exists() and (root / rel).exists():
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(root / rel, out / rel)
    for old in (out / "figures").glob("*.png") if (out / "figures").is_dir() else ():
        if f"figures/{old.name}" not in wanted:
            old.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def report_dir(pytestconfig: pytest.Config) -> Path:
    """Where this run's figures go: the report folder, or its ``partial/`` folder when the run does not select
    every claim and probe (so a partial run never replaces the complete report's figures)."""
    path = resolve_report_dir(pytestconfig.getoption("report_dir"))
    if pytestconfig.stash[SELECTION_PARTIAL]:
        path = path / PARTIAL
    (path / "figures").mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def figure_store(report_dir: Path, prepared: Any) -> Any:
    from report.figstore import FigureStore

    store = FigureStore(report_dir, prepared.inputs.cache_dir)
    yield store
    store.finish()  # before the report embeds the files


@pytest.fixture(scope="session")
def run_context(prepared) -> dict[str, Any]:
    ckpt, mnist = prepared.inputs.checkpoint, prepared.mnist
    return {
        "checkpoint": {"path": shown_path(ckpt.path), "sha256": ckpt.sha256, "challenge": ckpt.is_challenge},
        "data": {
            "train": int(len(mnist.train_images)),
            "test": int(len(mnist.test_images)),
            "dir": shown_path(mnist.root),
            "canonical_mnist": mnist.canonical,
        },
    }


@pytest.fixture
def verdict(request: pytest.FixtureRequest, run_context: dict[str, Any]) -> Verdict:
    marker = request.node.get_closest_marker("claim") or request.node.get_closest_marker("probe")
    if marker is None or not marker.args:
        raise pytest.UsageError(f"{request.node.nodeid} uses `verdict` without an @claim(...) or @probe(...) decorator")
    request.node.user_properties.append((CONTEXT_PROPERTY, json.dumps(run_context)))
    verdict = Verdict(request.node, marker.args[0], run_context["checkpoint"]["sha256"])
    request.node.stash[VERDICT] = verdict
    return verdict


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    """A claim or probe test that returns (or skips) without ``verdict.conclude(...)`` has judged nothing: it
    fails loudly instead of passing or skipping silently. (A test that raises is already an error; conclude's
    own xfail for an erratum or a known non-reproduction comes after a verdict.)"""
    marker = item.get_closest_marker("claim") or item.get_closest_marker("probe")
    if marker is None:
        return (yield)
    how = "returned"
    try:
        result = yield
    except pytest.skip.Exception:
        how = "skipped"
        result = None
    verdict = item.stash.get(VERDICT, None)
    if verdict is None or not verdict.concluded:
        ident = marker.args[0].id if marker.args else item.name
        pytest.fail(
            f"{marker.name} {ident!r} ended without a verdict: its test {how} without calling verdict.conclude(...)"
            + ("" if verdict is not None else " (it never requested the `verdict` fixture)")
            + ". A claim that is not judged is an error of the suite, never a pass.",
            pytrace=False,
        )
    return result


