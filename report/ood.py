"""The ``"ood"`` section of the report: families of generated inputs beyond the data, each with a verdict
(generalises, breaks, undetermined; uninformative when a one-answer network would pass it), merged from the
section records the tests ship, and its Markdown, HTML, terminal and README forms. Every function here is a pure
function of the merged section and of the project's words for it (:class:`FamilyWords`): what the rule was, what a
generated input's outcome means, what the family's prediction is called. The engine knows none of them.

A family is *evidence* that the explanation generalises only when it generalises and is informative (a network
giving one answer everywhere would not pass it): the summary, the tables and the matrix say so for each family.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from report.markdown import between_markers, md_row, md_text, replace_between_markers

#: The report section (and the section records' name) of the beyond-the-data families.
SECTION = "ood"
VERDICT_CLASS = {"generalises": "holds", "breaks": "fails", "undetermined": "neutral", "uninformative": "neutral"}
README_START, README_END = "<!-- ood:start -->", "<!-- ood:end -->"


def _no_text(_: Mapping[str, Any]) -> str:
    return ""


@dataclass(frozen=True)
class FamilyWords:
    """The project's words for its generated-input families (a field of :class:`report.render.Presentation`).

    ``rule``: the rule as applied, in Markdown, from the section; ``outcome``: what one generated input did (its
    measured values, in the project's units), from a counterexample record; ``prediction``: the README column of
    what each family's prediction is; the ``readme_*`` sentences introduce the README's lists (counterexamples,
    switch points, and, formatted with ``sides``, where the write-up's value lies); ``matrix_note`` and
    ``matrix_page_note``: the sentence above the families × models table in claims.md and on the page."""

    title: str = "Generated inputs"
    terminal: str = "generated inputs"
    rule: Callable[[Mapping[str, Any]], str] = _no_text
    outcome: Callable[[Mapping[str, Any]], str] = _no_text
    prediction: str = "prediction"
    readme_counterexamples: str = "Minimal counterexamples:"
    readme_switch_points: str = "Switch points (bootstrap 95% interval):"
    readme_switch_inside: str = "the stated value lies inside the interval on {sides}"
    matrix_note: str = ""
    matrix_page_note: str = ""


PLAIN_WORDS = FamilyWords()


def merge(section: dict[str, Any], record: Mapping[str, Any]) -> None:
    """Fold one test's record into the section: a family's record, or the rule and figures."""
    record = dict(record)
    if "family" in record:
        section.setdefault("families", {})[record.pop("family")] = record
    else:
        section.update(record)


def finish(section: Mapping[str, Any], order: Sequence[str] = ()) -> dict[str, Any]:
    """The section as written into claims.json: families in ``order`` (then the others, alphabetically), with a
    one-line summary."""
    families = section.get("families", {})
    ordered = {k: families[k] for k in [*order, *sorted(set(families) - set(order))] if k in families}
    out = {k: v for k, v in section.items() if k != "families"}
    out["families"] = ordered
    out["summary"] = summary_line(ordered)
    return out


def is_evidence(record: Mapping[str, Any]) -> bool:
    """Counts as evidence that the explanation generalises: generalises, on an informative family."""
    return record.get("verdict") == "generalises" and record.get("informative") is not False


def verdict_word(record: Mapping[str, Any]) -> str:
    """The verdict as every view shows it: a pass on an uninformative family is ``uninformative``, never
    ``generalises``; a break stays a break."""
    if record.get("informative") is False and record.get("verdict") != "breaks":
        return "uninformative"
    return str(record.get("verdict", ""))


def summary_line(families: Mapping[str, Any]) -> str:
    informative = [k for k, r in families.items() if r.get("informative") is not False]
    kept = [k for k in informative if is_evidence(families[k])]
    broken = [k for k, r in families.items() if r.get("verdict") == "breaks"]
    open_ = [k for k in informative if families[k].get("verdict") == "undetermined"]
    blind = [k for k, r in families.items() if r.get("informative") is False]
    return (
        f"the explanation generalises to {len(kept)} of {len(informative)} informative input families"
        + (f" ({', '.join(kept)})" if kept else "")
        + (f"; breaks on {', '.join(broken)}" if broken else "")
        + (f"; undetermined on {', '.join(open_)}" if open_ else "")
        + (f"; uninformative (not counted): {', '.join(blind)}" if blind else "")
    )


def _pct(v: Any, digits: int = 1) -> str:
    return "—" if v is None else f"{100 * v:.{digits}f}%"


def _interval(r: Mapping[str, Any]) -> str:
    lo, hi = r.get("far_interval") or (None, None)
    return "—" if lo is None else f"[{100 * lo:.2f}, {100 * hi:.2f}]"


def _ratio(v: Any, least: Any = None) -> str:
    """``"1,166× (≥ 201×)"``: the point ratio and its conservative end."""

    def times(x: float) -> str:
        return f"{x:,.0f}×" if x >= 10 else f"{x:.1f}×"

    text = "—" if v is None else times(v)
    return text if least is None else f"{text} (≥ {times(least)})"


def _ratios(r: Mapping[str, Any]) -> str:
    return _ratio(r.get("disagreement_ratio_to_in_distribution"), r.get("disagreement_ratio_at_least"))


def _params(p: Mapping[str, Any] | None) -> str:
    if not p:
        return "—"
    parts = []
    for k, v in p.items():
        if isinstance(v, list):
            parts.append(f"{k}: {len(v)} ({', '.join(map(str, v[:6]))}{', …' if len(v) > 6 else ''})")
        elif isinstance(v, float):
            parts.append(f"{k} {v:.4g}")
        else:
            parts.append(f"{k} {v}")
    return ", ".join(parts)


def _minimality(ce: Mapping[str, Any]) -> str:
    m = ce.get("minimality") or {}
    if "interval" in m:
        lo, hi = m["interval"]
        return f"{m['parameter']} ∈ [{lo:.4g}, {hi:.4g}]"
    return str(m.get("kind", ""))


def counterexample_text(ce: Mapping[str, Any] | None, words: FamilyWords = PLAIN_WORDS) -> str:
    """A generated input: its parameters, what it did (``words.outcome``) and whether it is proved minimal."""
    if not ce:
        return "none found"
    proof = ce.get("proof", {})
    minimal = (
        ""
        if not ce.get("minimality")
        else f"; minimal: {_minimality(ce)}" + ("" if proof.get("proved") else " (not proved)")
    )
    return f"{_params(ce.get('params'))}: {words.outcome(ce)}{minimal}"


def _switch_text(sp: Mapping[str, Any] | None) -> str:
    if not sp:
        return ""
    parts = []
    for side, rec in sp.items():
        if rec.get("fitted") is None:
            parts.append(f"{side}: no switch")
        else:
            lo, hi = rec["interval_95"]
            parts.append(f"{side} {rec['fitted']:.0f} [{lo:.0f}, {hi:.0f}] (write-up {rec['write_up']:.0f})")
    return "; ".join(parts)


def _looks(r: Mapping[str, Any]) -> str:
    looks = r.get("looks") or []
    return f"{len(looks)}" + (" (cap)" if r.get("capped") else "")


HEADER = (
    "family",
    "n",
    "far agreement",
    "interval",
    "looks",
    "in-distribution",
    "disagreement ratio",
    "one answer everywhere",
    "verdict",
    "minimal counterexample",
    "switch points (95%)",
)
VERDICT_COLUMN = HEADER.index("verdict")


def rows(section: Mapping[str, Any], words: FamilyWords = PLAIN_WORDS) -> list[tuple[str, ...]]:
    out = []
    for name, r in section.get("families", {}).items():
        out.append(
            (
                name,
                str(r.get("n", "")),
                f"{_pct(r.get('far_agreement'), 2)} of {r.get('n_far')}",
                _interval(r),
                _looks(r),
                _pct(r.get("in_distribution_far_agreement"), 3),
                _ratios(r),
                _pct(r.get("constant_answer_far_agreement")),
                verdict_word(r),
                counterexample_text(r.get("counterexample"), words),
                _switch_text(r.get("switch_points")),
            )
        )
    return out


def markdown(section: Mapping[str, Any], words: FamilyWords = PLAIN_WORDS) -> str:
    lines = [
        f"## {words.title}",
        "",
        f"**{section.get('summary', '')}.** {words.rule(section)}",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "---|" * len(HEADER),
    ]
    for row in rows(section, words):
        lines.append(md_row(row))
    lines += [
        "",
        (
            "*In-distribution*: the yardstick; *disagreement ratio*: the family's far disagreement rate over "
            "the yardstick's (in brackets, the family's lower bound over the yardstick's upper bound). *One "
            "answer everywhere*: the far agreement of a network that gives every input the family's majority "
            "label (the base rate)."
        ),
    ]
    worst = [
        (name, r) for name, r in section.get("families", {}).items() if r.get("verdict") == "breaks" and r.get("worst")
    ]
    if worst:
        lines.append("")
    for name, r in worst:
        lines.append(f"- **{name}** worst far disagreement: {counterexample_text(r['worst'], words)}")
    return "\n".join(lines) + "\n"


def readme_block(section: Mapping[str, Any], words: FamilyWords = PLAIN_WORDS) -> str:
    """The README's beyond-the-data results (between :data:`README_START` and :data:`README_END`), every number
    from the records: the rule, a table per family, which families are evidence and why, the minimal
    counterexamples and the switch points."""
    families = section.get("families", {})
    profiles = sorted({str(r.get("profile")) for r in families.values() if r.get("profile")})
    lines = [
        md_text(f"**{section.get('summary', '')}** ({', '.join(profiles)} profile).")
        + " "
        + md_text(words.rule(section)),
        "",
        (
            f"| family | {words.prediction} | far agreement | interval | in-distribution | disagreement ratio "
            "(at least) | one answer everywhere | verdict |"
        ),
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in families.items():
        lines.append(
            md_row(
                (
                    f"{name}: {r.get('description', '')}",
                    r.get("prediction", ""),
                    f"{_pct(r.get('far_agreement'), 2)} of {r.get('n_far', 0):,}",
                    _interval(r),
                    _pct(r.get("in_distribution_far_agreement"), 3),
                    _ratios(r),
                    _pct(r.get("constant_answer_far_agreement")),
                    f"**{verdict_word(r)}**",
                )
            )
        )
    evidence = [k for k, r in families.items() if is_evidence(r)]
    blind = [k for k, r in families.items() if r.get("informative") is False]
    lines += [
        "",
        md_text(
            "**Evidence that the explanation generalises**: "
            + (", ".join(evidence) if evidence else "none")
            + ". **Not evidence**: "
            + (
                "; ".join(
                    f"{k} (a one-answer network scores {_pct(families[k].get('constant_answer_far_agreement'))}"
                    + (", and the network still breaks it" if families[k].get("verdict") == "breaks" else "")
                    + ")"
                    for k in blind
                )
                if blind
                else "none"
            )
            + "."
        ),
        "",
    ]
    found = [(name, r) for name, r in families.items() if r.get("counterexample")]
    if found:
        lines += [words.readme_counterexamples, ""]
    for name, r in found:
        lines.append(md_text(f"- **{name}** ({verdict_word(r)}): {counterexample_text(r['counterexample'], words)}."))
    switches = [(name, r["switch_points"]) for name, r in families.items() if r.get("switch_points")]
    if switches:
        lines += ["", words.readme_switch_points, ""]
        for name, sp in switches:
            inside = [side for side, rec in sp.items() if rec.get("write_up_inside_interval")]
            sides = ", ".join(inside) if inside else "neither side"
            lines.append(
                md_text(f"- **{name}**: {_switch_text(sp)}; {words.readme_switch_inside.format(sides=sides)}.")
            )
    return "\n".join(lines).strip("\n")


def readme_text_block(readme_text: str) -> str:
    """The README's beyond-the-data results as they stand (between the markers)."""
    return between_markers(readme_text, README_START, README_END)


def with_readme_block(readme_text: str, section: Mapping[str, Any], words: FamilyWords = PLAIN_WORDS) -> str:
    """``readme_text`` with its beyond-the-data results regenerated from ``section``."""
    return replace_between_markers(readme_text, readme_block(section, words), README_START, README_END)


def page_view(section: Mapping[str, Any], words: FamilyWords = PLAIN_WORDS) -> dict[str, Any]:
    """What the page's section of generated inputs shows (report/templates/sections.html.j2, macro ``ood``)."""
    return {
        "title": words.title,
        "summary": section.get("summary", ""),
        "header": HEADER,
        "rule": words.rule(section).replace("*", ""),  # plain text: the page's template escapes it
        "rows": [
            {
                "cells": row,
                "verdict_column": VERDICT_COLUMN,
                "verdict_class": VERDICT_CLASS.get(row[VERDICT_COLUMN], "neutral"),
            }
            for row in rows(section, words)
        ],
        "figures": list(section.get("figures", [])),
    }


def terminal_lines(section: Mapping[str, Any], words: FamilyWords = PLAIN_WORDS) -> list[tuple[str, dict[str, bool]]]:
    out = [(f"{words.terminal}: {section.get('summary', '')}", {"bold": True})]
    for name, r in section.get("families", {}).items():
        v = verdict_word(r)
        text = (
            f"  {name:<9} far {_pct(r.get('far_agreement'), 2):>7} of {r.get('n_far')} {_interval(r)}, "
            f"{_ratios(r)} in-distribution, one answer "
            f"{_pct(r.get('constant_answer_far_agreement'))}: {v}; counterexample "
            f"{counterexample_text(r.get('counterexample'), words)}"
        )
        out.append((text, {"green": v == "generalises", "yellow": v == "breaks"}))
    return out


def matrix_columns(
    original: Mapping[str, Any] | None, runs: Mapping[str, Any], order: Sequence[str] = ()
) -> dict[str, Any]:
    """OOD verdicts per family and model for matrix.json: ``{family: {model: verdict}}``, from the original run's
    section and each model run's claims.json (``runs``: name -> document), families in ``order`` first."""
    columns: dict[str, Any] = {}
    docs = {"original": {"ood": original or {}}, **runs}
    for model, doc in docs.items():
        for fam, rec in (doc.get("ood") or {}).get("families", {}).items():
            columns.setdefault(fam, {})[model] = {
                "verdict": rec.get("verdict"),
                "far_agreement": rec.get("far_agreement"),
                "far_interval": rec.get("far_interval"),
                "informative": rec.get("informative"),
                "agreement": rec.get("agreement"),
            }
    keys = [*order, *sorted(set(columns) - set(order))]
    return {fam: columns[fam] for fam in keys if fam in columns}


def _cell(rec: Mapping[str, Any] | None) -> str:
    if not rec:
        return "–"
    return f"{verdict_word(rec)} ({_pct(rec.get('far_agreement'))})"


def matrix_markdown(columns: Mapping[str, Any], models: list[str], words: FamilyWords = PLAIN_WORDS) -> str:
    lines = [
        f"### {words.title} × models",
        "",
        words.matrix_note,
        "",
        "| family | " + " | ".join(models) + " |",
        "|---|" + "---|" * len(models),
    ]
    for fam, row in columns.items():
        lines.append(f"| {fam} | " + " | ".join(_cell(row.get(m)) for m in models) + " |")
    return "\n".join(lines)


def matrix_view(columns: Mapping[str, Any], models: list[str], words: FamilyWords = PLAIN_WORDS) -> dict[str, Any]:
    """The verdicts per family and model, as the page's matrix section shows them."""
    return {
        "title": f"{words.title} × models",
        "note": words.matrix_page_note,
        "models": models,
        "rows": [
            {
                "family": fam,
                "cells": [
                    {"class": VERDICT_CLASS.get(verdict_word(row.get(m) or {}), "neutral"), "text": _cell(row.get(m))}
                    for m in models
                ],
            }
            for fam, row in columns.items()
        ],
    }
