"""Claims × models, the model side: which models ``--models`` names, and one child claims run per model.

Each model's claims run is a child ``pytest claims/`` with ``--weights`` pointing at the model (probes only for
the replicas), written beside the model's last complete run in ``<report-dir>/models/<name>/`` and swapped in
only when it is complete itself. A per-model file lock makes every model run once per session even when several
xdist workers ask for it. Checkpoints and the catalogue come from the layers above, as arguments.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock

from model.counterfactuals import COUNTERFACTUALS, SMALL, Counterfactual, by_name, recipe_replica, replica

SETS = {"small": SMALL, "full": tuple(c.name for c in COUNTERFACTUALS)}
#: ``--models replicas:N`` (the task arm, seeds 1..N), ``replicas-band:N`` (the band arm, seeds 1..N) and
#: ``replicas-recipes:N`` (the recipe arm's first N): the replica study's arms.
REPLICA_ARMS = {
    "replicas:": lambda n: [replica(seed, "task") for seed in range(1, n + 1)],
    "replicas-band:": lambda n: [replica(seed, "band") for seed in range(1, n + 1)],
    "replicas-recipes:": lambda n: [recipe_replica(index) for index in range(1, n + 1)],
}
#: Kinds that count as counterfactuals for sensitivity (replicas are meant to keep the mechanism).
COUNTERFACTUAL_KINDS = ("untrained", "silenced-anti-one", "entangled", "anti-one-also-on-ones")
#: A trained model on a *different* labelling is a counterfactual too.
DIFFERENT_LABELLING = "one-threshold"


def selected(option: str | None) -> tuple[Counterfactual, ...]:
    """Models named by ``--models``: a comma-separated list of ``small``, ``full``, ``replicas:N``,
    ``replicas-band:N``, ``replicas-recipes:N`` and names."""
    if not option:
        return ()
    out: dict[str, Counterfactual] = {}
    for token in (t.strip() for t in option.split(",")):
        if not token:
            continue
        if token in SETS:
            models = [by_name(n) for n in SETS[token]]
        elif (prefix := next((p for p in REPLICA_ARMS if token.startswith(p)), None)) is not None:
            count = token[len(prefix) :]
            if not (count.isdigit() and int(count) >= 1):
                raise ValueError(f"--models {option}: '{prefix}N' needs a whole number N >= 1, got {count!r}")
            try:
                models = REPLICA_ARMS[prefix](int(count))
            except ValueError as exc:
                raise ValueError(f"--models {option}: {exc}") from None
        else:
            try:
                models = [by_name(token)]
            except KeyError as exc:
                raise ValueError(
                    f"--models {option}: {exc.args[0]} "
                    "(or use 'small', 'full', 'replicas:N', 'replicas-band:N' or 'replicas-recipes:N')"
                ) from None
        for cf in models:
            out.setdefault(cf.name, cf)
    return tuple(out.values())


def is_counterfactual(cf: Counterfactual) -> bool:
    return cf.kind in COUNTERFACTUAL_KINDS or (cf.kind == "trained" and cf.labelling == DIFFERENT_LABELLING)


#: Sensitivity is judged only over every counterfactual: a claim the small set cannot break may fall to another.
ALL_COUNTERFACTUALS = tuple(cf.name for cf in COUNTERFACTUALS if is_counterfactual(cf))


def judges_sensitivity(models: tuple[Counterfactual, ...]) -> bool:
    return set(ALL_COUNTERFACTUALS) <= {cf.name for cf in models}


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


def incomplete_dir(out: Path) -> Path:
    """Where a model's incomplete run of this session goes: beside its last complete run, never over it."""
    return out.with_name(out.name + ".incomplete")


def run_document(out: Path) -> Path:
    """The ``claims.json`` of one model's run. A run without the probes (``-m "not probe"``, the counterfactuals) is
    a partial run and writes it into ``partial/``; a replica's run checks every claim and probe and writes a
    complete report."""
    partial = out / "partial" / "claims.json"
    return partial if partial.exists() else out / "claims.json"


#: A model's run at its own fit (``--fit own``) is kept under its name with this suffix.
OWN_FIT = "@own"


def run_name(name: str, fit: str = "as-written") -> str:
    """The folder and record name of model ``name``'s run at ``fit``: ``task-seed3``, ``task-seed3@own``."""
    return name if fit == "as-written" else f"{name}{OWN_FIT}"


def claims_command(
    weights: Path,
    out: Path,
    inputs: Any,
    data_dir: Path,
    probes: bool = False,
    fit: str = "as-written",
    profile: str | None = None,
) -> list[str]:
    """The child run of one model: every record of ``pytest claims/`` (probes only when asked: the replicas), at
    ``fit``, with the session's hypothesis ``profile`` (when given)."""
    return [
        sys.executable,
        "-m",
        "pytest",
        "claims/",
        "-q",
        "-p",
        "no:cacheprovider",
        *(() if probes else ("-m", "not probe")),
        "--weights",
        str(weights),
        "--report-dir",
        str(out),
        "--cache-dir",
        str(inputs.cache_dir),
        "--data-dir",
        str(data_dir),
        "--no-download",
        *(() if fit == "as-written" else ("--fit", fit)),
        *(() if profile is None else (f"--hypothesis-profile={profile}",)),
    ]


def session_run(report_dir: Path, name: str, session: str) -> ModelRun | None:
    """The run of model ``name`` this session made (complete, or else incomplete), or None."""
    out = run_dir(report_dir, name)
    old = out.with_name(f".{name}.old")
    if not out.exists() and old.is_dir():  # a swap that was interrupted: the last complete run is still here
        os.replace(old, out)
    for folder in (out, incomplete_dir(out)):
        try:
            meta = json.loads((folder / "run.json").read_text())
        except (OSError, ValueError):
            continue
        if isinstance(meta, dict) and meta.get("session", "") == session:
            return ModelRun(name, meta.get("returncode", -1), read_document(folder), meta.get("output", ""))
    return None


def read_document(out: Path) -> dict[str, Any]:
    """A run's ``claims.json``, or ``{}`` when it wrote none (or an unreadable one)."""
    try:
        doc = json.loads(run_document(out).read_text())
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def is_complete(
    document: dict[str, Any], cf: Counterfactual, claim_ids: tuple[str, ...], probe_ids: tuple[str, ...]
) -> bool:
    """Does a model's ``claims.json`` hold a record of every claim (and, for a replica, every probe)?"""
    if not isinstance(document, dict):
        return False
    claims, probes = document.get("claims") or {}, document.get("probes") or {}
    return all(c in claims for c in claim_ids) and not (bool(cf.arm) and any(p not in probes for p in probe_ids))


@dataclass(frozen=True)
class Checkpoints:
    """How a model run gets its weights: ``build`` makes (or reuses) a model's checkpoint; ``unloadable`` says why
    a checkpoint cannot be loaded (None if it can); ``discard`` removes a cached one so the next build remakes it."""

    build: Callable[[Counterfactual], Path]
    unloadable: Callable[[Path], str | None]
    discard: Callable[[Path], None]


def model_run(
    cf: Counterfactual,
    checkpoints: Checkpoints,
    complete: Callable[[dict[str, Any]], bool],
    report_dir: Path,
    session: str,
    *,
    project: Path,
    inputs: Any,
    data_dir: Path,
    warn: Callable[[str], None],
    fit: str = "as-written",
    profile: str | None = None,
) -> ModelRun:
    """The claims run of one model: computed once per session (file lock; ``session`` is the session's token,
    so a run left by an earlier session, e.g. on a remote worker's disk, is never reused), read back by later
    callers. A replica runs every claim and every probe; the other models the claims. The child runs in
    ``project``, the folder holding ``claims/``.

    The run is written beside the model's last complete run and replaces it only when ``complete`` says so; an
    incomplete one is kept apart, in ``<name>.incomplete/``, for this session's callers. A cached checkpoint the
    child cannot load is the cache's fault: it is discarded and rebuilt once (``warn`` says so). At ``fit="own"``
    the run is named :func:`run_name` (``<name>@own``)."""
    name = run_name(cf.name, fit)
    out = run_dir(report_dir, name)
    out.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(out) + ".lock"):
        run = session_run(report_dir, name, session)
        if run is None:
            fresh = out.with_name(f".{out.name}.new")

            def child(weights: Path) -> subprocess.CompletedProcess[str]:
                shutil.rmtree(fresh, ignore_errors=True)
                fresh.mkdir(parents=True)
                env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_XDIST", "PYTEST_CURRENT"))}
                env.pop("EIS_REPORT_DIR", None)
                command = claims_command(
                    weights, fresh, inputs, data_dir, probes=bool(cf.arm), fit=fit, profile=profile
                )
                return subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)

            weights = checkpoints.build(cf)
            proc = child(weights)
            if not complete(read_document(fresh)) and proc.returncode == 4:  # pytest's usage error: bad input
                problem = checkpoints.unloadable(weights)
                if problem:
                    warn(f"the cached checkpoint of {cf.name}, {weights}, cannot be loaded ({problem}); rebuilding it")
                    checkpoints.discard(weights)
                    proc = child(checkpoints.build(cf))
            output = proc.stdout[-6000:] + proc.stderr[-3000:]
            (fresh / "run.json").write_text(
                json.dumps({"returncode": proc.returncode, "session": session, "output": output})
            )
            replace_when_complete(fresh, out, complete(read_document(fresh)))
            run = session_run(report_dir, name, session)
    assert run is not None
    return run


def replace_when_complete(fresh: Path, out: Path, complete: bool) -> None:
    """Swap a finished run into ``out`` when it is complete (the last complete run moves aside first, so an
    interrupted swap is recovered by :func:`session_run`); else keep it as :func:`incomplete_dir`."""
    if complete:
        old = out.with_name(f".{out.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        if out.exists():
            os.replace(out, old)
        os.replace(fresh, out)
        shutil.rmtree(old, ignore_errors=True)
    shutil.rmtree(incomplete_dir(out), ignore_errors=True)
    if not complete:
        os.replace(fresh, incomplete_dir(out))
