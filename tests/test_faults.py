"""Faults of the models path and its inputs, as a hostile user meets them: each ends in a recovery or in one message
(exit status 4 for bad input, 1 for a degraded result refused), and nothing complete is deleted or overwritten.

Model runs are driven with an injected child (``subprocess.run``) and synthetic records, so no replica is trained;
the few end-to-end cases stop before the first test."""

from __future__ import annotations

import errno
import functools
import hashlib
import json
import shutil
import subprocess
import sys
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from claims import catalogue
from claims import matrix as claims_matrix
from fixtures import activations, checkpoint
from fixtures.errors import SetupError
from fixtures.locate import PROJECT_ROOT, Checkpoint, resolve_checkpoint
from model import runs
from model.counterfactuals import by_name, replica
from model.runs import Checkpoints, ModelRun, incomplete_dir, run_dir
from tests.conftest import claims_command

CONTEXT = {
    "checkpoint": {"path": "data/mnist_model.pt", "sha256": "ab" * 32, "challenge": True},
    "data": {"train": 600, "test": 100, "dir": "~/data", "canonical_mnist": False},
}


def _document(claims=None):
    """A model run's claims.json: a record of each of ``claims`` (default: every claim) and of every probe."""
    claims = catalogue().claim_ids if claims is None else claims
    return {
        "checkpoint": CONTEXT["checkpoint"],
        "data": CONTEXT["data"],
        "summary": {},
        "claims": {c: {"verdict": "holds"} for c in claims},
        "probes": {p: {"verdict": "holds"} for p in catalogue().probe_ids},
    }


def _complete(cf):
    known = catalogue()
    return lambda doc: runs.is_complete(doc, cf, known.claim_ids, known.probe_ids)


def _checkpoints(build):
    return Checkpoints(build=build, unloadable=checkpoint.unloadable, discard=checkpoint.discard)


def _model_run(cf, prepared, build, out, session):
    return runs.model_run(
        cf,
        _checkpoints(build),
        _complete(cf),
        out,
        session,
        project=PROJECT_ROOT,
        inputs=prepared.inputs,
        data_dir=prepared.mnist.root,
        warn=lambda m: warnings.warn(m, stacklevel=2),
    )


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _prepared(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir(exist_ok=True)
    checkpoint = Checkpoint(tmp_path / "challenge.pt", "cd" * 32)
    return SimpleNamespace(
        inputs=SimpleNamespace(cache_dir=cache, checkpoint=checkpoint), mnist=SimpleNamespace(root=tmp_path / "data")
    )


class Child:
    """Stands in for a model's child ``pytest claims/``: writes the document ``make(weights)`` returns (None: none)
    into its ``--report-dir`` as that run would, and exits with ``status``."""

    def __init__(self, make, status=0):
        self.make, self.status, self.calls = make, status, []

    def __call__(self, cmd, **kw):
        self.calls.append(cmd)
        out, weights = Path(cmd[cmd.index("--report-dir") + 1]), Path(cmd[cmd.index("--weights") + 1])
        doc = self.make(weights)
        if doc is not None:
            where = out if "-m" not in cmd else out / "partial"  # a counterfactual's claims-only run is partial
            where.mkdir(parents=True, exist_ok=True)
            (where / "claims.json").write_text(json.dumps(doc))
        status = self.status(weights) if callable(self.status) else self.status
        return SimpleNamespace(returncode=status, stdout="", stderr="" if status == 0 else "ERROR: one message")


# ----------------------------------------------------------------------------- a run replaces only with a complete one


def test_a_models_run_stopped_by_bad_input_deletes_nothing(tmp_path):
    """`--models ... --weights DIR` stops before any test with one message naming the folder (and what to pass),
    and the earlier runs in <report-dir>/models/ are still there."""
    out = tmp_path / "report"
    (out / "models" / "task-seed1").mkdir(parents=True)
    (out / "models" / "task-seed1" / "claims.json").write_text("{}")
    (out / "models" / "task-seed1" / "index.html").write_text("<html></html>")
    before = _snapshot(out)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "claims/",
            "-q",
            "-p",
            "no:cacheprovider",
            "--models",
            "replicas:2",
            "--weights",
            str(tmp_path),
            "--report-dir",
            str(out),
            "--no-download",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 4, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "is a folder, not a file" in proc.stderr and "Traceback" not in proc.stdout + proc.stderr
    assert _snapshot(out) == before


@pytest.mark.needs_data
def test_a_partial_models_run_deletes_nothing(pytestconfig, tmp_path):
    """`--models replicas:2 -k v-shape` runs one claim and no model: the earlier model runs are untouched."""
    out = tmp_path / "report"
    (out / "models" / "task-seed1").mkdir(parents=True)
    (out / "models" / "task-seed1" / "claims.json").write_text("{}")
    before = _snapshot(out / "models")
    proc = subprocess.run(
        claims_command(pytestconfig, "--models", "replicas:2", "-k", "v-shape", "--report-dir", str(out)),
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert _snapshot(out / "models") == before


def test_an_incomplete_model_run_never_replaces_the_last_complete_one(tmp_path, monkeypatch):
    prepared, cf = _prepared(tmp_path), replica(1)
    build = lambda model: tmp_path / "w.pt"  # noqa: E731
    child = Child(lambda w: _document())
    monkeypatch.setattr(runs.subprocess, "run", child)
    first = _model_run(cf, prepared, build, tmp_path / "out", "session-a")
    assert _complete(cf)(first.document)
    complete = _snapshot(run_dir(tmp_path / "out", cf.name))

    child.make, child.status = (lambda w: _document(catalogue().claim_ids[:1])), 1  # killed after one claim
    second = _model_run(cf, prepared, build, tmp_path / "out", "session-b")
    assert not _complete(cf)(second.document) and second.returncode == 1
    assert _snapshot(run_dir(tmp_path / "out", cf.name)) == complete
    assert (incomplete_dir(run_dir(tmp_path / "out", cf.name)) / "run.json").exists()
    _model_run(cf, prepared, build, tmp_path / "out", "session-b")
    assert len(child.calls) == 2  # this session's incomplete run is reused, not run again

    child.make, child.status = (lambda w: _document()), 0
    third = _model_run(cf, prepared, build, tmp_path / "out", "session-c")
    assert _complete(cf)(third.document)
    assert not incomplete_dir(run_dir(tmp_path / "out", cf.name)).exists()
    assert json.loads((run_dir(tmp_path / "out", cf.name) / "run.json").read_text())["session"] == "session-c"


def test_a_swap_interrupted_between_its_two_renames_keeps_the_last_complete_run(tmp_path):
    out = run_dir(tmp_path, "task-seed1")
    old = out.with_name(".task-seed1.old")
    old.mkdir(parents=True)
    (old / "run.json").write_text(json.dumps({"returncode": 0, "session": "s", "output": ""}))
    (old / "claims.json").write_text(json.dumps(_document()))
    run = runs.session_run(tmp_path, "task-seed1", "s")
    assert run is not None and _complete(replica(1))(run.document) and out.is_dir()


class _Config:
    """What the matrix hook asks of pytest's config."""

    def __init__(self, models, token):
        self.options = {"models": models}
        self.pluginmanager = SimpleNamespace(get_plugin=lambda name: SimpleNamespace(token=token))

    def getoption(self, name):
        return self.options[name]


def _matrix(root, shipped, models="replicas:2"):
    """The matrix hook of a complete run of the challenge network whose model tests shipped ``shipped``."""
    sections = {
        claims_matrix.MODEL_RUNS: [claims_matrix.transport(ModelRun(name, 0, doc, "")) for name, doc in shipped.items()]
    }
    return claims_matrix.pytest_eis_matrix(
        config=_Config(models, "session"), out=root, document=_document(), sections=sections
    )


def test_a_degraded_matrix_says_so_and_writes_its_study_into_partial(tmp_path):
    root = tmp_path / "out"
    own_fits = {name: _document() for name in ("original@own", "task-seed1@own", "task-seed2@own")}
    complete = _matrix(root, {"task-seed1": _document(), "task-seed2": _document(), **own_fits})
    assert "incomplete_models" not in complete and (root / "replica-study.md").exists()
    study_md = (root / "replica-study.md").read_bytes()

    # task-seed2's run produced no records (a checkpoint it could not load, a killed run)
    degraded = _matrix(root, {"task-seed1": _document(), **own_fits})
    assert degraded["incomplete_models"] == ["task-seed2"]
    assert degraded["replica_study"]["missing"] == ["task-seed2"]
    assert (root / "replica-study.md").read_bytes() == study_md and (root / "partial" / "replica-study.md").exists()


def test_the_matrix_never_reads_a_run_of_an_earlier_session_from_disk(tmp_path):
    """A model whose test shipped nothing is looked up on disk, and only this session's run counts."""
    root = tmp_path / "out"
    stale = run_dir(root, "task-seed2")
    stale.mkdir(parents=True)
    (stale / "run.json").write_text(json.dumps({"returncode": 0, "session": "earlier", "output": ""}))
    (stale / "claims.json").write_text(json.dumps(_document()))
    own_fits = {name: _document() for name in ("original@own", "task-seed1@own", "task-seed2@own")}
    assert _matrix(root, {"task-seed1": _document(), **own_fits})["incomplete_models"] == ["task-seed2"]


# ----------------------------------------------------------------------------- a cache entry that cannot be loaded


def _garbage_with_matching_sidecar(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = np.random.default_rng(0).bytes(4096)
    path.write_bytes(data)
    path.with_name(path.name + ".sha256").write_text(hashlib.sha256(data).hexdigest() + "\n")


def _loads(weights: Path) -> bool:
    return checkpoint.unloadable(weights) is None


def _build(prepared):
    return lambda cf: checkpoint.checkpoint_for(
        cf, prepared.inputs.cache_dir, prepared.inputs.checkpoint.sha256, {}, None, prepared.mnist
    )


def test_a_cached_checkpoint_that_cannot_be_loaded_is_rebuilt_with_a_warning(tmp_path, monkeypatch):
    prepared, cf = _prepared(tmp_path), by_name("untrained")
    cached = prepared.inputs.cache_dir / "models" / f"untrained-seed{cf.seed}.pt"
    _garbage_with_matching_sidecar(cached)
    child = Child(lambda w: _document() if _loads(w) else None, status=lambda w: 0 if _loads(w) else 4)
    monkeypatch.setattr(runs.subprocess, "run", child)
    with pytest.warns(UserWarning, match="cannot be loaded.*rebuilding it"):
        run = _model_run(cf, prepared, _build(prepared), tmp_path / "out", "s")
    assert _complete(cf)(run.document) and len(child.calls) == 2
    assert _loads(cached)
    sidecar = cached.with_name(cached.name + ".sha256").read_text().split()[0]
    assert sidecar == hashlib.sha256(cached.read_bytes()).hexdigest()
    with warnings.catch_warnings():  # a later session runs on the rebuilt checkpoint, without rebuilding it
        warnings.simplefilter("error")
        assert _complete(cf)(_model_run(cf, prepared, _build(prepared), tmp_path / "out", "later").document)
    assert len(child.calls) == 3


def test_a_user_input_problem_is_not_taken_for_a_damaged_cache_entry(tmp_path, monkeypatch):
    """The child stops with a usage error but the checkpoint loads (e.g. the data is wrong): nothing is rebuilt."""
    prepared, cf = _prepared(tmp_path), by_name("untrained")
    weights = _build(prepared)(cf)
    before = weights.read_bytes()
    child = Child(lambda w: None, status=4)
    monkeypatch.setattr(runs.subprocess, "run", child)
    run = _model_run(cf, prepared, _build(prepared), tmp_path / "out", "s")
    assert run.returncode == 4 and not run.document and len(child.calls) == 1
    assert weights.read_bytes() == before


# ----------------------------------------------------------------------------- disk errors: one message


@functools.cache
def _unprivileged_mounts() -> bool:
    """Can this user mount a small tmpfs in a namespace of its own (``unshare -rm``, no privileges needed)?"""
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /tmp"],
        capture_output=True,
        timeout=30,
        check=False,
    )
    return probe.returncode == 0


def test_an_unwritable_checkpoint_folder_fails_the_model_test_with_one_message(tmp_path, monkeypatch):
    def read_only(*args):
        raise OSError(errno.EROFS, "Read-only file system", str(tmp_path / "cache" / "models" / "a.pt.lock"))

    monkeypatch.setattr(checkpoint, "checkpoint_for", read_only)
    prepared = _prepared(tmp_path)
    prepared.acts = SimpleNamespace(params=SimpleNamespace(state={}))
    with pytest.raises(pytest.fail.Exception) as info:
        claims_matrix.run_model(replica(1), prepared, None, tmp_path / "out", "s", PROJECT_ROOT)
    assert not info.value.pytrace
    assert "Read-only file system" in str(info.value) and "a.pt.lock" in str(info.value)


def test_a_models_run_with_an_unusable_checkpoint_folder_stops_before_any_test(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "models").write_text("not a folder")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "claims/",
            "-q",
            "-p",
            "no:cacheprovider",
            "--models",
            "untrained",
            "--cache-dir",
            str(cache),
            "--report-dir",
            str(tmp_path / "out"),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 4, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "model checkpoint folder" in proc.stderr and "--cache-dir" in proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr


@pytest.mark.skipif(not _unprivileged_mounts(), reason="needs unprivileged mounts (unshare -rm) for a read-only folder")
def test_a_read_only_checkpoint_folder_stops_a_models_run_before_any_test(tmp_path):
    """A read-only bind mount, which (unlike chmod) also binds root."""
    models = tmp_path / "cache" / "models"
    models.mkdir(parents=True)
    run = (
        f"{sys.executable} -m pytest claims/ -q -p no:cacheprovider --models replicas:1 --cache-dir {models.parent} "
        f"--report-dir {tmp_path / 'out'}"
    )
    script = f"mount --bind {models} {models} && mount -o remount,bind,ro {models} && exec {run}"
    proc = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 4, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert f"{models} is not writable" in proc.stderr and "Traceback" not in proc.stdout + proc.stderr


def _activations_main(out: Path, monkeypatch, capsys, fail_with: OSError | None) -> tuple[int, str]:
    """``python -m fixtures.activations`` in this process, its bundle a small synthetic one."""
    monkeypatch.setattr(activations, "compute_arrays", lambda *a: {"x": np.zeros(1000)})
    monkeypatch.setattr(activations, "load_mnist", lambda root: None)
    if fail_with is not None:

        def full(path, arrays):
            raise fail_with

        monkeypatch.setattr(activations, "write_cache", full)
    status = activations.main(["--weights", "w.pt", "--data-dir", "d", "--out", str(out)])
    return status, capsys.readouterr().err


def test_a_full_disk_under_the_activation_cache_is_one_line(tmp_path, monkeypatch, capsys):
    out = tmp_path / "cache" / "activations.npz"
    status, err = _activations_main(out, monkeypatch, capsys, OSError(errno.ENOSPC, "No space left on device"))
    assert status == activations.EXIT_BAD_CHECKPOINT
    assert len(err.strip().splitlines()) == 1 and "No space left on device" in err
    assert str(out) in err and "--cache-dir" in err and "free space" in err


@pytest.mark.skipif(not _unprivileged_mounts(), reason="needs unprivileged mounts (unshare -rm) for a small tmpfs")
def test_a_really_full_disk_under_the_activation_cache_is_one_line(tmp_path):
    """A 256 kB tmpfs (mounted in a user namespace, no privileges) and a 1 MB bundle: the real ENOSPC."""
    folder = tmp_path / "small"
    folder.mkdir()
    stub = (
        "import sys, numpy as np; import fixtures.activations as a; "
        "a.compute_arrays = lambda *x: {'x': np.random.default_rng(0).random(131072)}; "
        "a.load_mnist = lambda root: None; "
        f"sys.exit(a.main(['--weights', 'w.pt', '--data-dir', 'd', '--out', '{folder}/bundle.npz']))"
    )
    script = f'mount -t tmpfs -o size=256k tmpfs {folder} && exec {sys.executable} -c "{stub}"'
    proc = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == activations.EXIT_BAD_CHECKPOINT, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "No space left on device" in proc.stderr


def test_a_crashed_activation_child_is_reported_by_its_last_line_not_a_cut_traceback():
    traceback = "Traceback (most recent call last):\n" + '  File "x.py", line 1\n' * 200 + "MemoryError: out of memory"
    proc = SimpleNamespace(returncode=1, communicate=lambda: ("", traceback))
    with pytest.raises(SetupError) as info:
        activations._raise_for(proc, Checkpoint(Path("w.pt"), "ab" * 32))
    message = str(info.value)
    assert "Traceback" not in message and "File " not in message
    assert "MemoryError: out of memory" in message and "python -m fixtures.activations" in message


# ----------------------------------------------------------------------------- --weights DIR


def test_weights_pointing_at_a_folder_say_so_and_name_the_checkpoint_inside(tmp_path):
    (tmp_path / "mine.pt").write_bytes(b"x")
    with pytest.raises(SetupError) as info:
        resolve_checkpoint(str(tmp_path))
    message = str(info.value)
    assert "is a folder, not a file" in message and "does not exist" not in message
    assert f"--weights {tmp_path / 'mine.pt'}" in message
