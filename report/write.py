"""Write the report folder from the collected records: ``claims.json`` (public schema), and through
:mod:`report.render` the Markdown, HTML, badge and shields endpoint."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from report.records import CLAIM_IDS, format_value, ordered

SCHEMA_VERSION = 1


def atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600: a report is for others to read
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def counts(claims: dict[str, Any]) -> dict[str, int]:
    out = {"holds": 0, "erratum": 0, "fails": 0}
    for rec in claims.values():
        out[rec["verdict"]] += 1
    return out


def build_document(context: dict[str, Any], claims: dict[str, Any], probes: dict[str, Any]) -> dict[str, Any]:
    """The ``claims.json`` document. Deterministic: no timestamps, claims in catalogue order."""
    return {
        "schema_version": SCHEMA_VERSION,
        "checkpoint": context.get("checkpoint", {}),
        "data": context.get("data", {}),
        "summary": {**counts(claims), "total": len(claims), "complete": set(CLAIM_IDS) <= set(claims)},
        "claims": dict(ordered(claims)),
        "probes": dict(sorted(probes.items())),
    }


def write_report(
    out: Path, context: dict[str, Any], claims: dict[str, Any], probes: dict[str, Any],
    matrix: dict[str, Any] | None = None,
) -> Path:
    """Write every report file into ``out`` (and ``matrix.json`` with its tables when given); return ``out``."""
    from report import render

    doc = build_document(context, claims, probes)
    atomic_write_text(out / "claims.json", json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    extra_sections: list[tuple[str, str]] = []
    extra_markdown = ""
    if matrix is not None:
        from report.matrix import matrix_html, matrix_markdown

        atomic_write_text(out / "matrix.json", json.dumps(matrix, indent=2, ensure_ascii=False) + "\n")
        extra_sections.append(("Claims × models", matrix_html(matrix, out)))
        extra_markdown = matrix_markdown(matrix)
    render.write_all(out, doc, extra_sections=extra_sections, extra_markdown=extra_markdown)
    return out


def verdict_table_rows(claims: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    rows = [("claim", "claimed", "measured", "verdict")]
    for cid, rec in ordered(claims):
        v = rec["verdict"] + (" (known)" if rec.get("known_nonreproduction") else "")
        rows.append((cid, _clip(format_value(rec["claimed"])), _clip(rec.get("summary", "")), v))
    return rows


def _clip(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
