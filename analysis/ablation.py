"""Ablations of the detector groups and direct logit attribution, measured the way the write-up does."""

from __future__ import annotations

import numpy as np

from analysis.labelling import ANTI, L_THRESHOLD, R_THRESHOLD
from analysis.neurons import Groups, excitation, logit_diff
from model.interventions import labels_from_logits, logits_from_neurons, min_ablate, zero_ablate

#: The write-up splits the data "in two, according to our similarity score": at the band's midpoint.
MIDPOINT = (L_THRESHOLD + R_THRESHOLD) / 2


def kept_by_half(after: np.ndarray, before: np.ndarray, s: np.ndarray, midpoint: float = MIDPOINT) -> dict[str, float]:
    """Fraction of labels unchanged on the anti-1-like half (``s < midpoint``) and the 1-like half."""
    same = after == before
    low = s < midpoint
    return {"anti_one_half": float(same[low].mean()), "one_half": float(same[~low].mean())}


def min_ablation_table(
    post: np.ndarray, fc2_weight: np.ndarray, fc2_bias: np.ndarray, groups: Groups, s: np.ndarray
) -> dict[str, dict[str, float]]:
    """Kept fractions per half when the anti-1 group, the 1 group, or both sit at their dataset minimum."""
    before = labels_from_logits(logits_from_neurons(post, fc2_weight, fc2_bias))
    table = {}
    for name, mask in (("anti_one_group", groups.anti_one), ("one_group", groups.one), ("both", groups.one | groups.anti_one)):
        after = labels_from_logits(min_ablate(post, fc2_weight, fc2_bias, mask))
        table[name] = kept_by_half(after, before, s)
    return table


def zero_ablation_effect(
    post: np.ndarray, fc2_weight: np.ndarray, fc2_bias: np.ndarray, anti_one: np.ndarray, region: np.ndarray,
    direction: np.ndarray,
) -> dict[str, float]:
    """Zero-ablate the anti-1 group; over images outside the anti-1-like region report the fraction labelled 1
    afterwards, the fraction whose logit diff rises, and the group's mean logit-diff contribution there."""
    outside = region != ANTI
    before = logits_from_neurons(post, fc2_weight, fc2_bias)[outside]
    after = zero_ablate(post, fc2_weight, fc2_bias, anti_one)[outside]
    was_zero = labels_from_logits(before) == 0
    now_one = labels_from_logits(after) == 1
    return {
        "images": int(outside.sum()),
        "fraction_class_1_after": float(now_one.mean()),
        "fraction_class_0_flipped": float(now_one[was_zero].mean()) if was_zero.any() else float("nan"),
        "fraction_logit_diff_rises": float((logit_diff(after) > logit_diff(before)).mean()),
        "group_mean_contribution": float((post[:, anti_one] @ direction[anti_one])[outside].mean()),
    }


def strong_excitation_threshold(logits: np.ndarray) -> float:
    """How much a group must lift the logit diff to "contribute strongly": enough on its own to carry the
    median class-0 image across the decision boundary (|median logit diff of class-0 images|)."""
    ld = logit_diff(logits)
    zero = ld[labels_from_logits(logits) == 0]
    return float(abs(np.median(zero))) if len(zero) else float("nan")


def both_groups_strong(post: np.ndarray, direction: np.ndarray, groups: Groups, threshold: float) -> dict[str, float]:
    """Fractions of images where both groups, exactly one, or neither lift the logit diff by ≥ ``threshold``
    above their no-detection baseline."""
    one = excitation(post, direction, groups.one) >= threshold
    anti = excitation(post, direction, groups.anti_one) >= threshold
    return {
        "both": float((one & anti).mean()),
        "one_only": float((one & ~anti).mean()),
        "anti_one_only": float((anti & ~one).mean()),
        "neither": float((~one & ~anti).mean()),
    }
