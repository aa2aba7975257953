"""Robustness declarations for claims whose tests do not call ``verdict.judge`` (yet): the neuron and
intervention families and two geometry claims, whose test files other work is changing.

Each entry names the fixtures its sample is built from and a judge built from the same analysis functions
the test calls, with the test's acceptance constants imported from the test module. With ``--robustness``
the plugin (:mod:`report.robust_plugin`) runs the judge at its defaults after the test and records
``"consistent": false`` (and marks the claim fragile) when it disagrees with the test's verdict: the
declaration is then stale. Moving a declaration next to its test (``verdict.judge(...)``, as in
``claims/test_labelling.py``) removes the second code path; see the README, "Robustness".

Sampling: every per-image array is resampled with the images; fixed are the network's parameters, the PCA
plane and (for scrubbing) the replacement draws of the test's five seeds. Dead neurons never fire, so only
the active neurons' columns are carried (a dead neuron adds nothing to any logit, group or contribution).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from analysis import ablation, geometry, neurons
from analysis.labelling import ANTI, L_THRESHOLD, ONE, R_THRESHOLD
from analysis.robustness import Choice, Declaration, Judgement, Sample, declare
from analysis.scrubbing import NOISE_LEVELS, SEEDS, Scrubber, SimilarityIndex, noise_key
from claims.tolerance import between, within
from model.interventions import Readout, labels_from_logits


@dataclass(frozen=True)
class External:
    declaration: Declaration
    fixtures: tuple[str, ...]
    build: Callable[..., Sample]


EXTERNAL: dict[str, External] = {}


def external(*fixtures: str, build: Callable[..., Sample]) -> Callable[[Declaration], Declaration]:
    def register(decl: Declaration) -> Declaration:
        EXTERNAL[decl.claim] = External(decl, fixtures, build)
        return decl

    return register


# ----------------------------------------------------------------------------------------------- shared choices
DEAD = dict(why="\"dead (useless)\": never active on the training set (CLAIMS.md), or active on at most 0.1% of it "
            "(60 images), which a reader could also call useless")
GROUPS = dict(why="CLAIMS.md accepts either definition of the detector groups: by where a neuron fires (1-like vs "
              "anti-1-like images) or by the write-up's route, the PCA arm direction it loads on")


def dead_choice() -> Choice:
    return Choice.span("dead_fraction", 0.0, 0.0, 0.001, **DEAD)


def groups_choice() -> Choice:
    return Choice.among("groups", "firing", ("firing", "arms"), **GROUPS)


_TABLES: dict[int, tuple] = {}  # per session's activation matrix: the neuron claims share one table


def neuron_sample(train_post: np.ndarray, train, fc2: Readout, pca, arms, **fixed) -> Sample:
    """Per image: the active neurons' activations, region, s, the model's logits; fixed: the readout restricted
    to the active neurons, the logit-diff direction, the PCA components and the arms' outward directions."""
    active = ~neurons.dead_neurons(train_post)
    b = fc2.bias
    direction = fc2.direction[active]
    if id(train_post) not in _TABLES:
        post = train_post[:, active]
        _TABLES.clear()
        _TABLES[id(train_post)] = (train_post, {
            "post": post,
            # [fired | post | post²]: every weighted mean a grouping needs, in one matrix product
            "moments": np.hstack([(post > 0).astype(np.float64), post, post**2]),
            # per neuron: its logit-diff contribution, and the same above its dataset minimum
            "contribution": (post * direction).astype(np.float32),
            "excitation": ((post - post.min(axis=0)) * direction).astype(np.float32),
            "logit_diff": post @ direction + (b[1] - b[0]),  # as Readout.logits gives it
            "region": train.region, "s": train.s, "labels": train.labels, "logits": train.logits})
    return Sample(
        {"train": _TABLES[id(train_post)][1]},
        {"readout": fc2.restricted(active), "direction": direction,
         "components": pca.components[:, active], "arms": None if arms is None else (arms[0].outward, arms[1].outward),
         "neurons": int(len(active)), "shared": {}, **fixed},
    )


def wmean(d: Sample, values: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Mean over the (resampled) images in ``mask`` along axis 0."""
    w = d.weights("train")
    w = np.ones(len(values)) if w is None else w.astype(np.float64)
    if mask is not None:
        w = w * mask
    return (w @ values) / w.sum()


_MOMENTS: dict[tuple, dict[str, np.ndarray]] = {}  # per (table, resample): shared by the neuron claims


def moments(d: Sample) -> dict[str, np.ndarray]:
    """Weighted per-neuron means over the (resampled) images: firing rate, mean activation overall, on 1-like
    and on anti-1-like images, and the standard deviation: one product of a (3, N) weight matrix. The neuron
    claims draw the same resamples (``seed_group``), so each resample's moments are computed once for all."""
    counts = d.weights("train")
    key = (id(d.table("train")["moments"]), None if counts is None else hash(counts.tobytes()))
    if key in _MOMENTS:
        return _MOMENTS[key]

    def compute() -> dict[str, np.ndarray]:
        t = d.table("train")
        w = d.weights("train")
        w = np.ones(len(t["region"])) if w is None else w.astype(np.float64)
        rows = np.stack([w, w * (t["region"] == ONE), w * (t["region"] == ANTI)])
        m = (rows @ t["moments"]) / rows.sum(axis=1, keepdims=True)
        k = m.shape[1] // 3
        fires, mean, sq = m[0, :k], m[0, k:2 * k], m[0, 2 * k:]
        return {"fires": fires, "mean": mean, "std": np.sqrt(np.maximum(sq - mean * mean, 0.0)),
                "on_one": m[1, k:2 * k], "on_anti": m[2, k:2 * k]}

    if len(_MOMENTS) > 4096:
        _MOMENTS.clear()
    _MOMENTS[key] = compute()
    return _MOMENTS[key]


def detector_groups(d: Sample, groups: str, dead_fraction: float) -> neurons.Groups:
    """Groups over the active columns (the judge's view): firing-based as :func:`neurons.groups_by_firing`, or
    by arm direction as :func:`neurons.groups_by_arms`; "dead" also takes neurons active on ≤ dead_fraction."""
    def compute() -> neurons.Groups:
        m = moments(d)
        dead = m["fires"] <= dead_fraction
        if groups == "arms":
            if d.fixed["arms"] is None:
                raise ValueError("no V: the arm-direction groups are undefined")
            return neurons.groups_by_arms(d.fixed["components"], *d.fixed["arms"], dead)
        one = ~dead & (m["on_one"] > m["on_anti"])
        return neurons.Groups(one=one, anti_one=~dead & ~one, dead=dead)

    return d.memo(("groups", groups, dead_fraction), compute)


def full_sizes(g: neurons.Groups, d: Sample) -> dict[str, int]:
    """Group sizes over all 200 neurons (the never-active ones are dead)."""
    never = d.fixed["neurons"] - len(g.dead)
    return {"one": int(g.one.sum()), "anti_one": int(g.anti_one.sum()), "dead": int(g.dead.sum()) + never}


def _rows(d: Sample, key: str) -> np.ndarray:
    return d.rows("train", key)


def per_image(d: Sample, name: str, g: neurons.Groups, compute: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Per-image results of an intervention on the full sample, computed once per distinct grouping and shared
    by every resample (a resample only re-weights the images; the groups it finds are usually the full
    sample's). Interventions use each neuron's minimum over the full sample."""
    key = (name, g.one.tobytes(), g.anti_one.tobytes(), g.dead.tobytes())
    cache = d.fixed["shared"]
    if key not in cache:
        cache[key] = compute()
    return cache[key]


# ----------------------------------------------------------------------------------------------- neurons
@external("train_post", "train", "fc2", "pca", "arms", build=neuron_sample)
@declare("detector-groups", dead_choice(), groups_choice(), seed_group="neurons")
def detector_group_sizes(d: Sample, dead_fraction: float, groups: str) -> Judgement:
    from claims.test_neurons import CLAIMED_GROUPS, GROUP_TOLERANCE

    sizes = full_sizes(detector_groups(d, groups, dead_fraction), d)
    return Judgement(all(within(sizes[k], v, GROUP_TOLERANCE) for k, v in CLAIMED_GROUPS.items()), sizes)


@external("train_post", "train", "fc2", "pca", "arms", build=neuron_sample)
@declare(
    "one-way-neurons",
    Choice.among("typical", "std", ("std", "mean"), why="\"contributes\": logit-diff weight × typical activation; "
                 "CLAIMS.md takes the std over the training set as typical, the mean is the other natural reading"),
    dead_choice(),
    seed_group="neurons",
)
def one_way(d: Sample, typical: str, dead_fraction: float) -> Judgement:
    from claims.test_neurons import NEGATIVE_SHARE

    g = detector_groups(d, "firing", dead_fraction)
    scale = moments(d)[typical]
    c = (d.fixed["direction"] * scale)[~g.dead]
    negative, positive = float(-c[c < 0].sum()), float(c[c > 0].sum())
    share = negative / positive if positive > 0 else float("inf")
    return Judgement(int((c < 0).sum()) == 0, {"negative_neurons": int((c < 0).sum()), "negative_share": share},
                     erratum=share <= NEGATIVE_SHARE)


def fv_sample(train_post, train, fc2, pca, arms, fv_correlation) -> Sample:
    active = ~neurons.dead_neurons(train_post)
    return neuron_sample(train_post, train, fc2, pca, arms, fv=np.asarray(fv_correlation)[active])


@external("train_post", "train", "fc2", "pca", "arms", "fv_correlation", build=fv_sample)
@declare(
    "feature-visualisation",
    Choice.among("strength", "std", ("std", "mean"), why="\"the 15 strongest\": |logit-diff weight| × activation "
                 "std (CLAIMS.md) or × mean activation"),
    groups_choice(),
    dead_choice(),
    not_explored="the feature-visualisation recipe (steps, learning rate, start image) needs a network pass per "
    "choice; the images of the test's recipe (zeros, Adam, lr 0.1, 100 steps) are held fixed",
    seed_group="neurons",
)
def feature_visualisation(d: Sample, strength: str, groups: str, dead_fraction: float) -> Judgement:
    from claims.test_neurons import FV_MAJORITY, TOP_K

    g = detector_groups(d, groups, dead_fraction)
    scale = moments(d)[strength]
    s = np.abs(d.fixed["direction"] * scale)
    fv = d.fixed["fv"]

    def share(mask: np.ndarray, sign: int) -> float:
        ids = neurons.strongest(mask, s, TOP_K)
        return float(np.mean(np.sign(fv[ids]) == sign)) if len(ids) else float("nan")

    top = {"one_positive": share(g.one, 1), "anti_one_negative": share(g.anti_one, -1)}
    return Judgement(top["one_positive"] >= FV_MAJORITY and top["anti_one_negative"] >= FV_MAJORITY, top)


# ----------------------------------------------------------------------------------------------- interventions
@external("train_post", "train", "fc2", "pca", "arms", build=neuron_sample)
@declare(
    "zero-ablation-baseline",
    groups_choice(),
    dead_choice(),
    Choice.among("images", "outside", ("outside", "all"), why="\"almost all data points\": the images outside the "
                 "anti-1-like region (CLAIMS.md: inside it the group is what makes them class 1) or all images"),
    seed_group="neurons",
)
def zero_ablation(d: Sample, groups: str, dead_fraction: float, images: str) -> Judgement:
    from claims.test_interventions import ALMOST_ALL

    t = d.table("train")
    g = detector_groups(d, groups, dead_fraction)

    def compute() -> dict[str, np.ndarray]:
        # ablation.zero_ablation_effect per image, through the linear readout: zeroing the group removes its
        # logit-diff contribution (class 1 iff logit diff > 0, argmax's tie rule)
        contribution = (t["contribution"] @ g.anti_one.astype(np.float32)).astype(np.float64)
        return {"class_1_after": (t["logit_diff"] - contribution > 0).astype(np.float64),
                "rises": (contribution < 0).astype(np.float64), "contribution": contribution}

    x = per_image(d, "zero-ablation", g, compute)
    over = t["region"] != ANTI if images == "outside" else np.ones(len(t["region"]), dtype=bool)
    head = {"fraction_class_1_after": float(wmean(d, x["class_1_after"], over)),
            "fraction_logit_diff_rises": float(wmean(d, x["rises"], over)),
            "group_mean_contribution": float(wmean(d, x["contribution"], over))}
    return Judgement(head["fraction_class_1_after"] >= ALMOST_ALL, head,
                     erratum=head["fraction_logit_diff_rises"] >= ALMOST_ALL)


@external("train_post", "train", "fc2", "pca", "arms", build=neuron_sample)
@declare(
    "dla-exclusive",
    Choice.span("strong_scale", 1.0, 0.5, 2.0, why="\"contributes strongly\": enough to carry the median class-0 "
                "image to class 1 (1×); half or twice that margin are as defensible"),
    Choice.among("baseline", "minimum", ("minimum", "zero"), why="excitation above the no-detection baseline: each "
                 "neuron's dataset minimum (the write-up's baseline) or zero activation"),
    groups_choice(),
    dead_choice(),
    seed_group="neurons",
)
def dla_exclusive(d: Sample, strong_scale: float, baseline: str, groups: str, dead_fraction: float) -> Judgement:
    from claims.test_interventions import BOTH_STRONG_MAX

    t = d.table("train")
    g = detector_groups(d, groups, dead_fraction)
    threshold = strong_scale * ablation.strong_excitation_threshold(_rows(d, "logits"))

    def compute() -> dict[str, np.ndarray]:  # neurons.excitation / group_logit_diff of both groups
        masks = np.stack([g.one, g.anti_one], axis=1).astype(np.float32)
        above_min, above_zero = t["excitation"] @ masks, t["contribution"] @ masks
        return {"one.minimum": above_min[:, 0], "anti.minimum": above_min[:, 1],
                "one.zero": above_zero[:, 0], "anti.zero": above_zero[:, 1]}

    x = per_image(d, "dla", g, compute)
    one, anti = x[f"one.{baseline}"] >= threshold, x[f"anti.{baseline}"] >= threshold
    shares = {"both": float(wmean(d, (one & anti).astype(np.float64))),
              "one_only": float(wmean(d, (one & ~anti).astype(np.float64))),
              "anti_one_only": float(wmean(d, (anti & ~one).astype(np.float64)))}
    return Judgement(shares["both"] <= BOTH_STRONG_MAX and bool(g.one.any() and g.anti_one.any()), shares)


@external("train_post", "train", "fc2", "pca", "arms", build=neuron_sample)
@declare(
    "min-ablation",
    Choice.span("split", ablation.MIDPOINT, L_THRESHOLD, R_THRESHOLD, why="\"split in two according to our "
                "similarity score\": at the band's midpoint (CLAIMS.md); any point inside the band keeps every "
                "1-like image on one side and every anti-1-like image on the other"),
    groups_choice(),
    dead_choice(),
    seed_group="neurons",
)
def min_ablation(d: Sample, split: float, groups: str, dead_fraction: float) -> Judgement:
    from claims.test_interventions import BARELY_ANY_EFFECT, CHANCE

    table = d.table("train")
    g = detector_groups(d, groups, dead_fraction)
    masks = (("anti_one_group", g.anti_one), ("one_group", g.one), ("both", g.one | g.anti_one))

    def compute() -> dict[str, np.ndarray]:
        # per image, is the label kept (ablation.min_ablation_table through the linear readout: a group at its
        # dataset minimum loses its excitation above that minimum from the logit diff)
        ld = table["logit_diff"]
        after = ld[:, None] - table["excitation"] @ np.stack([m for _, m in masks], axis=1).astype(np.float32)
        kept = (after > 0) == (ld > 0)[:, None]
        return {name: kept[:, k].astype(np.float64) for k, (name, _) in enumerate(masks)}

    kept = per_image(d, "min-ablation", g, compute)
    low = table["s"] < split
    t = {name: {"anti_one_half": float(wmean(d, kept[name], low)), "one_half": float(wmean(d, kept[name], ~low))}
         for name, _ in masks}
    holds = (between(t["anti_one_group"]["anti_one_half"], *CHANCE) and t["anti_one_group"]["one_half"] >= BARELY_ANY_EFFECT
             and between(t["one_group"]["one_half"], *CHANCE) and t["one_group"]["anti_one_half"] >= BARELY_ANY_EFFECT
             and between(t["both"]["anti_one_half"], *CHANCE) and between(t["both"]["one_half"], *CHANCE))
    return Judgement(holds, {f"{g_}.{h}": v for g_, row in t.items() for h, v in row.items()})


# ----------------------------------------------------------------------------------------------- causal scrubbing
def rank_window(index: SimilarityIndex, p: float) -> tuple[np.ndarray, np.ndarray]:
    """"Similar" by rank: the p·N images nearest in s (half on each side), instead of |s' − s| ≤ p·range(s)."""
    n = len(index.s)
    half = max(1, int(round(p * n / 2)))
    lo = np.clip(index.rank - half, 0, n - 1)
    hi = np.clip(index.rank + half, 0, n - 1)
    return lo, hi - lo + 1


def scrub_kept(d: Sample, p: float | str, seed: int, replacement: str, similarity: str) -> np.ndarray:
    """Per image: is the model's label kept after scrubbing every group (the test's :class:`Scrubber`), or,
    with ``replacement = "neuron"``, after each neuron of a group draws its own replacement image (same pools,
    independent draws per neuron: this module's own small implementation)."""
    t = d.table("train")
    scrubber: Scrubber = d.memo("scrubber", lambda: Scrubber.build(
        t["post"], d.fixed["readout"], detector_groups(d, "firing", 0.0), t["s"], t["region"], t["labels"]))
    if similarity == "rank" and p != "random":
        scrubber = d.memo(("rank-scrubber", p), lambda: Scrubber(scrubber.index, scrubber.region, scrubber.labels,
                                                                   scrubber.parts, scrubber.readout,
                                                                   {float(p): rank_window(scrubber.index, float(p))}))
    if replacement == "group":
        logits = scrubber.readout.resample(scrubber.parts, scrubber.sources(p, seed))
        return labels_from_logits(logits) == scrubber.labels
    g = detector_groups(d, "firing", 0.0)
    post, n = t["post"], len(t["post"])
    rng = np.random.default_rng(seed)
    src = rng.integers(0, n, post.shape)  # dead neurons, and everything when p is "random": any image
    if p != "random":
        if float(p) not in scrubber.windows:
            scrubber.windows[float(p)] = scrubber.index.window(float(p))
        lo, count = scrubber.windows[float(p)]
        index = scrubber.index
        for mask, region in ((g.one, ONE), (g.anti_one, ANTI)):
            cols = np.flatnonzero(mask)
            own = scrubber.region == region
            # one draw per neuron and image: similar s inside the group's own region, any other image outside it
            # uniform draws by scaling one random float each (several times faster than integers() with
            # a per-image bound)
            k = (rng.random((n, len(cols))) * np.maximum(count - 1, 1)[:, None]).astype(np.int64)
            k = k + (lo[:, None] + k >= index.rank[:, None])
            similar = index.order[np.where(count[:, None] > 1, lo[:, None] + k, index.rank[:, None])]
            pool = np.flatnonzero(~own) if (~own).any() else np.arange(n)
            other = pool[rng.integers(0, len(pool), (n, len(cols)))]
            src[:, cols] = np.where(own[:, None], similar, other)
    # the scrubbed logit diff, gathered from each neuron's float32 contribution (half the memory traffic of
    # gathering activations and multiplying by fc2): class 1 iff it is > 0, as argmax decides
    b = d.fixed["readout"].bias
    scrubbed = np.take_along_axis(t["contribution"], src, axis=0).sum(axis=1, dtype=np.float64) + (b[1] - b[0])
    return (scrubbed > 0).astype(np.int64) == scrubber.labels


def scrub_sample(train_post, train, fc2, pca, arms) -> Sample:
    return neuron_sample(train_post, train, fc2, pca, arms, per_image={})


@external("train_post", "train", "fc2", "pca", "arms", build=scrub_sample)
@declare(
    "causal-scrubbing",
    Choice.among("replacement", "group", ("group", "neuron"), why="\"resample-ablate\" each group from one "
                 "replacement image (the hypothesis's unit is the group) or each neuron from its own"),
    Choice.among("similarity", "s-range", ("s-range", "rank"), why="\"similarity threshold\" p: |s' − s| ≤ p·range(s) "
                 "(CLAIMS.md's noise scale), or the p·N images nearest in s"),
    resampled="the 60,000 training images (each image's kept label averaged over the test's 5 seeds; the "
    "replacement draws are the test's)",
    max_examples=10,
)
def causal_scrubbing(d: Sample, replacement: str, similarity: str) -> Judgement:
    from claims.test_interventions import SCRUB_LOW_NOISE, SCRUB_ONE_PERCENT, SCRUB_RANDOM

    cache = d.fixed["per_image"]  # shared by every resample: the scrubbing passes run on the full sample once
    if (replacement, similarity) not in cache:
        full = Sample(d.tables, d.fixed)
        cache[replacement, similarity] = {
            noise_key(p): np.mean([scrub_kept(full, p, seed, replacement, similarity) for seed in SEEDS], axis=0)
            for p in NOISE_LEVELS}
    keys, per_image = list(cache[replacement, similarity]), np.stack(list(cache[replacement, similarity].values()), axis=1)
    mean = dict(zip(keys, (float(v) for v in wmean(d, per_image))))
    holds = (all(between(mean[k], *SCRUB_LOW_NOISE) for k in ("0.0001", "0.001")) and mean["0.01"] >= SCRUB_ONE_PERCENT
             and mean["0.1"] < mean["0.01"] and between(mean["random"], *SCRUB_RANDOM))
    return Judgement(holds, mean)


# ----------------------------------------------------------------------------------------------- geometry
def v_sample(pca_coords, train, pca, logit_diff_dir, acts, clue) -> Sample:
    anticlue = pca.transform(acts.anticlue.post)[0]
    return Sample({"train": {"coords": pca_coords, "labels": train.labels, "region": train.region,
                             "pre": train.pre, "digits": train.digits}},
                  {"towards_one": pca.direction(logit_diff_dir), "anticlue": anticlue, "all_coords": pca_coords,
                   "logit_diff_dir": logit_diff_dir, "anticlue_taps": acts.anticlue})


def plane(d: Sample, activations: str):
    """(coords of the resampled images, coords of all images, the logit-diff direction, the anti-clue) in the
    PCA plane of post-ReLU (the session's) or pre-ReLU activations (a fresh PCA)."""
    if activations == "post":
        return _rows(d, "coords"), d.fixed["all_coords"], d.fixed["towards_one"], d.fixed["anticlue"]

    def pre():
        pre_all = d.table("train")["pre"]
        p = geometry.fit_pca(d.rows("train", "pre"))
        return (p.transform(d.rows("train", "pre")), p.transform(pre_all), p.direction(d.fixed["logit_diff_dir"]),
                p.transform(d.fixed["anticlue_taps"].pre)[0])

    return d.memo("pre-plane", pre)


def fitted_v(d: Sample, activations: str, coords: np.ndarray) -> geometry.VShape | None:
    def fit():
        try:
            return geometry.fit_v(coords)
        except geometry.NoV:
            return None

    return d.memo(("v", activations), fit)


ACTIVATIONS = dict(why="the PCA of post-ReLU activations (CLAIMS.md: what the next layer reads), or of fc1's output "
                   "before the ReLU")


@external("pca_coords", "train", "pca", "logit_diff_dir", "acts", "clue", build=v_sample)
@declare(
    "logit-diff-to-corner",
    Choice.among("activations", "post", ("post", "pre"), **ACTIVATIONS),
    Choice.among("criterion", "arms", ("arms", "30°"), why="\"points to the corner\": against both arms' outward "
                 "directions (the test's rule), or within 30° of the corner direction (CLAIMS.md v2)"),
    max_examples=10,
)
def logit_diff_to_corner(d: Sample, activations: str, criterion: str) -> Judgement:
    coords, _, towards_one, _ = plane(d, activations)
    v = fitted_v(d, activations, coords)
    if v is None:
        return Judgement(False, {"angle_literal": float("nan"), "angle_negative": float("nan")})
    readings = {"literal": towards_one, "negative": -towards_one}
    angles = {k: geometry.angle_deg(x, v.corner_direction) for k, x in readings.items()}
    if criterion == "arms":
        points = {k: bool(all(np.dot(x, arm.outward) < 0 for arm in v.arms)) for k, x in readings.items()}
    else:
        points = {k: angles[k] <= 30.0 for k in readings}
    return Judgement(points["literal"], {f"angle_{k}": a for k, a in angles.items()}, erratum=points["negative"])


@external("pca_coords", "train", "pca", "logit_diff_dir", "acts", "clue", build=v_sample)
@declare(
    "clue-furthest-out",
    Choice.among("furthest", "projection", ("projection", "distance"), why="\"furthest-out\": the largest projection "
                 "on the arm's outward direction (the test's), or the largest distance from the corner"),
    Choice.among("activations", "post", ("post", "pre"), **ACTIVATIONS),
    Choice.among("corner", "lines", ("lines", "apex"), why="\"furthest-out\" is measured from the V's corner: "
                 "where the two arm lines cross, or the tip of the point cloud"),
    resampled="the training images the V is fitted on (the extremes are then looked for among all 60,000: the claim "
    "names particular images)",
    max_examples=10,
)
def clue_furthest_out(d: Sample, furthest: str, activations: str, corner: str) -> Judgement:
    coords, all_coords, _, anticlue = plane(d, activations)
    v = fitted_v(d, activations, coords)
    table = d.table("train")
    if v is None:
        return Judgement(False, {"clue_rank": float("nan"), "anticlue_angle_deg": float("nan")})
    one_arm, anti_arm = geometry.arms_by_content(v, _rows(d, "region") == ONE)
    side = all_coords[:, 0] < v.split  # arm membership of every image
    members = [side if arm is v.left else ~side for arm in (one_arm, anti_arm)]
    from claims.test_geometry import corner_of

    offsets = all_coords - corner_of(v, coords, corner)
    if furthest == "projection":
        reach = [offsets @ arm.outward for arm in (one_arm, anti_arm)]
    else:
        reach = [np.linalg.norm(offsets, axis=1)] * 2
    extreme = [int(np.flatnonzero(m)[np.argmax(r[m])]) for m, r in zip(members, reach)]
    clue_rank = int(np.sum(reach[0][members[0]] > reach[0][6])) if members[0][6] else -1
    a = anticlue - corner_of(v, coords, corner)
    angle_anti, angle_one = geometry.angle_deg(a, anti_arm.outward), geometry.angle_deg(a, one_arm.outward)
    on_other = (anticlue[0] < v.split) == (anti_arm is v.left) and angle_anti < angle_one
    holds = (extreme[0] == 6 and extreme[1] == 22752 and int(table["digits"][22752]) == 0 and on_other)
    return Judgement(holds, {"clue_rank": clue_rank, "anticlue_angle_deg": angle_anti,
                             "other_extreme_is_22752": float(extreme[1] == 22752)})
