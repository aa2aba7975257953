"""The catalogue: every claim and probe of a claims package, read from the ``@claim`` / ``@probe`` markers of its
``test_*.py`` modules — the one home of each claim's id, words, acceptance rule, ``depends_on`` and family.

What a *complete* run is (every claim and every probe has a record; see :func:`report.write.missing_records`) is
decided against this catalogue, whatever the run collected: ``pytest claims/test_geometry.py`` imports the other
claim modules here to know what it did not run. The catalogue's *order* is the package's ``CATALOGUE_ORDER``
(claims in it first, in its order; the others after, alphabetically). Which package: the ini option
``eis_claims_package`` (a folder relative to the rootdir).
"""

from __future__ import annotations

import functools
import importlib
import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from report.records import ClaimSpec, ordered


@dataclass(frozen=True)
class Catalogue:
    claims: dict[str, ClaimSpec]  # id -> spec, in catalogue order
    probes: dict[str, ClaimSpec]  # id -> spec, alphabetical
    order: tuple[str, ...] = ()  # the package's CATALOGUE_ORDER

    @property
    def claim_ids(self) -> tuple[str, ...]:
        return tuple(self.claims)

    @property
    def probe_ids(self) -> tuple[str, ...]:
        return tuple(self.probes)

    @property
    def data_only(self) -> tuple[str, ...]:
        """Claims whose measurement does not involve the network (``depends_on="data"``)."""
        return tuple(cid for cid, spec in self.claims.items() if spec.depends_on == "data")

    @property
    def model_dependent(self) -> tuple[str, ...]:
        return tuple(cid for cid, spec in self.claims.items() if spec.depends_on == "model")


def specs_in(obj: Any) -> list[ClaimSpec]:
    """The claim/probe specs marked on a test function (or on the methods of a test class)."""
    marks = list(getattr(obj, "pytestmark", []) or []) if callable(obj) else []
    found = [m.args[0] for m in marks if getattr(m, "name", None) in ("claim", "probe") and m.args]
    if inspect.isclass(obj):
        for _, member in inspect.getmembers(obj, inspect.isfunction):
            found += specs_in(member)
    return found


EMPTY = Catalogue(claims={}, probes={})


@functools.cache
def catalogue(package: Path) -> Catalogue:
    """Every marked claim and probe of ``package``'s ``test_*.py`` modules (imported as ``<package>.<module>``, the
    names pytest gives them, so a module pytest already collected is not imported twice)."""
    claims: dict[str, ClaimSpec] = {}
    probes: dict[str, ClaimSpec] = {}
    order = tuple(getattr(importlib.import_module(package.name), "CATALOGUE_ORDER", ()))
    for path in sorted(package.glob("test_*.py")):
        module = importlib.import_module(f"{package.name}.{path.stem}")
        for obj in vars(module).values():
            for spec in specs_in(obj):
                (probes if spec.kind == "probe" else claims)[spec.id] = spec
    return Catalogue(claims=dict(ordered(claims, order)), probes=dict(sorted(probes.items())), order=order)


def configured(config: Any) -> Catalogue:
    """The catalogue of the package the ini option ``eis_claims_package`` names (none: an empty catalogue)."""
    name = config.getini("eis_claims_package")
    return catalogue(Path(config.rootpath) / name) if name else EMPTY
