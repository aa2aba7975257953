"""Claims × models, the views: ``matrix.json``'s section of ``claims.md`` and of the page (the matrix itself is
built by the project from its model runs, through the ``pytest_eis_matrix`` hook)."""

from __future__ import annotations

from typing import Any

from report.ood import PLAIN_WORDS, FamilyWords
from report.ood import matrix_markdown as ood_matrix_markdown
from report.ood import matrix_view as ood_matrix_view
from report.records import verdict_text
from report.replica_view import markdown as study_markdown
from report.replica_view import page_view as replica_view

#: With more replicas than this, the table shows one "replicas" column (how many recur) instead of one each.
MAX_REPLICA_COLUMNS = 3


def _table_columns(matrix: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(model columns shown one by one, replicas folded into one column)."""
    replicas = list(matrix.get("replica_study", {}).get("replicas", []))
    if len(replicas) <= MAX_REPLICA_COLUMNS:
        return list(matrix["models"]), []
    return [m for m in matrix["models"] if m not in replicas], replicas


def _replica_cell(row: dict[str, Any], replicas: list[str]) -> str:
    kept = sum(1 for r in replicas if row["verdicts"].get(r) in ("holds", "erratum"))
    measured = sum(1 for r in replicas if row["verdicts"].get(r) is not None)
    return f"{kept}/{measured} hold"


def matrix_markdown(matrix: dict[str, Any], words: FamilyWords = PLAIN_WORDS) -> str:
    cols, folded = _table_columns(matrix)
    lines = [
        "## Claims × models",
        "",
        "Verdict of every claim on the original checkpoint and each model "
        "(`python -m pytest claims/ --models small|full|replicas:N`). *data* = the claim does not involve the network.",
        "",
    ]
    extra = [f"{len(folded)} replicas"] if folded else []
    lines.append("| claim | " + " | ".join(cols + extra) + " |")
    lines.append("|---|" + "---|" * len(cols + extra))
    for cid, row in matrix["claims"].items():
        flag = " (data)" if row["depends_on"] == "data" else " **insensitive**" if row["insensitive"] else ""
        cells = [verdict_text(row["verdicts"].get(m), mark=True) for m in cols] + (
            [_replica_cell(row, folded)] if folded else []
        )
        lines.append(f"| {cid}{flag} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "### Predicted vs observed",
        "",
        "| model | rationale | predicted to break | observed broken | broke unexpectedly | survived unexpectedly |",
        "|---|---|---|---|---|---|",
    ]
    for name, p in matrix["predictions"].items():
        lines.append(
            f"| {name} | {p['rationale']} | {', '.join(p['predicted_to_break']) or '–'} | "
            f"{', '.join(p['observed_broken']) or '–'} | {', '.join(p['broke_unexpectedly']) or '–'} | "
            f"{', '.join(p['survived_unexpectedly']) or '–'} |"
        )
    if not matrix["sensitivity_judged"]:
        lines += [
            "",
            "Sensitivity (does some counterfactual break each claim?) is judged only when every "
            "counterfactual ran: `--models full`.",
        ]
    elif matrix["insensitive"]:
        lines += ["", f"**Insensitive claims** (no counterfactual breaks them): {', '.join(matrix['insensitive'])}."]
        for cid in matrix["insensitive"]:
            why = matrix["claims"][cid]["why_insensitive"]
            lines.append(f"- `{cid}`: {why or 'not explained yet'}")
    else:
        lines += ["", "Every model-dependent claim fails on at least one counterfactual."]
    if matrix.get("replica_study"):
        lines += ["", study_markdown(matrix["replica_study"], matrix["replica_study"].get("figures", [])).rstrip("\n")]
    if matrix.get("ood"):
        lines += ["", ood_matrix_markdown(matrix["ood"], cols, words)]
    return "\n".join(lines) + "\n"


def page_view(matrix: dict[str, Any], words: FamilyWords = PLAIN_WORDS) -> dict[str, Any]:
    """What the page's matrix section shows (report/templates/sections.html.j2, macro ``matrix``)."""
    cols, folded = _table_columns(matrix)
    none = "–"
    return {
        "models": cols,
        "folded": len(folded),
        "rows": [
            {
                "id": cid,
                "data_only": row["depends_on"] == "data",
                "insensitive": bool(row["insensitive"]),
                "cells": [
                    {"class": v or "neutral", "text": verdict_text(v)} for v in (row["verdicts"].get(m) for m in cols)
                ],
                "replicas": _replica_cell(row, folded) if folded else None,
            }
            for cid, row in matrix["claims"].items()
        ],
        "predictions": [
            {
                "model": n,
                "rationale": p["rationale"],
                **{
                    k: ", ".join(p[k]) or none
                    for k in ("predicted_to_break", "observed_broken", "broke_unexpectedly", "survived_unexpectedly")
                },
            }
            for n, p in matrix["predictions"].items()
        ],
        "sensitivity_judged": matrix["sensitivity_judged"],
        "insensitive": [
            (c, matrix["claims"][c]["why_insensitive"] or "not explained yet") for c in matrix["insensitive"]
        ],
        "replica_study": replica_view(matrix["replica_study"]) if matrix.get("replica_study") else None,
        "ood": ood_matrix_view(matrix["ood"], cols, words) if matrix.get("ood") else None,
    }
