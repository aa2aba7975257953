"""What a claim test produces: a record with the write-up's words, what we measured, and a verdict.

Verdicts: ``holds``; ``erratum`` (the claim as literally written fails, a stated faithful correction holds,
both measured); ``fails``. The pytest outcome mirrors the verdict: holds → passed, erratum → xfailed with
the correction, fails → failed, unless the failure is listed in ``claims/known_nonreproductions.toml`` for
this checkpoint (then xfailed, and still ``fails`` in every report).
"""

from __future__ import annotations

import math
import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

VERDICTS = ("holds", "erratum", "fails")
KNOWN_NONREPRODUCTIONS = Path(__file__).resolve().parents[1] / "claims" / "known_nonreproductions.toml"


#: Every float put into a record is rounded to this many significant digits (one rule for every value).
#: The network side is computed in float64 and is bit-identical across CPUs, but the analysis runs on numpy and
#: BLAS, whose float64 reductions differ by instruction set and thread count in the last few of their ~16
#: digits (more after cancellation, e.g. 1 - R²); 8 keep every value the same on every machine with room to
#: spare, and still more than any acceptance rule or figure needs.
SIGNIFICANT_DIGITS = 8


def portable_float(value: float) -> float:
    """``value`` rounded to :data:`SIGNIFICANT_DIGITS` significant digits (what a record keeps across machines)."""
    return float(f"{value:.{SIGNIFICANT_DIGITS}g}")


def jsonable(value: Any) -> Any:
    """Plain JSON types from numpy scalars/arrays, tuples and nested containers; NaN and inf become None; every
    float rounded by :func:`portable_float`."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return portable_float(f) if math.isfinite(f) else None
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"cannot put {type(value).__name__} into a claim record")


#: The one vocabulary of verdicts: the words above, and where a table of Markdown shows a mark beside them, these.
VERDICT_MARKS = {"holds": "✅", "erratum": "🟡", "fails": "❌"}
KNOWN = "known non-reproduction"


def verdict_text(verdict: str | None, *, known: bool = False, mark: bool = False) -> str:
    """A verdict as every report shows it: ``holds``, ``erratum``, ``fails (known non-reproduction)``; with ``mark``
    the Markdown tables' ``✅ holds`` / ``🟡 erratum`` / ``❌ fails``. No verdict (a model that did not measure the
    claim) is ``–``."""
    if verdict is None:
        return "–"
    text = f"{verdict} ({KNOWN})" if known else str(verdict)
    return f"{VERDICT_MARKS[verdict]} {text}" if mark and verdict in VERDICT_MARKS else text


def decide(holds: bool, erratum: bool = False) -> str:
    """``holds`` if the claim as written holds; else ``erratum`` if the stated correction holds; else ``fails``."""
    return "holds" if holds else "erratum" if erratum else "fails"


@dataclass
class ClaimSpec:
    """What the write-up says and how we accept it (from the ``claim`` marker on the test)."""

    id: str
    quote: str
    claimed: Any
    accept: str
    depends_on: str = "model"  # "model" or "data": does the claim need the network at all?
    family: str = ""  # figure family
    kind: str = "claim"  # "claim" (a statement of the write-up) or "probe" (a reader's question; quote = question)

    def __post_init__(self) -> None:
        if self.depends_on not in ("model", "data"):
            raise ValueError(f"claim {self.id}: depends_on must be 'model' or 'data', not {self.depends_on!r}")
        if self.kind not in ("claim", "probe"):
            raise ValueError(f"claim {self.id}: kind must be 'claim' or 'probe', not {self.kind!r}")


@dataclass
class ClaimRecord:
    spec: ClaimSpec
    verdict: str = "fails"
    measured: dict[str, Any] = field(default_factory=dict)
    summary: str = ""
    erratum: str | None = None
    known_nonreproduction: str | None = None
    figures: list[str] = field(default_factory=list)
    test: str = ""  # the pytest node id of the claim's test

    def rerun(self) -> str:
        """The command that re-runs this claim alone (from the project folder)."""
        return f"pytest {shlex.quote(self.test)}" if self.test else ""

    def to_json(self) -> dict[str, Any]:
        if self.spec.kind == "probe":
            return jsonable(
                {
                    "verdict": self.verdict,
                    "question": self.spec.quote,
                    "accept": self.spec.accept,
                    "found": self.measured,
                    "summary": self.summary,
                    "known_nonreproduction": self.known_nonreproduction,
                    "figures": self.figures,
                    "test": self.test,
                    "rerun": self.rerun(),
                }
            )
        return jsonable(
            {
                "verdict": self.verdict,
                "quote": self.spec.quote,
                "claimed": self.spec.claimed,
                "accept": self.spec.accept,
                "measured": self.measured,
                "summary": self.summary,
                "erratum": self.erratum,
                "known_nonreproduction": self.known_nonreproduction,
                "depends_on": self.spec.depends_on,
                "family": self.spec.family,
                "figures": self.figures,
                "test": self.test,
                "rerun": self.rerun(),
            }
        )


def load_known_nonreproductions(path: Path = KNOWN_NONREPRODUCTIONS) -> dict[tuple[str, str], dict[str, str]]:
    """The reviewed list: ``(claim id, checkpoint sha256) -> {"measured", "why"}``."""
    if not path.exists():
        return {}
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML ({exc})") from None
    entries = data.get("nonreproduction", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ValueError(f"{path}: entries must be tables written [[nonreproduction]] (double brackets)")
    out: dict[tuple[str, str], dict[str, str]] = {}
    for entry in entries:
        missing = [k for k in ("claim", "checkpoint_sha256", "measured", "why") if not entry.get(k)]
        if missing:
            raise ValueError(f"{path}: an entry lacks {', '.join(missing)}: {entry}")
        out[(entry["claim"], entry["checkpoint_sha256"])] = entry
    return out


#: CLAIMS.md's order of the catalogue: the order of every table and page of the report. Only the order lives here:
#: which claims exist, their words, rules, ``depends_on`` and families come from their ``@claim`` markers
#: (:mod:`report.catalogue`; a test checks that this list names exactly the marked claims).
CATALOGUE_ORDER = (
    "labeling-function",
    "class-split",
    "formula-as-written",
    "test-set-hint",
    "pca-variance",
    "v-shape",
    "logit-diff-to-corner",
    "clue-furthest-out",
    "feature-visualisation",
    "one-way-neurons",
    "detector-groups",
    "anti-one-baseline",
    "zero-ablation-baseline",
    "dla-exclusive",
    "min-ablation",
    "causal-scrubbing",
    "clue-is-a-one",
    "pc1-tracks-similarity",
    "pc2-separates-class-0",
    "corner-near-minus-2",
    "pca-uses-few-neurons",
    "regions-excite-groups",
    "either-group-rule",
    "ablation-lowers-logit-diff",
    "minimum-is-no-detection",
    "unexplained-share",
    "fc2-sign-pattern",
    "quadrants-are-groups",
    "quadrant-feature-visualisations",
    "scrubbing-beats-wrong-hypotheses",
    "recovered-equals-secret",
    "dead-neurons-stay-dead",
    "each-detector-tracks-its-region",
)


def ordered(claims: dict[str, Any]) -> list[tuple[str, Any]]:
    """Claims in catalogue order, unknown ids last (alphabetically)."""
    rank = {cid: i for i, cid in enumerate(CATALOGUE_ORDER)}
    return sorted(claims.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0]))


def format_value(value: Any) -> str:
    """A short human form of a claimed value (numbers, dicts of numbers, strings)."""
    if isinstance(value, dict):
        return ", ".join(f"{k} {format_value(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return "/".join(format_value(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
