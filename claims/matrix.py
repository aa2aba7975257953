"""Claims × models, the pytest side: the ``--models`` option, one test per model (claims/test_matrix.py) whose
run ships back to the controller as a section record, a session token so that a model runs once per session on
any worker, and ``matrix.json`` built from those runs (the ``pytest_eis_matrix`` hook of the claims engine).

The models and their runs are :mod:`model.runs`'; the replica study's statistics :mod:`analysis.replica_study`'s;
the matrix's views :mod:`report.matrix_view`'s.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from analysis.ood import FAMILIES
from analysis.replica_study import replica_study
from claims import catalogue
from model.counterfactuals import ORIGINAL_AT_OWN_FIT, Counterfactual, is_replica
from model.runs import (
    Checkpoints,
    ModelRun,
    is_complete,
    is_counterfactual,
    judges_sensitivity,
    model_run,
    run_dir,
    run_name,
    selected,
    session_run,
)
from report.ood import matrix_columns

ORIGINAL = "original"
#: The report section whose records are the model runs (one per model test).
MODEL_RUNS = "models"
#: The session token in xdist's workerinput: a model's run is reused within one session only.
SESSION_TOKEN = "eis_matrix_session"
KNOWN_NONREPRODUCTIONS = Path(__file__).with_name("known_nonreproductions.toml")
#: How many matrix tests were deselected because the run has no ``--models`` (said in the terminal).
MATRIX_DESELECTED = pytest.StashKey[int]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("eis").addoption(
        "--models",
        metavar="SET",
        default=None,
        help="also run every claim on other models: 'small' (untrained, anti-1 silenced), 'full' (adds a different "
        "labelling and 3 retrained replicas), the replica study's arms 'replicas:N' (N replicas trained on this "
        "network's labels), 'replicas-band:N' (on the recovered labelling function), 'replicas-recipes:N' (on this "
        "network's labels, a grid of recipes), or comma-separated names; writes matrix.json",
    )


def pytest_configure(config: pytest.Config) -> None:
    try:
        selected(config.getoption("models"))
    except (KeyError, ValueError) as exc:
        raise pytest.UsageError(str(exc).strip('"')) from None
    config.pluginmanager.register(MatrixSession(config), "eis-matrix-session")


def pytest_sessionstart(session: pytest.Session) -> None:
    """With ``--models``, a checkpoint folder the models cannot be written to is a usage error before any test.
    Nothing is deleted: each model's run replaces its last one only once it is complete (:mod:`model.runs`)."""
    config = session.config
    if config.getoption("models") and not config.option.collectonly and not hasattr(config, "workerinput"):
        check_model_folder(config)


def check_model_folder(config: pytest.Config) -> None:
    """``<cache>/models``, where ``--models`` builds and trains checkpoints, must be a writable folder (an
    unusable cache folder itself is left to the inputs' check, which names every problem at once)."""
    import os

    from fixtures.errors import SetupError
    from fixtures.locate import ENV, default_cache_dir, writable_dir

    cache = default_cache_dir(config.getoption("cache_dir"))
    if not (cache.is_dir() and os.access(cache, os.W_OK)):
        return
    try:
        writable_dir(
            cache / "models",
            "model checkpoint folder (--models builds its checkpoints there)",
            "--cache-dir",
            ENV["cache_dir"],
        )
    except SetupError as exc:
        raise pytest.UsageError(f"the claims suite cannot start:\n- {exc}") from None


def run_model(
    cf: Counterfactual,
    prepared: Any,
    groups: Any,
    report_dir: Path,
    session: str,
    project: Path,
    fit: str = "as-written",
    profile: str | None = None,
) -> ModelRun:
    """:func:`model.runs.model_run` with this project's checkpoints and catalogue, at ``fit``
    (:data:`ORIGINAL_AT_OWN_FIT` is the checkpoint under test itself); a full disk, a read-only folder or an input
    problem fails the model's test with one line, never a traceback."""
    import warnings

    from fixtures import checkpoint
    from fixtures.errors import SetupError

    known = catalogue()
    basis = prepared.inputs.checkpoint
    checkpoints = Checkpoints(
        build=lambda model: (
            basis.path
            if model.kind == ORIGINAL_AT_OWN_FIT.kind
            else checkpoint.checkpoint_for(
                model, prepared.inputs.cache_dir, basis.sha256, prepared.acts.params.state, groups, prepared.mnist
            )
        ),
        unloadable=checkpoint.unloadable,
        discard=checkpoint.discard,
    )
    try:
        return model_run(
            cf,
            checkpoints,
            lambda doc: is_complete(doc, cf, known.claim_ids, known.probe_ids),
            report_dir,
            session,
            project=project,
            inputs=prepared.inputs,
            data_dir=prepared.mnist.root,
            warn=lambda message: warnings.warn(message, stacklevel=3),
            fit=fit,
            profile=profile,
        )
    except OSError as exc:
        where = exc.filename or run_dir(report_dir, cf.name)
        pytest.fail(
            f"the claims run on {cf.name} could not write {where}: {exc.strerror or exc}. Free space there "
            "or make it writable (checkpoints go to <cache>/models, runs to <report-dir>/models), or pass "
            "--cache-dir / --report-dir DIR.",
            pytrace=False,
        )
    except SetupError as exc:
        pytest.fail(f"the claims run on {cf.name} cannot start: {exc}", pytrace=False)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without ``--models`` the claims × models tests are deselected (and the terminal says why)."""
    if config.getoption("models"):
        return
    matrix = [i for i in items if i.get_closest_marker("matrix")]
    if matrix:
        config.hook.pytest_deselected(items=matrix)
        items[:] = [i for i in items if not i.get_closest_marker("matrix")]
        config.stash[MATRIX_DESELECTED] = len(matrix)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    deselected = config.stash.get(MATRIX_DESELECTED, 0)
    if deselected:
        terminalreporter.write_line(
            f"{deselected} test{'' if deselected == 1 else 's'} of claims × models "
            "deselected: the matrix runs only with --models small|full|replicas:N",
            yellow=True,
        )


def pytest_eis_section_order(config: pytest.Config, section: str) -> list[str] | None:
    return list(FAMILIES) if section == "ood" else None


def pytest_eis_matrix(
    config: pytest.Config, out: Path, document: Mapping[str, Any], sections: Mapping[str, list[Mapping[str, Any]]]
) -> dict[str, Any] | None:
    """The claims × models matrix from the per-model runs this session made (None without --models)."""
    models = selected(config.getoption("models"))
    if not models:
        return None
    shipped = {r["name"]: received(r) for r in sections.get(MODEL_RUNS, [])}
    token = config.pluginmanager.get_plugin("eis-matrix-session").token
    known = catalogue()
    # Each run as shipped by its model's test (from any worker, on any machine); else this session's on disk. With
    # replicas, each replica and the checkpoint under test also run at their own fit (``<name>@own``).
    wanted = [(cf, "as-written") for cf in models]
    if any(is_replica(cf) for cf in models):
        wanted += [(cf, "own") for cf in (ORIGINAL_AT_OWN_FIT, *models) if cf is ORIGINAL_AT_OWN_FIT or is_replica(cf)]
    runs = {}
    for cf, fit in wanted:
        name = run_name(cf.name, fit)
        run = shipped.get(name) or session_run(out, name, token)
        if run is not None:
            runs[name] = run
    incomplete = [
        run_name(cf.name, fit)
        for cf, fit in wanted
        if run_name(cf.name, fit) not in runs
        or not is_complete(runs[run_name(cf.name, fit)].document, cf, known.claim_ids, known.probe_ids)
    ]
    original = dict(document["claims"])
    context = {"checkpoint": document["checkpoint"], "data": document["data"]}
    matrix = build_matrix(original, context, runs, models, original_doc=dict(document), ood=document.get("ood"))
    if incomplete:
        matrix["incomplete_models"] = incomplete
    if matrix.get("replica_study"):  # a degraded study's files go where its report goes, never over the complete one
        write_study_files(matrix, out / "partial" if incomplete else out)
    return matrix


def transport(run: ModelRun) -> dict[str, Any]:
    """One model's run as a section record: xdist ships it from the worker (on any machine) to the controller,
    which builds the matrix from these, not from files on a worker's disk."""
    return {"name": run.name, "returncode": run.returncode, "document": run.document}


def received(content: Mapping[str, Any]) -> ModelRun:
    return ModelRun(content["name"], content["returncode"], content["document"], "")


class MatrixSession:
    """A token naming this session, made by the controller and handed to every xdist worker through
    ``workerinput`` (remote ones too): a model's run is reused only within its session."""

    def __init__(self, config: Any) -> None:
        import uuid

        workerinput = getattr(config, "workerinput", None)
        self.token = workerinput.get(SESSION_TOKEN, "") if workerinput is not None else uuid.uuid4().hex

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:  # pytest-xdist's hook, on the controller
        node.workerinput[SESSION_TOKEN] = self.token


def build_matrix(
    original: dict[str, Any],
    context: dict[str, Any],
    runs: dict[str, ModelRun],
    models: tuple[Counterfactual, ...],
    original_doc: dict[str, Any] | None = None,
    ood: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``matrix.json``: verdict per claim and model, predictions against observations, sensitivity, the
    beyond-the-data verdicts per model (``ood``: the challenge network's records of claims/test_ood.py), and with
    replicas the replica study (``original_doc``: the challenge network's whole claims.json, probes and any
    other section included; by default its claims alone)."""
    columns = [ORIGINAL] + [cf.name for cf in models]
    verdicts = {ORIGINAL: {k: v["verdict"] for k, v in original.items()}}
    verdicts.update({name: run.verdicts for name, run in runs.items()})
    judged = judges_sensitivity(models)
    explained = load_explained_insensitivity()
    claim_rows = {}
    known = catalogue()
    for cid in known.claim_ids:
        row = {m: verdicts.get(m, {}).get(cid) for m in columns}
        data_only = cid in known.data_only
        breakers = [cf.name for cf in models if is_counterfactual(cf) and row.get(cf.name) == "fails"]
        measured_on = [cf.name for cf in models if is_counterfactual(cf) and row.get(cf.name) is not None]
        insensitive = (not data_only) and bool(measured_on) and not breakers if judged else None
        claim_rows[cid] = {
            "depends_on": "data" if data_only else "model",
            "verdicts": row,
            "broken_by": breakers,
            "insensitive": insensitive,
            "why_insensitive": explained.get(cid) if insensitive else None,
        }
    predictions = {}
    for cf in models:
        if cf.name not in runs:
            continue
        observed = sorted(k for k, v in runs[cf.name].verdicts.items() if v == "fails")
        predicted = sorted(cf.predicted(known))
        predictions[cf.name] = {
            "kind": cf.kind,
            "rationale": cf.rationale,
            "predicted_to_break": predicted,
            "observed_broken": observed,
            "broke_unexpectedly": sorted(set(observed) - set(predicted)),
            "survived_unexpectedly": sorted(set(predicted) - set(observed)),
            "checkpoint": runs[cf.name].document.get("checkpoint", {}),
            "run_exit_status": runs[cf.name].returncode,
        }
    replicas = [cf for cf in models if is_replica(cf)]

    def document_of(name: str) -> dict[str, Any]:
        return runs[name].document if name in runs else {}

    study = (
        replica_study(
            original_doc or {"claims": original},
            {cf.name: document_of(cf.name) for cf in replicas},
            arms={cf.name: cf.arm for cf in replicas},
            original_own=document_of(run_name(ORIGINAL_AT_OWN_FIT.name, "own")),
            own={cf.name: document_of(run_name(cf.name, "own")) for cf in replicas},
        )
        if replicas
        else None
    )
    matrix = {
        "schema_version": 1,
        "original": context.get("checkpoint", {}),
        "models": columns,
        "claims": claim_rows,
        "predictions": predictions,
        "sensitivity_judged": judged,
        "insensitive": sorted(c for c, r in claim_rows.items() if r["insensitive"]),
        "replicas": replica_summary(study),
        "ood": ood_columns(ood, runs),
    }
    if study is not None:
        matrix["replica_study"] = study
    return matrix


def write_study_files(matrix: dict[str, Any], out: Path) -> None:
    """The replica study's own files in the report folder: its two figures (their paths recorded in the study)
    and ``replica-study.md``, the README's section as :mod:`report.replica_readme` would write it."""
    from claims.replica_figures import draw_figures
    from report.files import atomic_write_text
    from report.replica_readme import readme_section

    study = matrix["replica_study"]
    atomic_write_text(Path(out) / "replica-study.md", readme_section(study))
    study["figures"] = draw_figures(study, out)


def ood_columns(original_ood: dict[str, Any] | None, runs: dict[str, ModelRun]) -> dict[str, Any]:
    """Beyond-the-data verdicts (claims/test_ood.py) per input family and model: does each retrained replica and
    counterfactual generalise like the challenge network?"""
    return matrix_columns(original_ood, {name: run.document for name, run in runs.items()}, tuple(FAMILIES))


def load_explained_insensitivity() -> dict[str, str]:
    """Reviewed explanations of claims no counterfactual breaks (``[[insensitive]]`` in the known list)."""
    if not KNOWN_NONREPRODUCTIONS.exists():
        return {}
    with open(KNOWN_NONREPRODUCTIONS, "rb") as fh:
        data = tomllib.load(fh)
    return {e["claim"]: " ".join(e["why"].split()) for e in data.get("insensitive", [])}


def replica_summary(study: dict[str, Any] | None) -> dict[str, Any]:
    """The matrix's "task or network?" summary, from the replica study's statistics (see
    :mod:`analysis.replica_study` for the rule); empty without replicas."""
    if not study:
        return {"replicas": [], "paragraph": ""}
    cats = study["by_category"]
    return {
        "replicas": study["replicas"],
        "properties_of_the_task": cats["task"],
        "properties_of_the_network": cats["network"],
        "fail_on_every_network": cats["fails"],
        "specific_by_construction": cats["specific"],
        "varies_between_replicas": cats["varies"],
        "paragraph": study["paragraph"],
    }
