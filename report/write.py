"""Write the report folder from the collected records (one typed :class:`report.records.RunReport`):
``claims.json`` (public schema), and through :mod:`report.render` the Markdown, HTML, badge and shields endpoint."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from report import schema
from report.catalogue import Catalogue
from report.files import atomic_write_text
from report.records import (
    VERDICT_COUNTS,
    ClaimRecord,
    RunContext,
    RunReport,
    Summary,
    format_value,
    ordered,
    robustness_cell,
    verdict_text,
)


def summary(claims: Mapping[str, ClaimRecord], missing: Mapping[str, list[str]]) -> Summary:
    """Claims per verdict; when robustness was measured (``--robustness``) also robust holds and fragile verdicts.
    Complete when ``missing`` (:func:`missing_records`) lists nothing."""
    counts = {v: sum(rec.verdict == v for rec in claims.values()) for v in VERDICT_COUNTS}
    measured = [rec for rec in claims.values() if (rec.robustness or {}).get("declared")]
    robust = {}
    if measured:
        robust = {
            "robust_holds": sum(rec.verdict == "holds" and not rec.robustness["fragile"] for rec in measured),
            "fragile": sum(bool(rec.robustness["fragile"]) for rec in measured),
            "robustness_measured": len(measured),
        }
    complete = not (missing["claims"] or missing["probes"])
    return Summary(**counts, total=len(claims), complete=complete, missing=None if complete else missing, **robust)


def missing_records(claims: Mapping[str, Any], probes: Mapping[str, Any], known: Catalogue) -> dict[str, list[str]]:
    """The catalogue's claims and probes (:func:`report.catalogue.catalogue`, from the claims package's markers)
    a run has no record of (empty lists: a complete run)."""
    return {
        "claims": [c for c in known.claim_ids if c not in claims],
        "probes": [p for p in known.probe_ids if p not in probes],
    }


def build_report(
    context: RunContext | None,
    claims: Mapping[str, ClaimRecord],
    probes: Mapping[str, ClaimRecord],
    known: Catalogue,
    sections: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    order: Mapping[str, Sequence[str]] | None = None,
) -> RunReport:
    """Every record of the run, once, as the typed :class:`RunReport` every report file is written from.
    Deterministic: no timestamps, claims in catalogue order. The ``ood`` section records (merged, in
    ``order["ood"]``) become the ``"ood"`` section."""
    finished: dict[str, Mapping[str, Any]] = {}
    ood_records = (sections or {}).get("ood")
    if ood_records:  # generated inputs beyond the data
        from report import ood

        merged: dict[str, Any] = {}
        for content in ood_records:
            ood.merge(merged, content)
        finished["ood"] = ood.finish(merged, (order or {}).get("ood", ()))
    return RunReport(
        context=context if context is not None else RunContext(checkpoint={}, data={}),
        claims=dict(ordered(claims, known.order)),
        probes=dict(sorted(probes.items())),
        summary=summary(claims, missing_records(claims, probes, known)),
        sections=finished,
    )


def write_json(out: Path, report: RunReport) -> None:
    """``claims.json``: the document of :meth:`RunReport.to_document` (checked against the schema in the suite's
    own tests)."""
    doc = report.to_document()
    if schema.checking():
        schema.validate(doc)
    atomic_write_text(out / "claims.json", json.dumps(doc, indent=2, ensure_ascii=False) + "\n")


def write_report(
    out: Path, report: RunReport, matrix: Mapping[str, Any] | None = None, presentation: Any = None
) -> Path:
    """Write every report file of ``report`` (:func:`build_report`) into ``out``, and ``matrix.json`` with its
    sections when given; return ``out``. ``presentation``: the project's words (:class:`report.render.Presentation`)."""
    from report import render

    words = presentation or render.PLAIN
    extra_markdown = ""
    if report.sections.get("ood"):
        from report import ood as ood_report

        extra_markdown = ood_report.markdown(report.sections["ood"], words.ood) + "\n"
    write_json(out, report)
    if matrix is not None:
        from report.matrix_view import matrix_markdown

        if schema.checking():
            schema.validate(matrix, "matrix")
        atomic_write_text(out / "matrix.json", json.dumps(matrix, indent=2, ensure_ascii=False) + "\n")
        extra_markdown += matrix_markdown(matrix, words.ood)
    render.write_all(out, report, matrix=matrix, extra_markdown=extra_markdown, presentation=presentation)
    return out


def plural_counts(claims: Mapping[str, ClaimRecord]) -> str:
    """``"26 claims: 20 hold, 3 errata, 3 fail (3 known non-reproductions)"``, in plain words."""
    from report.render import count_text

    c = summary(claims, {"claims": [], "probes": []})
    known = sum(bool(rec.known_nonreproduction) for rec in claims.values())
    text = f"{len(claims)} claim{'' if len(claims) == 1 else 's'}: " + ", ".join(
        count_text(c.count(v), v) for v in VERDICT_COUNTS
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
