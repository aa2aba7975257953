"""The replica study's views: its section of ``claims.md`` and of the page, from the study's own words (the
statistics and their texts are :mod:`analysis.replica_study`'s)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from report.markdown import md_row


def header(study: Mapping[str, Any]) -> tuple[str, ...]:
    """The per-record table's columns: the challenge network's verdict (as written / at its own fit), the main arm's
    recurrence at the own fit and as written, each other arm's, the category and the headline numbers."""
    main = study.get("main_arm", "main")
    others = [a for a in study.get("arms", {}) if a != main]
    return (
        "record",
        "challenge (as written / own fit)",
        f"{main} arm recurs at own fit (95% CI)",
        "as written",
        *(f"{a} arm" for a in others),
        "category",
        "headline at own fit: challenge vs replicas",
    )


def labelled(study: Mapping[str, Any]) -> Iterable[tuple[str, Mapping[str, Any]]]:
    """Every record of the study with its shown name (claims bare, other sections as ``section/id``)."""
    for section, recs in study["records"].items():
        for rid, v in recs.items():
            yield (rid if section == "claims" else f"{section}/{rid}"), v


def table_rows(study: Mapping[str, Any]) -> Iterable[tuple[str, ...]]:
    """One row per record, in :func:`header`'s columns."""
    main = study.get("main_arm", "main")
    others = [a for a in study.get("arms", {}) if a != main]
    for name, v in labelled(study):
        words = v["words"]
        challenge = v["challenge_verdict"] or "–"
        if v.get("challenge_verdict_own_fit") not in (None, v["challenge_verdict"]):
            challenge += f" / {v['challenge_verdict_own_fit']}"
        yield (
            name,
            challenge,
            words["recurs"],
            words.get("recurs_as_written", "–") if v.get("judged") != "as written" else "(judged as written)",
            *(words.get("arms", {}).get(a, "–") for a in others),
            words["category"],
            "; ".join(words["headlines"].values()) or "–",
        )


def markdown(study: Mapping[str, Any], figures: Sequence[str] = ()) -> str:
    """The study's section of ``claims.md``: paragraph, figures, the per-record table."""
    lines = ["### Replica study: task or network?", "", study["paragraph"], ""]
    lines += [f"![{f}]({f})" for f in figures]
    if figures:
        lines.append("")
    columns = header(study)
    lines += ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in table_rows(study):
        lines.append(md_row(row))
    return "\n".join(lines) + "\n"


def page_view(study: Mapping[str, Any]) -> dict[str, Any]:
    """The same as :func:`markdown`, as the page's replica-study section shows it (sections.html.j2, macro
    ``replica_study``; the paragraph's Markdown emphasis becomes HTML there, after escaping)."""
    return {
        "paragraph": study["paragraph"],
        "figures": list(study.get("figures", [])),
        "header": header(study),
        "rows": list(table_rows(study)),
    }
