"""The PCA plane of the 200 neurons and the V in it: two arms, each a line, meeting at a corner.

All statistics here are invariant to permuting the neurons and to scaling the activations (lines, angles,
R², rank statistics), so a checkpoint with fc1 scaled up and fc2 scaled down gives the same verdicts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis import weighted

_CHUNK = 8192


@dataclass(frozen=True)
class PCA:
    """A principal-component projection fitted on a set of activations."""

    mean: np.ndarray  # (D,)
    components: np.ndarray  # (k, D), unit rows
    explained_variance_ratio: np.ndarray  # (k,)

    def transform(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.mean.shape[0]:
            raise ValueError(f"expected activations of shape (N, {self.mean.shape[0]}), got {x.shape}")
        out = np.empty((len(x), len(self.components)))
        for start in range(0, len(x), _CHUNK):  # float64 in chunks: exact enough, no 100 MB temporaries
            out[start : start + _CHUNK] = x[start : start + _CHUNK].astype(np.float64) @ self.components.T
        return out - self.mean @ self.components.T

    def direction(self, vector: np.ndarray) -> np.ndarray:
        """A direction of activation space (e.g. the logit-diff direction) expressed in the PCA plane."""
        return self.components @ np.asarray(vector, dtype=np.float64)


def fit_pca(x: np.ndarray, k: int = 2, weights: np.ndarray | None = None) -> PCA:
    """PCA by eigendecomposition of the covariance (float64).

    Equal to scikit-learn's ``PCA(k)`` up to each component's sign (``tests/`` checks this); computed in
    numpy because importing scikit-learn costs ~1.1 s, a fifth of a warm run. Sign convention: each
    component's largest-magnitude loading is positive, so results are deterministic.
    """
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[0] < 2 or not 1 <= k <= x.shape[1]:
        raise ValueError(f"PCA needs an (N >= 2, D >= {k}) matrix, got {x.shape}")
    w = None if weights is None else np.asarray(weights, dtype=np.float64)
    mean = x.mean(axis=0, dtype=np.float64) if w is None else weighted.mean(x, w)
    cov = np.zeros((x.shape[1], x.shape[1]))
    for start in range(0, len(x), _CHUNK):
        centred = x[start : start + _CHUNK].astype(np.float64) - mean
        cov += centred.T @ (centred if w is None else centred * w[start : start + _CHUNK, None])
    cov /= (len(x) if w is None else w.sum()) - 1
    values, vectors = np.linalg.eigh(cov)
    order = np.argsort(values)[::-1]
    values, vectors = values[order], vectors[:, order]
    comps = vectors[:, :k].T.copy()
    signs = np.sign(comps[np.arange(k), np.argmax(np.abs(comps), axis=1)])
    comps *= np.where(signs == 0, 1.0, signs)[:, None]
    total = float(values.sum())
    ratio = values[:k] / total if total > 0 else np.zeros(k)
    return PCA(mean=mean, components=comps, explained_variance_ratio=ratio)


def block_moments(x: np.ndarray, block: int = 100) -> dict[str, np.ndarray]:
    """Per block of ``block`` consecutive rows: count, sum and sum of outer products (the last block may be
    smaller). A bootstrap over blocks gives a PCA's sampling spread at the cost of a (blocks × D²) sum."""
    x = np.asarray(x, dtype=np.float64)
    n = len(x) // block * block
    b = x[:n].reshape(-1, block, x.shape[1])
    sums, outer = b.sum(axis=1), np.einsum("bij,bik->bjk", b, b)
    if n < len(x):  # the rest as one last (smaller) block
        rest = x[n:]
        sums, outer = np.vstack([sums, rest.sum(0)[None]]), np.concatenate([outer, (rest.T @ rest)[None]])
    counts = np.full(len(sums), block, dtype=np.float64)
    counts[-1] = len(x) - block * (len(sums) - 1)
    return {"n": counts, "sum": sums, "outer": outer}


def moments_pca(
    moments: dict[str, np.ndarray], weights: np.ndarray | None = None, k: int = 2
) -> tuple[np.ndarray, np.ndarray]:
    """(the ``k`` leading components (k, D), their explained-variance ratios (k,)) of the rows whose
    :func:`block_moments` are given, each block counted ``weights`` times (the covariance's eigenvectors, as
    :func:`fit_pca`; signs as numpy's eigh gives them)."""
    w = np.ones(len(moments["n"])) if weights is None else np.asarray(weights, dtype=np.float64)
    n = w @ moments["n"]
    mean = (w @ moments["sum"]) / n
    cov = np.tensordot(w, moments["outer"], axes=1) / n - np.outer(mean, mean)
    values, vectors = np.linalg.eigh(cov)
    values, vectors = values[::-1], vectors[:, ::-1]
    total = float(values.sum())
    return vectors[:, :k].T, (values[:k] / total if total > 0 else np.zeros(k))


def moments_variance_ratios(
    moments: dict[str, np.ndarray], components: np.ndarray, weights: np.ndarray | None = None
) -> np.ndarray:
    """The share of the variance of the rows whose :func:`block_moments` are given along each of ``components``
    (k, D; unit rows fitted elsewhere, e.g. on other images), each block counted ``weights`` times."""
    w = np.ones(len(moments["n"])) if weights is None else np.asarray(weights, dtype=np.float64)
    n = w @ moments["n"]
    mean = (w @ moments["sum"]) / n
    cov = np.tensordot(w, moments["outer"], axes=1) / n - np.outer(mean, mean)
    total = float(np.trace(cov))
    along = np.einsum("kd,de,ke->k", components, cov, components)
    return along / total if total > 0 else np.zeros(len(components))


def line_r2(line: Line, points: np.ndarray, weights: np.ndarray | None = None) -> float:
    """The share of the points' variance (about their mean) along a line fitted elsewhere: for the points the
    line was fitted on, its own ``r2``."""
    p = np.asarray(points, dtype=np.float64)
    if weighted.total(weights, np.ones(len(p), dtype=bool)) < 2:
        return float("nan")
    centred = p - (p.mean(axis=0) if weights is None else weighted.mean(p, weights))
    w = np.ones(len(p)) if weights is None else np.asarray(weights, dtype=np.float64)
    total = float(w @ np.sum(centred**2, axis=1))
    return float(w @ (centred @ line.direction) ** 2) / total if total > 0 else 0.0


def _cov2(sx: np.ndarray, sy: np.ndarray, sxx: np.ndarray, syy: np.ndarray, sxy: np.ndarray, n: np.ndarray):
    mx, my = sx / n, sy / n
    return sxx / n - mx * mx, syy / n - my * my, sxy / n - mx * my


def _eig2(a: np.ndarray, c: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (small, large) of symmetric 2×2 matrices [[a, b], [b, c]], vectorised."""
    mid = (a + c) / 2
    rad = np.sqrt(np.maximum(((a - c) / 2) ** 2 + b * b, 0.0))
    return mid - rad, mid + rad


@dataclass(frozen=True)
class Line:
    """A line fitted to 2-D points by total least squares (orientation-free)."""

    centre: np.ndarray
    direction: np.ndarray  # unit
    r2: float  # fraction of the points' variance along the line


def fit_line(points: np.ndarray, weights: np.ndarray | None = None) -> Line:
    """Total-least-squares line: the principal axis of the points (``weights``: integer multiplicities).
    ``r2`` = λ_max / (λ_max + λ_min)."""
    p = np.asarray(points, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 2 or weighted.total(weights, np.ones(len(p), dtype=bool)) < 2:
        raise ValueError(f"need at least two 2-D points, got shape {p.shape}")
    if weights is None:
        centre = p.mean(axis=0)
        values, vectors = np.linalg.eigh(np.cov((p - centre).T))
    else:
        centre = weighted.mean(p, weights)
        values, vectors = np.linalg.eigh(np.cov((p - centre).T, fweights=np.asarray(weights)))
    total = float(values.sum())
    return Line(centre, vectors[:, 1], float(values[1] / total) if total > 0 else 0.0)


@dataclass(frozen=True)
class Arm:
    members: np.ndarray  # boolean mask over the points
    line: Line
    outward: np.ndarray  # unit direction from the corner along the arm


@dataclass(frozen=True)
class VShape:
    split: float  # PC1 value separating the two arms
    corner: np.ndarray  # where the two arm lines cross
    left: Arm  # PC1 below the split
    right: Arm

    @property
    def arms(self) -> tuple[Arm, Arm]:
        return self.left, self.right

    @property
    def opening_angle_deg(self) -> float:
        return angle_deg(self.left.outward, self.right.outward)

    @property
    def corner_direction(self) -> np.ndarray:
        """Unit vector from the arms towards the corner: minus the bisector of the two outward directions."""
        b = self.left.outward + self.right.outward
        n = np.linalg.norm(b)
        return -b / n if n > 0 else np.zeros(2)

    def arm_of(self, point: np.ndarray) -> Arm:
        return self.left if point[0] < self.split else self.right


def angle_deg(u: np.ndarray, v: np.ndarray) -> float:
    nu, nv = np.linalg.norm(u), np.linalg.norm(v)
    if nu == 0 or nv == 0:
        return float("nan")
    return float(np.degrees(np.arccos(np.clip(np.dot(u, v) / (nu * nv), -1.0, 1.0))))


def best_split(coords: np.ndarray, min_fraction: float = 0.01, weights: np.ndarray | None = None) -> float:
    """The PC1 value that splits the points into two groups best described by one line each.

    Minimises the summed squared distance of every point to its group's total-least-squares line over every
    split position (prefix sums make this O(N log N)). Uses no labels: the corner is found from geometry alone.
    ``weights``: integer multiplicities (a split falls between two distinct points of positive weight).
    """
    p = np.asarray(coords, dtype=np.float64)
    if weights is not None:
        w = np.asarray(weights)
        p, w = p[w > 0], w[w > 0]
    order = np.argsort(p[:, 0], kind="stable")
    x, y = p[order, 0], p[order, 1]
    if weights is None:
        n = len(x)
        m = max(2, int(np.ceil(min_fraction * n)))
        if n < 2 * m:
            raise ValueError(f"too few points ({n}) to fit two arms")
        cs = [np.concatenate([[0.0], np.cumsum(v)]) for v in (x, y, x * x, y * y, x * y)]
        k = np.arange(m, n - m + 1)  # left group = first k points
        tot = [c[-1] for c in cs]
        left = _cov2(*(c[k] for c in cs), k.astype(np.float64))
        right = _cov2(*(t - c[k] for c, t in zip(cs, tot)), (n - k).astype(np.float64))
        resid = k * _eig2(*left)[0] + (n - k) * _eig2(*right)[0]
        best = int(k[np.argmin(resid)])
        return float((x[best - 1] + x[best]) / 2)
    w = w[order].astype(np.float64)
    count = np.concatenate([[0.0], np.cumsum(w)])
    n = count[-1]
    m = max(2, int(np.ceil(min_fraction * n)))
    if n < 2 * m:
        raise ValueError(f"too few points ({int(n)}) to fit two arms")
    cs = [np.concatenate([[0.0], np.cumsum(w * v)]) for v in (x, y, x * x, y * y, x * y)]
    k = np.flatnonzero((count >= m) & (count <= n - m))  # left group = first k distinct points
    k = k[(k > 0) & (k < len(x))]
    if not len(k):
        raise ValueError("too few distinct points to fit two arms")
    tot = [c[-1] for c in cs]
    nk = count[k]
    left = _cov2(*(c[k] for c in cs), nk)
    right = _cov2(*(t - c[k] for c, t in zip(cs, tot)), n - nk)
    resid = nk * _eig2(*left)[0] + (n - nk) * _eig2(*right)[0]
    best = int(k[np.argmin(resid)])
    return float((x[best - 1] + x[best]) / 2)


class NoV(ValueError):
    """The points have no V to fit (no spread at all, or everything on one side of every split)."""


def fit_v(coords: np.ndarray, weights: np.ndarray | None = None) -> VShape:
    """Fit the V: split the points along PC1 (:func:`best_split`), fit a line to each arm, cross the lines.
    Raises :class:`NoV` when there is nothing to fit (e.g. a network whose neurons never fire). ``weights``:
    integer multiplicities; the arms' members are then every point on its side, of any weight."""
    p = np.asarray(coords, dtype=np.float64)
    w = None if weights is None else np.asarray(weights)
    fitted = p if w is None else p[w > 0]
    if len(fitted) < 4 or not np.all(np.isfinite(fitted)) or np.ptp(fitted[:, 0]) == 0:
        raise NoV(f"{len(fitted)} points with no spread along PC1")
    try:
        split = best_split(p, weights=w)
    except ValueError as exc:
        raise NoV(str(exc)) from None
    left_mask = p[:, 0] < split
    if weighted.total(w, left_mask) < 2 or weighted.total(w, ~left_mask) < 2:
        raise NoV("one side of the best split holds fewer than two points")
    lines = [
        fit_line(p[left_mask], None if w is None else w[left_mask]),
        fit_line(p[~left_mask], None if w is None else w[~left_mask]),
    ]
    a, b = lines
    system = np.stack([a.direction, -b.direction], axis=1)
    if abs(np.linalg.det(system)) < 1e-9:
        corner = (a.centre + b.centre) / 2  # parallel arms: no crossing; take the midpoint
    else:
        t = np.linalg.solve(system, b.centre - a.centre)[0]
        corner = a.centre + t * a.direction
    arms = []
    for mask, line in ((left_mask, a), (~left_mask, b)):
        out = line.direction if np.dot(line.centre - corner, line.direction) >= 0 else -line.direction
        arms.append(Arm(mask, line, out))
    return VShape(split=split, corner=corner, left=arms[0], right=arms[1])


def auc(scores: np.ndarray, positive: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Probability that a random positive scores higher than a random negative (ties count ½): the
    Mann–Whitney form of the ROC AUC (``tests/`` checks it against scikit-learn)."""
    positive = np.asarray(positive, dtype=bool)
    n_pos, n_neg = weighted.total(weights, positive), weighted.total(weights, ~positive)
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    if weights is not None:
        rank = weighted.ranks(scores, weights)
        w = np.asarray(weights, dtype=np.float64)
        return float(((w * rank)[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    avg_rank = ends - (counts - 1) / 2.0  # 1-based average rank of each distinct value
    ranks = avg_rank[inverse]
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def arms_by_content(v: VShape, one_like: np.ndarray, weights: np.ndarray | None = None) -> tuple[Arm, Arm]:
    """(the "1" arm, the "anti-1" arm): the arm with the larger share of 1-like images is the "1" arm.

    Decided by the data (the regions of s), not by PCA signs, so "top-right"/"left" need no convention."""
    share = [
        float(weighted.mean(one_like, weights, arm.members)) if weighted.total(weights, arm.members) else 0.0
        for arm in v.arms
    ]
    return (v.left, v.right) if share[0] > share[1] else (v.right, v.left)


def ranks(values: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """1-based ranks, ties sharing their average rank (as in the Spearman correlation)."""
    return weighted.ranks(values, weights)


def pearson(a: np.ndarray, b: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Pearson's correlation (NaN if either is constant)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if weights is None:
        return float(np.corrcoef(a, b)[0, 1])
    w = np.asarray(weights, dtype=np.float64)
    a, b = a - (w @ a) / w.sum(), b - (w @ b) / w.sum()
    denom = float(np.sqrt((w @ (a * a)) * (w @ (b * b))))
    return float((w @ (a * b)) / denom) if denom > 0 else float("nan")


def spearman(a: np.ndarray, b: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Spearman's rank correlation: the Pearson correlation of the two rank vectors (NaN if either is constant)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.ndim != 1 or len(a) < 2:
        raise ValueError(f"need two 1-D arrays of the same length >= 2, got {a.shape} and {b.shape}")
    if weights is not None:
        return pearson(ranks(a, weights), ranks(b, weights), weights)
    ra, rb = ranks(a) - (len(a) + 1) / 2.0, ranks(b) - (len(b) + 1) / 2.0
    denom = float(np.sqrt((ra @ ra) * (rb @ rb)))
    return float(ra @ rb / denom) if denom > 0 else float("nan")


def orientation(coordinate_of_reference: float) -> float:
    """+1 or -1: the sign that makes a reference point's coordinate positive (e.g. the clue on PC1 and PC2,
    since a principal component's sign is a convention). +1 when the reference sits at 0."""
    return -1.0 if coordinate_of_reference < 0 else 1.0


def top_loading_union(vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The union of the ``k`` entries of largest magnitude of each row of ``vectors`` (m, D), and the share of
    each row's squared norm that this union carries (m,)."""
    v = np.asarray(vectors, dtype=np.float64)
    if v.ndim != 2 or not 1 <= k <= v.shape[1]:
        raise ValueError(f"need (m, D) vectors with 1 <= k <= D, got shape {v.shape} and k={k}")
    union = np.unique(np.concatenate([np.argsort(-np.abs(row), kind="stable")[:k] for row in v]))
    norms = (v * v).sum(axis=1)
    carried = (v[:, union] ** 2).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(norms > 0, carried / norms, np.nan)
    return union, share
