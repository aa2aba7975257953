"""Per-neuron statements about the detectors: fc2's sign pattern weighted by typical activation, whether dead
neurons stay dead on other images, how well each detector's activation separates its own region, and which
quadrant of the PCA loadings a neuron sits in."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TOP_RIGHT, TOP_LEFT, OTHER = "top_right", "top_left", "other"


def typical_activation(post: np.ndarray, typical: str = "std", weights: np.ndarray | None = None) -> np.ndarray:
    """Per neuron (column): its standard deviation (``"std"``) or mean (``"mean"``) over the images (rows),
    each image counted ``weights`` times (a bootstrap resample's multiplicities; None: once)."""
    x = np.asarray(post, dtype=np.float64)
    w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=np.float64)
    mean = (w @ x) / w.sum()
    if typical == "mean":
        return mean
    if typical != "std":
        raise ValueError(f"typical activation must be 'std' or 'mean', not {typical!r}")
    return np.sqrt(np.maximum((w @ (x * x)) / w.sum() - mean * mean, 0.0))


def weighted_readout(weight: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """fc2's two rows, each neuron's column times its typical activation (2, d): the write-up's figure of
    "the logit diff contribution for every neuron, weighted by their typical activation" (row 0: logit 0)."""
    return np.asarray(weight, dtype=np.float64) * np.asarray(scale, dtype=np.float64)[None, :]


def pattern_breaks(cells: np.ndarray) -> np.ndarray:
    """(2, d) booleans: the cells against the pattern "towards class 1", a logit-0 cell > 0 or a logit-1 cell < 0."""
    c = np.asarray(cells)
    return np.stack([c[0] > 0, c[1] < 0])


def breaking_share(cells: np.ndarray) -> float:
    """Summed |cell| of the breaking cells over the summed |cell| of both rows (0 when every cell is 0)."""
    magnitude = np.abs(np.asarray(cells, dtype=np.float64))
    total = float(magnitude.sum())
    return float(magnitude[pattern_breaks(cells)].sum()) / total if total > 0 else 0.0


def active_images(post: np.ndarray, neurons: np.ndarray) -> np.ndarray:
    """Per image: is any of ``neurons`` (a boolean mask over the columns) active (activation > 0)?"""
    return np.any(np.asarray(post)[:, neurons] > 0, axis=1)


def firing_counts(post: np.ndarray, neurons: np.ndarray) -> np.ndarray:
    """Per neuron of ``neurons`` (in column order): on how many images it is active (activation > 0)."""
    return np.sum(np.asarray(post)[:, neurons] > 0, axis=0)


def tie_ranks(scores: np.ndarray) -> np.ndarray:
    """Per column, each row's dense rank among the column's distinct values (0 = smallest; equal values share
    one rank). Computed once; :func:`auc_from_ranks` then weighs images without sorting again. Column-major, so
    that each column is contiguous (what :func:`auc_from_ranks` reads)."""
    x = np.asarray(scores)
    out = np.zeros(x.shape, dtype=np.int64, order="F")
    for j in range(x.shape[1]):
        column = x[:, j]
        low = column.min() if len(column) else 0
        if np.isnan(low):
            out[:, j] = np.unique(column, return_inverse=True)[1].reshape(-1)
            continue
        # the minimum has rank 0; only the rows above it are sorted (a silent neuron's zeros are most rows)
        above = np.flatnonzero(column != low)
        if len(above):
            out[above, j] = np.unique(column[above], return_inverse=True)[1].reshape(-1) + 1
    return out


def auc_from_ranks(
    ranks: np.ndarray, positive: np.ndarray, weights: np.ndarray | None = None, columns: np.ndarray | None = None
) -> np.ndarray:
    """Per column (of ``columns``; None: all): the probability that a random positive image scores higher than a
    random negative one (ties count ½), images counted ``weights`` times (integer multiplicities): the
    Mann–Whitney AUC. NaN where a class is empty. (:class:`RankCounts` is this, prepared once for many
    weightings.)"""
    return RankCounts.of(ranks, positive, columns).auc(weights, columns)


@dataclass(frozen=True)
class RankCounts:
    """Tie-ranked columns (:func:`tie_ranks`) and a positive class, prepared for :meth:`auc` under many
    weightings: per column, the rows off its most common rank and their codes 2 × rank + positive. The most
    common rank's positive and negative weights follow from the totals (integer multiplicities add exactly),
    so a mostly silent detector costs only the images it fires on."""

    positive: np.ndarray
    rows: dict[int, np.ndarray]  # per column: the rows off its most common rank
    codes: dict[int, np.ndarray]  # their 2 × rank + positive
    mode: dict[int, int]  # per column: its most common rank
    size: dict[int, int]  # per column: how many distinct ranks

    @classmethod
    def of(cls, ranks: np.ndarray, positive: np.ndarray, columns: np.ndarray | None = None) -> RankCounts:
        positive = np.asarray(positive, dtype=bool)
        columns = np.arange(ranks.shape[1]) if columns is None else np.asarray(columns)
        rows, codes, mode, size = {}, {}, {}, {}
        for c in (int(c) for c in columns):
            column = ranks[:, c]
            counts = np.bincount(column)
            m = int(np.argmax(counts))
            off = np.flatnonzero(column != m)
            rows[c], codes[c] = off, 2 * column[off] + positive[off]
            mode[c], size[c] = m, len(counts)
        return cls(positive, rows, codes, mode, size)

    def auc(self, weights: np.ndarray | None = None, columns: np.ndarray | None = None) -> np.ndarray:
        """:func:`auc_from_ranks` of the prepared columns (``columns``; None: all prepared)."""
        w = np.ones(len(self.positive)) if weights is None else np.asarray(weights, dtype=np.float64)
        if weights is not None and not np.array_equal(w, np.round(w)):
            raise ValueError("weights must be integer multiplicities")
        w_pos, w_neg = w * self.positive, w * ~self.positive
        n_pos, n_neg = float(w_pos.sum()), float(w_neg.sum())
        columns = list(self.rows) if columns is None else [int(c) for c in columns]
        out = np.full(len(columns), np.nan)
        if n_pos == 0 or n_neg == 0:
            return out
        for j, c in enumerate(columns):
            both = np.bincount(self.codes[c], weights=w[self.rows[c]], minlength=2 * self.size[c])
            neg, pos = both[0::2], both[1::2]
            m = self.mode[c]
            neg[m], pos[m] = n_neg - neg.sum(), n_pos - pos.sum()  # exact: sums of integers
            below = np.cumsum(neg) - neg  # negatives strictly below each distinct value
            out[j] = float(np.sum(pos * (below + 0.5 * neg))) / (n_pos * n_neg)  # no BLAS call: ~10× faster here
        return out


def quadrants(loadings: np.ndarray) -> np.ndarray:
    """Per neuron, its quadrant of the (PC1, PC2) loadings (2, d): ``top_right`` (both > 0), ``top_left``
    (PC1 < 0 < PC2), else ``other``. Orient both components first (the clue positive on each)."""
    pc1, pc2 = np.asarray(loadings)
    return np.where((pc1 > 0) & (pc2 > 0), TOP_RIGHT, np.where((pc1 < 0) & (pc2 > 0), TOP_LEFT, OTHER))


def in_own_quadrant(quadrant: np.ndarray, one: np.ndarray, anti_one: np.ndarray) -> np.ndarray:
    """Per neuron: a "1" detector in the top-right quadrant, or an "anti-1" detector in the top-left one."""
    return ((quadrant == TOP_RIGHT) & one) | ((quadrant == TOP_LEFT) & anti_one)


def oriented_loadings(components: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Each component's loadings (k, d) with its sign chosen so that ``reference`` (a point's k coordinates, e.g.
    the clue's) is positive on it: a principal component's sign is a convention, the write-up's plot has the clue
    top right."""
    signs = np.where(np.asarray(reference) < 0, -1.0, 1.0)
    return np.asarray(components) * signs[:, None]
