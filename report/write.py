"""Write the report folder from the collected records: ``claims.json`` (public schema), and through
:mod:`report.render` the Markdown, HTML, badge and shields endpoint."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fixtures.files import atomic_write_text
from report import schema
from report.catalogue import catalogue
from report.records import format_value, ordered, verdict_text

SCHEMA_VERSION = 1


def counts(claims: dict[str, Any]) -> dict[str, int]:
    """Claims per verdict; when robustness was measured (``--robustness``) also robust holds and fragile verdicts."""
    out = {"holds": 0, "erratum": 0, "fails": 0}
    for rec in claims.values():
        out[rec["verdict"]] += 1
    measured = [rec for rec in claims.values() if (rec.get("robustness") or {}).get("declared")]
    if measured:
        out["robust_holds"] = sum(rec["verdict"] == "holds" and not rec["robustness"]["fragile"] for rec in measured)
        out["fragile"] = sum(bool(rec["robustness"]["fragile"]) for rec in measured)
        out["robustness_measured"] = len(measured)
    return out


def missing_records(claims: dict[str, Any], probes: dict[str, Any]) -> dict[str, list[str]]:
    """The catalogue's claims and probes (:func:`report.catalogue.catalogue`, from the claims package's markers)
    a run has no record of (empty lists: a complete run)."""
    known = catalogue()
    return {"claims": [c for c in known.claim_ids if c not in claims],
            "probes": [p for p in known.probe_ids if p not in probes]}


def build_document(context: dict[str, Any], claims: dict[str, Any], probes: dict[str, Any],
                   ood: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``claims.json`` document, built once per run from every record; every report file is a function of it.
    Deterministic: no timestamps, claims in catalogue order. ``summary.complete`` is true when every claim and every
    probe has a record; ``summary.missing`` lists what a partial run lacks; ``ood`` (claims/test_ood.py's records,
    merged) becomes the ``"ood"`` section."""
    missing = missing_records(claims, probes)
    complete = not (missing["claims"] or missing["probes"])
    doc = {
        "schema_version": SCHEMA_VERSION,
        "checkpoint": context.get("checkpoint", {}),
        "data": context.get("data", {}),
        "summary": {**counts(claims), "total": len(claims), "complete": complete,
                    **({} if complete else {"missing": missing})},
        "claims": dict(ordered(claims)),
        "probes": dict(sorted(probes.items())),
    }
    if ood:  # generated inputs beyond the data
        from report.ood import finish

        doc["ood"] = finish(ood)
    return doc


def write_report(out: Path, doc: dict[str, Any], matrix: dict[str, Any] | None = None) -> Path:
    """Write every report file of the document ``doc`` (:func:`build_document`) into ``out``, and ``matrix.json``
    with its sections when given; return ``out``."""
    from report import render

    extra_markdown = ""
    if doc.get("ood"):
        from report import ood as ood_report

        extra_markdown = ood_report.markdown(doc["ood"]) + "\n"
    if schema.checking():
        schema.validate(doc)
    atomic_write_text(out / "claims.json", json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    if matrix is not None:
        from report.matrix import matrix_markdown

        if schema.checking():
            schema.validate(matrix, "matrix")
        atomic_write_text(out / "matrix.json", json.dumps(matrix, indent=2, ensure_ascii=False) + "\n")
        extra_markdown += matrix_markdown(matrix)
    render.write_all(out, doc, matrix=matrix, extra_markdown=extra_markdown)
    return out


def plural_counts(claims: dict[str, Any]) -> str:
    """``"26 claims: 20 hold, 3 errata, 3 fail (3 known non-reproductions)"``, in plain words."""
    from report.render import count_text

    c = counts(claims)
    known = sum(bool(rec.get("known_nonreproduction")) for rec in claims.values())
    text = f"{len(claims)} claim{'' if len(claims) == 1 else 's'}: " + ", ".join(
        count_text(c[v], v) for v in ("holds", "erratum", "fails"))
    return text + (f" ({known} known non-reproduction{'' if known == 1 else 's'})" if known else "")


def verdict_table_rows(claims: dict[str, Any], clip: bool = True) -> list[tuple[str, ...]]:
    """The terminal table; with robustness measured, a robustness column before the verdict. Long cells are
    clipped unless ``clip`` is false (``-v``)."""
    from analysis.robustness import cell

    robust = any("robustness" in rec for rec in claims.values())
    rows: list[tuple[str, ...]] = [("claim", "claimed", "measured", *(("robustness",) if robust else ()), "verdict")]
    for cid, rec in ordered(claims):
        v = verdict_text(rec["verdict"], known=bool(rec.get("known_nonreproduction")))
        extra = (cell(rec.get("robustness")),) if robust else ()
        claimed, measured = format_value(rec["claimed"]), rec.get("summary", "")
        rows.append((cid, _clip(claimed) if clip else claimed, _clip(measured) if clip else measured, *extra, v))
    return rows


def _clip(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
