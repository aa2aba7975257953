"""Claims × models: run the claims on counterfactual checkpoints and retrained replicas, tabulate verdicts,
compare them with the predictions written beforehand, and flag claims no counterfactual can break.

Each model's claims run is a child ``pytest claims/`` (probes excluded) with ``--weights`` pointing at the
model, its report in ``<report-dir>/models/<name>/partial/`` (claims only, no probes: a partial run). A per-model file lock makes every model run once per
session even when several xdist workers ask for it (a model test and the sensitivity tests).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock

from fixtures.locate import PROJECT_ROOT
from model.counterfactuals import COUNTERFACTUALS, SMALL, Counterfactual, by_name, is_replica, replica
from report.catalogue import catalogue
from report.records import verdict_text

ORIGINAL = "original"
SETS = {"small": SMALL, "full": tuple(c.name for c in COUNTERFACTUALS)}
#: ``--models replicas:N``: N seeded replicas of the challenge recipe (seeds 1..N); the study's statistics.
REPLICAS_PREFIX = "replicas:"
#: A user property carrying one model's claims.json back to the controller (also from remote xdist workers).
MODEL_RUN_PROPERTY = "eis_model_run"
#: The session token in xdist's workerinput: a model's run is reused within one session only.
SESSION_TOKEN = "eis_matrix_session"
#: Kinds that count as counterfactuals for sensitivity (replicas are meant to keep the mechanism).
COUNTERFACTUAL_KINDS = ("untrained", "silenced-anti-one", "entangled", "anti-one-also-on-ones")
#: A trained model on a *different* labelling is a counterfactual too.
DIFFERENT_LABELLING = "one-threshold"


def selected(option: str | None) -> tuple[Counterfactual, ...]:
    """Models named by ``--models``: a comma-separated list of ``small``, ``full``, ``replicas:N`` and names."""
    if not option:
        return ()
    out: dict[str, Counterfactual] = {}
    for token in (t.strip() for t in option.split(",")):
        if not token:
            continue
        if token in SETS:
            models = [by_name(n) for n in SETS[token]]
        elif token.startswith(REPLICAS_PREFIX):
            count = token[len(REPLICAS_PREFIX):]
            if not (count.isdigit() and int(count) >= 1):
                raise ValueError(f"--models {option}: 'replicas:N' needs a whole number N >= 1, got {count!r}")
            models = [replica(seed) for seed in range(1, int(count) + 1)]
        else:
            try:
                models = [by_name(token)]
            except KeyError as exc:
                raise ValueError(f"--models {option}: {exc.args[0]} (or use 'small', 'full' or 'replicas:N')") from None
        for cf in models:
            out.setdefault(cf.name, cf)
    return tuple(out.values())


def is_counterfactual(cf: Counterfactual) -> bool:
    return cf.kind in COUNTERFACTUAL_KINDS or (cf.kind == "trained" and cf.labelling == DIFFERENT_LABELLING)


#: Sensitivity is judged only over every counterfactual: a claim the small set cannot break may fall to another.
ALL_COUNTERFACTUALS = tuple(cf.name for cf in COUNTERFACTUALS if is_counterfactual(cf))


def judges_sensitivity(models: tuple[Counterfactual, ...]) -> bool:
    return set(ALL_COUNTERFACTUALS) <= {cf.name for cf in models}


# ----------------------------------------------------------------------------------------- checkpoints


def _reuse_or_save(path: Path, make_state) -> Path:
    """``path`` if it exists with a matching ``.sha256`` sidecar; else build, save atomically, write the sidecar."""
    from fixtures.files import atomic_write_text, sha256_file
    from model.network import save_state

    sidecar = path.with_name(path.name + ".sha256")
    with FileLock(str(path) + ".lock"):
        if path.is_file() and sidecar.is_file() and sidecar.read_text().strip() == sha256_file(path):
            return path
        digest = save_state(make_state(), path)
        atomic_write_text(sidecar, digest + "\n")
    return path


def checkpoint_for(cf: Counterfactual, prepared: Any, groups: Any) -> Path:
    """Build (or reuse) the checkpoint of a counterfactual, deterministically, in ``<cache>/models``.
    ``groups`` are the detector groups of the checkpoint under test (the basis of the edited models)."""
    from model.counterfactuals import anti_one_also_on_ones_state, entangled_state, silenced_state, untrained_state

    folder = Path(prepared.inputs.cache_dir) / "models"
    basis = prepared.inputs.checkpoint
    if cf.kind == "untrained":
        return _reuse_or_save(folder / f"untrained-seed{cf.seed}.pt", lambda: untrained_state(cf.seed))
    if cf.kind == "silenced-anti-one":
        return _reuse_or_save(
            folder / f"silenced-anti-one-{basis.sha256[:12]}.pt",
            lambda: silenced_state(prepared.bundle.acts.params.state, groups.anti_one),
        )
    if cf.kind == "entangled":
        return _reuse_or_save(
            folder / f"entangled-{basis.sha256[:12]}.pt",
            lambda: entangled_state(prepared.bundle.acts.params.state, groups.one, groups.anti_one),
        )
    if cf.kind == "anti-one-also-on-ones":
        return _reuse_or_save(
            folder / f"anti-one-also-on-ones-{basis.sha256[:12]}.pt",
            lambda: anti_one_also_on_ones_state(prepared.bundle.acts.params.state, groups.one, groups.anti_one),
        )
    if cf.kind == "trained":
        from model.train import Recipe, ensure_checkpoint

        return ensure_checkpoint(Recipe(labelling=cf.labelling, seed=cf.seed), Path(prepared.inputs.cache_dir), prepared.mnist)
    raise ValueError(f"unknown counterfactual kind {cf.kind!r}")


# ----------------------------------------------------------------------------------------- model runs


@dataclass(frozen=True)
class ModelRun:
    name: str
    returncode: int
    document: dict[str, Any]
    output: str

    @property
    def verdicts(self) -> dict[str, str]:
        return {k: v["verdict"] for k, v in self.document.get("claims", {}).items()}


def run_dir(report_dir: Path, name: str) -> Path:
    return Path(report_dir) / "models" / name


def run_document(out: Path) -> Path:
    """The ``claims.json`` of one model's run. A run without the probes (``-m "not probe"``, the counterfactuals) is
    a partial run and writes it into ``partial/`` (report/plugin.py); a replica's run checks every claim and probe
    and writes a complete report."""
    partial = out / "partial" / "claims.json"
    return partial if partial.exists() else out / "claims.json"


def claims_command(weights: Path, out: Path, inputs: Any, data_dir: Path, probes: bool = False) -> list[str]:
    """The child run of one model: every record of ``pytest claims/`` (probes only when asked: the replicas)."""
    return [
        sys.executable, "-m", "pytest", "claims/", "-q", "-p", "no:cacheprovider", *(() if probes else ("-m", "not probe")),
        "--weights", str(weights), "--report-dir", str(out), "--cache-dir", str(inputs.cache_dir),
        "--data-dir", str(data_dir), "--no-download",
    ]


def model_run(cf: Counterfactual, prepared: Any, groups: Any, report_dir: Path, session: str = "") -> ModelRun:
    """The claims run of one model: computed once per session (file lock; ``session`` is the session's token,
    so a run left by an earlier session, e.g. on a remote worker's disk, is never reused), read back by
    later callers. A replica runs every claim and every probe; the other models the claims."""
    out = run_dir(report_dir, cf.name)
    out.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(out) + ".lock"):
        done = out / "run.json"
        if done.exists() and json.loads(done.read_text()).get("session", "") != session:
            done.unlink()
        if not done.exists():
            weights = checkpoint_for(cf, prepared, groups)
            env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_XDIST", "PYTEST_CURRENT"))}
            env.pop("EIS_REPORT_DIR", None)
            proc = subprocess.run(
                claims_command(weights, out, prepared.inputs, prepared.mnist.root, probes=is_replica(cf)),
                cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
            )
            done.write_text(json.dumps({"returncode": proc.returncode, "session": session,
                                        "output": proc.stdout[-6000:] + proc.stderr[-3000:]}))
    meta = json.loads(done.read_text())
    claims_json = run_document(out)
    doc = json.loads(claims_json.read_text()) if claims_json.exists() else {}
    return ModelRun(cf.name, meta["returncode"], doc, meta["output"])


def transport(run: ModelRun) -> str:
    """One model's run as a user property value: xdist ships it from the worker (on any machine) to the
    controller, which builds the matrix from these, not from files on a worker's disk."""
    return json.dumps({"name": run.name, "returncode": run.returncode, "document": run.document})


def received(value: str) -> ModelRun:
    data = json.loads(value)
    return ModelRun(data["name"], data["returncode"], data["document"], "")


class MatrixSession:
    """A token naming this session, made by the controller and handed to every xdist worker through
    ``workerinput`` (remote ones too): :func:`model_run` reuses a model's run only within its session."""

    def __init__(self, config: Any) -> None:
        import uuid

        workerinput = getattr(config, "workerinput", None)
        self.token = workerinput.get(SESSION_TOKEN, "") if workerinput is not None else uuid.uuid4().hex

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:  # pytest-xdist's hook, on the controller
        node.workerinput[SESSION_TOKEN] = self.token


# ----------------------------------------------------------------------------------------- the matrix


def build_matrix(original: dict[str, Any], context: dict[str, Any], runs: dict[str, ModelRun],
                 models: tuple[Counterfactual, ...], original_doc: dict[str, Any] | None = None,
                 ood: dict[str, Any] | None = None) -> dict[str, Any]:
    """``matrix.json``: verdict per claim and model, predictions against observations, sensitivity, the
    beyond-the-data verdicts per model (``ood``: the challenge network's records of claims/test_ood.py), and with
    replicas the replica study (``original_doc``: the challenge network's whole claims.json, probes and any
    other section included; by default its claims alone)."""
    from report.replica_study import replica_study

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
        predicted = sorted(cf.predicted())
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
    replica_names = [cf.name for cf in models if is_replica(cf)]
    study = replica_study(original_doc or {"claims": original},
                          {name: runs[name].document if name in runs else {} for name in replica_names}) if replica_names else None
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
    from report.replica_readme import readme_section
    from report.replica_study import draw_figures
    from fixtures.files import atomic_write_text

    study = matrix["replica_study"]
    atomic_write_text(Path(out) / "replica-study.md", readme_section(study))
    study["figures"] = draw_figures(study, out)


def ood_columns(original_ood: dict[str, Any] | None, runs: dict[str, ModelRun]) -> dict[str, Any]:
    """Beyond-the-data verdicts (claims/test_ood.py) per input family and model: does each retrained replica and
    counterfactual generalise like the challenge network?"""
    from report.ood import matrix_columns

    return matrix_columns(original_ood, {name: run.document for name, run in runs.items()})


def load_explained_insensitivity() -> dict[str, str]:
    """Reviewed explanations of claims no counterfactual breaks (``[[insensitive]]`` in the known list)."""
    import tomllib

    from report.records import KNOWN_NONREPRODUCTIONS

    if not KNOWN_NONREPRODUCTIONS.exists():
        return {}
    with open(KNOWN_NONREPRODUCTIONS, "rb") as fh:
        data = tomllib.load(fh)
    return {e["claim"]: " ".join(e["why"].split()) for e in data.get("insensitive", [])}


def replica_summary(study: dict[str, Any] | None) -> dict[str, Any]:
    """The matrix's "task or network?" summary, from the replica study's statistics (see
    :mod:`report.replica_study` for the rule); empty without replicas."""
    from report.replica_study import paragraph

    if not study:
        return {"replicas": [], "paragraph": ""}
    cats = study["by_category"]
    return {"replicas": study["replicas"], "properties_of_the_task": cats["task"],
            "properties_of_the_network": cats["network"], "varies_between_replicas": cats["varies"],
            "paragraph": paragraph(study)}


#: With more replicas than this, the table shows one "replicas" column (how many recur) instead of one each.
MAX_REPLICA_COLUMNS = 3


def _table_columns(matrix: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(model columns shown one by one, replicas folded into one column)."""
    replicas = list(matrix.get("replica_study", {}).get("replicas", []))
    if len(replicas) <= MAX_REPLICA_COLUMNS:
        return list(matrix["models"]), []
    return [m for m in matrix["models"] if m not in replicas], replicas


def _replica_cell(row: dict[str, Any], replicas: list[str]) -> str:
    kept = sum(1 for r in replicas if row["verdicts"].get(r) in ("holds", "erratum"))
    measured = sum(1 for r in replicas if row["verdicts"].get(r) is not None)
    return f"{kept}/{measured} hold"


def matrix_markdown(matrix: dict[str, Any]) -> str:
    from report.replica_study import markdown as study_markdown

    cols, folded = _table_columns(matrix)
    lines = ["## Claims × models", "", "Verdict of every claim on the original checkpoint and each model "
             "(`python -m pytest claims/ --models small|full|replicas:N`). *data* = the claim does not involve the network.", ""]
    extra = [f"{len(folded)} replicas"] if folded else []
    lines.append("| claim | " + " | ".join(cols + extra) + " |")
    lines.append("|---|" + "---|" * len(cols + extra))
    for cid, row in matrix["claims"].items():
        flag = " (data)" if row["depends_on"] == "data" else " **insensitive**" if row["insensitive"] else ""
        cells = [verdict_text(row["verdicts"].get(m), mark=True) for m in cols] + ([_replica_cell(row, folded)] if folded else [])
        lines.append(f"| {cid}{flag} | " + " | ".join(cells) + " |")
    lines += ["", "### Predicted vs observed", "", "| model | rationale | predicted to break | observed broken | "
              "broke unexpectedly | survived unexpectedly |", "|---|---|---|---|---|---|"]
    for name, p in matrix["predictions"].items():
        lines.append(f"| {name} | {p['rationale']} | {', '.join(p['predicted_to_break']) or '–'} | "
                     f"{', '.join(p['observed_broken']) or '–'} | {', '.join(p['broke_unexpectedly']) or '–'} | "
                     f"{', '.join(p['survived_unexpectedly']) or '–'} |")
    if not matrix["sensitivity_judged"]:
        lines += ["", "Sensitivity (does some counterfactual break each claim?) is judged only when every "
                  "counterfactual ran: `--models full`."]
    elif matrix["insensitive"]:
        lines += ["", f"**Insensitive claims** (no counterfactual breaks them): {', '.join(matrix['insensitive'])}."]
        for cid in matrix["insensitive"]:
            why = matrix["claims"][cid]["why_insensitive"]
            lines.append(f"- `{cid}`: {why or 'not explained yet'}")
    else:
        lines += ["", "Every model-dependent claim fails on at least one counterfactual."]
    if matrix.get("replica_study"):
        lines += ["", study_markdown(matrix["replica_study"], matrix["replica_study"].get("figures", [])).rstrip("\n")]
    if matrix.get("ood"):
        from report.ood import matrix_markdown as ood_matrix_markdown

        lines += ["", ood_matrix_markdown(matrix["ood"], cols)]
    return "\n".join(lines) + "\n"


def page_view(matrix: dict[str, Any]) -> dict[str, Any]:
    """What the page's matrix section shows (report/templates/sections.html.j2, macro ``matrix``)."""
    from report.ood import matrix_view as ood_matrix_view
    from report.replica_study import page_view as replica_view

    cols, folded = _table_columns(matrix)
    none = "–"
    return {
        "models": cols, "folded": len(folded),
        "rows": [{"id": cid, "data_only": row["depends_on"] == "data", "insensitive": bool(row["insensitive"]),
                  "cells": [{"class": v or "neutral", "text": verdict_text(v)} for v in (row["verdicts"].get(m) for m in cols)],
                  "replicas": _replica_cell(row, folded) if folded else None}
                 for cid, row in matrix["claims"].items()],
        "predictions": [{"model": n, "rationale": p["rationale"],
                         **{k: ", ".join(p[k]) or none for k in ("predicted_to_break", "observed_broken",
                                                                  "broke_unexpectedly", "survived_unexpectedly")}}
                        for n, p in matrix["predictions"].items()],
        "sensitivity_judged": matrix["sensitivity_judged"],
        "insensitive": [(c, matrix["claims"][c]["why_insensitive"] or "not explained yet") for c in matrix["insensitive"]],
        "replica_study": replica_view(matrix["replica_study"]) if matrix.get("replica_study") else None,
        "ood": ood_matrix_view(matrix["ood"], cols) if matrix.get("ood") else None,
    }
