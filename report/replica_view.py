"""The replica study's views: its section of ``claims.md`` and of the page, from the study's own words (the
statistics and their texts are :mod:`analysis.replica_study`'s)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from report.markdown import md_row

HEADER = ("record", "challenge", "holds", "erratum", "recurs (95% CI)", "category", "headline: challenge vs replicas")


def labelled(study: Mapping[str, Any]) -> Iterable[tuple[str, Mapping[str, Any]]]:
    """Every record of the study with its shown name (claims bare, other sections as ``section/id``)."""
    for section, recs in study["records"].items():
        for rid, v in recs.items():
            yield (rid if section == "claims" else f"{section}/{rid}"), v


def table_rows(study: Mapping[str, Any]) -> Iterable[tuple[str, str, str, str, str, str, str]]:
    """(record, challenge verdict, holds, erratum, recurs with interval, category, headline numbers)."""
    for name, v in labelled(study):
        f, words = v["fractions"], v["words"]
        yield (
            name,
            v["challenge_verdict"] or "–",
            f"{f['holds']['count']}/{f['holds']['of']}",
            f"{f['erratum']['count']}/{f['erratum']['of']}",
            words["recurs"],
            words["category"],
            "; ".join(words["headlines"].values()),
        )


def markdown(study: Mapping[str, Any], figures: Sequence[str] = ()) -> str:
    """The study's section of ``claims.md``: paragraph, figures, the per-record table."""
    lines = ["### Replica study: task or network?", "", study["paragraph"], ""]
    lines += [f"![{f}]({f})" for f in figures]
    if figures:
        lines.append("")
    lines += ["| " + " | ".join(HEADER) + " |", "|---|---|---|---|---|---|---|"]
    for row in table_rows(study):
        lines.append(md_row(row))
    return "\n".join(lines) + "\n"


def page_view(study: Mapping[str, Any]) -> dict[str, Any]:
    """The same as :func:`markdown`, as the page's replica-study section shows it (sections.html.j2, macro
    ``replica_study``; the paragraph's Markdown emphasis becomes HTML there, after escaping)."""
    return {
        "paragraph": study["paragraph"],
        "figures": list(study.get("figures", [])),
        "header": HEADER,
        "rows": list(table_rows(study)),
    }
