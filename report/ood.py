"""The ``"ood"`` section of the report (claims/test_ood.py): records merged from the tests, and its Markdown, HTML
and terminal forms. Every function here is a pure function of the merged section."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from report.markdown import md_row

#: The report section (and the section records' name) of the beyond-the-data families.
SECTION = "ood"
VERDICT_CLASS = {"generalises": "holds", "breaks": "fails", "undetermined": "neutral"}


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


def summary_line(families: Mapping[str, Any]) -> str:
    kept = [k for k, r in families.items() if r.get("verdict") == "generalises"]
    broken = [k for k, r in families.items() if r.get("verdict") == "breaks"]
    return (f"the explanation generalises to {len(kept)} of {len(families)} input families"
            + (f" ({', '.join(kept)})" if kept else "") + (f"; breaks on {', '.join(broken)}" if broken else ""))


def _pct(v: Any) -> str:
    return "—" if v is None else f"{100 * v:.1f}%"


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


def counterexample_text(ce: Mapping[str, Any] | None) -> str:
    if not ce:
        return "none found"
    return (f"{_params(ce.get('params'))}: s = {ce['s']:.0f}, function {ce['function_label']}, "
            f"network logit diff {ce['logit_diff']:+.2f}")


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


def rows(section: Mapping[str, Any]) -> list[tuple[str, ...]]:
    out = []
    for name, r in section.get("families", {}).items():
        out.append((name, str(r.get("n", "")), _pct(r.get("agreement")), f"{_pct(r.get('far_agreement'))} of {r.get('n_far')}",
                    _pct(r.get("constant_answer_far_agreement")), str(r.get("verdict", "")), counterexample_text(r.get("counterexample")),
                    _switch_text(r.get("switch_points"))))
    return out


HEADER = ("family", "n", "agreement", "far from thresholds", "one answer everywhere, far", "verdict", "minimal counterexample (shrunk)", "switch points (95%)")


def markdown(section: Mapping[str, Any]) -> str:
    rule = section.get("rule", {})
    lines = ["## Beyond the data: generated inputs", "",
             f"**{section.get('summary', '')}.** Rule, fixed before measuring: on {rule.get('sample_per_family', '?')} "
             f"seeded inputs per family, agreement of the network with the band on s among inputs whose s is more than "
             f"{100 * rule.get('margin_fraction_of_range', 0):.0f}% of the training range of s "
             f"({rule.get('margin_s', 0):.0f}) from both thresholds; *generalises* at ≥ "
             f"{100 * rule.get('generalises_at', 0):.0f}%, else *breaks*. Counterexamples are found by a targeted "
             "hypothesis search and shrunk; each is regenerated exactly from its parameters (source = training index).",
             "", "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for row in rows(section):
        lines.append(md_row(row))
    lines += ["", "*One answer everywhere, far*: the far-from-threshold agreement of a network that gives every input the "
              "family's majority label — a family whose far inputs are all one class tests little more than that."]
    if any(r.get("verdict") == "breaks" and r.get("worst") for r in section.get("families", {}).values()):
        lines.append("")
    for name, r in section.get("families", {}).items():
        if r.get("verdict") == "breaks" and r.get("worst"):
            lines.append(f"- **{name}** worst far disagreement: {counterexample_text(r['worst'])}")
    return "\n".join(lines) + "\n"


def page_view(section: Mapping[str, Any]) -> dict[str, Any]:
    """What the page's OOD section shows (report/templates/sections.html.j2, macro ``ood``)."""
    rule = section.get("rule", {})
    return {
        "summary": section.get("summary", ""), "sample": rule.get("sample_per_family", "?"),
        "margin_pct": f"{100 * rule.get('margin_fraction_of_range', 0):.0f}",
        "generalises_pct": f"{100 * rule.get('generalises_at', 0):.0f}", "header": HEADER,
        "rows": [{"cells": row, "verdict_column": 5, "verdict_class": VERDICT_CLASS.get(row[5], "neutral")}
                 for row in rows(section)],
        "figures": list(section.get("figures", [])),
    }


def terminal_lines(section: Mapping[str, Any]) -> list[tuple[str, dict[str, bool]]]:
    out = [(f"beyond the data: {section.get('summary', '')}", {"bold": True})]
    for name, r in section.get("families", {}).items():
        v = r.get("verdict", "")
        out.append((f"  {name:<9} agreement {_pct(r.get('agreement')):>6}, far {_pct(r.get('far_agreement')):>6} of "
                    f"{r.get('n_far')}: {v}; counterexample {counterexample_text(r.get('counterexample'))}",
                    {"green": v == "generalises", "yellow": v == "breaks"}))
    return out


def matrix_columns(original: Mapping[str, Any] | None, runs: Mapping[str, Any],
                   order: Sequence[str] = ()) -> dict[str, Any]:
    """OOD verdicts per family and model for matrix.json: ``{family: {model: verdict}}``, from the original run's
    section and each model run's claims.json (``runs``: name -> document), families in ``order`` first."""
    columns: dict[str, Any] = {}
    docs = {"original": {"ood": original or {}}, **runs}
    for model, doc in docs.items():
        for fam, rec in (doc.get("ood") or {}).get("families", {}).items():
            columns.setdefault(fam, {})[model] = {"verdict": rec.get("verdict"), "far_agreement": rec.get("far_agreement"),
                                                  "agreement": rec.get("agreement")}
    keys = [*order, *sorted(set(columns) - set(order))]
    return {fam: columns[fam] for fam in keys if fam in columns}


def _cell(rec: Mapping[str, Any] | None) -> str:
    if not rec:
        return "–"
    return f"{rec.get('verdict')} ({_pct(rec.get('far_agreement'))})"


def matrix_markdown(columns: Mapping[str, Any], models: list[str]) -> str:
    lines = ["### Beyond the data: generated inputs × models", "",
             "Per input family: *generalises* when ≥ 95% of generated inputs far from the thresholds get the band's "
             "label (far-from-threshold agreement in brackets).", "",
             "| family | " + " | ".join(models) + " |", "|---|" + "---|" * len(models)]
    for fam, row in columns.items():
        lines.append(f"| {fam} | " + " | ".join(_cell(row.get(m)) for m in models) + " |")
    return "\n".join(lines)


def matrix_view(columns: Mapping[str, Any], models: list[str]) -> dict[str, Any]:
    """The OOD verdicts per family and model, as the page's matrix section shows them."""
    return {"models": models, "rows": [
        {"family": fam, "cells": [{"class": VERDICT_CLASS.get((row.get(m) or {}).get("verdict"), "neutral"),
                                   "text": _cell(row.get(m))} for m in models]}
        for fam, row in columns.items()]}
