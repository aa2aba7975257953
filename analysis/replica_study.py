"""The replica study: which claims describe the task, and which describe the one network the write-up studied.

``pytest claims/ --models replicas:N`` trains N seeded replicas of the challenge recipe on the recovered
labelling function and runs every claim, probe and any other record section on each. This module turns
those per-model documents (``claims.json`` of each run) into statistics:

* **recurrence**: for every record (claim, probe, out-of-distribution family, …), how many replicas it
  holds on, is an erratum on, fails on; the fraction that *recurs* (holds or holds as corrected) with a
  Wilson 95% interval (``scipy.stats.binomtest(...).proportion_ci(method="wilson")``);
* **headline distributions**: the record's headline numbers (agreement, group sizes, scrubbing at p = 0.1%,
  …) across replicas against the challenge network's value, and that value's rank among them;
* **classification** (the issue's rule, fixed before measuring): a *property of the task* recurs on ≥ 90%
  of replicas with the interval's lower bound ≥ 75%; a *property of this network* holds on the challenge
  network while the recurrence's upper bound is < 50%; everything else *varies*.

Everything here is generic over the records: a section of ``claims.json`` is any top-level mapping whose
values are records with a ``verdict``; a record's headline numbers come from :data:`HEADLINES` when listed,
otherwise from its ``claimed`` keys, otherwise its first numeric measurements. New claims, probes and
sections are covered without changes here.

Pure functions of their inputs (no clock, no environment): the same documents give the same study.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from report.markdown import md_row

#: The study size the README documents (``--models replicas:20``).
STUDY_SIZE = 20
#: Confidence of every interval.
CONFIDENCE = 0.95
#: The classification rule (issue 13): task = recurrence ≥ 90% and Wilson lower bound ≥ 75%; network = the
#: challenge network keeps the claim and the upper bound < 50%.
TASK_MIN_FRACTION, TASK_MIN_LOWER, NETWORK_MAX_UPPER = 0.90, 0.75, 0.50
#: The challenge network is an *outlier* on a headline number when it lies outside every replica's value and
#: the rank test's two-sided p (exchangeability: its rank among N + 1 networks is uniform) is at most this.
OUTLIER_P = 0.10
RECURS = ("holds", "erratum")
CATEGORIES = ("task", "network", "varies", "data")
CATEGORY_WORDS = {
    "task": "property of the task",
    "network": "property of this network",
    "varies": "varies between networks",
    "data": "about the data only",
}

#: Headline numbers of records whose ``claimed`` keys do not name them (dotted paths into ``measured`` /
#: ``found``). A path missing from a record falls back to the generic rule, so a changed record still gets one;
#: an empty tuple means the record has no number worth comparing across networks.
HEADLINES: dict[str, tuple[str, ...]] = {
    "labeling-function": ("agreement",),
    "test-set-hint": ("agreement",),
    "detector-groups": ("one", "anti_one", "dead"),
    "formula-as-written": ("literal_pixels_0_255", "corrected_clue_minus_anticlue"),
    "pca-variance": ("sum",),
    "v-shape": ("arm_r2.left", "arm_r2.right", "corner_auc_class0"),
    "logit-diff-to-corner": ("angle_to_corner_deg.class0_minus_class1",),
    "clue-furthest-out": ("clue_rank_in_its_arm", "anticlue_angle_deg.to_anti_one_arm"),
    "feature-visualisation": ("top15.one_positive", "top15.anti_one_negative"),
    "one-way-neurons": ("negative_neurons", "negative_share"),
    "zero-ablation-baseline": ("fraction_class_1_after", "fraction_logit_diff_rises"),
    "dla-exclusive": ("both",),
    "min-ablation": ("anti_one_group.one_half", "one_group.anti_one_half"),
    "causal-scrubbing": ("0.001", "0.1"),
    "local-optimum": ("gain_pp",),
    "robustness": ("largest_step_change_pp",),
    "template-specificity": ("clue_agreement", "fraction_beaten_by_clue"),
    # Its numbers are floating-point rounding errors (~1e-11) that differ between a serial and an xdist run
    # of the same checkpoint: nothing to compare across networks. An empty entry means "no headline".
    "algebra": (),
}
#: The generic rule takes at most this many numbers from a record.
MAX_GENERIC_HEADLINES = 3


# ----------------------------------------------------------------------------------------------- statistics


def wilson_interval(successes: int, trials: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion (scipy's implementation). ``(0.0, 1.0)`` for 0 trials."""
    if isinstance(successes, bool) or isinstance(trials, bool) or not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials, got {successes} of {trials}")
    if trials == 0:
        return 0.0, 1.0
    from scipy.stats import binomtest

    ci = binomtest(int(successes), int(trials)).proportion_ci(confidence_level=confidence, method="wilson")
    return float(ci.low), float(ci.high)


@dataclass(frozen=True)
class Rank:
    """Where one value (the challenge network's) sits among the replicas' values."""

    below: int  # replicas with a smaller value
    ties: int
    above: int

    @property
    def n(self) -> int:
        return self.below + self.ties + self.above

    @property
    def rank(self) -> float:
        """1-based mid-rank among the N + 1 networks (1 = smallest)."""
        return self.below + 1 + self.ties / 2

    @property
    def p_two_sided(self) -> float:
        """If the challenge network were one more replica, its rank would be uniform on 1..N+1: the chance of
        a rank at least this extreme (ties counted against extremeness), both sides."""
        low, high = self.below + self.ties + 1, self.above + self.ties + 1
        return min(1.0, 2 * min(low, high) / (self.n + 1))

    @property
    def position(self) -> str:
        if self.n and self.below == self.n:
            return "above every replica"
        if self.n and self.above == self.n:
            return "below every replica"
        return "within the replicas"

    @property
    def outlier(self) -> bool:
        return self.position != "within the replicas" and self.p_two_sided <= OUTLIER_P


def rank_among(value: float, others: Sequence[float]) -> Rank:
    return Rank(
        below=sum(1 for o in others if o < value),
        ties=sum(1 for o in others if o == value),
        above=sum(1 for o in others if o > value),
    )


def classify(recurs: int, n: int, challenge_keeps: bool, data_only: bool = False) -> str:
    """``task`` / ``network`` / ``varies`` by the rule above (``data`` for records that do not involve the network)."""
    if data_only:
        return "data"
    low, high = wilson_interval(recurs, n)
    if n and recurs / n >= TASK_MIN_FRACTION and low >= TASK_MIN_LOWER:
        return "task"
    if challenge_keeps and high < NETWORK_MAX_UPPER:
        return "network"
    return "varies"


# ----------------------------------------------------------------------------------------------- records


#: Verdict words of record sections that judge something other than a claim, in the claims' words: the
#: beyond-the-data families (claims/test_ood.py) *generalise* (the explanation holds there) or *break* (it fails).
VERDICT_WORDS = {"generalises": "holds", "breaks": "fails"}
#: A beyond-the-data family's headline numbers (its record keeps them at the top level, not under ``measured``).
FAMILY_HEADLINES = ("far_agreement", "agreement")


def _records(value: Any) -> dict[str, Mapping[str, Any]] | None:
    if isinstance(value, Mapping) and value and all(isinstance(r, Mapping) and "verdict" in r for r in value.values()):
        return dict(value)
    return None


def _family(record: Mapping[str, Any]) -> dict[str, Any]:
    return {**record, "verdict": VERDICT_WORDS.get(record["verdict"], record["verdict"]),
            "measured": {k: record[k] for k in FAMILY_HEADLINES if k in record}}


def sections(doc: Mapping[str, Any]) -> dict[str, dict[str, Mapping[str, Any]]]:
    """Every record section of a ``claims.json`` document: top-level mappings whose values are all records
    (mappings with a ``verdict``), or whose ``families`` are (the beyond-the-data section ``ood``, its verdicts
    put in the claims' words by :data:`VERDICT_WORDS`). ``claims``, ``probes`` and ``ood`` today; any later
    section of either shape too."""
    out = {}
    for name, value in doc.items():
        records = _records(value)
        if records is not None:
            out[name] = records
        elif isinstance(value, Mapping) and (families := _records(value.get("families"))) is not None:
            out[name] = {k: _family(r) for k, r in families.items()}
    return out


def numbers(record: Mapping[str, Any]) -> dict[str, float]:
    """The record's numeric measurements (``measured`` for claims, ``found`` for probes, or either), flattened
    to dotted paths in their order. Lists and booleans are left out: a list is per-neuron or per-step detail."""
    values = record.get("measured") if isinstance(record.get("measured"), Mapping) else record.get("found")
    out: dict[str, float] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            out[prefix] = float(value)

    if isinstance(values, Mapping):
        walk("", values)
    return out


def headline_paths(record_id: str, record: Mapping[str, Any]) -> tuple[str, ...]:
    """Which of the record's numbers are its headline: :data:`HEADLINES`; else the measurements named like the
    write-up's claimed values (a path component equal to a ``claimed`` key); else its first numbers."""
    available = numbers(record)
    if HEADLINES.get(record_id) == ():
        return ()
    listed = tuple(p for p in HEADLINES.get(record_id, ()) if p in available)
    if listed:
        return listed
    claimed = record.get("claimed")
    if isinstance(claimed, Mapping):
        keys = {str(k) for k in claimed}
        named = tuple(p for p in available if keys & set(p.split(".")))
        if named:
            return named
    return tuple(available)[:MAX_GENERIC_HEADLINES]


# ----------------------------------------------------------------------------------------------- the study


def replica_study(original: Mapping[str, Any], replicas: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """``matrix.json``'s ``replica_study`` from the challenge network's document and each replica's
    (``{name: claims.json document}``, in seed order). Replicas whose run produced no records are listed as
    missing and left out of every fraction."""
    names = [n for n, doc in replicas.items() if sections(doc)]
    missing = [n for n in replicas if n not in names]
    n = len(names)
    original_sections = sections(original)
    section_names = list(original_sections)
    for name in names:
        section_names += [s for s in sections(replicas[name]) if s not in section_names]
    records: dict[str, dict[str, Any]] = {}
    for section in section_names:
        ids = list(original_sections.get(section, {}))
        for name in names:
            ids += [i for i in sections(replicas[name]).get(section, {}) if i not in ids]
        out = {}
        for rid in ids:
            own = original_sections.get(section, {}).get(rid)
            per = {name: sections(replicas[name]).get(section, {}).get(rid) for name in names}
            out[rid] = record_study(rid, own, per)
        records[section] = out
    by_category = {c: [f"{s}/{r}" if s != "claims" else r for s, rs in records.items() for r, v in rs.items()
                       if v["category"] == c] for c in CATEGORIES}
    return {
        "replicas": names,
        "missing": missing,
        "n": n,
        "confidence": CONFIDENCE,
        "interval": "Wilson score (scipy.stats.binomtest(...).proportion_ci(method='wilson'))",
        "rule": {
            "recurs": "the record holds, or holds as corrected (erratum), on the replica",
            "task": f"recurs on >= {TASK_MIN_FRACTION:.0%} of replicas and the interval's lower bound >= {TASK_MIN_LOWER:.0%}",
            "network": f"holds (or erratum) on the challenge network and the interval's upper bound < {NETWORK_MAX_UPPER:.0%}",
            "varies": "everything else",
            "outlier": f"the challenge network's value lies outside every replica's and its rank's two-sided "
                       f"p <= {OUTLIER_P} (exchangeability: rank uniform on 1..N+1)",
        },
        "records": records,
        "by_category": by_category,
    }


def record_study(rid: str, own: Mapping[str, Any] | None, per: Mapping[str, Mapping[str, Any] | None]) -> dict[str, Any]:
    """One record across replicas: verdict counts with intervals, category, headline distributions."""
    present = {name: rec for name, rec in per.items() if rec is not None}
    n = len(present)
    verdicts = {name: rec["verdict"] for name, rec in present.items()}
    counts = {v: sum(1 for x in verdicts.values() if x == v) for v in ("holds", "erratum", "fails")}
    recurs = counts["holds"] + counts["erratum"]
    data_only = (own or next(iter(present.values()), {})).get("depends_on") == "data"
    challenge_verdict = own.get("verdict") if own else None
    headlines = {}
    basis = own if own is not None else next(iter(present.values()), None)
    for path in headline_paths(rid, basis) if basis is not None else ():
        values = {name: numbers(rec).get(path) for name, rec in present.items()}
        got = [v for v in values.values() if v is not None]
        entry: dict[str, Any] = {"replicas": values}
        if got:
            ordered = sorted(got)
            entry.update(min=ordered[0], median=_median(ordered), max=ordered[-1])
        challenge = numbers(own).get(path) if own else None
        entry["challenge"] = challenge
        if challenge is not None and got:
            r = rank_among(challenge, got)
            entry.update(rank=r.rank, of=r.n + 1, p_two_sided=r.p_two_sided, position=r.position, outlier=r.outlier)
        headlines[path] = entry
    return {
        "challenge_verdict": challenge_verdict,
        "depends_on": "data" if data_only else "model",
        "n": n,
        "counts": counts,
        "fractions": {
            "holds": _interval(counts["holds"], n),
            "erratum": _interval(counts["erratum"], n),
            "recurs": _interval(recurs, n),
        },
        "category": classify(recurs, n, challenge_verdict in RECURS, data_only) if n else "varies",
        "verdicts": verdicts,
        "headlines": headlines,
    }


def _interval(k: int, n: int) -> dict[str, Any]:
    low, high = wilson_interval(k, n)
    return {"count": k, "of": n, "fraction": k / n if n else None, "low": low, "high": high}


def _median(ordered: Sequence[float]) -> float:
    m = len(ordered) // 2
    return ordered[m] if len(ordered) % 2 else (ordered[m - 1] + ordered[m]) / 2


# ----------------------------------------------------------------------------------------------- words


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.0f}%"


def recurrence_text(entry: Mapping[str, Any]) -> str:
    """``"19/20 (95%, 95% CI 76–99%)"``."""
    f = entry["fractions"]["recurs"]
    return f"{f['count']}/{f['of']} ({_pct(f['fraction'])}, CI {_pct(f['low'])}–{_pct(f['high'])})"


def _fmt(x: float | None) -> str:
    if x is None:
        return "–"
    if x == int(x) and abs(x) >= 1:
        return str(int(x))
    return f"{x:.3g}"


def headline_text(path: str, h: Mapping[str, Any]) -> str:
    """``"agreement 0.962 vs replicas 0.948–0.961 (median 0.955), rank 21 of 21: above every replica"``."""
    if "min" not in h:
        return f"{path}: no replica measured it"
    text = f"{path} {_fmt(h.get('challenge'))} vs replicas {_fmt(h['min'])}–{_fmt(h['max'])} (median {_fmt(h['median'])})"
    if "rank" in h:
        text += f", rank {_fmt(h['rank'])} of {h['of']}"
        if h["outlier"]:
            text += f": outlier, {h['position']}"
    return text


def _names(study: Mapping[str, Any], category: str) -> list[str]:
    return list(study["by_category"].get(category, []))


def paragraph(study: Mapping[str, Any]) -> str:
    """The matrix's "task or network?" paragraph, written from the statistics alone."""
    n = study["n"]
    if not n:
        return "No replica run produced records, so nothing can be said about task or network."
    recs = {(r if s == "claims" else f"{s}/{r}"): v for s, rs in study["records"].items() for r, v in rs.items()}

    def listing(cat: str) -> str:
        names = _names(study, cat)
        if not names:
            return "none"
        return "; ".join(f"`{r}` {recurrence_text(recs[r])}" + _challenge_note(recs[r]) for r in names)

    parts = [
        f"Across {n} replicas of the challenge recipe retrained on the recovered labelling function (seeds "
        f"{_seed_span(study['replicas'])}), a record *recurs* on a replica when it holds there or holds as "
        f"corrected (recurrence with a Wilson {CONFIDENCE:.0%} interval).",
        f"**Properties of the task** (recur on ≥ {TASK_MIN_FRACTION:.0%} of replicas, lower bound ≥ "
        f"{TASK_MIN_LOWER:.0%}): {listing('task')}.",
        f"**Properties of this network** (hold on the challenge network, upper bound < {NETWORK_MAX_UPPER:.0%}): "
        f"{listing('network')}.",
        f"**Vary** (neither): {listing('varies')}.",
    ]
    outliers = [f"`{r}` {headline_text(p, h)}" for r, v in recs.items() for p, h in v["headlines"].items()
                if h.get("outlier")]
    if outliers:
        parts.append("The challenge network is an outlier among the replicas (outside all of them, rank p ≤ "
                     f"{OUTLIER_P}) on: " + "; ".join(outliers) + ".")
    else:
        parts.append("On no headline number is the challenge network an outlier among the replicas.")
    if n < STUDY_SIZE:
        lowest_n_task = next((k for k in range(n + 1) if classify(k, n, True) == "task"), None)
        if lowest_n_task is None:
            parts.append(f"With {n} replicas no record can be called a property of the task (even {n}/{n} "
                         f"has a lower bound of {_pct(wilson_interval(n, n)[0])}); the study size is {STUDY_SIZE}.")
    if study.get("missing"):
        parts.append(f"Runs that produced no records: {', '.join(study['missing'])}.")
    return " ".join(parts)


def _challenge_note(entry: Mapping[str, Any]) -> str:
    """Said of a record that the rule cannot call "of this network" because the challenge network fails it too."""
    if entry["category"] == "varies" and entry["challenge_verdict"] == "fails":
        return " (fails on the challenge network too)"
    return ""


def _seed_span(names: Sequence[str]) -> str:
    seeds = sorted(int(s) for s in (n.rsplit("seed", 1)[-1] for n in names) if s.isdigit())
    if seeds and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}–{seeds[-1]}" if len(seeds) > 1 else str(seeds[0])
    return ", ".join(str(s) for s in seeds) or "?"


def table_rows(study: Mapping[str, Any]) -> Iterable[tuple[str, str, str, str, str, str, str]]:
    """(record, challenge verdict, holds, erratum, recurs with interval, category, headline numbers)."""
    for section, recs in study["records"].items():
        for rid, v in recs.items():
            name = rid if section == "claims" else f"{section}/{rid}"
            f = v["fractions"]
            yield (
                name,
                v["challenge_verdict"] or "–",
                f"{f['holds']['count']}/{f['holds']['of']}",
                f"{f['erratum']['count']}/{f['erratum']['of']}",
                recurrence_text(v),
                CATEGORY_WORDS[v["category"]],
                "; ".join(headline_text(p, h) for p, h in v["headlines"].items()),
            )


def markdown(study: Mapping[str, Any], figures: Sequence[str] = ()) -> str:
    """The study's section of ``claims.md``: paragraph, figures, the per-record table."""
    lines = ["### Replica study: task or network?", "", paragraph(study), ""]
    lines += [f"![{f}]({f})" for f in figures]
    if figures:
        lines.append("")
    lines += ["| record | challenge | holds | erratum | recurs (95% CI) | category | headline: challenge vs replicas |",
              "|---|---|---|---|---|---|---|"]
    for row in table_rows(study):
        lines.append(md_row(row))
    return "\n".join(lines) + "\n"


def page_view(study: Mapping[str, Any]) -> dict[str, Any]:
    """The same as :func:`markdown`, as the page's replica-study section shows it (sections.html.j2, macro
    ``replica_study``; the paragraph's Markdown emphasis becomes HTML there, after escaping)."""
    return {"paragraph": paragraph(study), "figures": list(study.get("figures", [])),
            "header": ("record", "challenge", "holds", "erratum", "recurs (95% CI)", "category",
                       "headline: challenge vs replicas"),
            "rows": list(table_rows(study))}


# ----------------------------------------------------------------------------------------------- the figures

CATEGORY_COLOURS = {"task": "#1b6e20", "network": "#b3261e", "varies": "#8a5300", "data": "#777777"}
FIGURES = ("figures/replica-recurrence.png", "figures/replica-headlines.png")


def draw_figures(study: Mapping[str, Any], out: Any) -> list[str]:
    """Draw the study's two figures into ``out/figures``: recurrence per record with its interval, and each
    headline number's distribution over the replicas with the challenge network's value marked. Returns
    their paths relative to ``out``. Imports matplotlib (only a replica study pays for it)."""
    from pathlib import Path

    from report.figures import save

    out = Path(out)
    return [save(recurrence_figure(study), out / FIGURES[0]), save(headline_figure(study), out / FIGURES[1])]


def _labelled(study: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    return [(r if s == "claims" else f"{s}/{r}", v) for s, rs in study["records"].items() for r, v in rs.items()]


def recurrence_figure(study: Mapping[str, Any]) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    items = _labelled(study)
    fig = Figure(figsize=(8.5, 0.32 * len(items) + 2.0))
    ax = fig.subplots()
    for y, (name, v) in enumerate(items):
        f = v["fractions"]["recurs"]
        if f["fraction"] is None:
            continue
        colour = CATEGORY_COLOURS[v["category"]]
        ax.errorbar(f["fraction"], y, xerr=[[f["fraction"] - f["low"]], [f["high"] - f["fraction"]]], fmt="o",
                    color=colour, ecolor=colour, capsize=3, ms=5)
        mark = {"holds": "✔", "erratum": "≈", "fails": "✘"}.get(v["challenge_verdict"], "–")
        ax.annotate(mark, (1.02, y), xycoords=("axes fraction", "data"), va="center", fontsize=9, color="#333")
    for x, style in ((TASK_MIN_LOWER, ":"), (TASK_MIN_FRACTION, "--"), (NETWORK_MAX_UPPER, ":")):
        ax.axvline(x, color="#999", ls=style, lw=0.8)
    ax.set_yticks(range(len(items)), [name for name, _ in items], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(-0.02, 1.02)
    ax.set_xlabel(f"fraction of {study['n']} replicas on which it holds or holds as corrected "
                  f"(Wilson {CONFIDENCE:.0%} interval)")
    for cat in ("task", "network", "varies", "data"):
        ax.plot([], [], "o", color=CATEGORY_COLOURS[cat], label=CATEGORY_WORDS[cat])
    fig.legend(loc="lower center", ncol=4, fontsize=7, frameon=False)
    ax.set_title("replica study: recurrence per record (right: the challenge network's verdict)", fontsize=10)
    fig.subplots_adjust(left=0.3, right=0.95, bottom=1.2 / (0.32 * len(items) + 2.0))
    return fig


def headline_figure(study: Mapping[str, Any]) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    panels = [(name, path, h, v["category"]) for name, v in _labelled(study) for path, h in v["headlines"].items()
              if "min" in h and v["category"] != "data"]
    cols = 4
    rows = max(1, math.ceil(len(panels) / cols))
    fig = Figure(figsize=(11, 1.25 * rows + 0.8))
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.set_axis_off()
    for ax, (name, path, h, cat) in zip(axes.flat, panels):
        values = sorted(v for v in h["replicas"].values() if v is not None)
        # A dot plot: equal values stack upwards, so the distribution's shape is visible without jitter.
        seen: dict[float, int] = {}
        ys = []
        for v in values:
            seen[v] = seen.get(v, 0) + 1
            ys.append(seen[v])
        ax.plot(values, ys, "o", ms=3.5, color=CATEGORY_COLOURS[cat], alpha=0.8)
        if h.get("challenge") is not None:
            ax.axvline(h["challenge"], color="black", lw=1.6)
        ax.set_yticks([])
        ax.set_ylim(0, max(ys + [1]) + 1)
        ax.tick_params(axis="x", labelsize=6)
        label = f"{name}\n{path}" + (" (outlier)" if h.get("outlier") else "")
        ax.set_title(label, fontsize=7)
    height = 1.25 * rows + 0.8
    fig.suptitle(f"headline numbers over {study['n']} replicas (dots) and the challenge network (black line)",
                 fontsize=10, y=1 - 0.15 / height)
    fig.subplots_adjust(hspace=1.3, wspace=0.25, top=1 - 0.8 / height, bottom=0.4 / height)
    return fig
