"""The replica study: which claims describe the task, and which describe the one network the write-up studied.

``pytest claims/ --models replicas:N,replicas-band:N,replicas-recipes:N`` trains replicas of the challenge
architecture in three arms (:data:`model.counterfactuals.ARMS`): the *task* arm (the main one) on the challenge
network's own labels, the *band* arm on the recovered labelling function, the *recipes* arm on the task labels with
a declared grid of recipes. Every claim, probe and other record section runs on each replica twice: as written (at
the write-up's band) and at the replica's own fit (``--fit own``: its own best band; groups and PCA are always its
own). This module turns those ``claims.json`` documents into statistics:

* **recurrence** per arm: how many replicas a record holds on, is an erratum on, fails on, at the own fit and as
  written; the fraction that *recurs* (holds or holds as corrected) with a Wilson 95% interval;
* **category** (fixed before measuring), from the main arm at the own fit: a *property of the task* recurs on
  ≥ 90% of replicas with the interval's lower bound ≥ 75%; a *property of this network* holds on the challenge
  network (at its own fit) while the upper bound is < 50%; *fails on every network* (or nearly) when the challenge
  network fails it too and the upper bound is < 50%; *specific by construction* when the claim states a number of
  one network (:data:`SPECIFIC_BY_CONSTRUCTION`), whatever it recurs on; everything else *varies*. The rule's power
  (the chance that a record recurring on a true share p of networks is classed a property of the task) is printed;
* **headline numbers** at the own fit: the challenge network's rank among the main arm's replicas, its two-sided
  rank p-value, and outlier flags corrected for multiple comparisons (Benjamini–Hochberg over every ranked
  number);
* **arms compared**: per record, the task arm's recurrence against the band arm's and the recipe arm's (Fisher's
  exact test, Benjamini–Hochberg over records): where training on the hypothesis, or another recipe, changes what
  recurs.

Generic over the records: a section of ``claims.json`` is any top-level mapping whose values are records with a
``verdict``; headline numbers come from :data:`HEADLINES` when listed, otherwise from the ``claimed`` keys,
otherwise the first numeric measurements. The study carries its own words, so its views need nothing from here.
Pure functions of their inputs: the same documents give the same study.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence  # noqa: F401
from dataclasses import dataclass
from typing import Any

from analysis.intervals import wilson

#: The study size the README documents: the main arm's replicas, and each other arm's.
STUDY_SIZE = 50
OTHER_ARM_SIZE = 20
#: Confidence of every interval.
CONFIDENCE = 0.95
#: The classification rule: task = recurrence ≥ 90% and Wilson lower bound ≥ 75%; network (or fails) = the
#: challenge network keeps (or fails) the claim and the upper bound < 50%.
TASK_MIN_FRACTION, TASK_MIN_LOWER, NETWORK_MAX_UPPER = 0.90, 0.75, 0.50
#: False-discovery rate of the Benjamini–Hochberg corrections (outlier flags, arm differences).
FDR = 0.10
#: True recurrence shares at which the rule's power is stated.
POWER_AT = (0.80, 0.90, 0.95, 0.99)
RECURS = ("holds", "erratum")
MAIN_ARM = "task"
ARM_ORDER = ("task", "band", "recipes")
CATEGORIES = ("task", "network", "fails", "specific", "varies", "data")
CATEGORY_WORDS = {
    "task": "property of the task",
    "network": "property of this network",
    "fails": "fails on (nearly) every network",
    "specific": "specific by construction",
    "varies": "varies between networks",
    "data": "about the data only",
}
#: Claims whose acceptance states a number of one network: they cannot recur by construction, so their recurrence
#: is no evidence about the mechanism (the reason, in the catalogue's words).
SPECIFIC_BY_CONSTRUCTION = {
    "labeling-function": "its rule is this network's agreement, 96.2% ± 0.1 pp",
    "formula-as-written": "its rule is this network's agreement, 96.2% ± 0.1 pp",
    "test-set-hint": "its rule is the challenge network's test accuracy, 95.58% ± 1 pp",
    "recovered-equals-secret": "it compares with the challenge network's accuracy on the secret labels, 95.58%",
    "detector-groups": "its rule is this network's group sizes, 48/31/121 ± 3",
    "clue-furthest-out": "it names this network's extreme image, index 22752",
    "corner-near-minus-2": "it states a position in this network's activation units, x ≈ −2",
}
#: Record sections judged at the write-up's band in both runs, and why.
AS_WRITTEN_SECTIONS = {
    "ood": "the generated inputs are labelled at the write-up's band in both runs (their similarity is computed "
    "apart from the data's)",
}
#: Records about the fit itself: at a network's own fit they hold by construction, so they are judged as written.
FIT_ITSELF = {
    "local-optimum": "it asks whether the write-up's band is the network's best one; at its own fit it is, by "
    "construction",
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


def rank_among(value: float, others: Sequence[float]) -> Rank:
    return Rank(
        below=sum(1 for o in others if o < value),
        ties=sum(1 for o in others if o == value),
        above=sum(1 for o in others if o > value),
    )


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


# ----------------------------------------------------------------------------------------------- the rule


def classify(recurs: int, n: int, challenge_keeps: bool | None, data_only: bool = False, specific: bool = False) -> str:
    """The record's category by the rule above (``challenge_keeps``: True if the challenge network keeps the claim,
    False if it fails it, None if it has no record)."""
    if data_only:
        return "data"
    if specific:
        return "specific"
    low, high = wilson_interval(recurs, n)
    if n and recurs / n >= TASK_MIN_FRACTION and low >= TASK_MIN_LOWER:
        return "task"
    if challenge_keeps is True and high < NETWORK_MAX_UPPER:
        return "network"
    if challenge_keeps is False and high < NETWORK_MAX_UPPER:
        return "fails"
    return "varies"


def fewest_for_task(n: int) -> int | None:
    """The smallest recurrence count that the rule calls a property of the task with ``n`` replicas (None: none)."""
    return next((k for k in range(n + 1) if classify(k, n, True) == "task"), None)


def task_power(n: int, share: float) -> float:
    """The chance that a record recurring on a true ``share`` of networks is classed a property of the task with
    ``n`` replicas (binomial; 0 when no count qualifies)."""
    from scipy.stats import binom

    k = fewest_for_task(n)
    return 0.0 if k is None else float(binom.sf(k - 1, n, share))


def benjamini_hochberg(p_values: Sequence[float], q: float = FDR) -> list[bool]:
    """Which of ``p_values`` the Benjamini–Hochberg step-up procedure rejects at false-discovery rate ``q``."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    largest = max((rank for rank, i in enumerate(order, 1) if p_values[i] <= rank * q / m), default=0)
    rejected = [False] * m
    for i in order[:largest]:
        rejected[i] = True
    return rejected


def fisher_p(a: int, n_a: int, b: int, n_b: int) -> float:
    """Two-sided Fisher exact test of ``a`` of ``n_a`` against ``b`` of ``n_b``."""
    from scipy.stats import fisher_exact

    if not n_a or not n_b:
        return 1.0
    return float(fisher_exact([[a, n_a - a], [b, n_b - b]]).pvalue)


# ----------------------------------------------------------------------------------------------- the study


def replica_study(
    original: Mapping[str, Any],
    replicas: Mapping[str, Mapping[str, Any]],
    *,
    arms: Mapping[str, str] | None = None,
    original_own: Mapping[str, Any] | None = None,
    own: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """``matrix.json``'s ``replica_study`` from the challenge network's documents (as written, and at its own fit)
    and each replica's (``{name: claims.json document}``, as written and at its own fit), ``arms`` naming each
    replica's arm (default: all in the main arm). A replica's missing own-fit run falls back to its as-written one
    (and is listed); replicas whose run produced no records are listed as missing and left out of every fraction."""
    arms = dict(arms or {name: MAIN_ARM for name in replicas})
    own = dict(own or {})
    names = [n for n, doc in replicas.items() if sections(doc)]
    missing = [n for n in replicas if n not in names]
    no_own_fit = [n for n in names if not sections(own.get(n) or {})]
    at_own = {n: (own[n] if n not in no_own_fit else replicas[n]) for n in names}
    challenge_own = original_own if original_own and sections(original_own) else original
    arm_names = [a for a in ARM_ORDER if any(arms.get(n) == a for n in names)]
    arm_names += sorted({arms.get(n, MAIN_ARM) for n in names} - set(arm_names))
    main = MAIN_ARM if MAIN_ARM in arm_names else (arm_names[0] if arm_names else MAIN_ARM)
    members = {a: [n for n in names if arms.get(n, MAIN_ARM) == a] for a in arm_names}

    original_sections, own_sections = sections(original), sections(challenge_own)
    section_names = list(original_sections)
    for name in names:
        section_names += [s for s in sections(replicas[name]) if s not in section_names]
    records: dict[str, dict[str, Any]] = {}
    for section in section_names:
        ids = list(original_sections.get(section, {}))
        for name in names:
            ids += [i for i in sections(replicas[name]).get(section, {}) if i not in ids]
        records[section] = {
            rid: record_study(
                rid,
                original_sections.get(section, {}).get(rid),
                own_sections.get(section, {}).get(rid),
                {a: {n: sections(replicas[n]).get(section, {}).get(rid) for n in members[a]} for a in arm_names},
                {a: {n: sections(at_own[n]).get(section, {}).get(rid) for n in members[a]} for a in arm_names},
                main,
                as_written=section in AS_WRITTEN_SECTIONS,
            )
            for rid in ids
        }
    outliers = _correct_outliers(records)
    arm_differences = _compare_arms(records, main, arm_names)
    n_main = len(members.get(main, []))
    by_category = {
        c: [_label(s, r) for s, rs in records.items() for r, v in rs.items() if v["category"] == c] for c in CATEGORIES
    }
    left_out: dict[str, list[str]] = {}
    for model, doc in {"original": original, **{name: replicas[name] for name in names}}.items():
        for rid in uninformative(doc):
            left_out.setdefault(rid, []).append(model)
    study = {
        "replicas": names,
        "missing": missing,
        "no_own_fit": no_own_fit,
        "n": n_main,
        "main_arm": main,
        "arms": {a: {"replicas": members[a], "n": len(members[a])} for a in arm_names},
        "uninformative": left_out,
        "confidence": CONFIDENCE,
        "interval": "Wilson score",
        "rule": {
            "recurs": "the record holds, or holds as corrected (erratum), on the replica",
            "fit": "categories use each network's own fit (its best band on the training images; groups and PCA "
            "its own), the challenge network's included; records about the fit itself, data-only records and "
            + "; ".join(f"the {k} section ({v})" for k, v in AS_WRITTEN_SECTIONS.items())
            + " are judged as written",
            "task": f"recurs on >= {TASK_MIN_FRACTION:.0%} of the main arm's replicas and the interval's lower "
            f"bound >= {TASK_MIN_LOWER:.0%}",
            "network": f"holds (or erratum) on the challenge network and the upper bound < {NETWORK_MAX_UPPER:.0%}",
            "fails": f"fails on the challenge network and the upper bound < {NETWORK_MAX_UPPER:.0%}",
            "specific": "the claim states a number of one network (listed with its reason)",
            "varies": "everything else",
            "outlier": "the challenge network's own-fit value lies outside every main-arm replica's, and its rank's "
            f"two-sided p (rank uniform on 1..N+1) survives Benjamini–Hochberg at FDR {FDR} over every ranked number",
            "arms": f"Fisher's exact test of each other arm's recurrence against the main arm's, Benjamini–Hochberg "
            f"at FDR {FDR} over the records",
        },
        "power": power_table(n_main),
        "outliers": outliers,
        "arm_differences": arm_differences,
        "records": records,
        "by_category": by_category,
    }
    study["paragraph"] = paragraph(study)
    return study


def power_table(n: int) -> dict[str, Any]:
    """The rule's power with ``n`` replicas: the fewest recurrences it calls a property of the task, and the chance
    of that call at each true recurrence share in :data:`POWER_AT`."""
    return {
        "n": n,
        "fewest_for_task": fewest_for_task(n),
        "task_given_share": {f"{p:.2f}": task_power(n, p) for p in POWER_AT} if n else {},
        "smallest_rank_p": 2 / (n + 1) if n else None,
    }


def _label(section: str, rid: str) -> str:
    return rid if section == "claims" else f"{section}/{rid}"


def _arm_counts(per: Mapping[str, Mapping[str, Any] | None]) -> dict[str, Any]:
    present = {name: rec for name, rec in per.items() if rec is not None}
    verdicts = {name: rec["verdict"] for name, rec in present.items()}
    counts = {v: sum(1 for x in verdicts.values() if x == v) for v in ("holds", "erratum", "fails")}
    n = len(present)
    recurs = counts["holds"] + counts["erratum"]
    return {
        "n": n,
        "counts": counts,
        "fractions": {
            "holds": _interval(counts["holds"], n),
            "erratum": _interval(counts["erratum"], n),
            "recurs": _interval(recurs, n),
        },
        "verdicts": verdicts,
    }


def record_study(
    rid: str,
    own: Mapping[str, Any] | None,
    own_at_fit: Mapping[str, Any] | None,
    per_arm: Mapping[str, Mapping[str, Mapping[str, Any] | None]],
    per_arm_at_fit: Mapping[str, Mapping[str, Mapping[str, Any] | None]],
    main: str = MAIN_ARM,
    as_written: bool = False,
) -> dict[str, Any]:
    """One record across the replicas of every arm: verdict counts with intervals, as written and at the own fit
    (``as_written``: judged as written only); the category (main arm); the headline numbers at the own fit, ranked."""
    basis = own if own is not None else next((r for per in per_arm.values() for r in per.values() if r), None)
    data_only = (basis or {}).get("depends_on") == "data"
    fit_itself = FIT_ITSELF.get(rid)
    judged_as_written = as_written or data_only or fit_itself is not None
    challenge_written = own.get("verdict") if own else None
    challenge_fit = (own_at_fit or own or {}).get("verdict") if not judged_as_written else challenge_written
    specific = SPECIFIC_BY_CONSTRUCTION.get(rid)
    arms: dict[str, Any] = {}
    for arm in per_arm:
        written = _arm_counts(per_arm[arm])
        at_fit = written if judged_as_written else _arm_counts(per_arm_at_fit.get(arm, {}))
        f = at_fit["fractions"]["recurs"]
        keeps = None if challenge_fit is None else challenge_fit in RECURS
        arms[arm] = {
            **at_fit,
            "as_written": {"counts": written["counts"], "recurs": written["fractions"]["recurs"]},
            "category": classify(f["count"], f["of"], keeps, data_only, specific is not None) if f["of"] else "varies",
        }
    main_arm = arms.get(main) or next(iter(arms.values()), _arm_counts({}) | {"category": "varies"})
    headlines = {}
    hbasis = own_at_fit if (own_at_fit is not None and not judged_as_written) else basis
    replicas_for_headlines = (per_arm if judged_as_written else per_arm_at_fit).get(main, {})
    present = {n: r for n, r in replicas_for_headlines.items() if r is not None}
    for path in headline_paths(rid, hbasis) if hbasis is not None else ():
        values = {name: numbers(rec).get(path) for name, rec in present.items()}
        got = [v for v in values.values() if v is not None]
        entry: dict[str, Any] = {"replicas": values}
        if got:
            ordered = sorted(got)
            entry.update(min=ordered[0], median=_median(ordered), max=ordered[-1])
        challenge = numbers(hbasis).get(path) if hbasis is not None and (own is not None) else None
        entry["challenge"] = challenge
        if challenge is not None and got:
            r = rank_among(challenge, got)
            entry.update(rank=r.rank, of=r.n + 1, p_two_sided=r.p_two_sided, position=r.position, outlier=False)
        headlines[path] = entry
    entry = {
        "challenge_verdict": challenge_written,
        "challenge_verdict_own_fit": challenge_fit,
        "depends_on": "data" if data_only else "model",
        "judged": "as written" if judged_as_written else "at own fit",
        "specific": specific,
        "fit_itself": fit_itself,
        "n": main_arm["n"],
        "counts": main_arm["counts"],
        "fractions": main_arm["fractions"],
        "as_written": main_arm.get("as_written"),
        "category": main_arm["category"],
        "verdicts": main_arm["verdicts"],
        "arms": arms,
        "headlines": headlines,
    }
    entry["words"] = {
        "recurs": recurrence_text(entry["fractions"]["recurs"]),
        "recurs_as_written": recurrence_text(entry["as_written"]["recurs"]) if entry["as_written"] else "–",
        "category": CATEGORY_WORDS[entry["category"]] + (f" ({specific})" if specific else ""),
        "arms": {a: recurrence_text(v["fractions"]["recurs"]) for a, v in arms.items()},
        "headlines": {},
    }
    return entry


def _correct_outliers(records: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Flag the challenge network's headline numbers outside every replica whose rank p survives
    Benjamini–Hochberg over every ranked number; write each headline's words afterwards."""
    ranked = [
        (s, r, path, h)
        for s, rs in records.items()
        for r, v in rs.items()
        if v["category"] != "data"
        for path, h in v["headlines"].items()
        if "rank" in h
    ]
    rejected = benjamini_hochberg([h["p_two_sided"] for *_, h in ranked]) if ranked else []
    flagged = []
    for (s, r, path, h), reject in zip(ranked, rejected):
        h["outlier"] = bool(reject and h["position"] != "within the replicas")
        if h["outlier"]:
            flagged.append(f"{_label(s, r)} {path}")
    for rs in records.values():
        for v in rs.values():
            v["words"]["headlines"] = {path: headline_text(path, h) for path, h in v["headlines"].items()}
    outside = sum(1 for *_, h in ranked if h["position"] != "within the replicas")
    return {"ranked": len(ranked), "outside_every_replica": outside, "flagged": flagged, "fdr": FDR}


def _compare_arms(records: dict[str, dict[str, Any]], main: str, arm_names: Sequence[str]) -> list[dict[str, Any]]:
    """Each other arm's recurrence against the main arm's, per record (Fisher), corrected over the records."""
    rows = []
    for s, rs in records.items():
        for r, v in rs.items():
            if v["category"] == "data" or main not in v["arms"]:
                continue
            a = v["arms"][main]["fractions"]["recurs"]
            for arm in arm_names:
                if arm == main or arm not in v["arms"]:
                    continue
                b = v["arms"][arm]["fractions"]["recurs"]
                rows.append(
                    {
                        "record": _label(s, r),
                        "arm": arm,
                        "main": [a["count"], a["of"]],
                        "other": [b["count"], b["of"]],
                        "p": fisher_p(a["count"], a["of"], b["count"], b["of"]),
                    }
                )
    for arm in arm_names:
        mine = [row for row in rows if row["arm"] == arm]
        for row, reject in zip(mine, benjamini_hochberg([row["p"] for row in mine]) if mine else []):
            row["differs"] = reject
    return rows


def _interval(k: int, n: int) -> dict[str, Any]:
    low, high = wilson_interval(k, n)
    return {"count": k, "of": n, "fraction": k / n if n else None, "low": low, "high": high}


def _median(ordered: Sequence[float]) -> float:
    m = len(ordered) // 2
    return ordered[m] if len(ordered) % 2 else (ordered[m - 1] + ordered[m]) / 2


# ----------------------------------------------------------------------------------------------- words


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.0f}%"


def recurrence_text(f: Mapping[str, Any]) -> str:
    """``"19/20 (95%, CI 76%–99%)"`` of a recurrence interval."""
    if "fractions" in f:  # a record entry
        f = f["fractions"]["recurs"]
    return f"{f['count']}/{f['of']} ({_pct(f['fraction'])}, CI {_pct(f['low'])}–{_pct(f['high'])})"


def _fmt(x: float | None) -> str:
    if x is None:
        return "–"
    if x == int(x) and abs(x) >= 1:
        return str(int(x))
    return f"{x:.3g}"


def headline_text(path: str, h: Mapping[str, Any]) -> str:
    """``"agreement 0.962 vs replicas 0.958–0.964 (median 0.961), rank 21 of 51 (p 0.82)"``."""
    if "min" not in h:
        return f"{path}: no replica measured it"
    text = (
        f"{path} {_fmt(h.get('challenge'))} vs replicas {_fmt(h['min'])}–{_fmt(h['max'])} (median {_fmt(h['median'])})"
    )
    if "rank" in h:
        text += f", rank {_fmt(h['rank'])} of {h['of']} (p {h['p_two_sided']:.2g})"
        if h["outlier"]:
            text += f": outlier, {h['position']}"
    return text


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _power_sentence(power: Mapping[str, Any]) -> str:
    """The rule's power in words: the fewest recurrences called a property of the task, and the chance of it."""
    n, fewest, shares = power["n"], power["fewest_for_task"], power["task_given_share"]
    if fewest is None:
        return (
            f"With {_count(n, 'replica')} no record can be called a property of the task (even {n}/{n} has a lower "
            f"bound below {TASK_MIN_LOWER:.0%}); the documented study has {STUDY_SIZE} in its main arm."
        )
    return (
        f"The rule's power with {_count(n, 'replica')}: a record is called a property of the task from {fewest}/{n} "
        f"recurrences on; one that recurs on a true 90% of networks is so called with probability "
        f"{shares['0.90']:.0%}, on 95% with {shares['0.95']:.0%}, on 99% with {shares['0.99']:.0%}."
    )


def _names(study: Mapping[str, Any], category: str) -> list[str]:
    return list(study["by_category"].get(category, []))


def paragraph(study: Mapping[str, Any]) -> str:
    """The "task or network?" paragraph, written from the statistics alone."""
    n = study["n"]
    if not n:
        return "No replica run of the main arm produced records, so nothing can be said about task or network."
    recs = {_label(s, r): v for s, rs in study["records"].items() for r, v in rs.items()}
    arms = study["arms"]

    def listing(cat: str, with_written: bool = True) -> str:
        names = _names(study, cat)
        if not names:
            return "none"
        out = []
        for r in names:
            v = recs[r]
            text = f"`{r}` {v['words']['recurs']}"
            if with_written and v["judged"] == "at own fit" and v["as_written"]["recurs"] != v["fractions"]["recurs"]:
                text += f" (as written {v['words']['recurs_as_written']})"
            out.append(text)
        return "; ".join(out)

    arm_words = {
        "task": "the challenge network's own labels (its argmax on the training images) with the challenge recipe",
        "band": "the recovered labelling function with the challenge recipe",
        "recipes": "the challenge network's own labels with a declared grid of recipes",
    }
    power = study["power"]
    parts = [
        f"Replicas of the challenge architecture in {len(arms)} arm{'s' if len(arms) > 1 else ''}: "
        + "; ".join(f"**{a}** ({_count(v['n'], 'replica')}, trained on {arm_words.get(a, a)})" for a, v in arms.items())
        + ". Each network is judged twice: as written (the write-up's band) and at its own fit (its own best band on "
        "the training images; groups and PCA are always its own), the challenge network included. A record *recurs* "
        "on a replica when it holds there or holds as corrected; categories come from the main arm "
        f"({study['main_arm']}) at the own fit, with Wilson {CONFIDENCE:.0%} intervals.",
        _power_sentence(power),
        f"**Properties of the task** (≥ {TASK_MIN_FRACTION:.0%}, lower bound ≥ {TASK_MIN_LOWER:.0%}): "
        f"{listing('task')}.",
        f"**Properties of this network** (hold on the challenge network, upper bound < {NETWORK_MAX_UPPER:.0%}): "
        f"{listing('network')}.",
        f"**Fail on (nearly) every network** (the challenge network included, upper bound < "
        f"{NETWORK_MAX_UPPER:.0%}): {listing('fails')}.",
        f"**Vary**: {listing('varies')}.",
        "**Specific by construction** (the claim states a number of one network, so its recurrence says nothing "
        "about the mechanism): "
        + (
            "; ".join(f"`{r}` {recs[r]['words']['recurs']}, {recs[r]['specific']}" for r in _names(study, "specific"))
            or "none"
        )
        + ".",
    ]
    out = study["outliers"]
    flagged = out["flagged"]
    parts.append(
        f"Of {out['ranked']} headline numbers ranked at the own fit, the challenge network lies outside every replica "
        f"on {out['outside_every_replica']}; "
        + (
            f"after Benjamini–Hochberg (FDR {out['fdr']}) it is an outlier on: " + ", ".join(f"`{f}`" for f in flagged)
            if flagged
            else f"after Benjamini–Hochberg (FDR {out['fdr']}) on none (the smallest rank p with {n} replicas is "
            f"{power['smallest_rank_p']:.2g})"
        )
        + "."
    )
    differing = [row for row in study["arm_differences"] if row.get("differs")]
    if len(arms) > 1:
        parts.append(
            "Arms that differ from the main arm (Fisher, Benjamini–Hochberg at FDR "
            f"{FDR}): "
            + (
                "; ".join(
                    f"`{row['record']}` {row['arm']} {row['other'][0]}/{row['other'][1]} vs {row['main'][0]}/"
                    f"{row['main'][1]} (p {row['p']:.2g})"
                    for row in differing
                )
                or "none"
            )
            + "."
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
    if study.get("no_own_fit"):
        parts.append(f"Judged as written only (no own-fit run): {', '.join(study['no_own_fit'])}.")
    if study.get("missing"):
        parts.append(f"Runs that produced no records: {', '.join(study['missing'])}.")
    return " ".join(parts)
