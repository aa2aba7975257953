"""Ablations of the detector groups and direct logit attribution, measured the way the write-up does, through
the network's readout (:class:`model.interventions.Readout`)."""

from __future__ import annotations

import numpy as np

from analysis import weighted
from analysis.labelling import ANTI, L_THRESHOLD, MIDDLE, ONE, R_THRESHOLD
from analysis.neurons import Groups, logit_diff
from model.interventions import Readout, labels_from_logits

#: The write-up splits the data "in two, according to our similarity score": at the band's midpoint.
MIDPOINT = (L_THRESHOLD + R_THRESHOLD) / 2


def kept_by_half(
    after: np.ndarray, before: np.ndarray, s: np.ndarray, midpoint: float = MIDPOINT, weights: np.ndarray | None = None
) -> dict[str, float]:
    """Fraction of labels unchanged on the anti-1-like half (``s < midpoint``) and the 1-like half."""
    same = after == before
    low = s < midpoint
    return {
        "anti_one_half": float(weighted.mean(same, weights, low)),
        "one_half": float(weighted.mean(same, weights, ~low)),
    }


def class_0_by_half(
    labels: np.ndarray, s: np.ndarray, midpoint: float = MIDPOINT, weights: np.ndarray | None = None
) -> dict[str, float]:
    """Fraction of class-0 labels on the anti-1-like half (``s < midpoint``) and the 1-like half."""
    zero = np.asarray(labels) == 0
    low = s < midpoint
    return {
        "anti_one_half": float(weighted.mean(zero, weights, low)),
        "one_half": float(weighted.mean(zero, weights, ~low)),
    }


def min_ablation_table(
    post: np.ndarray, readout: Readout, groups: Groups, s: np.ndarray
) -> dict[str, dict[str, float]]:
    """Kept fractions per half when the anti-1 group, the 1 group, or both sit at their dataset minimum."""
    return {g: row["kept"] for g, row in min_ablation_outcomes(post, readout, groups, s).items()}


def min_ablation_labels(
    post: np.ndarray, readout: Readout, groups: Groups, minima: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Per image, the model's label before (``"before"``) and after each ablation: the anti-1 group, the 1 group,
    or both at their dataset minimum (each neuron's minimum over the rows given, or ``minima``)."""
    out = {"before": labels_from_logits(readout.logits(post))}
    for name, mask in (
        ("anti_one_group", groups.anti_one),
        ("one_group", groups.one),
        ("both", groups.one | groups.anti_one),
    ):
        out[name] = labels_from_logits(readout.min_ablate(post, mask, minima))
    return out


def outcomes_by_half(
    labels: dict[str, np.ndarray], s: np.ndarray, weights: np.ndarray | None = None, midpoint: float = MIDPOINT
) -> dict[str, dict[str, dict[str, float]]]:
    """Per ablation of :func:`min_ablation_labels` and half: the fraction of labels kept, the fraction labelled
    class 0 after the ablation, and the half's class-0 share before it."""
    before = labels["before"]
    class_0_before = class_0_by_half(before, s, midpoint, weights)
    return {
        name: {
            "kept": kept_by_half(labels[name], before, s, midpoint, weights),
            "class_0_after": class_0_by_half(labels[name], s, midpoint, weights),
            "class_0_before": class_0_before,
        }
        for name in ("anti_one_group", "one_group", "both")
    }


def min_ablation_outcomes(
    post: np.ndarray,
    readout: Readout,
    groups: Groups,
    s: np.ndarray,
    weights: np.ndarray | None = None,
    midpoint: float = MIDPOINT,
) -> dict[str, dict[str, dict[str, float]]]:
    """Per ablated group (anti-1, 1, both) and half: the fraction of labels kept, the fraction labelled class 0
    after the ablation, and the half's class-0 share before it. An ablation that sends a whole half to class 0
    keeps exactly that half's class-0 share: what "chance" is made of. The dataset minimum is each neuron's
    over all rows given (weights weight the fractions)."""
    return outcomes_by_half(min_ablation_labels(post, readout, groups), s, weights, midpoint)


def zero_ablation_images(post: np.ndarray, readout: Readout, anti_one: np.ndarray) -> dict[str, np.ndarray]:
    """Per image: the label before and after zero-ablating the anti-1 group, whether the logit diff rises, and
    the group's logit-diff contribution."""
    before, after = readout.logits(post), readout.zero_ablate(post, anti_one)
    return {
        "label_before": labels_from_logits(before),
        "label_after": labels_from_logits(after),
        "rises": logit_diff(after) > logit_diff(before),
        "contribution": readout.logit_diff_contribution(post, anti_one),
    }


def zero_ablation_summary(
    per_image: dict[str, np.ndarray], region: np.ndarray, weights: np.ndarray | None = None, images: str = "outside"
) -> dict[str, float]:
    """:func:`zero_ablation_effect` from the per-image values of :func:`zero_ablation_images`."""
    over = region != ANTI if images == "outside" else np.ones(len(region), dtype=bool)
    was_zero = over & (per_image["label_before"] == 0)
    now_one = per_image["label_after"] == 1
    return {
        "images": weighted.total(weights, over),
        "fraction_class_1_before": float(weighted.mean(per_image["label_before"] != 0, weights, over)),
        "fraction_class_1_after": float(weighted.mean(now_one, weights, over)),
        "fraction_class_0_flipped": float(weighted.mean(now_one, weights, was_zero))
        if weighted.total(weights, was_zero)
        else float("nan"),
        "fraction_logit_diff_rises": float(weighted.mean(per_image["rises"], weights, over)),
        "group_mean_contribution": float(weighted.mean(per_image["contribution"], weights, over)),
    }


def zero_ablation_effect(
    post: np.ndarray,
    readout: Readout,
    anti_one: np.ndarray,
    region: np.ndarray,
    weights: np.ndarray | None = None,
    images: str = "outside",
) -> dict[str, float]:
    """Zero-ablate the anti-1 group; over images outside the anti-1-like region (``images="all"``: every image)
    report the fraction labelled 1 afterwards, the fraction whose logit diff rises, and the group's mean
    logit-diff contribution there."""
    return zero_ablation_summary(zero_ablation_images(post, readout, anti_one), region, weights, images)


def strong_excitation_threshold(logits: np.ndarray, weights: np.ndarray | None = None) -> float:
    """How much a group must lift the logit diff to "contribute strongly": enough on its own to carry the
    median class-0 image across the decision boundary (|median logit diff of class-0 images|)."""
    ld = logit_diff(logits)
    zero = labels_from_logits(logits) == 0
    if not weighted.total(weights, zero):
        return float("nan")
    return float(abs(weighted.median(ld[zero], None if weights is None else np.asarray(weights)[zero])))


BASELINES = ("minimum", "zero")


def excitation(
    post: np.ndarray, readout: Readout, mask: np.ndarray, baseline: str = "minimum", minima: np.ndarray | None = None
) -> np.ndarray:
    """Per image, a group's logit-diff contribution above its no-detection baseline: every neuron at its dataset
    minimum over the rows given (the write-up's; or ``minima``, fitted elsewhere) or at zero activation."""
    if baseline == "minimum":
        return readout.excitation(post, mask, minima)
    if baseline == "zero":
        return readout.logit_diff_contribution(post, mask)
    raise ValueError(f"baseline must be one of {BASELINES}, not {baseline!r}")


def both_strong(
    one: np.ndarray, anti: np.ndarray, threshold: float, weights: np.ndarray | None = None
) -> dict[str, float]:
    """Fractions of images where both groups' excitations (per image: ``one``, ``anti``), exactly one, or
    neither reach ``threshold``."""
    one, anti = one >= threshold, anti >= threshold
    return {
        "both": float(weighted.mean(one & anti, weights)),
        "one_only": float(weighted.mean(one & ~anti, weights)),
        "anti_one_only": float(weighted.mean(anti & ~one, weights)),
        "neither": float(weighted.mean(~one & ~anti, weights)),
    }


def both_groups_strong(
    post: np.ndarray,
    readout: Readout,
    groups: Groups,
    threshold: float,
    weights: np.ndarray | None = None,
    baseline: str = "minimum",
) -> dict[str, float]:
    """Fractions of images where both groups, exactly one, or neither lift the logit diff by ≥ ``threshold``
    above their no-detection baseline."""
    return both_strong(
        excitation(post, readout, groups.one, baseline),
        excitation(post, readout, groups.anti_one, baseline),
        threshold,
        weights,
    )


def baseline_summary(
    contribution: np.ndarray, region: np.ndarray, weights: np.ndarray | None = None, images: str = "outside"
) -> dict[str, float]:
    """:func:`anti_one_baseline` from the group's per-image logit-diff contribution."""
    over = region != ANTI if images == "outside" else region == MIDDLE
    if not weighted.total(weights, over):
        return {"images": 0, "mean": float("nan"), "fraction_negative": float("nan")}
    return {
        "images": weighted.total(weights, over),
        "mean": float(weighted.mean(contribution, weights, over)),
        "fraction_negative": float(weighted.mean(contribution < 0, weights, over)),
    }


def anti_one_baseline(
    post: np.ndarray,
    readout: Readout,
    anti_one: np.ndarray,
    region: np.ndarray,
    weights: np.ndarray | None = None,
    images: str = "outside",
) -> dict[str, float]:
    """The anti-1 group's logit-diff contribution (weights × activations, no bias) on the images outside the
    anti-1-like region (``images="middle"``: on the band only), where the hypothesis says the group detects
    nothing: its mean and the fraction of those images on which it is negative."""
    return baseline_summary(readout.logit_diff_contribution(post, anti_one), region, weights, images)


def regions_excited(
    one: np.ndarray, anti: np.ndarray, region: np.ndarray, threshold: float, weights: np.ndarray | None = None
) -> dict[str, float]:
    """:func:`regions_excite_groups` from the groups' per-image excitations."""

    def share(mask: np.ndarray, hit: np.ndarray) -> float:
        return float(weighted.mean(hit, weights, mask)) if weighted.total(weights, mask) else float("nan")

    return {
        "anti_one_like": share(region == ANTI, anti > one),
        "middle": share(region == MIDDLE, (one < threshold) & (anti < threshold)),
        "one_like": share(region == ONE, one > anti),
    }


def regions_excite_groups(
    post: np.ndarray,
    readout: Readout,
    groups: Groups,
    region: np.ndarray,
    threshold: float,
    weights: np.ndarray | None = None,
    baseline: str = "minimum",
) -> dict[str, float]:
    """Per region of s: on anti-1-like images the share where the anti-1 group's excitation exceeds the 1
    group's; on 1-like images the reverse; in the middle the share where neither group reaches ``threshold``."""
    return regions_excited(
        excitation(post, readout, groups.one, baseline),
        excitation(post, readout, groups.anti_one, baseline),
        region,
        threshold,
        weights,
    )


def best_threshold_rule(
    score: np.ndarray, labels: np.ndarray, weights: np.ndarray | None = None
) -> tuple[float, float]:
    """The threshold θ for "class 1 iff score ≥ θ" that agrees best with ``labels`` (0/1), and that agreement.
    Every distinct score (and +inf: everything class 0) is a candidate; O(N log N)."""
    score = np.asarray(score, dtype=np.float64)
    ones = np.asarray(labels) == 1
    if score.shape != ones.shape or not len(score):
        raise ValueError(f"need one label per score, got {score.shape} and {ones.shape}")
    w = np.ones(len(score), dtype=np.int64) if weights is None else np.asarray(weights)
    order = np.argsort(score, kind="stable")
    s, y, w = score[order], ones[order], w[order]
    # θ = s[i] (first of its ties): images before i say 0, from i on say 1.
    zeros_below = np.concatenate([[0], np.cumsum(w * ~y)])  # class-0 labels among the first i
    ones_from = np.concatenate([np.cumsum((w * y)[::-1])[::-1], [0]])  # class-1 labels from i on
    starts = np.concatenate([np.flatnonzero(np.r_[True, s[1:] != s[:-1]]), [len(s)]])
    correct = zeros_below[starts] + ones_from[starts]
    k = int(np.argmax(correct))
    theta = float(s[starts[k]]) if starts[k] < len(s) else float("inf")
    return theta, float(float(correct[k]) / w.sum())


def either_rule(
    one: np.ndarray, anti: np.ndarray, labels: np.ndarray, weights: np.ndarray | None = None
) -> dict[str, float]:
    """:func:`either_group_rule` from the groups' per-image excitations."""
    theta, agree = best_threshold_rule(np.maximum(one, anti), labels, weights)
    return {"theta": theta, "agreement": agree}


def either_group_rule(
    post: np.ndarray,
    readout: Readout,
    groups: Groups,
    labels: np.ndarray,
    weights: np.ndarray | None = None,
    baseline: str = "minimum",
) -> dict[str, float]:
    """ "If either group fires sufficiently strongly the image is class 1, otherwise class 0": class 1 iff
    max(excitation of the 1 group, of the anti-1 group) ≥ θ, with the one θ that agrees best with ``labels``."""
    return either_rule(
        excitation(post, readout, groups.one, baseline),
        excitation(post, readout, groups.anti_one, baseline),
        labels,
        weights,
    )


def either_rule_per_group(
    one: np.ndarray, anti: np.ndarray, labels: np.ndarray, weights: np.ndarray | None = None
) -> dict[str, float]:
    """:func:`either_group_rule_per_group` from the groups' per-image excitations."""
    two = best_two_threshold_rule(one, anti, labels, weights=weights)
    theta_sum, agree_sum = best_threshold_rule(one + anti, labels, weights)
    return {
        "theta_one": two["theta_a"],
        "theta_anti_one": two["theta_b"],
        "agreement": two["agreement"],
        "sum_theta": theta_sum,
        "sum_agreement": agree_sum,
    }


def either_group_rule_per_group(
    post: np.ndarray,
    readout: Readout,
    groups: Groups,
    labels: np.ndarray,
    weights: np.ndarray | None = None,
    baseline: str = "minimum",
) -> dict[str, float]:
    """The same rule with a threshold per group (class 1 iff the 1 group ≥ θ1 or the anti-1 group ≥ θ2), and,
    for comparison, the network's own readout: the two excitations added, one threshold."""
    return either_rule_per_group(
        excitation(post, readout, groups.one, baseline),
        excitation(post, readout, groups.anti_one, baseline),
        labels,
        weights,
    )


def best_two_threshold_rule(
    a: np.ndarray, b: np.ndarray, labels: np.ndarray, candidates: int = 101, weights: np.ndarray | None = None
) -> dict[str, float]:
    """ "Class 1 iff a ≥ θa or b ≥ θb", each group with its own threshold: the best agreement with ``labels``
    over θa among ``candidates`` quantiles of ``a`` (and +inf), θb exact for each (O(candidates · N))."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    ones = np.asarray(labels) == 1
    w = np.ones(len(a), dtype=np.int64) if weights is None else np.asarray(weights)
    order = np.argsort(b, kind="stable")
    bs, y, wo = b[order], ones[order], w[order]
    starts = np.concatenate([np.flatnonzero(np.r_[True, bs[1:] != bs[:-1]]), [len(bs)]])
    n = w.sum()
    best = {"theta_a": float("inf"), "theta_b": float("inf"), "agreement": -1.0}
    quantiles = np.quantile(a if weights is None else np.repeat(a, w), np.linspace(0, 1, candidates))
    for ta in [*np.unique(quantiles).tolist(), float("inf")]:
        high = a >= ta
        rest = ~high[order]
        zeros_below = np.concatenate([[0], np.cumsum(wo * (rest & ~y))])
        ones_from = np.concatenate([np.cumsum((wo * (rest & y))[::-1])[::-1], [0]])
        correct = int(w[ones & high].sum()) + zeros_below[starts] + ones_from[starts]
        k = int(np.argmax(correct))
        if correct[k] / n > best["agreement"]:
            tb = float(bs[starts[k]]) if starts[k] < len(bs) else float("inf")
            best = {"theta_a": float(ta), "theta_b": tb, "agreement": float(correct[k]) / n}
    return best


def min_ablation_logit_diff_change(
    post: np.ndarray, readout: Readout, mask: np.ndarray, minima: np.ndarray | None = None
) -> np.ndarray:
    """Per image: logit diff after setting the neurons in ``mask`` to their dataset minimum (or ``minima``),
    minus before."""
    return logit_diff(readout.min_ablate(post, mask, minima)) - logit_diff(readout.logits(post))
