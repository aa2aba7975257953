"""What a claim test produces: a record with the write-up's words, what we measured, and a verdict.

Verdicts: ``holds``; ``erratum`` (the claim as literally written fails, a stated faithful correction holds,
both measured); ``fails``. The pytest outcome mirrors the verdict: holds → passed, erratum → xfailed with
the correction, fails → failed, unless the failure is listed in the known non-reproductions (the ini option
``eis_known_nonreproductions``) for this checkpoint (then xfailed, and still ``fails`` in every report).
"""

from __future__ import annotations

import json
import math
import shlex
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from verdicts import VERDICTS, decide  # noqa: F401  (the one verdict rule, re-exported for the engine's users)

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


def robustness_cell(robustness: Mapping[str, Any] | None) -> str:
    """A robustness record's one line for a table: the text its engine put into it (``cell``)."""
    return str((robustness or {}).get("cell", ""))


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
    #: With ``--robustness``: the robustness engine's record (JSON-able, opaque here except ``cell``, its one-line
    #: text for tables, and ``declared``/``fragile``, which the summary counts).
    robustness: Mapping[str, Any] | None = None

    @property
    def id(self) -> str:
        return self.spec.id

    def rerun(self) -> str:
        """The command that re-runs this claim alone (from the project folder)."""
        return f"pytest {shlex.quote(self.test)}" if self.test else ""

    def to_json(self) -> dict[str, Any]:
        """The record as claims.json keeps it (every float rounded by :func:`portable_float`)."""
        extra = {} if self.robustness is None else {"robustness": self.robustness}
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
                    **extra,
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
                **extra,
            }
        )

    @classmethod
    def from_json(cls, cid: str, kind: str, data: Mapping[str, Any]) -> "ClaimRecord":
        """The record :meth:`to_json` wrote (what the collector rebuilds from a worker's wire form)."""
        if kind == "probe":
            spec = ClaimSpec(
                id=cid, quote=data["question"], claimed=None, accept=data["accept"], family="probes", kind="probe"
            )
            measured = data["found"]
        else:
            spec = ClaimSpec(
                id=cid,
                quote=data["quote"],
                claimed=data["claimed"],
                accept=data["accept"],
                depends_on=data["depends_on"],
                family=data["family"],
            )
            measured = data["measured"]
        return cls(
            spec=spec,
            verdict=data["verdict"],
            measured=dict(measured),
            summary=data["summary"],
            erratum=data.get("erratum"),
            known_nonreproduction=data["known_nonreproduction"],
            figures=list(data["figures"]),
            test=data["test"],
            robustness=data.get("robustness"),
        )


@dataclass(frozen=True)
class RunContext:
    """What the run tested: the checkpoint (``path``, ``sha256``, ...) and the data (sizes, folder, ...), as the
    project's ``run_context`` fixture describes them. Recorded once per session."""

    checkpoint: Mapping[str, Any]
    data: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"checkpoint": jsonable(self.checkpoint), "data": jsonable(self.data)}


@dataclass(frozen=True)
class SectionRecord:
    """A record of another section of the report (an input family beyond the data, one model's claims run):
    JSON-able content the engine carries and hands, in arrival order, to that section's writer."""

    section: str
    content: Mapping[str, Any]


#: The version of claims.json's published schema (report/claims.schema.json).
SCHEMA_VERSION = 1
VERDICT_COUNTS = ("holds", "erratum", "fails")


@dataclass(frozen=True)
class Summary:
    """A run's counts: claims per verdict, how many there are, whether every claim and probe of the catalogue has a
    record (``missing`` says what a partial run lacks); with ``--robustness``, robust holds and fragile verdicts."""

    holds: int
    erratum: int
    fails: int
    total: int
    complete: bool = True
    missing: Mapping[str, Sequence[str]] | None = None
    robust_holds: int | None = None
    fragile: int | None = None
    robustness_measured: int | None = None

    def count(self, verdict: str) -> int:
        return int(getattr(self, verdict))

    def without_robustness(self) -> "Summary":
        """The same counts as a run that did not measure robustness shows them."""
        return replace(self, robust_holds=None, fragile=None, robustness_measured=None)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {v: self.count(v) for v in VERDICT_COUNTS}
        if self.robustness_measured is not None:
            out.update(
                robust_holds=self.robust_holds, fragile=self.fragile, robustness_measured=self.robustness_measured
            )
        out.update(total=self.total, complete=self.complete)
        if not self.complete:
            out["missing"] = {k: list(v) for k, v in (self.missing or {}).items()}
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Summary":
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})


@dataclass
class RunReport:
    """Every record of one run, typed: what each report file (claims.json among them) is written from. Claims in
    catalogue order, probes alphabetical; ``sections``: the finished sections beyond the claims (e.g. the generated
    inputs, ``"ood"``), JSON-able content in the project's own structure."""

    context: RunContext
    claims: dict[str, ClaimRecord]
    probes: dict[str, ClaimRecord]
    summary: Summary
    sections: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    @property
    def robustness_measured(self) -> bool:
        """Did this run measure robustness (``--robustness``)? Then every table shows a robustness column."""
        return any(rec.robustness is not None for rec in self.claims.values())

    def to_document(self) -> dict[str, Any]:
        """The ``claims.json`` document (report/claims.schema.json)."""
        ctx = self.context.to_json()
        return {
            "schema_version": self.schema_version,
            "checkpoint": ctx["checkpoint"],
            "data": ctx["data"],
            "summary": self.summary.to_json(),
            "claims": {cid: rec.to_json() for cid, rec in self.claims.items()},
            "probes": {pid: rec.to_json() for pid, rec in self.probes.items()},
            **self.sections,
        }

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> "RunReport":
        """The typed records of a saved ``claims.json`` (:meth:`to_document`): the one place a document is read
        back (e.g. by a README publisher run later from disk)."""
        known = {"schema_version", "checkpoint", "data", "summary", "claims", "probes"}
        return cls(
            context=RunContext(checkpoint=doc.get("checkpoint") or {}, data=doc.get("data") or {}),
            claims={cid: ClaimRecord.from_json(cid, "claim", rec) for cid, rec in doc["claims"].items()},
            probes={pid: ClaimRecord.from_json(pid, "probe", rec) for pid, rec in doc.get("probes", {}).items()},
            summary=Summary.from_json(doc["summary"]),
            sections={k: v for k, v in doc.items() if k not in known},
            schema_version=doc.get("schema_version", SCHEMA_VERSION),
        )


Record = ClaimRecord | RunContext | SectionRecord
#: The one user property that carries every record of a test (xdist ships it from a worker to the controller).
RECORD_PROPERTY = "eis_record"


def to_wire(record: Record) -> str:
    """A record serialised once, at the worker, for the test report's ``user_properties``."""
    if isinstance(record, ClaimRecord):
        body = {"type": record.spec.kind, "id": record.id, "record": record.to_json()}
    elif isinstance(record, RunContext):
        body = {"type": "context", **record.to_json()}
    else:
        body = {"type": "section", "section": record.section, "content": record.content}
    return json.dumps(body, ensure_ascii=False)


def from_wire(text: str) -> Record:
    """The dataclass :func:`to_wire` serialised, rebuilt at the collector."""
    body = json.loads(text)
    kind = body["type"]
    if kind in ("claim", "probe"):
        return ClaimRecord.from_json(body["id"], kind, body["record"])
    if kind == "context":
        return RunContext(checkpoint=body["checkpoint"], data=body["data"])
    if kind == "section":
        return SectionRecord(section=body["section"], content=body["content"])
    raise ValueError(f"unknown record type {kind!r}")


def load_known_nonreproductions(path: Path | None) -> dict[tuple[str, str], dict[str, str]]:
    """The reviewed list at ``path``: ``(claim id, checkpoint sha256) -> {"measured", "why"}``."""
    if path is None or not path.exists():
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


def ordered(claims: Mapping[str, Any], order: Sequence[str]) -> list[tuple[str, Any]]:
    """Claims in ``order`` (the catalogue's), unknown ids last (alphabetically)."""
    rank = {cid: i for i, cid in enumerate(order)}
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
