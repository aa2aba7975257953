"""Falsification beyond the data: input families nobody trained on, on which the network and the recovered
function (class 0 iff ``L < s < R``) must agree if the write-up's mechanism — a linear similarity ``s`` to the clue
template, labelled by a band — is what the network computes.

Each family draws its parameters (and source images from the training set), builds the images, and states what
``s`` does under it. The function's label comes from ``s`` of the generated image, the network's from its logits.
The rule is fixed here, before measuring. The write-up makes no claim beyond its data: the bar is the project's own.

- *Far* inputs: ``s`` more than :data:`MARGIN` (5%) of the training set's range of ``s`` from both thresholds,
  where the write-up's explanation, if right, leaves no doubt. Only far inputs are judged.
- *The yardstick*: the network's far agreement on the MNIST images themselves (training and test), about 1 error
  in 30,000; every family's far disagreement rate is shown as a multiple of it.
- *Verdict*: a family *generalises* when the Wilson lower bound of its far agreement is ≥ :data:`BAR` (99%, an
  error rate about 300 times the in-distribution one), *breaks* when the upper bound is < 99%, and is
  *undetermined* otherwise.
- *Sequential sampling*: inputs are drawn in seeded chunks of :data:`CHUNK` until a look's quota of far inputs is
  reached (:data:`FAR_PER_LOOK` per look and profile); an undetermined family draws the next look's quota, up to
  :data:`LOOKS` looks, and stays undetermined at the cap. Several looks at the data inflate the error rate, so every
  look's interval is at the Bonferroni-adjusted level ``1 − (1 − CONFIDENCE) / LOOKS``: the chance that any look
  concludes against the truth is at most ``1 − CONFIDENCE`` (5%) per family.
- *Informative families*: a network answering one class everywhere reaches the family's base rate (the majority
  class's share of its far inputs). At a base rate ≥ :data:`UNINFORMATIVE_AT` (95%) the family is *uninformative*:
  shown with its base rate, never counted as evidence that the explanation generalises; a break there is a break.
- *Minimal counterexamples*: the most confident far disagreement is reduced in its own parameters (salt: delta
  debugging to a 1-minimal pixel set; occlusion: the smallest patch at that place; shift: the smallest
  displacement; α, λ, c: the interval of the parameter, others fixed, on which it still disagrees), and
  :func:`prove_minimal` checks that from the stored parameters.

Every generated image is a float64 pixel array in 0..255, so ``s`` and the numpy network see exactly the same input.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np

from analysis.intervals import wilson
from analysis.labelling import L_THRESHOLD, R_THRESHOLD, band_labels, similarity

#: The rule, fixed before measuring.
MARGIN = 0.05  # "far from the thresholds": more than 5% of the training set's range of s from both L and R
BAR = 0.99  # the project's bar on far agreement (the write-up claims nothing beyond its data)
CONFIDENCE = 0.95  # of every family's verdict, over all its looks
LOOKS = 4  # at most this many looks at a family's data; the cap is LOOKS × its profile's quota of far inputs
LOOK_CONFIDENCE = 1 - (1 - CONFIDENCE) / LOOKS  # Bonferroni: each look's interval at this level
UNINFORMATIVE_AT = 0.95  # a one-answer network's far agreement (base rate) at which a family tests nothing
#: Far inputs each look adds, per hypothesis profile (``dev``: the default, smaller run).
FAR_PER_LOOK = {"dev": 1000, "ci": 2000, "explore": 2000}
CHUNK = 1000  # generated inputs per seeded draw (one random stream per family and chunk)
MAX_CHUNKS = 60  # a family whose far inputs are this rare stops drawing (undetermined)
IN_DISTRIBUTION_CONFIDENCE = 0.95  # the yardstick's interval
SAMPLE = 2000  # generated inputs of the fixed sample in the known-answer tests (see :func:`measure`)
SEED = 20261126  # the samples' seed (one stream per family and chunk, see :func:`sample_params`)
MAX_SHIFT = 3
MAX_SALT = 40  # at most this many salt pixels
PATCH = (4, 12)  # occluding square patches, side in pixels
BOOTSTRAP = 200  # resamples for the switch points' intervals
SAME = 1e-9  # relative difference of two logit diffs below which they are the same value up to float64 rounding
GRID = 256  # steps of the grid over a continuous parameter's range (its disagreement interval)
REFINE, REFINE_STEPS = 4, 8  # each end of a disagreement interval: four times narrowed to 1/8 of its bracket
WALK = 8  # grid values per batch when walking out from a counterexample along its continuous parameter


@dataclass(frozen=True)
class Family:
    name: str
    description: str
    prediction: str  # what the linear s says happens under the transformation
    continuous: str | None = None  # the continuous parameter, for families whose switch points are fitted


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family("scale", "intensity scaling α·x of a training image, α uniform in [0, 1]", "s(α·x) = α·s(x)", "alpha"),
        Family("invert", "inversion 255 − x of a training image", "s(255 − x) = 255·Σt − s(x)"),
        Family(
            "blend",
            "blend λ·x₁ + (1 − λ)·x₂ of two training images, λ uniform in [0, 1]",
            "s(λx₁ + (1 − λ)x₂) = λ·s(x₁) + (1 − λ)·s(x₂)",
            "lam",
        ),
        Family(
            "shift",
            f"translation of a training image by 1–{MAX_SHIFT} pixels in each direction (zero fill)",
            "s(shifted x) = Σ shifted-x·t: the ink moves over the template",
        ),
        Family(
            "salt",
            f"1–{MAX_SALT} salt pixels set to 255 on a training image",
            "s changes by Σ (255 − x_p)·t_p over the salted pixels p",
        ),
        Family(
            "occlude",
            f"a square patch ({PATCH[0]}–{PATCH[1]} px) of a training image set to 0 or 255",
            "s changes by Σ (v − x_p)·t_p over the patch",
        ),
        Family("constant", "constant images c, c uniform in [0, 255]", "s(c) = c·Σt"),
    )
}
#: Each verdict's level corrected for all families as well as the looks (Bonferroni): a check that the summary
#: over the families holds jointly, recorded beside each verdict.
FAMILYWISE_CONFIDENCE = 1 - (1 - CONFIDENCE) / (LOOKS * len(FAMILIES))


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
            out[k, max(a, 0) : 28 + min(a, 0), max(b, 0) : 28 + min(b, 0)] = x[
                k, max(-a, 0) : 28 + min(-a, 0), max(-b, 0) : 28 + min(-b, 0)
            ]
    return out


def sample_params(family: str, n: int, n_sources: int, seed: int = SEED, chunk: int = 0) -> dict[str, np.ndarray]:
    """``n`` parameter draws of ``family`` from a seeded generator (one stream per family and ``chunk``)."""
    rng = np.random.default_rng([seed, list(FAMILIES).index(family), chunk])
    src = rng.integers(0, n_sources, n)
    if family == "scale":
        return {"source": src, "alpha": rng.uniform(0.0, 1.0, n)}
    if family == "invert":
        return {"source": src}
    if family == "blend":
        return {"source": src, "other": rng.integers(0, n_sources, n), "lam": rng.uniform(0.0, 1.0, n)}
    if family == "shift":
        offsets = [
            (a, b)
            for a in range(-MAX_SHIFT, MAX_SHIFT + 1)
            for b in range(-MAX_SHIFT, MAX_SHIFT + 1)
            if (a, b) != (0, 0)
        ]
        pick = np.array(offsets)[rng.integers(0, len(offsets), n)]
        return {"source": src, "dy": pick[:, 0], "dx": pick[:, 1]}
    if family == "salt":
        k = rng.integers(1, MAX_SALT + 1, n)
        order = np.argsort(rng.random((n, 784)), axis=1)[:, :MAX_SALT]  # distinct pixels per image
        return {"source": src, "pixels": np.where(np.arange(MAX_SALT)[None, :] < k[:, None], order, -1)}
    if family == "occlude":
        size = rng.integers(PATCH[0], PATCH[1] + 1, n)
        return {
            "source": src,
            "size": size,
            "row": rng.integers(0, 29 - size),
            "col": rng.integers(0, 29 - size),
            "value": rng.choice([0, 255], n),
        }
    if family == "constant":
        return {"c": rng.uniform(0.0, 255.0, n)}
    raise ValueError(f"unknown input family {family!r}; choose one of {', '.join(FAMILIES)}")


def chunked_params(family: str, chunks: int, n_sources: int, seed: int = SEED) -> dict[str, np.ndarray]:
    """The first ``chunks`` seeded chunks of :data:`CHUNK` draws each, concatenated: the sequential sample."""
    parts = [sample_params(family, CHUNK, n_sources, seed, chunk) for chunk in range(chunks)]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]} if parts else {}


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


def far_from_thresholds(
    s: np.ndarray, margin: float, low: float = L_THRESHOLD, high: float = R_THRESHOLD
) -> np.ndarray:
    """Inputs whose s lies more than ``margin`` from both thresholds."""
    return (np.abs(s - low) > margin) & (np.abs(s - high) > margin)


def disagreement_confidence(function_label: np.ndarray, logit_diff: np.ndarray) -> np.ndarray:
    """How confidently the network says the other class than the function: its logit difference towards the
    other class (positive = the network disagrees, by that many logits)."""
    return np.where(function_label == 0, logit_diff, -logit_diff)


def verdict_for(agree: int, n_far: int, confidence: float = LOOK_CONFIDENCE) -> str:
    """``generalises`` (the interval's lower bound ≥ :data:`BAR`), ``breaks`` (upper bound < BAR), else
    ``undetermined`` (also when no input is far)."""
    if n_far == 0:
        return "undetermined"
    low, high = wilson(agree, n_far, confidence)
    return "generalises" if low >= BAR else "breaks" if high < BAR else "undetermined"


def fewest_far_to_generalise(confidence: float = LOOK_CONFIDENCE) -> int:
    """The rule's power at its smallest: the fewest far inputs, all agreeing, whose lower bound reaches the bar."""
    n = 1
    while wilson(n, n, confidence)[0] < BAR:
        n += 1
    return n


def look_ends(far: np.ndarray, quota: int, looks: int = LOOKS) -> list[int]:
    """Where each look ends: the fewest whole chunks holding ``k × quota`` far inputs (k = 1..looks), for as many
    looks as the drawn chunks reach."""
    per_chunk = np.add.reduceat(far.astype(np.int64), np.arange(0, len(far), CHUNK)) if len(far) else np.zeros(0, int)
    cumulative = np.cumsum(per_chunk)
    ends = []
    for k in range(1, looks + 1):
        enough = np.nonzero(cumulative >= k * quota)[0]
        if not len(enough):
            break
        ends.append(int(enough[0] + 1) * CHUNK)
    return ends


def in_distribution(splits: Mapping[str, tuple[np.ndarray, np.ndarray]], margin: float) -> dict[str, Any]:
    """The yardstick: the network's far agreement with the function on the MNIST images (``splits``: name ->
    (s, network labels)), per split and pooled, with a Wilson interval."""
    out: dict[str, Any] = {}
    agree_all = n_all = 0
    for name, (s, labels) in splits.items():
        far = far_from_thresholds(s, margin)
        agree = int(np.sum(band_labels(s[far]) == np.asarray(labels)[far]))
        out[name] = {"n_far": int(far.sum()), "agree": agree}
        agree_all, n_all = agree_all + agree, n_all + int(far.sum())
    low, high = wilson(agree_all, n_all, IN_DISTRIBUTION_CONFIDENCE)
    out.update(
        n_far=n_all,
        agree=agree_all,
        far_agreement=agree_all / n_all if n_all else None,
        far_disagreement_rate=1 - agree_all / n_all if n_all else None,
        interval=[low, high],
        confidence=IN_DISTRIBUTION_CONFIDENCE,
    )
    return out


@dataclass
class FamilySample:
    """A family's sample (the chunks drawn), seen by the function and by the network."""

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

    def looks(self, quota: int) -> list[dict[str, Any]]:
        """Each look the sequential rule took: inputs drawn, far inputs, far agreement and its adjusted interval,
        the verdict there."""
        agree, far = self.function_labels == self.network_labels, self.far
        out = []
        for end in look_ends(far, quota):
            n_far, k = int(far[:end].sum()), int(np.sum(agree[:end] & far[:end]))
            low, high = wilson(k, n_far, LOOK_CONFIDENCE)
            out.append(
                {"n": end, "n_far": n_far, "far_agree": k, "interval": [low, high], "verdict": verdict_for(k, n_far)}
            )
        return out

    def summary(self, quota: int) -> dict[str, Any]:
        """The sample's numbers and the rule's verdict (at the last look; undetermined when the chunks drawn do not
        reach a look: too few far inputs)."""
        agree = self.function_labels == self.network_labels
        far = self.far
        n_far = int(far.sum())
        far_agreement = float(np.mean(agree[far])) if n_far else None
        conf = np.where(far, disagreement_confidence(self.function_labels, self.logit_diff), -np.inf)
        worst = int(np.argmax(conf))
        share_one = float(np.mean(self.function_labels[far] == 1)) if n_far else None
        base = None if share_one is None else max(share_one, 1.0 - share_one)
        looks = self.looks(quota)
        return {
            "n": len(self.s),
            "agreement": float(np.mean(agree)),
            "n_far": n_far,
            "far_agreement": far_agreement,
            "far_interval": looks[-1]["interval"] if looks else list(wilson(0, 0)),
            "far_disagreement_rate": None if far_agreement is None else 1.0 - far_agreement,
            "looks": looks,
            "capped": len(looks) == LOOKS and looks[-1]["verdict"] == "undetermined",
            # what a network answering one class everywhere would score far from the thresholds
            "far_function_class_1_share": share_one,
            "constant_answer_far_agreement": base,
            "informative": None if base is None else bool(base < UNINFORMATIVE_AT),
            "verdict": looks[-1]["verdict"] if looks else "undetermined",
            "verdict_familywise": verdict_for(looks[-1]["far_agree"], looks[-1]["n_far"], FAMILYWISE_CONFIDENCE)
            if looks
            else "undetermined",
            "s_range_generated": [float(self.s.min()), float(self.s.max())],
            "worst_in_sample": None
            if not np.isfinite(conf[worst]) or conf[worst] <= 0
            else {
                "params": params_of(self.params, worst),
                "s": float(self.s[worst]),
                "function_label": int(self.function_labels[worst]),
                "logit_diff": float(self.logit_diff[worst]),
            },
        }


def measure(
    family: str,
    logit_diff_of: Callable[[np.ndarray], np.ndarray],
    sources: np.ndarray,
    template: np.ndarray,
    margin: float,
    n: int = SAMPLE,
    seed: int = SEED,
) -> FamilySample:
    """A fixed sample of ``n`` inputs (one chunk stream), for tests that need no sequential rule."""
    params = sample_params(family, n, len(sources), seed)
    images = generate(family, params, sources)
    return FamilySample(family, params, similarity(images, template), logit_diff_of(images), margin)


def measure_sequentially(
    family: str,
    logit_diff_of: Callable[[np.ndarray], np.ndarray],
    sources: np.ndarray,
    template: np.ndarray,
    margin: float,
    quota: int,
    seed: int = SEED,
) -> FamilySample:
    """The sequential sample: chunks are drawn until the first look's ``quota`` of far inputs; while the verdict
    is undetermined, until the next look's, up to :data:`LOOKS` looks (or :data:`MAX_CHUNKS` chunks)."""
    s_parts: list[np.ndarray] = []
    d_parts: list[np.ndarray] = []
    look = 1
    while len(s_parts) < MAX_CHUNKS:
        params = sample_params(family, CHUNK, len(sources), seed, len(s_parts))
        images = generate(family, params, sources)
        s_parts.append(similarity(images, template))
        d_parts.append(logit_diff_of(images))
        s = np.concatenate(s_parts)
        far = far_from_thresholds(s, margin)
        agree = band_labels(s) == (np.concatenate(d_parts) > 0)
        done = False
        while not done and far.sum() >= look * quota:  # one chunk may complete more than one look's quota
            done = verdict_for(int(np.sum(agree & far)), int(far.sum())) != "undetermined" or look == LOOKS
            look += 0 if done else 1
        if done:
            break
    return FamilySample(
        family,
        chunked_params(family, len(s_parts), len(sources), seed),
        np.concatenate(s_parts),
        np.concatenate(d_parts),
        margin,
    )


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
        return {
            "fitted": self.at,
            "interval_95": None if self.low is None else [self.low, self.high],
            "stump_agreement": self.agreement,
            "n": self.n,
            "write_up": self.threshold,
            "write_up_inside_interval": None if self.low is None else bool(self.low <= self.threshold <= self.high),
        }


def _stump(s: np.ndarray, ones_below: np.ndarray, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Best threshold t for labels where ``ones_below`` (the indicator of the class expected below t) holds below
    t and not above, for each row of ``weights`` (how often each input counts: a bootstrap resample's counts; None:
    once each). Returns (t, agreement), one per row. Inputs of weight 0 are absent: t lies midway between the
    neighbouring present inputs, exactly as on the resample itself."""
    order = np.argsort(s, kind="stable")
    ss, sign = s[order], np.where(ones_below[order], 1, -1)
    w = np.ones((1, len(ss)), np.int64) if weights is None else np.atleast_2d(weights)[:, order].astype(np.int64)
    n, rows = len(ss), np.arange(len(w))
    # agreement of the split after the k smallest = (expected-above inputs) + Σ_{i<k} w_i·(+1 below-class, −1 other)
    gain = np.concatenate([np.zeros((len(w), 1), np.int64), np.cumsum(w * sign, axis=1)], axis=1)
    k = np.argmax(gain, axis=1)  # the first best split: it follows a present input (or is the first)
    score = np.sum(w * (sign < 0), axis=1) + gain[rows, k]
    present = w > 0
    after = present & (np.arange(n)[None, :] >= k[:, None])
    nxt = np.where(after.any(axis=1), np.argmax(after, axis=1), n)  # the first present input after the split
    first, last = np.argmax(present, axis=1), n - 1 - np.argmax(present[:, ::-1], axis=1)
    t = np.where(
        k == 0,
        ss[first] - 1e-9,
        np.where(nxt >= n, ss[last] + 1e-9, 0.5 * (ss[np.maximum(k - 1, 0)] + ss[np.minimum(nxt, n - 1)])),
    )
    return t, score / w.sum(axis=1)


def switch_point(
    s: np.ndarray,
    network_labels: np.ndarray,
    side: str,
    seed: int = SEED,
    low: float = L_THRESHOLD,
    high: float = R_THRESHOLD,
) -> Switch:
    """The network's switch near ``low`` (side ``"L"``: class 1 below, 0 above, over s < the band's midpoint) or
    near ``high`` (side ``"R"``: 0 below, 1 above, over s > the midpoint), with a bootstrap interval at the rule's
    :data:`CONFIDENCE`. None when one class is absent there."""
    mid = 0.5 * (low + high)
    keep = s < mid if side == "L" else s > mid
    s_side, y = s[keep], network_labels[keep]
    threshold = low if side == "L" else high
    below_class = 1 if side == "L" else 0
    if len(s_side) == 0 or len(np.unique(y)) < 2:
        return Switch(None, None, None, None, len(s_side), threshold)
    at, agreement = (float(v[0]) for v in _stump(s_side, y == below_class))
    rng = np.random.default_rng([seed, 0 if side == "L" else 1])
    picks = rng.integers(0, len(s_side), (BOOTSTRAP, len(s_side)))
    offsets = len(s_side) * np.arange(BOOTSTRAP)[:, None]  # one bincount for all resamples
    counts = np.bincount((picks + offsets).ravel(), minlength=BOOTSTRAP * len(s_side)).reshape(BOOTSTRAP, -1)
    boots, _ = _stump(s_side, y == below_class, counts)
    lo, hi = np.percentile(boots, [50 * (1 - CONFIDENCE), 100 - 50 * (1 - CONFIDENCE)])
    return Switch(at, float(lo), float(hi), agreement, len(s_side), threshold)


@dataclass
class Counterexample:
    """A generated input on which the network disagrees with the function while s is far from the thresholds."""

    family: str
    params: dict[str, Any]
    s: float
    function_label: int
    logit_diff: float

    def to_json(self) -> dict[str, Any]:
        return {
            "params": self.params,
            "s": self.s,
            "function_label": self.function_label,
            "network_label": int(self.logit_diff > 0),
            "logit_diff": self.logit_diff,
        }


# ----------------------------------------------------------------------------------------------- hypothesis search


def strategy(family: str, n_sources: int, known: list[dict[str, Any]] | None = None) -> Any:
    """A hypothesis strategy of one example's parameters, drawn so that shrinking moves towards the smallest
    change: α and λ towards 1 (no change), shifts towards 0, fewer salt pixels, the smallest patch.

    With ``known`` (parameters of the sample's far-from-threshold disagreements, most confident first), it draws
    either one of them with a fraction of its change kept (:func:`toward`) or a fresh example."""
    from hypothesis import strategies as st

    fresh = _fresh(family, n_sources)
    if not known:
        return fresh
    # the kept fraction in whole percent: hypothesis shrinks integers towards 0 (floats would stop at 1.0, "simple")
    near = st.builds(
        lambda k, pct: toward(family, known[k], pct / 100), st.integers(0, len(known) - 1), st.integers(0, 100)
    )
    return st.one_of(near, fresh)


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
        return st.fixed_dictionaries({"source": source, "dy": step, "dx": step}).filter(
            lambda p: (p["dy"], p["dx"]) != (0, 0)
        )
    if family == "salt":
        # k pixels of a seeded permutation: shrinking lowers k (the fewest pixels) without walking every position
        return st.builds(
            lambda src, k, seed: {"source": src, "pixels": salt_pixels(k, seed)},
            source,
            st.integers(1, MAX_SALT),
            st.integers(0, 2**32 - 1),
        )
    if family == "occlude":
        return st.builds(
            lambda src, size, r, c, v: {
                "source": src,
                "size": size,
                "row": min(r, 28 - size),
                "col": min(c, 28 - size),
                "value": v,
            },
            source,
            st.integers(*PATCH),
            st.integers(0, 28 - PATCH[0]),
            st.integers(0, 28 - PATCH[0]),
            st.sampled_from([0, 255]),
        )
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
        p["size"] = PATCH[0] + round(u * (p["size"] - PATCH[0]))
    return p  # a constant image has no smaller change: the known disagreement itself


def salt_pixels(k: int, seed: int) -> list[int]:
    """The first ``k`` of a seeded permutation of the 784 pixel positions (the counterexample stores the list)."""
    return [int(p) for p in np.random.default_rng(seed).permutation(784)[:k]]


@dataclass
class Search:
    """What the targeted hypothesis search found: the worst far-from-threshold disagreement (the network's
    confidence against the function maximised), and how many inputs it evaluated."""

    worst: Counterexample | None
    evaluated: int


def search_counterexample(
    family: str,
    sources: np.ndarray,
    template: np.ndarray,
    logit_diff_of: Callable[[np.ndarray], np.ndarray],
    margin: float,
    hsettings: Any,
    known: list[dict[str, Any]] | None = None,
) -> Search:
    """Search ``family`` for inputs whose s is far from the thresholds but on which the network says the other
    class: hypothesis targets how confidently the network disagrees (its logit difference towards the other
    class) and the search keeps the worst. ``known``: see :func:`strategy`. :func:`minimise` reduces it."""
    from hypothesis import given, target

    seen: dict[str, Any] = {"worst": None, "confidence": 0.0, "evaluated": 0}

    @hsettings
    @given(strategy(family, len(sources), known))
    def worst(params: dict[str, Any]) -> None:
        seen["evaluated"] += 1
        image = generate(family, one(params), sources)
        s, d = float(similarity(image, template)[0]), float(logit_diff_of(image)[0])
        if not far_from_thresholds(np.array([s]), margin)[0]:
            return
        label = int(band_labels(np.array([s]))[0])
        confidence = float(disagreement_confidence(np.array([label]), np.array([d]))[0])
        target(confidence, label="network's confidence against the function")
        if confidence > seen["confidence"]:
            kept = {k: (list(v) if isinstance(v, list) else v) for k, v in params.items()}
            seen.update(worst=Counterexample(family, kept, s, label, d), confidence=confidence)

    worst()
    return Search(seen["worst"], seen["evaluated"])


# ----------------------------------------------------------------------------------- minimal counterexamples


@dataclass(frozen=True)
class Oracle:
    """Whether generated inputs are counterexamples: s far from both thresholds and the network's label not the
    function's. Evaluates many parameter sets in one batch."""

    family: str
    sources: np.ndarray
    template: np.ndarray
    logit_diff_of: Callable[[np.ndarray], np.ndarray]
    margin: float

    def evaluate(self, many: list[Mapping[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
        """(s, logit diff) of each parameter set."""
        if not many:
            return np.zeros(0), np.zeros(0)
        arrays = [one(p) for p in many]
        images = generate(self.family, {k: np.concatenate([a[k] for a in arrays]) for k in arrays[0]}, self.sources)
        return similarity(images, self.template), self.logit_diff_of(images)

    def disagrees(self, many: list[Mapping[str, Any]]) -> np.ndarray:
        s, d = self.evaluate(many)
        return far_from_thresholds(s, self.margin) & (band_labels(s) != (d > 0))


#: A continuous parameter of a family and its range: a counterexample states the interval of it (the other
#: parameters fixed) on which the network and the function disagree.
CONTINUOUS_RANGE = {"scale": ("alpha", 0.0, 1.0), "blend": ("lam", 0.0, 1.0), "constant": ("c", 0.0, 255.0)}


def _ddmin(items: list[int], fails: Callable[[list[list[int]]], np.ndarray]) -> list[int]:
    """Zeller's delta debugging: a 1-minimal sublist of ``items`` on which ``fails`` (batched) still holds; each
    round tests every chunk and every complement at once."""
    n = 2
    while len(items) >= 2:
        bounds = np.linspace(0, len(items), min(n, len(items)) + 1).astype(int)
        chunks = [items[a:b] for a, b in pairwise(bounds)]
        complements = [items[:a] + items[b:] for a, b in pairwise(bounds)]
        result = fails(chunks + complements)
        if result[: len(chunks)].any():
            items, n = chunks[int(np.argmax(result[: len(chunks)]))], 2
        elif result[len(chunks) :].any():
            items, n = complements[int(np.argmax(result[len(chunks) :]))], max(n - 1, 2)
        elif n >= len(items):
            break
        else:
            n = min(2 * n, len(items))
    return items


def smaller_shifts(dy: int, dx: int) -> list[tuple[int, int]]:
    """Every displacement strictly inside (dy, dx) towards none: |a| ≤ |dy|, |b| ≤ |dx|, same directions, not
    (0, 0) and not (dy, dx) itself."""
    ys = [int(np.sign(dy)) * a for a in range(abs(dy) + 1)]
    xs = [int(np.sign(dx)) * b for b in range(abs(dx) + 1)]
    return [(a, b) for a in ys for b in xs if (a, b) not in ((0, 0), (dy, dx))]


def _grid(family: str) -> np.ndarray:
    _, low, high = CONTINUOUS_RANGE[family]
    return np.linspace(low, high, GRID + 1)


def _edge(oracle: Oracle, params: Mapping[str, Any], name: str, inside: float, outside: float) -> tuple[float, float]:
    """Narrow the pair (a disagreeing value of ``name``, an agreeing one) :data:`REFINE` times, each time to
    neighbours on a grid of :data:`REFINE_STEPS` steps between them (one batch per round)."""
    for _ in range(REFINE):
        values = np.linspace(inside, outside, REFINE_STEPS + 1)
        fails = oracle.disagrees([{**params, name: float(v)} for v in values[1:-1]])
        k = int(np.argmin(np.concatenate([fails, [False]])))  # the first agreeing value after ``inside``
        inside, outside = float(values[k]), float(values[k + 1])
    return inside, outside


def disagreement_interval(oracle: Oracle, params: Mapping[str, Any]) -> dict[str, Any]:
    """The interval of the family's continuous parameter around ``params``' value (the others fixed) on which it
    is a counterexample: contiguous on the grid of :data:`GRID` steps over the range (walked outwards from the
    value, :data:`WALK` grid values per batch), each end narrowed to 1/8⁴ of a step (:func:`_edge`; ``outside``:
    the nearest agreeing values found; None at the range's end)."""
    name, low, high = CONTINUOUS_RANGE[oracle.family]
    x0 = float(params[name])
    grid = _grid(oracle.family)
    ends: list[tuple[float, float | None]] = []
    for side in (-1, 1):
        ahead = grid[grid < x0][::-1] if side < 0 else grid[grid > x0]
        inside, outside = x0, None
        for start in range(0, len(ahead), WALK):
            batch = ahead[start : start + WALK]
            fails = oracle.disagrees([{**params, name: float(v)} for v in batch])
            if not fails.all():
                k = int(np.argmin(fails))
                inside, outside = (float(batch[k - 1]) if k else inside), float(batch[k])
                break
            inside = float(batch[-1])
        ends.append((inside, None) if outside is None else _edge(oracle, params, name, inside, outside))
    (lo, lo_out), (hi, hi_out) = ends
    return {
        "parameter": name,
        "interval": [lo, hi],
        "outside": [lo_out, hi_out],
        "grid": {"range": [low, high], "steps": GRID},
        "edge_resolution": (high - low) / GRID / REFINE_STEPS**REFINE,
    }


def minimise(oracle: Oracle, params: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A counterexample reduced in its own parameters, and how it is minimal: salt by delta debugging to a
    1-minimal pixel set; occlusion to the smallest patch at its corner that still disagrees; shift to a
    displacement none of whose smaller displacements disagrees; α, λ and c keep their value and state the
    interval around it (:func:`disagreement_interval`); an inversion has no parameter to reduce."""
    family, p = oracle.family, dict(params)
    if family == "salt":
        p["pixels"] = _ddmin(list(p["pixels"]), lambda many: oracle.disagrees([{**p, "pixels": m} for m in many]))
        return p, {"kind": "1-minimal: removing any one pixel leaves no far disagreement"}
    if family == "occlude":
        sizes = list(range(PATCH[0], p["size"] + 1))
        fails = oracle.disagrees([{**p, "size": k} for k in sizes])
        p["size"] = sizes[int(np.argmax(fails))]
        return p, {"kind": "no smaller patch at this corner disagrees"}
    if family == "shift":
        options = [*smaller_shifts(p["dy"], p["dx"]), (p["dy"], p["dx"])]
        fails = oracle.disagrees([{**p, "dy": a, "dx": b} for a, b in options])
        best = min((abs(a) + abs(b), k) for k, (a, b) in enumerate(options) if fails[k])[1]
        p["dy"], p["dx"] = options[best]
        return p, {"kind": "no smaller displacement disagrees"}
    if family in CONTINUOUS_RANGE:
        return p, {
            "kind": f"the interval of {CONTINUOUS_RANGE[family][0]} on which it disagrees",
            **disagreement_interval(oracle, p),
        }
    return p, {"kind": "no parameter to reduce"}


def prove_minimal(oracle: Oracle, params: Mapping[str, Any], minimality: Mapping[str, Any]) -> dict[str, Any]:
    """Check from the stored parameters that a counterexample is one and is minimal as ``minimality`` says: every
    one-smaller neighbour (one pixel fewer; each smaller patch at the corner; each smaller displacement) is no
    counterexample; for a continuous parameter, every grid value inside the interval and both ends disagree and
    the values just outside do not. Returns what was checked and ``proved``."""
    family, p = oracle.family, dict(params)
    is_one = bool(oracle.disagrees([p])[0])
    if family == "salt":
        inside, outside = [], [{**p, "pixels": [q for q in p["pixels"] if q != r]} for r in p["pixels"]]
    elif family == "occlude":
        inside, outside = [], [{**p, "size": k} for k in range(PATCH[0], p["size"])]
    elif family == "shift":
        inside, outside = [], [{**p, "dy": a, "dx": b} for a, b in smaller_shifts(p["dy"], p["dx"])]
    elif family in CONTINUOUS_RANGE:
        name = minimality["parameter"]
        lo, hi = minimality["interval"]
        grid = _grid(family)
        inside = [{**p, name: float(v)} for v in [lo, hi, *grid[(grid >= lo) & (grid <= hi)]]]
        outside = [{**p, name: float(v)} for v in minimality["outside"] if v is not None]
        is_one = is_one and lo <= p[name] <= hi
    else:
        inside, outside = [], []
    fails = oracle.disagrees(inside + outside)
    return {
        "is_counterexample": is_one,
        "inside_checked": len(inside),
        "neighbours_checked": len(outside),
        "proved": bool(is_one and fails[: len(inside)].all() and not fails[len(inside) :].any()),
    }


# ----------------------------------------------------------------------------------------------- the record


def family_record(
    sample: FamilySample, found: Search, quota: int, yardstick: Mapping[str, Any], oracle: Oracle
) -> dict[str, Any]:
    """One family's record: what it is and predicts; the sample's agreements, looks and verdict under the rule;
    the yardstick and the ratio of the family's far disagreement rate to it; the base rate and informativeness;
    the worst far disagreement (sample or search, whichever is more confident) and its minimal reduction; and for
    a family with a continuous parameter the network's fitted switch points on both sides of the band."""
    family = FAMILIES[sample.family]
    summary = sample.summary(quota)
    worst = summary.pop("worst_in_sample")
    # The search replaces the sample's worst only when it is more confident by more than rounding: the search often
    # re-finds the sample's own worst input, whose logit diff then differs in the last bits between CPUs' BLAS kernels.
    if found.worst is not None and (
        worst is None or abs(found.worst.logit_diff) > abs(worst["logit_diff"]) * (1 + SAME)
    ):
        worst = {**found.worst.to_json(), "found_by": "hypothesis search"}
    elif worst is not None:
        worst = {**worst, "network_label": int(worst["logit_diff"] > 0), "found_by": "sample"}
    counterexample = None
    if worst is not None:
        params, minimality = minimise(oracle, worst["params"])
        (s,), (d,) = oracle.evaluate([params])
        counterexample = {
            "params": params,
            "s": float(s),
            "function_label": int(band_labels(np.array([s]))[0]),
            "network_label": int(d > 0),
            "logit_diff": float(d),
            "minimality": minimality,
            "reduced_from": "worst",
        }
    rate, base_rate = summary["far_disagreement_rate"], yardstick.get("far_disagreement_rate")
    # the ratio's conservative end: the family's lowest plausible disagreement rate over the yardstick's highest
    least = (1 - summary["far_interval"][1]) / (1 - yardstick["interval"][0]) if "interval" in yardstick else None
    record = {
        "description": family.description,
        "prediction": family.prediction,
        **summary,
        "in_distribution_far_agreement": yardstick.get("far_agreement"),
        "disagreement_ratio_to_in_distribution": None if rate is None or not base_rate else rate / base_rate,
        "disagreement_ratio_at_least": least,
        "worst": worst,
        "counterexample": counterexample,
        "search": {"evaluated": found.evaluated},
    }
    if family.continuous:
        record["switch_points"] = {
            side: switch_point(sample.s, sample.network_labels, side).to_json() for side in ("L", "R")
        }
    return record
