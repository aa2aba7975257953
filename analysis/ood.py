"""Falsification beyond the data: input families nobody trained on, on which the network and the recovered
function (class 0 iff ``L < s < R``) must agree if the write-up's mechanism — a linear similarity ``s`` to the clue
template, labelled by a band — is what the network computes.

Each family draws its parameters (and source images from the training set), builds the images, and states what
``s`` does under it. The function's label comes from ``s`` of the generated image, the network's from its logits.
The verdict rule is fixed here, before measuring:

- agreement is measured on a fixed, seeded sample of :data:`SAMPLE` inputs per family, overall and among the
  inputs whose ``s`` lies more than :data:`MARGIN` (5%) of the training set's range of ``s`` from both thresholds —
  where the write-up's explanation, if right, leaves no doubt;
- the explanation *generalises* to a family when that far-from-threshold agreement is ≥ :data:`GENERALISES` (95%),
  and *breaks* otherwise.

Every generated image is a float64 pixel array in 0..255, so ``s`` and the numpy network see exactly the same input.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from analysis.labelling import L_THRESHOLD, R_THRESHOLD, band_labels, similarity

#: The rule, fixed before measuring (issue 11).
MARGIN = 0.05  # "far from the thresholds": more than 5% of the training set's range of s from both L and R
GENERALISES = 0.95  # far-from-threshold agreement needed for "generalises"
SAMPLE = 2000  # generated inputs per family for the verdict
SEED = 20261126  # the fixed sample's seed (one stream per family, see :func:`sample_params`)
MAX_SHIFT = 3
MAX_SALT = 40  # at most this many salt pixels
PATCH = (4, 12)  # occluding square patches, side in pixels
BOOTSTRAP = 200  # resamples for the switch points' intervals
SAME = 1e-9  # relative difference of two logit diffs below which they are the same value up to float64 rounding


@dataclass(frozen=True)
class Family:
    name: str
    description: str
    prediction: str  # what the linear s says happens under the transformation
    continuous: str | None = None  # the continuous parameter, for families whose switch points are fitted


FAMILIES: dict[str, Family] = {f.name: f for f in (
    Family("scale", "intensity scaling α·x of a training image, α uniform in [0, 1]", "s(α·x) = α·s(x)", "alpha"),
    Family("invert", "inversion 255 − x of a training image", "s(255 − x) = 255·Σt − s(x)"),
    Family("blend", "blend λ·x₁ + (1 − λ)·x₂ of two training images, λ uniform in [0, 1]",
           "s(λx₁ + (1 − λ)x₂) = λ·s(x₁) + (1 − λ)·s(x₂)", "lam"),
    Family("shift", f"translation of a training image by 1–{MAX_SHIFT} pixels in each direction (zero fill)",
           "s(shifted x) = Σ shifted-x·t: the ink moves over the template"),
    Family("salt", f"1–{MAX_SALT} salt pixels set to 255 on a training image",
           "s changes by Σ (255 − x_p)·t_p over the salted pixels p"),
    Family("occlude", f"a square patch ({PATCH[0]}–{PATCH[1]} px) of a training image set to 0 or 255",
           "s changes by Σ (v − x_p)·t_p over the patch"),
    Family("constant", "constant images c, c uniform in [0, 255]", "s(c) = c·Σt"),
)}


# ----------------------------------------------------------------------------------------------- generators


def generate(family: str, params: Mapping[str, np.ndarray], sources: np.ndarray) -> np.ndarray:
    """The images (n, 28, 28) float64 of ``family`` for parameter arrays of length n (see :func:`sample_params`);
    ``sources`` is the training set (uint8), indexed by the ``source`` (and ``other``) parameters."""
    if family not in FAMILIES:
        raise ValueError(f"unknown input family {family!r}; choose one of {', '.join(FAMILIES)}")
    if family == "constant":
        c = np.asarray(params["c"], dtype=np.float64)
        return np.broadcast_to(c[:, None, None], (len(c), 28, 28)).copy()
    x = sources[np.asarray(params["source"], dtype=np.int64)].astype(np.float64)
    if family == "scale":
        return x * np.asarray(params["alpha"], dtype=np.float64)[:, None, None]
    if family == "invert":
        return 255.0 - x
    if family == "blend":
        lam = np.asarray(params["lam"], dtype=np.float64)[:, None, None]
        return lam * x + (1.0 - lam) * sources[np.asarray(params["other"], dtype=np.int64)].astype(np.float64)
    if family == "shift":
        return _shift(x, np.asarray(params["dy"]), np.asarray(params["dx"]))
    if family == "salt":
        pixels = np.asarray(params["pixels"], dtype=np.int64).reshape(len(x), -1)  # -1 = unused slot
        flat = x.reshape(len(x), 784)
        rows, cols = np.nonzero(pixels >= 0)
        flat[rows, pixels[rows, cols]] = 255.0
        return flat.reshape(len(x), 28, 28)
    # occlude
    size, r, c, v = (np.asarray(params[k]) for k in ("size", "row", "col", "value"))
    ii = np.arange(28)
    inside_r = (ii[None, :] >= r[:, None]) & (ii[None, :] < (r + size)[:, None])
    inside_c = (ii[None, :] >= c[:, None]) & (ii[None, :] < (c + size)[:, None])
    patch = inside_r[:, :, None] & inside_c[:, None, :]
    return np.where(patch, np.asarray(v, dtype=np.float64)[:, None, None], x)


def _shift(x: np.ndarray, dy: np.ndarray, dx: np.ndarray) -> np.ndarray:
    """Each image moved by (dy, dx) pixels (down, right), the uncovered border set to 0."""
    out = np.zeros_like(x)
    for a in np.unique(dy):
        for b in np.unique(dx):
            k = (dy == a) & (dx == b)
            if not k.any():
                continue
            a, b = int(a), int(b)
            out[k, max(a, 0) : 28 + min(a, 0), max(b, 0) : 28 + min(b, 0)] = \
                x[k, max(-a, 0) : 28 + min(-a, 0), max(-b, 0) : 28 + min(-b, 0)]
    return out


def sample_params(family: str, n: int, n_sources: int, seed: int = SEED) -> dict[str, np.ndarray]:
    """The fixed sample: ``n`` parameter draws of ``family`` from a seeded generator (one stream per family)."""
    rng = np.random.default_rng([seed, list(FAMILIES).index(family)])
    src = rng.integers(0, n_sources, n)
    if family == "scale":
        return {"source": src, "alpha": rng.uniform(0.0, 1.0, n)}
    if family == "invert":
        return {"source": src}
    if family == "blend":
        return {"source": src, "other": rng.integers(0, n_sources, n), "lam": rng.uniform(0.0, 1.0, n)}
    if family == "shift":
        offsets = [(a, b) for a in range(-MAX_SHIFT, MAX_SHIFT + 1) for b in range(-MAX_SHIFT, MAX_SHIFT + 1) if (a, b) != (0, 0)]
        pick = np.array(offsets)[rng.integers(0, len(offsets), n)]
        return {"source": src, "dy": pick[:, 0], "dx": pick[:, 1]}
    if family == "salt":
        k = rng.integers(1, MAX_SALT + 1, n)
        order = np.argsort(rng.random((n, 784)), axis=1)[:, :MAX_SALT]  # distinct pixels per image
        return {"source": src, "pixels": np.where(np.arange(MAX_SALT)[None, :] < k[:, None], order, -1)}
    if family == "occlude":
        size = rng.integers(PATCH[0], PATCH[1] + 1, n)
        return {"source": src, "size": size, "row": rng.integers(0, 29 - size), "col": rng.integers(0, 29 - size),
                "value": rng.choice([0, 255], n)}
    if family == "constant":
        return {"c": rng.uniform(0.0, 255.0, n)}
    raise ValueError(f"unknown input family {family!r}; choose one of {', '.join(FAMILIES)}")


def one(params: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """One example's parameters (scalars, or a list for ``pixels``) as length-1 arrays for :func:`generate`."""
    out = {}
    for k, v in params.items():
        if k == "pixels":
            v = list(v) + [-1] * (MAX_SALT - len(v))
        out[k] = np.asarray([v])
    return out


def params_of(params: Mapping[str, np.ndarray], k: int) -> dict[str, Any]:
    """Example ``k`` of a parameter sample as plain JSON values (enough to regenerate it exactly)."""
    out: dict[str, Any] = {}
    for name, arr in params.items():
        v = arr[k]
        if name == "pixels":
            out[name] = [int(p) for p in v if p >= 0]
        elif np.issubdtype(arr.dtype, np.integer):
            out[name] = int(v)
        else:
            out[name] = float(v)
    return out


# ----------------------------------------------------------------------------------------------- measuring


def far_from_thresholds(s: np.ndarray, margin: float, low: float = L_THRESHOLD, high: float = R_THRESHOLD) -> np.ndarray:
    """Inputs whose s lies more than ``margin`` from both thresholds."""
    return (np.abs(s - low) > margin) & (np.abs(s - high) > margin)


def disagreement_confidence(function_label: np.ndarray, logit_diff: np.ndarray) -> np.ndarray:
    """How confidently the network says the other class than the function: its logit difference towards the
    other class (positive = the network disagrees, by that many logits)."""
    return np.where(function_label == 0, logit_diff, -logit_diff)


def verdict_for(far_agreement: float | None) -> str:
    """``generalises`` (far-from-threshold agreement ≥ 95%), ``breaks``, or ``undetermined`` (no input far)."""
    if far_agreement is None:
        return "undetermined"
    return "generalises" if far_agreement >= GENERALISES else "breaks"


@dataclass
class FamilySample:
    """The fixed sample of one family, seen by the function and by the network."""

    family: str
    params: dict[str, np.ndarray]
    s: np.ndarray
    logit_diff: np.ndarray
    margin: float

    @property
    def function_labels(self) -> np.ndarray:
        return band_labels(self.s)

    @property
    def network_labels(self) -> np.ndarray:
        return (self.logit_diff > 0).astype(np.int64)

    @property
    def far(self) -> np.ndarray:
        return far_from_thresholds(self.s, self.margin)

    def far_disagreements(self, limit: int) -> list[dict[str, Any]]:
        """Parameters of up to ``limit`` far-from-threshold disagreements, the network's most confident first."""
        conf = np.where(self.far, disagreement_confidence(self.function_labels, self.logit_diff), -np.inf)
        order = [int(k) for k in np.argsort(-conf, kind="stable")[:limit] if conf[k] > 0]
        return [params_of(self.params, k) for k in order]

    def summary(self) -> dict[str, Any]:
        agree = self.function_labels == self.network_labels
        far = self.far
        far_agreement = float(np.mean(agree[far])) if far.any() else None
        conf = np.where(far, disagreement_confidence(self.function_labels, self.logit_diff), -np.inf)
        worst = int(np.argmax(conf))
        share_one = float(np.mean(self.function_labels[far] == 1)) if far.any() else None
        return {
            "n": int(len(self.s)),
            "agreement": float(np.mean(agree)),
            "n_far": int(far.sum()),
            "far_agreement": far_agreement,
            # what a network answering one class everywhere would score far from the thresholds: the rule's
            # weakness on families whose far inputs are (almost) all one class (e.g. inversion: all class 1)
            "far_function_class_1_share": share_one,
            "constant_answer_far_agreement": None if share_one is None else max(share_one, 1.0 - share_one),
            "verdict": verdict_for(far_agreement),
            "s_range_generated": [float(self.s.min()), float(self.s.max())],
            "worst_in_sample": None if not np.isfinite(conf[worst]) or conf[worst] <= 0 else {
                "params": params_of(self.params, worst), "s": float(self.s[worst]),
                "function_label": int(self.function_labels[worst]), "logit_diff": float(self.logit_diff[worst]),
            },
        }


def measure(family: str, logit_diff_of: Callable[[np.ndarray], np.ndarray], sources: np.ndarray,
            template: np.ndarray, margin: float, n: int = SAMPLE, seed: int = SEED) -> FamilySample:
    params = sample_params(family, n, len(sources), seed)
    images = generate(family, params, sources)
    return FamilySample(family, params, similarity(images, template), logit_diff_of(images), margin)


# ----------------------------------------------------------------------------------------------- switch points


@dataclass(frozen=True)
class Switch:
    """Where the network's label changes along s on one side of the band: the best single threshold (a stump),
    with a bootstrap 95% interval."""

    at: float | None
    low: float | None
    high: float | None
    agreement: float | None
    n: int
    threshold: float  # the write-up's threshold on this side

    def to_json(self) -> dict[str, Any]:
        return {"fitted": self.at, "interval_95": None if self.low is None else [self.low, self.high],
                "stump_agreement": self.agreement, "n": self.n, "write_up": self.threshold,
                "write_up_inside_interval": None if self.low is None else bool(self.low <= self.threshold <= self.high)}


def _stump(s: np.ndarray, ones_below: np.ndarray) -> tuple[float, float]:
    """Best threshold t for labels that are ``first`` below t and the other class above; ``ones_below`` is the
    indicator of the class expected below. Returns (t, agreement)."""
    order = np.argsort(s, kind="stable")
    ss, yb = s[order], ones_below[order].astype(np.int64)
    n = len(ss)
    below_ok = np.concatenate([[0], np.cumsum(yb)])  # k smallest labelled "below" class
    above_ok = (n - np.arange(n + 1)) - (np.sum(yb) - below_ok)  # the rest labelled the other class
    score = below_ok + above_ok
    k = int(np.argmax(score))
    if k == 0:
        t = ss[0] - 1e-9
    elif k == n:
        t = ss[-1] + 1e-9
    else:
        t = 0.5 * (ss[k - 1] + ss[k])
    return float(t), float(score[k] / n)


def switch_point(s: np.ndarray, network_labels: np.ndarray, side: str, seed: int = SEED,
                 low: float = L_THRESHOLD, high: float = R_THRESHOLD) -> Switch:
    """The network's switch near ``low`` (side ``"L"``: class 1 below, 0 above, over s < the band's midpoint) or
    near ``high`` (side ``"R"``: 0 below, 1 above, over s > the midpoint). None when one class is absent there."""
    mid = 0.5 * (low + high)
    keep = s < mid if side == "L" else s > mid
    s_side, y = s[keep], network_labels[keep]
    threshold = low if side == "L" else high
    below_class = 1 if side == "L" else 0
    if len(s_side) == 0 or len(np.unique(y)) < 2:
        return Switch(None, None, None, None, int(len(s_side)), threshold)
    at, agreement = _stump(s_side, y == below_class)
    rng = np.random.default_rng([seed, 0 if side == "L" else 1])
    boots = np.array([_stump(s_side[i], y[i] == below_class)[0] for i in rng.integers(0, len(s_side), (BOOTSTRAP, len(s_side)))])
    lo, hi = np.percentile(boots, [2.5, 97.5])
    return Switch(at, float(lo), float(hi), agreement, int(len(s_side)), threshold)


@dataclass
class Counterexample:
    """A generated input on which the network disagrees with the function while s is far from the thresholds."""

    family: str
    params: dict[str, Any]
    s: float
    function_label: int
    logit_diff: float

    def to_json(self) -> dict[str, Any]:
        return {"params": self.params, "s": self.s, "function_label": self.function_label,
                "network_label": int(self.logit_diff > 0), "logit_diff": self.logit_diff}


# ----------------------------------------------------------------------------------------------- hypothesis search


def strategy(family: str, n_sources: int, known: list[dict[str, Any]] | None = None, only_known: bool = False) -> Any:
    """A hypothesis strategy of one example's parameters, drawn so that shrinking moves towards the smallest
    change: α and λ towards 1 (no change), shifts towards 0, fewer salt pixels, the smallest patch.

    With ``known`` (parameters of the fixed sample's far-from-threshold disagreements, most confident first), it
    draws either one of them with a fraction of its change kept (:func:`toward`) or a fresh example, and shrinks
    towards the former (``only_known``: always the former): the minimal counterexample is then the smallest change
    that keeps a known disagreement."""
    from hypothesis import strategies as st

    fresh = _fresh(family, n_sources)
    if not known:
        return fresh
    # the kept fraction in whole percent: hypothesis shrinks integers towards 0 (floats would stop at 1.0, "simple")
    near = st.builds(lambda k, pct: toward(family, known[k], pct / 100), st.integers(0, len(known) - 1),
                     st.integers(0, 100))
    return near if only_known else st.one_of(near, fresh)


def _fresh(family: str, n_sources: int) -> Any:
    from hypothesis import strategies as st

    source = any_source = st.integers(0, n_sources - 1)
    unit = st.floats(0.0, 1.0, allow_nan=False)
    if family == "scale":
        return st.fixed_dictionaries({"source": source, "alpha": unit.map(lambda u: 1.0 - u)})
    if family == "invert":
        return st.fixed_dictionaries({"source": source})
    if family == "blend":
        return st.fixed_dictionaries({"source": source, "other": any_source, "lam": unit.map(lambda u: 1.0 - u)})
    if family == "shift":
        step = st.integers(-MAX_SHIFT, MAX_SHIFT)
        return st.fixed_dictionaries({"source": source, "dy": step, "dx": step}).filter(lambda p: (p["dy"], p["dx"]) != (0, 0))
    if family == "salt":
        # k pixels of a seeded permutation: shrinking lowers k (the fewest pixels) without walking every position
        return st.builds(lambda src, k, seed: {"source": src, "pixels": salt_pixels(k, seed)},
                         source, st.integers(1, MAX_SALT), st.integers(0, 2**32 - 1))
    if family == "occlude":
        return st.builds(
            lambda src, size, r, c, v: {"source": src, "size": size, "row": min(r, 28 - size), "col": min(c, 28 - size),
                                        "value": v},
            source, st.integers(*PATCH), st.integers(0, 28 - PATCH[0]), st.integers(0, 28 - PATCH[0]),
            st.sampled_from([0, 255]))
    if family == "constant":
        return st.fixed_dictionaries({"c": st.floats(0.0, 255.0, allow_nan=False)})
    raise ValueError(f"unknown input family {family!r}; choose one of {', '.join(FAMILIES)}")


def toward(family: str, params: Mapping[str, Any], u: float) -> dict[str, Any]:
    """``params`` with only a fraction ``u`` of its change kept (u = 1: as drawn; u → 0: the smallest change the
    family allows): α and λ move towards 1, a shift towards one pixel, salt keeps its first ⌈u·k⌉ pixels, a patch
    shrinks towards its smallest side (top-left corner kept); inversion and constants stay as they are. Shrinking u
    gives the minimal version of a known disagreement."""
    p = dict(params)
    if family == "scale":
        p["alpha"] = 1.0 - u * (1.0 - p["alpha"])
    elif family == "blend":
        p["lam"] = 1.0 - u * (1.0 - p["lam"])
    elif family == "shift":
        p["dy"], p["dx"] = (int(np.sign(v) * max(1, int(np.ceil(u * abs(v))))) if v else 0 for v in (p["dy"], p["dx"]))
    elif family == "salt":
        p["pixels"] = list(p["pixels"][: max(1, int(np.ceil(u * len(p["pixels"]))))])
    elif family == "occlude":
        p["size"] = PATCH[0] + int(round(u * (p["size"] - PATCH[0])))
    return p  # a constant image has no smaller change: the known disagreement itself


def salt_pixels(k: int, seed: int) -> list[int]:
    """The first ``k`` of a seeded permutation of the 784 pixel positions (the counterexample stores the list)."""
    return [int(p) for p in np.random.default_rng(seed).permutation(784)[:k]]


class _Disagrees(Exception):
    """Raised inside the search when a far-from-threshold disagreement is found (hypothesis then shrinks it)."""


@dataclass
class Search:
    """What the hypothesis search found: the worst far-from-threshold disagreement (a targeted search that
    maximises the network's confidence against the function) and a minimal one (a second search that stops at
    the first disagreement and shrinks it; None when it found none), and how many inputs both evaluated."""

    worst: Counterexample | None
    minimal: Counterexample | None
    evaluated: int


def search_counterexample(family: str, sources: np.ndarray, template: np.ndarray,
                          logit_diff_of: Callable[[np.ndarray], np.ndarray], margin: float, hsettings: Any,
                          known: list[dict[str, Any]] | None = None) -> Search:
    """Search ``family`` for inputs whose s is far from the thresholds but on which the network says the other
    class. First hypothesis targets how confidently the network disagrees (its logit difference towards the other
    class) and keeps the worst; then a second search fails at the first disagreement, which hypothesis shrinks to
    a minimal one (fewest salt pixels, smallest shift or patch, α and λ nearest 1). ``known``: see :func:`strategy`."""
    from hypothesis import given, target

    draw = strategy(family, len(sources), known)
    shrink_from = strategy(family, len(sources), known, only_known=True)
    seen: dict[str, Any] = {"worst": None, "confidence": 0.0, "evaluated": 0}

    def evaluate(params: dict[str, Any]) -> tuple[Counterexample, float | None]:
        """The example and, when its s is far from the thresholds, the network's confidence against the function."""
        seen["evaluated"] += 1
        image = generate(family, one(params), sources)
        s, d = float(similarity(image, template)[0]), float(logit_diff_of(image)[0])
        ce = Counterexample(family, {k: (list(v) if isinstance(v, list) else v) for k, v in params.items()},
                            s, int(band_labels(np.array([s]))[0]), d)
        if not far_from_thresholds(np.array([s]), margin)[0]:
            return ce, None
        confidence = float(disagreement_confidence(np.array([ce.function_label]), np.array([d]))[0])
        if confidence > seen["confidence"]:
            seen.update(worst=ce, confidence=confidence)
        return ce, confidence

    @hsettings
    @given(draw)
    def worst(params: dict[str, Any]) -> None:
        _, confidence = evaluate(params)
        if confidence is not None:
            target(confidence, label="network's confidence against the function")

    @hsettings
    @given(shrink_from)
    def first(params: dict[str, Any]) -> None:
        ce, confidence = evaluate(params)
        if confidence is not None and confidence > 0:
            raise _Disagrees(ce)

    worst()
    try:
        first()
        minimal = None
    except _Disagrees as found:
        minimal = found.args[0]
    return Search(seen["worst"], minimal, seen["evaluated"])


def family_record(sample: FamilySample, found: Search) -> dict[str, Any]:
    """One family's record for the report: what it is and predicts, the fixed sample's agreements and verdict, the
    worst far disagreement (sample or search, whichever is more confident), the shrunk minimal counterexample, and
    for a family with a continuous parameter the network's fitted switch points on both sides of the band."""
    family = FAMILIES[sample.family]
    summary = sample.summary()
    worst = summary.pop("worst_in_sample")
    # The search replaces the sample's worst only when it is more confident by more than rounding: the search often
    # re-finds the sample's own worst input, whose logit diff then differs in the last bits between CPUs' BLAS kernels.
    if found.worst is not None and (worst is None or abs(found.worst.logit_diff) > abs(worst["logit_diff"]) * (1 + SAME)):
        worst = {**found.worst.to_json(), "found_by": "hypothesis search"}
    elif worst is not None:
        worst = {**worst, "network_label": int(worst["logit_diff"] > 0), "found_by": "fixed sample"}
    record = {"description": family.description, "prediction": family.prediction, **summary, "worst": worst,
              "counterexample": found.minimal.to_json() if found.minimal else None,
              "search": {"evaluated": found.evaluated}}
    if family.continuous:
        record["switch_points"] = {side: switch_point(sample.s, sample.network_labels, side).to_json()
                                   for side in ("L", "R")}
    return record
