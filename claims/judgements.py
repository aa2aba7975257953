"""Judgements kept in the cache folder: a claim's judge is a pure function of the network, the data, the code and
the run's fit and hypothesis profile, so a run whose inputs are all unchanged reads the judgement instead of
computing it again (the engine's ``pytest_eis_judge`` hook; ~0.5 s of a warm run's ~1.3 s of tests).

The key holds every input a judgement can depend on: the activation bundle (the checkpoint's sha256 and the data's
identity), ``--fit``, the hypothesis profile, and the code: every source file of the project's packages and the
versions of Python and of the numerical libraries. Any edit anywhere in the project makes a new key, so a stale
judgement is never read; a damaged file is recomputed (its digest, like every cache file's). A judgement computed
now is returned as read back from its file, so a run on a fresh cache and one on a warm cache conclude from the same
objects. Delete ``<cache>/judgements`` (or give a fresh ``--cache-dir``) to have every judge run again.
"""

from __future__ import annotations

import hashlib
import pickle
import sys
from collections.abc import Callable
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from fixtures.cache import memoised
from fixtures.locate import PROJECT_ROOT

#: The project's packages: their source is the code a judgement depends on.
PACKAGES = ("analysis", "claims", "fixtures", "model", "report")
#: Libraries whose arithmetic a judgement's numbers come from.
LIBRARIES = ("numpy", "scipy", "scikit-learn")


@cache
def code_version() -> str:
    """A digest of the root ``conftest.py`` and every ``.py`` file of :data:`PACKAGES` (paths and bytes) and the
    versions of Python and :data:`LIBRARIES` (~2 ms, once per process)."""
    h = hashlib.blake2b(digest_size=16)
    sources = [PROJECT_ROOT / "conftest.py"]  # the root fixtures, beside the packages'
    for package in PACKAGES:
        sources += sorted((PROJECT_ROOT / package).rglob("*.py"))
    for path in sources:
        if path.is_file():
            h.update(str(path.relative_to(PROJECT_ROOT)).encode() + b"\0")
            h.update(hashlib.blake2b(path.read_bytes(), digest_size=16).digest())
    h.update(sys.version.encode())
    for library in LIBRARIES:
        try:
            h.update(f"{library}=={version(library)}".encode())
        except PackageNotFoundError:
            h.update(f"{library} absent".encode())
    return h.hexdigest()


def judgement_path(cache_dir: Path, claim: str, bundle: str, fit: str, profile: str) -> Path:
    return Path(cache_dir) / "judgements" / f"{claim}-{bundle}-{fit}-{profile}-{code_version()[:16]}.npz"


def kept_judgement(path: Path, judge: Callable[[], Any]) -> Any:
    """``judge()``, kept at ``path`` (pickled into a cache file) and returned as read back from it."""

    def compute() -> dict[str, np.ndarray]:
        return {"pickle": np.frombuffer(pickle.dumps(judge(), protocol=pickle.HIGHEST_PROTOCOL), dtype=np.uint8)}

    try:
        return pickle.loads(memoised(path, compute, ("pickle",))["pickle"].tobytes())
    except (pickle.UnpicklingError, AttributeError, EOFError, ImportError):
        path.unlink(missing_ok=True)  # written by code that no longer reads back: compute it again
        return pickle.loads(memoised(path, compute, ("pickle",))["pickle"].tobytes())
