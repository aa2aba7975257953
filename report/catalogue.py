"""The catalogue: every claim and probe of the suite, read from the ``@claim`` / ``@probe`` markers of the claims
package — the one home of each claim's id, words, acceptance rule, ``depends_on`` and family.

What a *complete* run is (every claim and every probe has a record; see :func:`report.write.missing_records`) is
decided against this catalogue, whatever the run collected: ``pytest claims/test_geometry.py`` imports the other
claim modules here to know what it did not run. The catalogue's *order* is CLAIMS.md's, kept in
:data:`report.records.CATALOGUE_ORDER` (a test checks that it names exactly the marked claims).
"""

from __future__ import annotations

import functools
import importlib
import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from report.records import ClaimSpec

#: The package whose test modules hold the claims and probes.
CLAIMS_PACKAGE = Path(__file__).resolve().parents[1] / "claims"


@dataclass(frozen=True)
class Catalogue:
    claims: dict[str, ClaimSpec]  # id -> spec, in catalogue order (CLAIMS.md's)
    probes: dict[str, ClaimSpec]  # id -> spec, alphabetical

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


@functools.cache
def catalogue(package: Path = CLAIMS_PACKAGE) -> Catalogue:
    """Every marked claim and probe of ``package``'s ``test_*.py`` modules (imported as ``claims.<module>``, the
    names pytest gives them, so a module pytest already collected is not imported twice)."""
    from report.records import ordered

    claims: dict[str, ClaimSpec] = {}
    probes: dict[str, ClaimSpec] = {}
    for path in sorted(package.glob("test_*.py")):
        module = importlib.import_module(f"{package.name}.{path.stem}")
        for obj in vars(module).values():
            for spec in specs_in(obj):
                (probes if spec.kind == "probe" else claims)[spec.id] = spec
    return Catalogue(claims=dict(ordered(claims)), probes=dict(sorted(probes.items())))
