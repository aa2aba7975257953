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

The study carries its own words (each record's recurrence, category and headline texts, and the "task or
network?" paragraph), so its Markdown and HTML views (:mod:`report.replica_view`) need nothing from here.

Pure functions of their inputs (no clock, no environment): the same documents give the same study.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence  # noqa: F401
from dataclasses import dataclass
from typing import Any

from analysis.intervals import wilson

#: The study size the README documents (``--models replicas:20``).
STUDY_SIZE = 20
#: Confidence of every interval.
CONFIDENCE = 0.95
#: The classification rule: task = recurrence ≥ 90% and Wilson lower bound ≥ 75%; network = the
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
    "fc2-sign-pattern": ("breaking_neurons", "breaking_share"),
    "scrubbing-beats-wrong-hypotheses": ("loss_recovered.hypothesis", "scores.swapped", "best_random_partition"),
    "each-detector-tracks-its-region": ("fraction_tracking", "median_auc"),
    "similarity-metric": ("gap_pp", "write_up"),
    # Its numbers are floating-point rounding errors (~1e-11) that differ between a serial and an xdist run
    # of the same checkpoint: nothing to compare across networks. An empty entry means "no headline".
    "algebra": (),
}
#: The generic rule takes at most this many numbers from a record.
MAX_GENERIC_HEADLINES = 3


# ----------------------------------------------------------------------------------------------- statistics


def wilson_interval(successes: int, trials: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion (:func:`analysis.intervals.wilson`)."""
    if isinstance(successes, bool) or isinstance(trials, bool):
        raise ValueError(f"need whole numbers, got {successes!r} of {trials!r}")
    return wilson(int(successes), int(trials), confidence)


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
    return {
        **record,
        "verdict": VERDICT_WORDS.get(record["verdict"], record["verdict"]),
        "measured": {k: record[k] for k in FAMILY_HEADLINES if k in record},
    }


def _uninformative(record: Mapping[str, Any]) -> bool:
    """A family a one-answer network passes (its record says so): its pass is no evidence, so the study leaves it
    out (and lists it); a break there is still a break and counts."""
    return record.get("informative") is False and record.get("verdict") != "breaks"


def uninformative(doc: Mapping[str, Any]) -> list[str]:
    """The ``section/family`` records of ``doc`` left out of the study as uninformative."""
    return [
        f"{name}/{k}"
        for name, value in doc.items()
        if isinstance(value, Mapping) and (families := _records(value.get("families"))) is not None
        for k, r in families.items()
        if _uninformative(r)
    ]


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
            out[name] = {k: _family(r) for k, r in families.items() if not _uninformative(r)}
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
    by_category = {
        c: [
            f"{s}/{r}" if s != "claims" else r for s, rs in records.items() for r, v in rs.items() if v["category"] == c
        ]
        for c in CATEGORIES
    }
    left_out: dict[str, list[str]] = {}
    for model, doc in {"original": original, **{name: replicas[name] for name in names}}.items():
        for rid in uninformative(doc):
            left_out.setdefault(rid, []).append(model)
    study = {
        "replicas": names,
        "missing": missing,
        "n": n,
        "uninformative": left_out,
        "confidence": CONFIDENCE,
        "interval": "Wilson score",
        "rule": {
            "recurs": "the record holds, or holds as corrected (erratum), on the replica",
            "task": f"recurs on >= {TASK_MIN_FRACTION:.0%} of replicas and the interval's lower bound >= {TASK_MIN_LOWER:.0%}",  # noqa: E501
            "network": f"holds (or erratum) on the challenge network and the interval's upper bound < {NETWORK_MAX_UPPER:.0%}",  # noqa: E501
            "varies": "everything else",
            "outlier": f"the challenge network's value lies outside every replica's and its rank's two-sided "
            f"p <= {OUTLIER_P} (exchangeability: rank uniform on 1..N+1)",
        },
        "records": records,
        "by_category": by_category,
    }
    study["paragraph"] = paragraph(study)
    return study


def record_study(
    rid: str, own: Mapping[str, Any] | None, per: Mapping[str, Mapping[str, Any] | None]
) -> dict[str, Any]:
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
    entry: dict[str, Any] = {
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
    entry["words"] = {
        "recurs": recurrence_text(entry),
        "category": CATEGORY_WORDS[entry["category"]],
        "headlines": {path: headline_text(path, h) for path, h in headlines.items()},
    }
    return entry


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
    text = (
        f"{path} {_fmt(h.get('challenge'))} vs replicas {_fmt(h['min'])}–{_fmt(h['max'])} (median {_fmt(h['median'])})"
    )
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
    outliers = [
        f"`{r}` {headline_text(p, h)}" for r, v in recs.items() for p, h in v["headlines"].items() if h.get("outlier")
    ]
    if outliers:
        parts.append(
            "The challenge network is an outlier among the replicas (outside all of them, rank p ≤ "
            f"{OUTLIER_P}) on: " + "; ".join(outliers) + "."
        )
    else:
        parts.append("On no headline number is the challenge network an outlier among the replicas.")
    if n < STUDY_SIZE:
        lowest_n_task = next((k for k in range(n + 1) if classify(k, n, True) == "task"), None)
        if lowest_n_task is None:
            parts.append(
                f"With {n} replicas no record can be called a property of the task (even {n}/{n} "
                f"has a lower bound of {_pct(wilson_interval(n, n)[0])}); the study size is {STUDY_SIZE}."
            )
    if study.get("uninformative"):
        parts.append(
            "Not counted, uninformative (a network giving one answer everywhere would pass): "
            + "; ".join(
                f"`{r}` on {len(models)} network{'s' if len(models) > 1 else ''}"
                for r, models in study["uninformative"].items()
            )
            + "."
        )
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
