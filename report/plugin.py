"""pytest plugin: the ``verdict`` fixture, collection of claim records (also across pytest-xdist workers),
the verdict table at the end of the run, and the report files in ``--report-dir``.

A test's records (:mod:`report.records`: its claim or probe record, a section record, and once per session the
run's context) travel as one ``user_property`` of its test report, serialised once at the worker (xdist ships it
to the controller). The collector (:class:`ClaimCollector`) is registered only where records are collected — the
xdist controller or a serial run, like pytest's own junitxml — rebuilds the same dataclasses and writes the report
there, once, from all records; a worker only runs tests and ships their records.

The project supplies the ``run_context`` fixture (a :class:`report.records.RunContext`) and, through the hooks of
:mod:`report.hooks`, its engines; the ini options ``eis_claims_package`` and ``eis_known_nonreproductions``
name its claims package and its reviewed list of known non-reproductions.

Partial runs are honest: a run without a record of every claim and every probe (``-k``, ``-m probe``, ``-x``, one
node id, a test that errors) never touches the complete report. It writes its own report into
``<report-dir>/partial/`` (its badge grey and saying "partial"), and the terminal lists what is missing. A
complete run removes a stale ``partial/`` folder.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from report.catalogue import configured as configured_catalogue
from report.claim import Verdict
from report.files import REPORT_DIR_ENV, resolve_report_dir
from report.records import (
    RECORD_PROPERTY,
    ClaimRecord,
    Record,
    RunContext,
    RunReport,
    SectionRecord,
    from_wire,
    load_known_nonreproductions,
    to_wire,
)

#: Where a partial run's report goes, inside the report folder.
PARTIAL = "partial"
COLLECTOR = pytest.StashKey["ClaimCollector"]()
VERDICT = pytest.StashKey[Verdict]()
#: Known after collection, wherever tests run (a serial run or an xdist worker): does this run select every
#: claim and probe? (Decides where figures go.)
SELECTION_PARTIAL = pytest.StashKey[bool]()
#: The reviewed known non-reproductions, read once at configure.
KNOWN = pytest.StashKey[dict]()
#: Has this process shipped the run's context yet? (Once per session and process.)
CONTEXT_SHIPPED = pytest.StashKey[bool]()
CONTEXT = pytest.StashKey[RunContext]()


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from report import hooks

    pluginmanager.add_hookspecs(hooks)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("eis")
    group.addoption(
        "--report-dir", metavar="DIR", help=f"where the report is written (default report/out) [env {REPORT_DIR_ENV}]"
    )
    parser.addini(
        "eis_claims_package",
        "the package (folder, relative to the rootdir) whose test modules hold the "
        "@claim and @probe tests: the catalogue a complete run records",
        default="",
    )
    parser.addini(
        "eis_presentation",
        "the project's words on the report's pages and in the terminal: module:attribute of a "
        "report.render.Presentation (empty: the engine's plain words)",
        default="",
    )
    parser.addini(
        "eis_known_nonreproductions",
        "the reviewed list of known non-reproductions (TOML, relative to the rootdir)",
        default="",
    )


def report_root(config: pytest.Config) -> Path:
    """The report folder of this run (``--report-dir``, ``$EIS_REPORT_DIR`` or ``<rootdir>/report/out``)."""
    return resolve_report_dir(config.getoption("report_dir"), config.rootpath)


def known_list(config: pytest.Config) -> Path | None:
    name = config.getini("eis_known_nonreproductions")
    return Path(config.rootpath) / name if name else None


def ship(item: pytest.Item, record: Record, context: RunContext) -> None:
    """Put one record on the test's report (serialised once, here), with the run's context the first time this
    process ships anything."""
    if not item.config.stash.get(CONTEXT_SHIPPED, False):
        item.user_properties.append((RECORD_PROPERTY, to_wire(context)))
        item.config.stash[CONTEXT_SHIPPED] = True
    item.user_properties.append((RECORD_PROPERTY, to_wire(record)))


def record_section(request: pytest.FixtureRequest, section: str, content: Mapping[str, Any]) -> None:
    """Ship a section record (JSON-able ``content``) from a test: e.g. one input family of ``ood``."""
    ship(request.node, SectionRecord(section, content), request.getfixturevalue("run_context"))


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


class ClaimCollector:
    """Gathers every record of the run; the controller writes the report at the end."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.claims: dict[str, ClaimRecord] = {}
        self.probes: dict[str, ClaimRecord] = {}
        self.sections: dict[str, list[Mapping[str, Any]]] = {}  # section records, in arrival order
        self.context: RunContext | None = None
        self.written: Path | None = None
        self.report: RunReport | None = None
        self.missing: dict[str, list[str]] = {"claims": [], "probes": []}
        self.incomplete_models: list[str] = []  # the matrix's models without a complete run this session

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call":
            return
        for name, value in report.user_properties:
            if name != RECORD_PROPERTY:
                continue
            record = from_wire(value)
            if isinstance(record, ClaimRecord):
                (self.probes if record.spec.kind == "probe" else self.claims)[record.id] = record
            elif isinstance(record, SectionRecord):
                self.sections.setdefault(record.section, []).append(record.content)
            elif self.context is None:
                self.context = record

    def _empty(self) -> bool:
        return not (self.claims or self.probes or self.sections.get("ood"))

    def presentation(self) -> Any:
        from report.render import load_presentation

        return load_presentation(self.config.getini("eis_presentation"))

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self._empty():
            return
        from report.write import build_report, write_report

        root = report_root(self.config)
        order = {
            name: self.config.hook.pytest_eis_section_order(config=self.config, section=name) or ()
            for name in self.sections
        }
        report = build_report(
            self.context,
            self.claims,
            self.probes,
            configured_catalogue(self.config),
            sections=self.sections,
            order=order,
        )  # once
        self.report = report
        self.missing = dict(report.summary.missing or {"claims": [], "probes": []})
        if not report.summary.complete:
            out = root / PARTIAL
            _gather_figures(root, out, [*self.claims.values(), *self.probes.values()])
            self.written = write_report(out, report, presentation=self.presentation())
            return
        matrix = self.config.hook.pytest_eis_matrix(
            config=self.config, out=root, document=report.to_document(), sections=self.sections
        )
        # A matrix without a complete run of every model is degraded: like a partial run it goes to partial/ and
        # never replaces the complete report and matrix.json.
        self.incomplete_models = list((matrix or {}).get("incomplete_models", []))
        out = root / PARTIAL if self.incomplete_models else root
        if self.incomplete_models:
            _gather_figures(root, out, [*self.claims.values(), *self.probes.values()])
            if session.exitstatus == pytest.ExitCode.OK:  # e.g. a model whose claims all ran but a probe did not
                session.exitstatus = pytest.ExitCode.TESTS_FAILED
        self.written = write_report(out, report, matrix=matrix, presentation=self.presentation())
        if not self.incomplete_models:
            import shutil

            shutil.rmtree(root / PARTIAL, ignore_errors=True)

    def pytest_terminal_summary(self, terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
        tr = terminalreporter
        if self._empty() or self.report is None:
            return
        from report.write import plural_counts, verdict_table_rows

        tr.section(self.presentation().terminal)
        if self.claims:
            order = configured_catalogue(config).order
            rows = verdict_table_rows(self.claims, order, clip=config.get_verbosity() < 1)
            widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
            for k, row in enumerate(rows):
                line = "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()
                v = row[-1]
                tr.write_line(line, bold=k == 0, green=v == "holds", yellow=v == "erratum", red=v.startswith("fails"))
            clipped = config.get_verbosity() < 1 and rows != verdict_table_rows(self.claims, order, clip=False)
            tr.write_line(plural_counts(self.claims) + (" (-v prints the table unclipped)" if clipped else ""))
        if (self.report.sections.get("ood") or {}).get("families"):
            from report.ood import terminal_lines

            for line, markup in terminal_lines(self.report.sections["ood"], self.presentation().ood):
                tr.write_line(line, **markup)
        ckpt = self.context.checkpoint if self.context is not None else {}
        tr.write_line(f"checkpoint: {ckpt.get('path')} (sha256 {str(ckpt.get('sha256'))[:12]}…)")
        for cid, rec in (*self.claims.items(), *self.probes.items()):
            if rec.verdict == "fails" and rec.rerun():
                tr.write_line(f"{cid} fails; re-run it alone: {rec.rerun()}")
        if self.missing["claims"] or self.missing["probes"]:
            for kind, ids in self.missing.items():
                if ids:
                    tr.write_line(
                        f"PARTIAL RUN: no record of {plural(len(ids), kind.rstrip('s'))}: {', '.join(ids)}",
                        yellow=True,
                        bold=True,
                    )
            root = report_root(config)
            tr.write_line(
                f"partial report: {self.written} (a complete report in {root} is never touched by a partial run; "
                "run `pytest claims/` for it)",
                yellow=True,
            )
        elif self.incomplete_models:
            root = report_root(config)
            tr.write_line(
                f"MATRIX NOT REPLACED: no complete claims run of {', '.join(self.incomplete_models)} (see "
                "the failed tests above)",
                yellow=True,
                bold=True,
            )
            tr.write_line(
                f"partial report: {self.written} (the complete report and matrix.json in {root} are "
                "replaced only when every model's run is complete; fix the cause and run the same command "
                "again)",
                yellow=True,
            )
        elif self.written:
            tr.write_line(f"report: {self.written}")


def check_options(config: pytest.Config) -> None:
    """Reviewed files that would otherwise fail inside a test with a traceback: one usage error."""
    try:
        config.stash[KNOWN] = load_known_nonreproductions(known_list(config))
    except (KeyError, ValueError) as exc:
        raise pytest.UsageError(str(exc).strip('"')) from None


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


def pytest_itemcollected(item: pytest.Item) -> None:
    """A claim's or probe's id is a keyword of its test: ``pytest -k v-shape`` selects that claim."""
    marker = item.get_closest_marker("claim") or item.get_closest_marker("probe")
    if marker is not None and marker.args:
        item.extra_keyword_matches.add(marker.args[0].id)


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """After -k/-m deselection: does this run select every claim and probe? (Decides where figures go.)"""
    from report.write import missing_records

    selected: dict[str, dict[str, bool]] = {"claim": {}, "probe": {}}
    for item in session.items:
        for kind in selected:
            marker = item.get_closest_marker(kind)
            if marker is not None and marker.args:
                selected[kind][marker.args[0].id] = True
    if selected["claim"] or selected["probe"]:
        missing = missing_records(selected["claim"], selected["probe"], configured_catalogue(session.config))
        session.config.stash[SELECTION_PARTIAL] = bool(missing["claims"] or missing["probes"])


def _gather_figures(root: Path, out: Path, records: list[ClaimRecord]) -> None:
    """A partial report's folder holds exactly its records' figures: copy those drawn into ``root`` (a run that
    selected everything but stopped early, e.g. ``-x``) and delete those of an earlier partial run."""
    import shutil

    wanted = {f for rec in records for f in rec.figures}
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
    path = report_root(pytestconfig)
    if pytestconfig.stash[SELECTION_PARTIAL]:
        path = path / PARTIAL
    (path / "figures").mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def verdict(request: pytest.FixtureRequest, run_context: RunContext) -> Verdict:
    """The claim's :class:`Verdict`. ``run_context`` is the project's fixture: what this run tests."""
    marker = request.node.get_closest_marker("claim") or request.node.get_closest_marker("probe")
    if marker is None or not marker.args:
        raise pytest.UsageError(f"{request.node.nodeid} uses `verdict` without an @claim(...) or @probe(...) decorator")
    spec = marker.args[0]
    known = request.config.stash.get(KNOWN, {}).get((spec.id, run_context.checkpoint.get("sha256")))
    source = request.config.getini("eis_known_nonreproductions") or "the reviewed list"
    verdict = Verdict(request.node, spec, known, source)
    request.node.stash[VERDICT] = verdict
    request.node.stash[CONTEXT] = run_context
    return verdict


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_call(item: pytest.Item):
    """Ship a claim's or probe's record once its test has run (outermost, so that every other plugin's part of
    the call, e.g. a robustness measurement, is in it). A test that returns (or skips) without
    ``verdict.conclude(...)`` has judged nothing: it fails loudly instead of passing or skipping silently. (A test
    that raises is already an error; conclude's own xfail for an erratum or a known non-reproduction comes after a
    verdict.)"""
    marker = item.get_closest_marker("claim") or item.get_closest_marker("probe")
    if marker is None:
        return (yield)
    how = "returned"
    try:
        result = yield
    except pytest.skip.Exception:
        how = "skipped"
        result = None
    except BaseException:
        _ship_verdict(item)
        raise
    if not _ship_verdict(item):
        verdict = item.stash.get(VERDICT, None)
        ident = marker.args[0].id if marker.args else item.name
        pytest.fail(
            f"{marker.name} {ident!r} ended without a verdict: its test {how} without calling verdict.conclude(...)"
            + ("" if verdict is not None else " (it never requested the `verdict` fixture)")
            + ". A claim that is not judged is an error of the suite, never a pass.",
            pytrace=False,
        )
    return result


def _ship_verdict(item: pytest.Item) -> bool:
    """Ship the concluded verdict's record (with ``--robustness``, measured if its test did not); False if the test
    concluded nothing."""
    verdict = item.stash.get(VERDICT, None)
    if verdict is None or not verdict.concluded:
        return False
    record = verdict.record
    if record.spec.kind == "claim" and record.robustness is None and item.config.getoption("robustness", False):
        record.robustness = item.config.hook.pytest_eis_robustness_unjudged(item=item, record=record)
    ship(item, record, item.stash[CONTEXT])
    return True
