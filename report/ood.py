"""The ``"ood"`` section of the report (claims/test_ood.py): records merged from the tests, and its Markdown, HTML,
terminal and README forms. Every function here is a pure function of the merged section.

A family is *evidence* that the explanation generalises only when it generalises and is informative (a network
giving one answer everywhere would not pass it): the summary, the tables and the matrix say so for each family.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from report.markdown import between_markers, md_row, md_text, replace_between_markers

#: The report section (and the section records' name) of the beyond-the-data families.
SECTION = "ood"
VERDICT_CLASS = {"generalises": "holds", "breaks": "fails", "undetermined": "neutral", "uninformative": "neutral"}
README_START, README_END = "<!-- ood:start -->", "<!-- ood:end -->"


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


def counterexample_text(ce: Mapping[str, Any] | None) -> str:
    if not ce:
        return "none found"
    proof = ce.get("proof", {})
    minimal = (
        ""
        if not ce.get("minimality")
        else f"; minimal: {_minimality(ce)}" + ("" if proof.get("proved") else " (not proved)")
    )
    return (
        f"{_params(ce.get('params'))}: s = {ce['s']:.0f}, function {ce['function_label']}, "
        f"network logit diff {ce['logit_diff']:+.2f}{minimal}"
    )


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


def rows(section: Mapping[str, Any]) -> list[tuple[str, ...]]:
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
                counterexample_text(r.get("counterexample")),
                _switch_text(r.get("switch_points")),
            )
        )
    return out


def rule_text(section: Mapping[str, Any]) -> str:
    """The rule as applied, from the section's ``rule`` record."""
    rule = section.get("rule", {})
    yard = rule.get("in_distribution", {})
    if not rule:
        return ""
    split = ", ".join(f"{v['agree']:,} of {v['n_far']:,} {k}" for k, v in yard.items() if isinstance(v, dict))
    return (
        f"Rule, fixed before measuring: a generated input is *far* when its s lies more than "
        f"{100 * rule['margin_fraction_of_range']:.0f}% of the training range of s ({rule['margin_s']:,.0f}) from "
        f"both thresholds. Yardstick: far from the thresholds the network agrees with the function on "
        f"{split} MNIST images ({_pct(yard.get('far_agreement'), 3)}, "
        f"Wilson {100 * yard.get('confidence', 0):.0f}% "
        f"[{100 * yard['interval'][0]:.3f}, {100 * yard['interval'][1]:.4f}]%). A family *generalises* when the "
        f"Wilson lower bound of its far agreement is ≥ {100 * rule['bar']:.0f}% (the project's own bar: the "
        f"write-up claims nothing beyond its data), *breaks* when the upper bound is < {100 * rule['bar']:.0f}%, "
        f"and is *undetermined* otherwise. Inputs are drawn in seeded chunks of {rule['chunk']:,} until "
        f"{rule['far_per_look']:,} far inputs (a look; {_per_profile(rule['far_per_look_per_profile'])}); an "
        f"undetermined family draws another look's worth, up to {rule['looks']} looks ({rule['far_cap']:,} far "
        f"inputs), and stays undetermined there. Every look's interval is at the Bonferroni-adjusted "
        f"{100 * rule['look_confidence']:.2f}%, so each verdict is wrong with probability ≤ "
        f"{100 * (1 - rule['confidence']):.0f}%; with no disagreement at all a family needs "
        f"{rule['fewest_far_to_generalise']:,} far inputs to generalise. {_familywise(section)} "
        f"A family on which a network giving one "
        f"answer everywhere reaches ≥ {100 * rule['uninformative_at']:.0f}% far agreement is *uninformative*: "
        f"shown, never counted as evidence (a break there is still a break). The counterexample search draws "
        f"{_per_profile(rule['search_examples_per_profile'])} examples per family."
    )


def _familywise(section: Mapping[str, Any]) -> str:
    """Whether the verdicts survive a correction for all families as well as the looks."""
    rule, families = section.get("rule", {}), section.get("families", {})
    if "familywise_confidence" not in rule:
        return ""
    moved = [
        f"{k} ({r['verdict_familywise']})"
        for k, r in families.items()
        if r.get("verdict_familywise", r.get("verdict")) != r.get("verdict")
    ]
    return (
        f"Corrected for all {len(families)} families as well (Bonferroni, "
        f"{100 * rule['familywise_confidence']:.2f}%), "
        + (f"the verdicts change on {', '.join(moved)}." if moved else "every verdict stays the same.")
    )


def _per_profile(values: Mapping[str, Any]) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in values.items())


def markdown(section: Mapping[str, Any]) -> str:
    lines = [
        "## Beyond the data: generated inputs",
        "",
        f"**{section.get('summary', '')}.** {rule_text(section)}",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "---|" * len(HEADER),
    ]
    for row in rows(section):
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
        lines.append(f"- **{name}** worst far disagreement: {counterexample_text(r['worst'])}")
    return "\n".join(lines) + "\n"


def readme_block(section: Mapping[str, Any]) -> str:
    """The README's beyond-the-data results (between :data:`README_START` and :data:`README_END`), every number
    from the records: the rule, a table per family, which families are evidence and why, the minimal
    counterexamples and the switch points."""
    families = section.get("families", {})
    profiles = sorted({str(r.get("profile")) for r in families.values() if r.get("profile")})
    lines = [
        md_text(f"**{section.get('summary', '')}** ({', '.join(profiles)} profile).")
        + " "
        + md_text(rule_text(section)),
        "",
        (
            "| family | what s predicts | far agreement | interval | in-distribution | disagreement ratio (at least) "
            "| one answer everywhere | verdict |"
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
        lines += [
            (
                "Minimal counterexamples, each regenerated and proved minimal from its stored parameters "
                "(`analysis.ood.prove_minimal`; figure `ood-counterexamples.png`):"
            ),
            "",
        ]
    for name, r in found:
        lines.append(md_text(f"- **{name}** ({verdict_word(r)}): {counterexample_text(r['counterexample'])}."))
    switches = [(name, r["switch_points"]) for name, r in families.items() if r.get("switch_points")]
    if switches:
        lines += [
            "",
            (
                "The network's switch points on generated inputs (best single threshold per side, bootstrap "
                "95% interval; figure `ood-switch-points.png`):"
            ),
            "",
        ]
        for name, sp in switches:
            inside = [side for side, rec in sp.items() if rec.get("write_up_inside_interval")]
            lines.append(
                md_text(
                    f"- **{name}**: {_switch_text(sp)}; the write-up's threshold lies inside the "
                    f"interval on {', '.join(inside) if inside else 'neither side'}."
                )
            )
    return "\n".join(lines).strip("\n")


def readme_text_block(readme_text: str) -> str:
    """The README's beyond-the-data results as they stand (between the markers)."""
    return between_markers(readme_text, README_START, README_END)


def with_readme_block(readme_text: str, section: Mapping[str, Any]) -> str:
    """``readme_text`` with its beyond-the-data results regenerated from ``section``."""
    return replace_between_markers(readme_text, readme_block(section), README_START, README_END)


def page_view(section: Mapping[str, Any]) -> dict[str, Any]:
    """What the page's OOD section shows (report/templates/sections.html.j2, macro ``ood``)."""
    rule = section.get("rule", {})
    return {
        "summary": section.get("summary", ""),
        "sample": rule.get("far_per_look", "?"),
        "margin_pct": f"{100 * rule.get('margin_fraction_of_range', 0):.0f}",
        "generalises_pct": f"{100 * rule.get('bar', 0):.0f}",
        "header": HEADER,
        "rule": rule_text(section).replace("*", ""),  # plain text: the page's template escapes it
        "rows": [
            {
                "cells": row,
                "verdict_column": VERDICT_COLUMN,
                "verdict_class": VERDICT_CLASS.get(row[VERDICT_COLUMN], "neutral"),
            }
            for row in rows(section)
        ],
        "figures": list(section.get("figures", [])),
    }


def terminal_lines(section: Mapping[str, Any]) -> list[tuple[str, dict[str, bool]]]:
    out = [(f"beyond the data: {section.get('summary', '')}", {"bold": True})]
    for name, r in section.get("families", {}).items():
        v = verdict_word(r)
        text = (
            f"  {name:<9} far {_pct(r.get('far_agreement'), 2):>7} of {r.get('n_far')} {_interval(r)}, "
            f"{_ratios(r)} in-distribution, one answer "
            f"{_pct(r.get('constant_answer_far_agreement'))}: {v}; counterexample "
            f"{counterexample_text(r.get('counterexample'))}"
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


def matrix_markdown(columns: Mapping[str, Any], models: list[str]) -> str:
    lines = [
        "### Beyond the data: generated inputs × models",
        "",
        (
            "Per input family: *generalises* when the Wilson lower bound of the far-from-threshold agreement is "
            "≥ 99%, *breaks* when its upper bound is < 99% (far agreement in brackets); *uninformative* when a "
            "one-answer network would reach ≥ 95% there."
        ),
        "",
        "| family | " + " | ".join(models) + " |",
        "|---|" + "---|" * len(models),
    ]
    for fam, row in columns.items():
        lines.append(f"| {fam} | " + " | ".join(_cell(row.get(m)) for m in models) + " |")
    return "\n".join(lines)


def matrix_view(columns: Mapping[str, Any], models: list[str]) -> dict[str, Any]:
    """The OOD verdicts per family and model, as the page's matrix section shows them."""
    return {
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
