"""Statistics over images with per-image weights: a bootstrap resample is a vector of multiplicities (integer
counts), so a statistic of the resample is the same statistic with weights, without repeating any row.

Every function takes ``weights=None`` for the plain (unweighted) statistic, computed exactly as numpy computes
it; with integer counts each gives what it gives on the rows repeated by their counts."""

from __future__ import annotations

import numpy as np


def mean(values: np.ndarray, weights: np.ndarray | None = None, where: np.ndarray | None = None) -> np.ndarray | float:
    """Mean along axis 0 over the rows in ``where`` (all rows if None)."""
    v = np.asarray(values)
    if weights is None:
        return (v if where is None else v[where]).mean(axis=0)
    w = np.asarray(weights, dtype=np.float64)
    if where is not None:
        w = w * where
    v = v if v.dtype == np.float64 else v.astype(np.float64)
    if v.ndim == 1:
        return float(np.dot(w, v)) / w.sum()
    return (v.reshape(len(v), -1).T @ w).reshape(v.shape[1:]) / w.sum()


def total(weights: np.ndarray | None, where: np.ndarray) -> float:
    """How many rows ``where`` holds (counted with their weights)."""
    where = np.asarray(where, dtype=bool)
    return int(where.sum()) if weights is None else float(np.asarray(weights)[where].sum())


def present(n: int, weights: np.ndarray | None) -> np.ndarray:
    """The rows that are in the sample (all, or those of positive weight)."""
    return np.ones(n, dtype=bool) if weights is None else np.asarray(weights) > 0


def median(values: np.ndarray, weights: np.ndarray | None = None) -> float:
    """The median (of two middle values, their mean), as np.median of the repeated rows."""
    v = np.asarray(values, dtype=np.float64)
    if weights is None:
        return float(np.median(v))
    order = np.argsort(v, kind="stable")
    return float(median_columns(v[:, None], weights, order[:, None])[0])


def median_columns(columns: np.ndarray, weights: np.ndarray, order: np.ndarray | None = None) -> np.ndarray:
    """Per column of ``columns`` (N, k), the median of its rows repeated by their (integer) ``weights``.
    ``order``: the columns' argsort along axis 0, when it is known already (it does not depend on the weights)."""
    cols = np.asarray(columns)
    order = np.argsort(cols, axis=0, kind="stable") if order is None else order
    w = np.asarray(weights)
    cum = np.cumsum(w[order], axis=0)
    size = cum[-1]
    if np.any(size == 0):
        raise ValueError("a median of no rows")
    lower, upper = (size - 1) // 2, size // 2
    # the value at 0-based position p of the repeated sorted column is the first sorted row whose cumulative count
    # exceeds p
    out = np.empty(cols.shape[1])
    for j in range(cols.shape[1]):
        rows = order[np.searchsorted(cum[:, j], [lower[j], upper[j]], side="right"), j]
        out[j] = (float(cols[rows[0], j]) + cols[rows[1], j]) / 2
    return out


def ranks(values: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Per row, its 1-based rank, ties sharing their average rank; with weights, the average rank its copies
    have among the repeated rows (rows of weight 0 get the rank they would have)."""
    values = np.asarray(values)
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    if weights is None:
        ends = np.cumsum(counts)
        return (ends - (counts - 1) / 2.0)[inverse]
    mass = np.bincount(inverse, weights=weights, minlength=len(counts))
    return (np.cumsum(mass) - mass + (mass + 1) / 2)[inverse]
