"""Judgements kept in the cache folder: a claim's judge is a pure function of the network, the data, the code and
the run's fit and hypothesis profile, so a run whose inputs are all unchanged reads the judgement instead of
computing it again (the engine's ``pytest_eis_judge`` hook; ~0.5 s of a warm run's ~1.3 s of tests).

The key holds every input a judgement can depend on: the activation bundle (the checkpoint's sha256 and the data's
identity), ``--fit``, the hypothesis profile, and the code: every source file of the project (its root modules and
packages) and the versions of Python and of the numerical libraries. Any edit anywhere in the project makes a new
key, so a stale judgement is never read; a damaged file is recomputed (its digest, like every cache file's).

A judgement is stored as JSON with its types tagged (:func:`encode`), never pickled: a cache folder may be shared,
and reading it must not run code. A judgement computed now is returned as read back from its file, so a run on a
fresh cache and one on a warm cache conclude from the same objects; one holding a value the codec does not know is
judged afresh every time rather than kept. Delete ``<cache>/judgements`` (or give a fresh ``--cache-dir``) to have
every judge run again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import sys
from collections.abc import Callable
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from analysis.robustness import Bound, Judgement
from fixtures.cache import memoised_json
from fixtures.locate import PROJECT_ROOT

#: The project's packages: with its root modules (``conftest.py``, ``verdicts.py``), the code a judgement depends on.
PACKAGES = ("analysis", "claims", "fixtures", "model", "report")
#: Libraries whose arithmetic a judgement's numbers come from.
LIBRARIES = ("numpy", "scipy", "scikit-learn")
#: The records a judgement is made of, by the tag they are stored under.
RECORDS: dict[str, type] = {"judgement": Judgement, "bound": Bound}
_TAG = "__kept__"


@cache
def code_version() -> str:
    """A digest of every ``.py`` file at the project's root and in :data:`PACKAGES` (paths and bytes) and the
    versions of Python and :data:`LIBRARIES` (~2 ms, once per process)."""
    h = hashlib.blake2b(digest_size=16)
    sources = sorted(PROJECT_ROOT.glob("*.py"))
    for package in PACKAGES:
        sources += sorted((PROJECT_ROOT / package).rglob("*.py"))
    for path in sources:
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


def encode(value: Any) -> Any:
    """``value`` as plain JSON, with the type of everything JSON would not give back tagged: numpy arrays and
    scalars, tuples and the records of :data:`RECORDS`. Raises TypeError for anything else (a dict with a key that
    is not a string included)."""
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, np.ndarray):
        return {_TAG: "array", "dtype": value.dtype.str, "shape": list(value.shape), "data": value.ravel().tolist()}
    if isinstance(value, np.generic) and not isinstance(value, (np.void, np.object_)):
        return {_TAG: "scalar", "dtype": value.dtype.str, "value": value.item()}
    if type(value) is list:
        return [encode(v) for v in value]
    if type(value) is tuple:
        return {_TAG: "tuple", "items": [encode(v) for v in value]}
    if type(value) is dict:
        if not all(isinstance(k, str) for k in value) or _TAG in value:
            raise TypeError("a kept judgement's dicts need string keys")
        return {k: encode(v) for k, v in value.items()}
    for tag, record in RECORDS.items():
        if type(value) is record:
            fields = {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init}
            return {_TAG: tag, "fields": fields}
    raise TypeError(f"a judgement cannot be kept with a value of type {type(value).__name__}")


def decode(value: Any) -> Any:
    """The inverse of :func:`encode`, on its output as read back from JSON."""
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    tag = value.get(_TAG)
    if tag is None:
        return {k: decode(v) for k, v in value.items()}
    if tag == "array":
        return np.array(value["data"], dtype=np.dtype(value["dtype"])).reshape(value["shape"])
    if tag == "scalar":
        return np.dtype(value["dtype"]).type(value["value"])
    if tag == "tuple":
        return tuple(decode(v) for v in value["items"])
    return RECORDS[tag](**{k: decode(v) for k, v in value["fields"].items()})


def kept_judgement(path: Path, judge: Callable[[], Any]) -> Any:
    """``judge()``, kept at ``path`` and returned as read back from it (:func:`encode`); a judgement the codec
    cannot store is returned as computed, and computed again by the next run."""
    computed: list[Any] = []

    def compute() -> Any:
        computed.append(judge())
        return encode(computed[0])

    try:
        return decode(memoised_json(path, compute))
    except (TypeError, KeyError, ValueError):
        if computed:  # a judgement the codec cannot store: not kept
            return computed[0]
    path.unlink(missing_ok=True)  # a stored value this codec cannot read (not its own): judge again
    return kept_judgement(path, judge)
