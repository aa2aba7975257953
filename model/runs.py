"""Claims × models, the model side: which models ``--models`` names, their checkpoints (counterfactual edits
and retrained replicas, built deterministically and reused), and one child claims run per model.

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

from filelock import FileLock

from model.counterfactuals import COUNTERFACTUALS, SMALL, Counterfactual, by_name, is_replica, replica

SETS = {"small": SMALL, "full": tuple(c.name for c in COUNTERFACTUALS)}
#: ``--models replicas:N``: N seeded replicas of the challenge recipe (seeds 1..N); the study's statistics.
REPLICAS_PREFIX = "replicas:"
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


def model_run(cf: Counterfactual, prepared: Any, groups: Any, report_dir: Path, session: str = "", *,
              project: Path) -> ModelRun:
    """The claims run of one model: computed once per session (file lock; ``session`` is the session's token,
    so a run left by an earlier session, e.g. on a remote worker's disk, is never reused), read back by
    later callers. A replica runs every claim and every probe; the other models the claims. The child runs in
    ``project``, the folder holding ``claims/``."""
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
                cwd=project, env=env, capture_output=True, text=True,
            )
            done.write_text(json.dumps({"returncode": proc.returncode, "session": session,
                                        "output": proc.stdout[-6000:] + proc.stderr[-3000:]}))
    meta = json.loads(done.read_text())
    claims_json = run_document(out)
    doc = json.loads(claims_json.read_text()) if claims_json.exists() else {}
    return ModelRun(cf.name, meta["returncode"], doc, meta["output"])
