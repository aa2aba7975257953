"""pytest plugin: the ``verdict`` fixture, collection of claim records (also across pytest-xdist workers),
the verdict table at the end of the run, and the report files in ``--report-dir``.

Records travel as ``user_properties`` on test reports, which xdist ships from workers to the controller;
only the controller (or a plain serial run) writes the report, once, from all records.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fixtures.locate import ENV, resolve_report_dir
from report.claim import PROBE_PROPERTY, RECORD_PROPERTY, Verdict
from report.matrix import MODEL_RUN_PROPERTY

CONTEXT_PROPERTY = "eis_context"
COLLECTOR = pytest.StashKey["ClaimCollector"]()


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
        self.context: dict[str, Any] | None = None
        self.model_runs: dict[str, str] = {}  # claims × models: each model's run, as shipped by its test
        self.written: Path | None = None

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
            elif name == CONTEXT_PROPERTY and self.context is None:
                self.context = json.loads(value)
            elif name == MODEL_RUN_PROPERTY:
                self.model_runs[json.loads(value)["name"]] = value

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        # A matrix run starts from scratch: the per-model runs of an earlier session must not be reused.
        if not _is_worker(self.config) and self.config.getoption("models"):
            import shutil

            shutil.rmtree(resolve_report_dir(self.config.getoption("report_dir")) / "models", ignore_errors=True)

    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        if config.getoption("models"):
            return
        matrix = [i for i in items if i.get_closest_marker("matrix")]
        if matrix:
            config.hook.pytest_deselected(items=matrix)
            items[:] = [i for i in items if not i.get_closest_marker("matrix")]

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if _is_worker(self.config) or not (self.claims or self.probes):
            return
        from report.write import write_report

        out = resolve_report_dir(self.config.getoption("report_dir"))
        self.written = write_report(out, self.context or {}, self.claims, self.probes, matrix=self._matrix(out))

    def _matrix(self, out: Path) -> dict[str, Any] | None:
        """The claims × models matrix from the per-model runs this session made (None without --models)."""
        from report.matrix import ModelRun, build_matrix, received, run_dir, selected
        from report.write import build_document

        models = selected(self.config.getoption("models"))
        if not models:
            return None
        runs = {}
        for cf in models:  # as shipped by the model's test (from any worker, on any machine); else on disk
            path = run_dir(out, cf.name) / "claims.json"
            if cf.name in self.model_runs:
                runs[cf.name] = received(self.model_runs[cf.name])
            elif path.exists():
                runs[cf.name] = ModelRun(cf.name, 0, json.loads(path.read_text()), "")
        original = build_document(self.context or {}, self.claims, self.probes)
        matrix = build_matrix(self.claims, self.context or {}, runs, models, original_doc=original)
        if matrix.get("replica_study"):
            from report.matrix import write_study_files

            write_study_files(matrix, out)
        return matrix

    def pytest_terminal_summary(self, terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
        if _is_worker(config) or not self.claims:
            return
        from report.write import verdict_table_rows

        tr = terminalreporter
        tr.section("EIS VII claims: what the write-up said, what we measured")
        rows = verdict_table_rows(self.claims)
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for k, row in enumerate(rows):
            line = "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()
            v = row[-1]
            tr.write_line(line, bold=k == 0, green=v == "holds", yellow=v == "erratum", red=v.startswith("fails"))
        ckpt = (self.context or {}).get("checkpoint", {})
        tr.write_line(f"checkpoint: {ckpt.get('path')} (sha256 {str(ckpt.get('sha256'))[:12]}…)")
        if self.written:
            tr.write_line(f"report: {self.written}")


def check_options(config: pytest.Config) -> None:
    """Options and reviewed files that would otherwise fail inside a test with a traceback: one usage error."""
    from claims.probe_settings import profile_name
    from report.matrix import selected
    from report.records import load_known_nonreproductions

    try:
        selected(config.getoption("models"))
        profile_name(config.getoption("probe_profile"))
        load_known_nonreproductions()
    except (KeyError, ValueError) as exc:
        raise pytest.UsageError(str(exc).strip('"')) from None


def pytest_configure(config: pytest.Config) -> None:
    check_options(config)
    collector = ClaimCollector(config)
    config.stash[COLLECTOR] = collector
    config.pluginmanager.register(collector, "eis-claim-collector")
    from report.matrix import MatrixSession

    config.pluginmanager.register(MatrixSession(config), "eis-matrix-session")


@pytest.fixture(scope="session")
def report_dir(pytestconfig: pytest.Config) -> Path:
    path = resolve_report_dir(pytestconfig.getoption("report_dir"))
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
        "checkpoint": {"path": str(ckpt.path), "sha256": ckpt.sha256, "challenge": ckpt.is_challenge},
        "data": {
            "train": int(len(mnist.train_images)),
            "test": int(len(mnist.test_images)),
            "dir": str(mnist.root),
            "canonical_mnist": mnist.canonical,
        },
    }


@pytest.fixture
def verdict(request: pytest.FixtureRequest, run_context: dict[str, Any]) -> Verdict:
    marker = request.node.get_closest_marker("claim") or request.node.get_closest_marker("probe")
    if marker is None or not marker.args:
        raise pytest.UsageError(f"{request.node.nodeid} uses `verdict` without an @claim(...) or @probe(...) decorator")
    request.node.user_properties.append((CONTEXT_PROPERTY, json.dumps(run_context)))
    return Verdict(request.node, marker.args[0], run_context["checkpoint"]["sha256"])


