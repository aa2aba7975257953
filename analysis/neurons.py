"""The 200 fc1 neurons: dead neurons, "1" and "anti-1" detector groups, typical contributions.

What the readout does with the neurons (the logit-diff direction, a group's contribution and excitation, the
ablations) is :class:`model.interventions.Readout`'s."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis import weighted
from analysis.labelling import ANTI, ONE
from model.interventions import Readout


def logit_diff(logits: np.ndarray) -> np.ndarray:
    return logits[:, 1].astype(np.float64) - logits[:, 0]


@dataclass(frozen=True)
class Groups:
    """Boolean masks over the 200 neurons; they partition them."""

    one: np.ndarray
    anti_one: np.ndarray
    dead: np.ndarray

    def sizes(self) -> dict[str, int]:
        return {"one": int(self.one.sum()), "anti_one": int(self.anti_one.sum()), "dead": int(self.dead.sum())}

    def as_list(self) -> list[tuple[str, np.ndarray]]:
        return [("one", self.one), ("anti_one", self.anti_one), ("dead", self.dead)]


def dead_neurons(post: np.ndarray, weights: np.ndarray | None = None, fraction: float = 0.0) -> np.ndarray:
    """Neurons never active (post-ReLU activation exactly 0 on every image), or with ``fraction``, active on at
    most that share of the images."""
    if weights is None and fraction == 0:
        return ~np.any(post > 0, axis=0)
    if fraction == 0:  # post-ReLU activations are >= 0: a neuron fires on some weighted image iff its sum is > 0
        return ~(np.asarray(weights, dtype=np.float64) @ post > 0)
    return weighted.mean(post > 0, weights) <= fraction


def groups_by_firing(
    post: np.ndarray,
    region: np.ndarray,
    weights: np.ndarray | None = None,
    dead_fraction: float = 0.0,
    full: Groups | None = None,
    moments: weighted.Moments | None = None,
) -> Groups:
    """Detector groups by where a neuron fires: an active neuron is a "1" detector if its mean activation on
    1-like images exceeds its mean on anti-1-like images, else an "anti-1" detector (CLAIMS.md's definition).
    Dead: see :func:`dead_neurons`. ``full``: the full sample's groups, for a bootstrap resample: it keeps their
    dead set ("never active" is a statement about all the images), and a neuron it leaves silent on both regions
    keeps its group (the resample has no evidence either way); otherwise a resample that misses a rare neuron's
    few active images would call it dead, or "anti-1" by the tie, and shift the counts by resampling alone.
    ``moments``: ``post`` summarised once (:class:`weighted.Moments`), for many resamples' means."""
    if post.shape[0] != region.shape[0]:
        raise ValueError(f"{post.shape[0]} activation rows but {region.shape[0]} regions")
    for r, name in ((ONE, "1-like"), (ANTI, "anti-1-like")):
        if not weighted.total(weights, region == r):
            raise ValueError(f"no {name} images: the detector groups are defined by where neurons fire on both regions")
    dead = dead_neurons(post, weights, dead_fraction) if full is None else full.dead
    if weights is None:
        on_one = post[region == ONE].mean(axis=0)
        on_anti = post[region == ANTI].mean(axis=0)
    elif moments is not None:
        on_one, on_anti = moments.mean(weights, region == ONE), moments.mean(weights, region == ANTI)
    else:
        on_one, on_anti = weighted.mean(post, weights, region == ONE), weighted.mean(post, weights, region == ANTI)
    one = on_one > on_anti
    if full is not None:
        one = np.where((on_one > 0) | (on_anti > 0), one, full.one)
    one = ~dead & one
    return Groups(one=one, anti_one=~dead & ~one, dead=dead)


def groups_by_arms(components: np.ndarray, arm_one: np.ndarray, arm_anti: np.ndarray, dead: np.ndarray) -> Groups:
    """The write-up's route: an active neuron belongs to the arm direction (mapped back from the PCA plane
    to neuron space) on which it loads more."""
    load_one = np.asarray(arm_one) @ components  # (200,)
    load_anti = np.asarray(arm_anti) @ components
    one = ~dead & (load_one > load_anti)
    return Groups(one=one, anti_one=~dead & ~one, dead=dead)


def typical_contribution(
    post: np.ndarray,
    direction: np.ndarray,
    typical: str = "std",
    weights: np.ndarray | None = None,
    moments: weighted.Moments | None = None,
) -> np.ndarray:
    """Per neuron: logit-diff weight × typical activation, its standard deviation over the images (``"std"``,
    how much the neuron moves the logit diff) or its mean (``"mean"``, what it adds on average). ``moments``:
    ``post`` converted once (:class:`weighted.Moments`), for many resamples."""
    if typical not in ("std", "mean"):
        raise ValueError(f"typical activation must be 'std' or 'mean', not {typical!r}")
    if weights is None:
        scale = weighted.column_std(post) if typical == "std" else post.mean(axis=0, dtype=np.float64)
    else:
        scale = mean = weighted.mean(post, weights) if moments is None else moments.mean(weights)
        if typical == "std":  # post-ReLU activations are >= 0: a column of weighted mean 0 is 0 throughout, std 0
            scale = np.zeros_like(mean)
            varies = mean > 0
            if moments is None:
                cols = post[:, varies]
                squares = weighted.mean(cols * cols, weights)
            else:
                squares = moments.mean_squares(weights)[varies]
            scale[varies] = np.sqrt(np.maximum(squares - mean[varies] ** 2, 0.0))
    return np.asarray(direction, dtype=np.float64) * scale


def negative_share(contribution: np.ndarray) -> float:
    """Total of the negative entries over total of the positive ones (inf when nothing is positive)."""
    c = np.asarray(contribution, dtype=np.float64)
    positive = float(c[c > 0].sum())
    return float(-c[c < 0].sum()) / positive if positive > 0 else float("inf")


def breaks_sign_pattern(readout: Readout) -> np.ndarray:
    """Per neuron: True unless its fc2 weights follow the pattern "towards class 1": weight to logit 0
    ≤ 0 and weight to logit 1 ≥ 0 (with at least one of them non-zero)."""
    w = readout.weight
    follows = (w[0] <= 0) & (w[1] >= 0) & ((w[0] != 0) | (w[1] != 0))
    return ~follows


def no_detection_offset(
    post: np.ndarray,
    mask: np.ndarray,
    inactive: np.ndarray,
    weights: np.ndarray | None = None,
    summary: weighted.SortedColumns | None = None,
    extremes: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Per neuron of ``mask``: (median activation on the ``inactive`` rows − dataset minimum) / activation
    range. 0 when the neuron sits exactly at its minimum wherever it is meant not to detect anything. The
    minimum and range are over all rows given (a resample weights the median, not them), or ``extremes``
    (every neuron's minimum and maximum, fitted elsewhere); ``summary``: ``post``'s columns sorted once for
    medians over the ``inactive`` rows (:class:`weighted.SortedColumns`; it does not depend on the weights)."""
    n = int(np.count_nonzero(mask))
    if not n:
        return np.zeros(0)
    if not weighted.total(weights, inactive):
        return np.full(n, np.nan)
    if extremes is None:
        cols = post[:, mask]
        low, high = cols.min(axis=0), cols.max(axis=0)
    else:
        low, high = extremes[0][mask], extremes[1][mask]
    span = high - low
    if weights is None:
        offset = np.median(post[:, mask][inactive], axis=0) - low
    elif summary is not None:
        if not np.array_equal(summary.where, inactive):
            raise ValueError("the summary's rows are not the inactive rows")
        offset = summary.medians(weights, np.flatnonzero(mask)) - low
    else:
        offset = weighted.median_columns(post[:, mask], np.where(inactive, weights, 0)) - low
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(span > 0, offset / span, 0.0)


def strongest(mask: np.ndarray, strength: np.ndarray, k: int = 15) -> np.ndarray:
    """Indices of the ``k`` neurons in ``mask`` with the largest ``strength``, strongest first."""
    ids = np.flatnonzero(mask)
    return ids[np.argsort(-strength[ids], kind="stable")][:k]


def correlation_with(images: np.ndarray, template: np.ndarray) -> np.ndarray:
    """Pearson correlation of each image (N, 28, 28) with ``template`` over pixels (0 for constant images)."""
    x = images.reshape(len(images), -1).astype(np.float64)
    t = np.asarray(template, dtype=np.float64).reshape(-1)
    x = x - x.mean(axis=1, keepdims=True)
    t = t - t.mean()
    denom = np.linalg.norm(x, axis=1) * np.linalg.norm(t)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (x @ t) / denom
    return np.where(denom > 0, r, 0.0)
