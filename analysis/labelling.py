"""The recovered labelling function: similarity to the clue template, the band, regions and agreement.

From the write-up: class 0 iff ``-17305 < s < -7762`` with ``s(x) = sum(x8 * (clue - anti_clue))``, pixels
``x8`` in 0..255, ``clue`` = training image 6 in [0, 1], ``anti_clue = 1 - clue`` (CLAIMS.md's reading).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.labelling import (  # re-exported: the claims read the labelling from here
    ANTI,
    CHUNK_IMAGES,
    CLUE_INDEX,  # noqa: F401
    L_THRESHOLD,
    MIDDLE,
    ONE,
    R_THRESHOLD,
    REGION_NAMES,
    as_pixels,
    band_labels,  # noqa: F401
    clue_image,  # noqa: F401
    corrected_template,  # noqa: F401
    regions,
    similarity,
)


def region_counts(s: np.ndarray, low: float = L_THRESHOLD, high: float = R_THRESHOLD) -> dict[str, int]:
    r = regions(s, low, high)
    return {REGION_NAMES[k]: int(np.sum(r == k)) for k in (ANTI, MIDDLE, ONE)}


def agreement(predicted: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of images where two labelings agree."""
    if predicted.shape != labels.shape:
        raise ValueError(f"labelings of different shapes {predicted.shape} and {labels.shape}")
    return float(np.mean(predicted == labels))


@dataclass(frozen=True)
class BandScorer:
    """Agreement of any band ``(low, high)`` with fixed labels in O(log N): sort ``s`` once, prefix-count labels.

    agreement = (class-0 labels inside the band + class-1 labels outside) / N.
    """

    sorted_s: np.ndarray
    zeros_before: np.ndarray  # zeros_before[k] = number of class-0 labels among the k smallest s
    n_ones: int

    @classmethod
    def fit(
        cls, s: np.ndarray, labels: np.ndarray, weights: np.ndarray | None = None, order: np.ndarray | None = None
    ) -> "BandScorer":
        """``weights``: integer multiplicities (a bootstrap resample): the scorer of the rows repeated by them.
        ``order``: ``s``'s stable argsort, when it is known (it does not depend on the weights)."""
        if s.shape != labels.shape or s.ndim != 1:
            raise ValueError(f"s and labels must be 1-d of equal length, got {s.shape} and {labels.shape}")
        order = np.argsort(s, kind="stable") if order is None else np.asarray(order)
        if weights is None:
            return cls(s[order], zeros_before(labels, order), int(np.sum(labels != 0)))
        zero = (labels[order] == 0).astype(np.int64)
        # repeating the sorted rows sorts the repeated rows: the same values; tied rows may order their labels
        # otherwise, but a band's edges fall between distinct values only
        w = np.asarray(weights)[order]
        ones = int(np.asarray(weights)[labels != 0].sum())
        return cls(np.repeat(s[order], w), np.concatenate([[0], np.cumsum(np.repeat(zero, w))]), ones)

    def agreement(self, low: np.ndarray | float, high: np.ndarray | float) -> np.ndarray:
        """Vectorised over arrays of thresholds; the band is open: ``low < s < high``."""
        lo = np.searchsorted(self.sorted_s, low, side="right")  # first index with s > low
        hi = np.searchsorted(self.sorted_s, high, side="left")  # first index with s >= high
        hi = np.maximum(hi, lo)
        inside = hi - lo
        zeros_in = self.zeros_before[hi] - self.zeros_before[lo]
        ones_in = inside - zeros_in
        return (zeros_in + (self.n_ones - ones_in)) / len(self.sorted_s)

    def best_band(self, candidates: int = 400) -> tuple[float, float, float]:
        """The best band with thresholds on a grid of ``candidates`` quantiles of s: (low, high, agreement)."""
        q = np.quantile(self.sorted_s, np.linspace(0, 1, candidates))
        low, high = np.meshgrid(q, q, indexing="ij")
        keep = low < high
        scores = self.agreement(low[keep], high[keep])
        k = int(np.argmax(scores))
        return float(low[keep][k]), float(high[keep][k]), float(scores[k])


def zeros_before(labels: np.ndarray, order: np.ndarray) -> np.ndarray:
    """``zeros_before[k]``: the class-0 labels among the ``k`` images first in ``order`` (an ``s``'s sort order)."""
    return np.concatenate([[0], np.cumsum(np.asarray(labels)[order] == 0)])


@dataclass(frozen=True)
class BandEdges:
    """The data-only half of the best band on a quantile grid of one similarity ``s``: its stable sort order and,
    per candidate edge ``q[j]``, where a band opening (``lo``) or closing (``hi``) there cuts the sorted ``s``, and
    ``first[j]``, the number of candidates strictly below ``q[j]``. They depend on ``s`` alone, so they can be
    computed once per dataset and template and judged against any network's labels (:meth:`best_agreement`)."""

    order: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    first: np.ndarray

    @classmethod
    def of(cls, s: np.ndarray, candidates: int = 400, order: np.ndarray | None = None) -> "BandEdges":
        order = np.argsort(s, kind="stable") if order is None else np.asarray(order)
        sorted_s = np.asarray(s)[order]
        q = np.quantile(sorted_s, np.linspace(0, 1, candidates))
        lo = np.searchsorted(sorted_s, q, side="right")
        hi = np.searchsorted(sorted_s, q, side="left")  # q[i] < q[j] implies lo[i] <= hi[j]
        first = np.searchsorted(q, q, side="left")  # lows strictly below q[j] are exactly indices < first[j]
        return cls(order, lo, hi, first)

    def best_agreement(self, labels: np.ndarray) -> float:
        """The best agreement with ``labels`` of a band with both edges on the grid: ``BandScorer.best_band``'s
        value in O(N + candidates). With ``g(k) = 2·zeros_before[k] − k`` the agreement of the band between
        sorted indices ``lo`` and ``hi`` is ``(g(hi) − g(lo) + n_ones) / N``, so the best pair is a prefix
        minimum of ``g(lo)`` against each ``g(hi)``; the integers are those best_band divides, so the value is
        identical."""
        return best_grid_agreement(self, zeros_before(labels, self.order), int(np.sum(np.asarray(labels) != 0)))


def best_grid_agreement(edges: BandEdges, zeros: np.ndarray, n_ones: int) -> float:
    """:meth:`BandEdges.best_agreement` given the labels' prefix counts along ``edges.order``."""
    g_lo, g_hi = 2 * zeros[edges.lo] - edges.lo, 2 * zeros[edges.hi] - edges.hi
    prefix_min = np.minimum.accumulate(g_lo)
    ok = edges.first > 0
    if not ok.any():
        raise ValueError("no band: every candidate edge is equal")
    best = int(np.max(g_hi[ok] - prefix_min[edges.first[ok] - 1]))
    return (best + n_ones) / (len(zeros) - 1)


#: Pixels per block of :func:`similarity_to_templates`' float32 products: a block's integer sum stays below 2^24.
PIXEL_BLOCK = 196
#: Images per chunk of :func:`similarity_to_templates`.
TEMPLATE_CHUNK = 2048


def similarity_to_templates(images: np.ndarray, template_images: np.ndarray) -> np.ndarray:
    """``s`` of every image against several template images at once, shape (k, N): one row per template.

    Template image ``t8`` (uint8) stands for the template ``t - (1 - t)`` with ``t = t8 / 255``, so
    ``s = x8 · (2·t8 - 255) / 255``: an integer sum, then one division. The sum is exact, so its bits do not
    depend on the CPU, BLAS kernel or thread count: it is taken in float32 over blocks of 196 pixels, where every
    product (|x8 · w| ≤ 255²) and every partial sum in any order (≤ 196 · 255² < 2^24) is an integer float32 holds
    exactly, and the four blocks are added in float64 (a float32 sum over all 784 pixels would round above 2^24;
    a float64 product costs twice the time).
    """
    return template_sums(images, template_images) / 255.0


def template_sums(images: np.ndarray, template_images: np.ndarray) -> np.ndarray:
    """The exact integer sums ``x8 · (2·t8 - 255)`` of :func:`similarity_to_templates`, float64, shape (k, N)."""
    x = as_pixels(images)
    t = as_pixels(template_images, "template images")
    if x.ndim != 3 or t.ndim != 3:
        raise ValueError("images and template images must be stacks (N, 28, 28) and (k, 28, 28)")
    for name, a in (("images", x), ("template images", t)):
        if np.issubdtype(a.dtype, np.floating) and not np.array_equal(a, np.round(a)):
            raise ValueError(f"{name}: the exact sums need integer pixels 0..255")
    weights = 2 * t.reshape(len(t), 784).astype(np.float32) - 255  # integers in -255..255, exact in float32
    flat = x.reshape(len(x), 784)
    out = np.zeros((len(t), len(x)), dtype=np.float64)
    for start in range(0, len(x), TEMPLATE_CHUNK):
        chunk = flat[start : start + TEMPLATE_CHUNK].astype(np.float32)
        for p in range(0, 784, PIXEL_BLOCK):
            out[:, start : start + len(chunk)] += weights[:, p : p + PIXEL_BLOCK] @ chunk[:, p : p + PIXEL_BLOCK].T
    return out


def integer_order(values: np.ndarray) -> np.ndarray:
    """``np.argsort(values, kind="stable")`` for integer-valued floats below 2^52 in magnitude, by one unstable
    sort of distinct int64 keys (value, then index), several times faster than a stable sort of floats."""
    v = np.asarray(values)
    ints = v.astype(np.int64)
    if v.ndim != 1 or not np.array_equal(ints, v):
        raise ValueError("integer_order needs a 1-d array of integer values")
    if not len(v):
        return np.empty(0, dtype=np.int64)
    index_bits = max(1, (len(v) - 1).bit_length())
    low = int(ints.min())
    if (int(ints.max()) - low).bit_length() + index_bits > 62:
        return np.argsort(v, kind="stable")
    keys = ((ints - low) << index_bits) | np.arange(len(v), dtype=np.int64)
    return np.sort(keys) & ((1 << index_bits) - 1)


def template_edges_of(images: np.ndarray, template_images: np.ndarray, candidates: int) -> list[BandEdges]:
    """Per template image, :class:`BandEdges` of the images' similarity to it (``BandEdges.of(s, candidates)``,
    with the stable order found from the exact integer sums)."""
    sums = template_sums(images, template_images)
    return [BandEdges.of(row / 255.0, candidates, order=integer_order(row)) for row in sums]


def hinted_counts(accuracy: float, decimals: int, images: int) -> tuple[int, int]:
    """The numbers of correct images, out of ``images``, that an accuracy printed as ``accuracy`` with ``decimals``
    decimals of a percentage stands for: ``(lowest, highest)``, the counts whose share rounds to it
    (``[accuracy − ½ unit, accuracy + ½ unit)``; 95.58% of 10,000 is exactly 9558)."""
    half = 0.5 * 10.0 ** -(decimals + 2)
    lowest = int(np.ceil(round((accuracy - half) * images, 9)))
    highest = int(np.ceil(round((accuracy + half) * images, 9))) - 1
    return lowest, highest


def disagreement_bound(agreeing: int, hinted: tuple[int, int]) -> int:
    """A lower bound on the images where the recovered labelling and the secret one differ: the model agrees with
    the recovered one on ``agreeing`` images and with the secret one on a count in ``hinted`` (lowest, highest).
    Every image where the two labellings are equal counts alike for both agreements, so the two counts can differ
    only by images where they differ."""
    lowest, highest = hinted
    return max(lowest - agreeing, agreeing - highest, 0)


#: The similarity metrics a reader could have tried (the write-up's: the dot product with clue − anti-clue).
METRICS = ("dot_clue_minus_anticlue", "dot_clue", "cosine_clue_minus_anticlue", "pearson_clue_minus_anticlue")


def similarity_metrics(images: np.ndarray, clue: np.ndarray) -> dict[str, np.ndarray]:
    """Per image (pixels 0..255, flattened), each of :data:`METRICS`: the dot product with ``t = clue − anti_clue``,
    the dot product with the clue alone, the cosine similarity with ``t`` (0 for a blank image) and the Pearson
    correlation with ``t`` over the 784 pixels (0 for a constant image). Chunked: no float64 copy of all images."""
    x = as_pixels(images)
    c = np.asarray(clue, dtype=np.float64).reshape(784)
    t = c - (1.0 - c)
    tc = t - t.mean()
    flat = x.reshape(len(x), 784)
    out = {name: np.empty(len(x), dtype=np.float64) for name in METRICS}
    for start in range(0, len(x), CHUNK_IMAGES):
        xf = flat[start : start + CHUNK_IMAGES].astype(np.float64)
        # the dot products are the session's own similarity, the norms numpy's pairwise sums, not BLAS (the same
        # bits on every CPU); x · tc is the centred x's product with the centred t
        dot_t, dot_c, dot_tc = (similarity(xf.reshape(-1, 28, 28), v.reshape(28, 28)) for v in (t, c, tc))
        square = np.einsum("ij,ij->i", xf, xf)
        norm = np.sqrt(square)
        spread = np.sqrt(np.maximum(square - xf.sum(axis=1) ** 2 / 784, 0.0))
        chunk = slice(start, start + len(xf))
        out["dot_clue_minus_anticlue"][chunk] = dot_t
        out["dot_clue"][chunk] = dot_c
        with np.errstate(invalid="ignore", divide="ignore"):
            out["cosine_clue_minus_anticlue"][chunk] = np.where(norm > 0, dot_t / (norm * np.sqrt(np.sum(t * t))), 0.0)
            out["pearson_clue_minus_anticlue"][chunk] = np.where(
                spread > 0, dot_tc / (spread * np.sqrt(np.sum(tc * tc))), 0.0
            )
    return out
