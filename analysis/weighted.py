"""Statistics over images with per-image weights: a bootstrap resample is a vector of multiplicities (integer
counts), so a statistic of the resample is the same statistic with weights, without repeating any row.

Every function takes ``weights=None`` for the plain (unweighted) statistic, computed exactly as numpy computes
it; with integer counts each gives what it gives on the rows repeated by their counts."""

from __future__ import annotations

from dataclasses import dataclass

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


#: Rows per block of :func:`column_std`: its deviations (≤ 2 MB for 1,000 columns) stay in cache.
STD_BLOCK = 256


def column_std(values: np.ndarray) -> np.ndarray:
    """``values.std(axis=0, dtype=np.float64)`` of a 2-d array, bit for bit, without numpy's full-size copy of the
    deviations: numpy sums along axis 0 row after row, so a block's squared deviations summed after the running
    total (as the block's first row) continue the very same additions."""
    x = np.asarray(values)
    if x.ndim != 2 or len(x) == 0 or x.shape[1] < 2 or not x.flags.c_contiguous or x.dtype.kind != "f":
        return x.std(axis=0, dtype=np.float64)  # one column is summed pairwise, a view in another order
    n = len(x)
    centre = np.add.reduce(x, axis=0, dtype=np.float64) / n
    block = np.empty((STD_BLOCK + 1, x.shape[1]), dtype=np.float64)
    running = None
    for start in range(0, n, STD_BLOCK):
        rows = x[start : start + STD_BLOCK]
        squares = block[: len(rows) + (running is not None)]
        if running is not None:
            squares[0] = running
        deviations = squares[1:] if running is not None else squares
        np.subtract(rows, centre, out=deviations)
        np.multiply(deviations, deviations, out=deviations)
        running = np.add.reduce(squares, axis=0)
    return np.sqrt(running / n)


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


@dataclass(frozen=True)
class SortedColumns:
    """Columns of ``values`` sorted once, with the rows ``where`` their medians are taken over: the summary that
    makes :meth:`medians` of many resamples cheap. A resample's median lies near the full sample's, so each
    column keeps a window of sorted positions around it and the rows of ``where`` that sort before that window:
    the weight below the window is one sum over those rows, and only the window's weights are summed in order.
    Exact: a column whose resample median falls outside its window is computed whole (:func:`median_columns`)."""

    values: np.ndarray  # (N, k): the summarised columns
    order: np.ndarray  # (N, k): each column's stable argsort
    where: np.ndarray  # (N,) bool: the rows a median is taken over
    window: np.ndarray  # (W, k): the rows at each column's W sorted positions around the full sample's median
    before: np.ndarray  # the rows of ``where`` that sort before the window: column 0's, then column 1's, ...
    ends: np.ndarray  # (k + 1,): column j's rows are before[ends[j]:ends[j + 1]]
    index: np.ndarray  # per column of the caller's array, its column here (-1: not summarised)

    @classmethod
    def of(
        cls,
        values: np.ndarray,
        where: np.ndarray,
        columns: np.ndarray | None = None,
        order: np.ndarray | None = None,
        half_width: int | None = None,
    ) -> SortedColumns:
        """``columns``: which columns of ``values`` to summarise (indices; all if None); ``order``: their argsort,
        if known; ``half_width``: rows of ``where`` kept on each side of the median (by default 4√N, about 7
        bootstrap standard errors of a median's position: a resample rarely falls outside)."""
        full = np.asarray(values)
        columns = np.arange(full.shape[1]) if columns is None else np.asarray(columns)
        cols = full[:, columns]
        where = np.asarray(where, dtype=bool)
        n, k = cols.shape
        order = np.argsort(cols, axis=0, kind="stable") if order is None else np.asarray(order)
        m = int(where.sum())
        half = max(64, int(4 * np.sqrt(m))) if half_width is None else int(half_width)
        # per column, how many rows of ``where`` sort at or before each position
        seen = np.cumsum(where[order], axis=0, dtype=np.int64)
        first, last = max((m - 1) // 2 - half, 0), min(m // 2 + half, max(m - 1, 0))
        start = (seen <= first).sum(axis=0)  # the sorted position of the window's first row of ``where``
        stop = (seen <= last).sum(axis=0) + 1  # one past the position of its last
        width = int(min(max(int((stop - start).max(initial=1)), 1), n))
        start = np.minimum(start, n - width)
        window = np.take_along_axis(order, start[None, :] + np.arange(width)[:, None], axis=0)
        before = [order[: start[j], j][where[order[: start[j], j]]] for j in range(k)]
        ends = np.concatenate([[0], np.cumsum([len(b) for b in before])]).astype(np.int64)
        index = np.full(full.shape[1], -1)
        index[columns] = np.arange(k)
        return cls(cols, order, where, window, np.concatenate(before).astype(np.intp), ends, index)

    def medians(self, weights: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """Per column of ``columns`` (the caller's indices), the median of its rows in ``where`` repeated by their
        integer ``weights``: what :func:`median_columns` gives, without its sum over each whole column."""
        cols = self.index[np.asarray(columns)]
        if np.any(cols < 0):
            raise ValueError("medians of columns that are not summarised")
        w = np.where(self.where, np.asarray(weights), 0).astype(np.int64)
        size = int(w.sum())
        if size == 0:
            raise ValueError("a median of no rows")
        lower, upper = (size - 1) // 2, size // 2
        running = np.concatenate([[0], np.cumsum(w[self.before])])
        base = running[self.ends[cols + 1]] - running[self.ends[cols]]  # the weight sorted before each window
        rows = self.window[:, cols]
        cum = base[None, :] + np.cumsum(w[rows], axis=0)
        inside = (base <= lower) & (cum[-1] > upper)
        at = np.arange(len(cols))
        lo = rows[np.argmax(cum > lower, axis=0), at]
        hi = rows[np.argmax(cum > upper, axis=0), at]
        # as median_columns: the two middle values added in the columns' own precision
        out = ((self.values[lo, cols] + self.values[hi, cols]) / 2).astype(np.float64)
        for j in np.flatnonzero(~inside):
            c = cols[j]
            out[j] = median_columns(self.values[:, [c]], w, self.order[:, [c]])[0]
        return out


@dataclass(frozen=True)
class Moments:
    """The columns of an array that are not 0 throughout, converted to float64 once, with their squares (each
    squared in the array's own precision): many resamples' weighted means and mean squares read them without
    converting again, and a column that is 0 throughout has mean 0. (A product over these columns alone adds in
    another order than one over all of them: the same numbers up to the last bits.)"""

    common: np.ndarray  # bool over the columns: those not 0 throughout
    values: np.ndarray  # (N, common.sum()) float64
    squares: np.ndarray  # (N, common.sum()) float64

    @classmethod
    def of(cls, x: np.ndarray) -> Moments:
        x = np.asarray(x)
        common = np.any(x != 0, axis=0)
        c = x[:, common]
        return cls(common, c.astype(np.float64), (c * c).astype(np.float64))

    def _full(self, part: np.ndarray) -> np.ndarray:
        out = np.zeros(len(self.common))
        out[self.common] = part
        return out

    def mean(self, weights: np.ndarray, where: np.ndarray | None = None) -> np.ndarray:
        """Per column, the weighted mean over the rows ``where`` (all if None), as :func:`mean`."""
        return self._full(mean(self.values, weights, where))

    def mean_squares(self, weights: np.ndarray) -> np.ndarray:
        """Per column, the weighted mean of its squares."""
        return self._full(mean(self.squares, weights))
