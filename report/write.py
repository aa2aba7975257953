"""Write the report folder from the collected records: ``claims.json`` (public schema), and through
:mod:`report.render` the Markdown, HTML, badge and shields endpoint."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from report import schema
from report.catalogue import Catalogue
from report.files import atomic_write_text
from report.records import ClaimRecord, RunContext, format_value, ordered, robustness_cell, verdict_text

SCHEMA_VERSION = 1


def counts(claims: Mapping[str, ClaimRecord]) -> dict[str, int]:
    """Claims per verdict; when robustness was measured (``--robustness``) also robust holds and fragile verdicts."""
    out = {"holds": 0, "erratum": 0, "fails": 0}
    for rec in claims.values():
        out[rec.verdict] += 1
    measured = [rec for rec in claims.values() if (rec.robustness or {}).get("declared")]
    if measured:
        out["robust_holds"] = sum(rec.verdict == "holds" and not rec.robustness["fragile"] for rec in measured)
        out["fragile"] = sum(bool(rec.robustness["fragile"]) for rec in measured)
        out["robustness_measured"] = len(measured)
    return out


def missing_records(claims: Mapping[str, Any], probes: Mapping[str, Any], known: Catalogue) -> dict[str, list[str]]:
    """The catalogue's claims and probes (:func:`report.catalogue.catalogue`, from the claims package's markers)
    a run has no record of (empty lists: a complete run)."""
    return {
        "claims": [c for c in known.claim_ids if c not in claims],
        "probes": [p for p in known.probe_ids if p not in probes],
    }


def build_document(
    context: RunContext | None,
    claims: Mapping[str, ClaimRecord],
    probes: Mapping[str, ClaimRecord],
    known: Catalogue,
    sections: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    order: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Any]:
    """The ``claims.json`` document, built once per run from every record; every report file is a function of it.
    Deterministic: no timestamps, claims in catalogue order. ``summary.complete`` is true when every claim and every
    probe has a record; ``summary.missing`` lists what a partial run lacks; the ``ood`` section records (merged,
    in ``order["ood"]``) become the ``"ood"`` section."""
    missing = missing_records(claims, probes, known)
    complete = not (missing["claims"] or missing["probes"])
    ctx = context.to_json() if context is not None else {"checkpoint": {}, "data": {}}
    doc = {
        "schema_version": SCHEMA_VERSION,
        "checkpoint": ctx["checkpoint"],
        "data": ctx["data"],
        "summary": {
            **counts(claims),
            "total": len(claims),
            "complete": complete,
            **({} if complete else {"missing": missing}),
        },
        "claims": {cid: rec.to_json() for cid, rec in ordered(claims, known.order)},
        "probes": {pid: rec.to_json() for pid, rec in sorted(probes.items())},
    }
    ood_records = (sections or {}).get("ood")
    if ood_records:  # generated inputs beyond the data
        from report import ood

        merged: dict[str, Any] = {}
        for content in ood_records:
            ood.merge(merged, content)
        doc["ood"] = ood.finish(merged, (order or {}).get("ood", ()))
    return doc


def write_report(
    out: Path, doc: dict[str, Any], matrix: Mapping[str, Any] | None = None, presentation: Any = None
) -> Path:
    """Write every report file of the document ``doc`` (:func:`build_document`) into ``out``, and ``matrix.json``
    with its sections when given; return ``out``. ``presentation``: the project's words
    (:class:`report.render.Presentation`)."""
    from report import render

    extra_markdown = ""
    if doc.get("ood"):
        from report import ood as ood_report

        extra_markdown = ood_report.markdown(doc["ood"]) + "\n"
    if schema.checking():
        schema.validate(doc)
    atomic_write_text(out / "claims.json", json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    if matrix is not None:
        from report.matrix_view import matrix_markdown

        if schema.checking():
            schema.validate(matrix, "matrix")
        atomic_write_text(out / "matrix.json", json.dumps(matrix, indent=2, ensure_ascii=False) + "\n")
        extra_markdown += matrix_markdown(matrix)
    render.write_all(out, doc, matrix=matrix, extra_markdown=extra_markdown, presentation=presentation)
    return out


def plural_counts(claims: Mapping[str, ClaimRecord]) -> str:
    """``"26 claims: 20 hold, 3 errata, 3 fail (3 known non-reproductions)"``, in plain words."""
    from report.render import count_text

    c = counts(claims)
    known = sum(bool(rec.known_nonreproduction) for rec in claims.values())
    text = f"{len(claims)} claim{'' if len(claims) == 1 else 's'}: " + ", ".join(
        count_text(c[v], v) for v in ("holds", "erratum", "fails")
    )
    return text + (f" ({known} known non-reproduction{'' if known == 1 else 's'})" if known else "")


def verdict_table_rows(
    claims: Mapping[str, ClaimRecord], order: Sequence[str] = (), clip: bool = True
) -> list[tuple[str, ...]]:
    """The terminal table, claims in ``order``; with robustness measured, a robustness column before the verdict.
    Long cells are clipped unless ``clip`` is false (``-v``)."""
    robust = any(rec.robustness is not None for rec in claims.values())
    rows: list[tuple[str, ...]] = [("claim", "claimed", "measured", *(("robustness",) if robust else ()), "verdict")]
    for cid, rec in ordered(claims, order):
        v = verdict_text(rec.verdict, known=bool(rec.known_nonreproduction))
        extra = (robustness_cell(rec.robustness),) if robust else ()
        claimed, measured = format_value(rec.spec.claimed), rec.summary
        rows.append((cid, _clip(claimed) if clip else claimed, _clip(measured) if clip else measured, *extra, v))
    return rows


def _clip(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
