"""Causal scrubbing of the write-up's hypothesis: resample-ablate all 200 neurons at once.

For each image and each neuron group the hypothesis names, the group's activations are taken from another
image that the hypothesis says is equivalent:

- dead neurons: any random image;
- "1" detectors: if the image is 1-like (the hypothesis says they are active) an image of *similar* ``s``
  (``|s' - s| <= p · range(s)``, the image itself excluded when anything else qualifies); otherwise any
  image outside the 1-like region (where they should be inactive);
- "anti-1" detectors: the same with the anti-1-like region.

A group takes all its neurons from one replacement image (the hypothesis's unit is the group); groups draw
independently. ``p = "random"`` ignores the hypothesis: every group from a random image.
The score is the fraction of model labels unchanged.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np

from analysis.labelling import ANTI, ONE
from analysis.neurons import Groups
from model.interventions import group_logits, labels_from_logits, resample_logits

NOISE_LEVELS: tuple[float | str, ...] = (1e-4, 1e-3, 1e-2, 1e-1, "random")
SEEDS: tuple[int, ...] = (0, 1, 2, 3, 4)


@dataclass(frozen=True)
class SimilarityIndex:
    """``s`` sorted once, for drawing images of similar similarity in O(log N)."""

    s: np.ndarray
    order: np.ndarray
    sorted_s: np.ndarray
    rank: np.ndarray

    @classmethod
    def build(cls, s: np.ndarray) -> "SimilarityIndex":
        order = np.argsort(s, kind="stable")
        rank = np.empty(len(s), dtype=np.int64)
        rank[order] = np.arange(len(s))
        return cls(s=s, order=order, sorted_s=s[order], rank=rank)

    @property
    def range(self) -> float:
        return float(self.sorted_s[-1] - self.sorted_s[0])

    def window(self, p: float) -> tuple[np.ndarray, np.ndarray]:
        """For every image, the sorted positions ``[lo, lo + count)`` of images with ``|s' - s| <= p · range(s)``."""
        width = p * self.range
        lo = np.searchsorted(self.sorted_s, self.s - width, side="left")
        hi = np.searchsorted(self.sorted_s, self.s + width, side="right")
        return lo, hi - lo

    def similar(self, window: tuple[np.ndarray, np.ndarray], rng: np.random.Generator) -> np.ndarray:
        """For every image, a random other image from its :meth:`window` (itself if it is alone there)."""
        lo, count = window
        k = rng.integers(0, np.maximum(count - 1, 1))
        k = k + (lo + k >= self.rank)  # skip the image itself
        pos = np.where(count > 1, lo + k, self.rank)
        return self.order[pos]


def draw_from(pool: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` random members of the boolean ``pool`` (all images if the pool is empty)."""
    ids = np.flatnonzero(pool)
    if len(ids) == 0:
        ids = np.arange(len(pool))
    return ids[rng.integers(0, len(ids), n)]


@dataclass(frozen=True)
class Scrubber:
    """Everything one scrubbing pass needs, precomputed once: each group's logit contributions per image."""

    index: SimilarityIndex
    region: np.ndarray
    labels: np.ndarray
    parts: tuple[np.ndarray, np.ndarray, np.ndarray]  # (N, 2) logit parts of one, anti_one, dead
    fc2_bias: np.ndarray
    windows: dict[float, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict, compare=False)

    @classmethod
    def build(
        cls, post: np.ndarray, fc2_weight: np.ndarray, fc2_bias: np.ndarray, groups: Groups, s: np.ndarray,
        region: np.ndarray, labels: np.ndarray,
    ) -> "Scrubber":
        parts = tuple(group_logits(post, fc2_weight, m) for m in (groups.one, groups.anti_one, groups.dead))
        return cls(SimilarityIndex.build(s), region, labels, parts, fc2_bias)  # type: ignore[arg-type]

    def sources(self, p: float | str, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rng = np.random.default_rng(seed)
        n = len(self.labels)
        dead = rng.integers(0, n, n)
        if p == "random":
            return rng.integers(0, n, n), rng.integers(0, n, n), dead
        if isinstance(p, (bool, str)) or not isinstance(p, numbers.Real) or not 0 < p:
            raise ValueError(f"noise level must be a positive number or 'random', got {p!r}")
        p = float(p)
        if p not in self.windows:  # the same for every seed: compute once per noise level
            self.windows[p] = self.index.window(p)
        is_one, is_anti = self.region == ONE, self.region == ANTI
        one = np.where(is_one, self.index.similar(self.windows[p], rng), draw_from(~is_one, n, rng))
        anti = np.where(is_anti, self.index.similar(self.windows[p], rng), draw_from(~is_anti, n, rng))
        return one, anti, dead

    def kept(self, p: float | str, seed: int) -> float:
        """Fraction of model labels unchanged after resampling every group."""
        logits = resample_logits(self.parts, self.sources(p, seed), self.fc2_bias)
        return float(np.mean(labels_from_logits(logits) == self.labels))

    def sweep(self, levels=NOISE_LEVELS, seeds=SEEDS) -> dict[str, dict[str, float | list[float]]]:
        out: dict[str, dict[str, float | list[float]]] = {}
        for p in levels:
            values = [self.kept(p, seed) for seed in seeds]
            out[noise_key(p)] = {"mean": float(np.mean(values)), "std": float(np.std(values)), "values": values}
        return out


def noise_key(p: float | str) -> str:
    """The record's key for a noise level: ``"0.0001"``, ``"0.001"``, …, ``"random"``."""
    return p if isinstance(p, str) else format(p, "g")
