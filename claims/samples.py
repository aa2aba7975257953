"""The sample the neuron and intervention claims are judged on, and the readings they share.

One :class:`~analysis.robustness.Sample` for all of them (a session fixture, ``neuron_sample``): per training
image its activations, region, similarity, the model's labels and logits; fixed, the readout and what the
arm-direction groups need. The judges share its memo on the full sample (the groups are computed once), and
draw the same resamples (``seed_group="neurons"``)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from analysis import ablation, neurons, scrubbing, weighted, wrong_hypotheses
from analysis.robustness import Choice, Excluded, Sample
from analysis.scrubbing import SEEDS, noise_key
from analysis.weighted import Moments, SortedColumns
from fixtures.cache import memoised
from model import interventions
from model.interventions import Readout

DEAD = dict(
    why='"dead (useless)": never active on the training set (CLAIMS.md), or active on at most 0.1% of it '
    "(60 images), which a reader could also call useless"
)
RESAMPLED = (
    "the 60,000 training images (the detector groups re-formed on each resample among the neurons alive on all of "
    "them: the dead set, never active on the full sample, is held fixed, and so is the group of a neuron the "
    "resample leaves silent on the 1-like and anti-1-like images)"
)
GROUPS = dict(
    why="CLAIMS.md accepts either definition of the detector groups: by where a neuron fires (1-like vs "
    "anti-1-like images) or by the write-up's route, the PCA arm direction it loads on"
)


def dead_choice() -> Choice:
    return Choice.span(
        "dead_fraction",
        0.0,
        0.0,
        0.001,
        **DEAD,
        words={
            0.0: 'CLAIMS.md: "dead" is never active on the training set',
            0.001: '"useless" read loosely: active on at most 0.1% of the training images (60)',
        },
        between='"useless" read loosely: active on at most this share of the training images, between none and 0.1%',
    )


def dead_excluded() -> Excluded:
    """``dead_fraction > 0`` is ruled out: a neuron active on a few images is not "never active"."""
    return Excluded(
        "dead = active on at most 0.1% of the training images (dead_fraction > 0)",
        '"Useless neurons … are never active (left, middle, and right region)" (the write-up); CLAIMS.md defines '
        "dead as never active on the training set",
        "dead_fraction",
        dead_choice().options[1:],
    )


def groups_choice() -> Choice:
    return Choice.among("groups", "firing", ("firing", "arms"), **GROUPS)


def neuron_sample(
    post: np.ndarray, train: Any, readout: Any, pca: Any, arms: Any, heldout: tuple[np.ndarray, Any] | None = None
) -> Sample:
    """Per image: activations, region, s, the model's labels and logits. Fixed: the readout, the PCA
    components and the arms' outward directions, and each neuron's images in order of activation (a weighted
    median needs it; computed on first use). ``heldout``: (activations, split) of the test images, judged with
    everything fitted on these images held fixed (:func:`fitted_on`)."""
    sample = Sample(
        {"train": {"post": post, "region": train.region, "s": train.s, "labels": train.labels, "logits": train.logits}},
        {
            "readout": readout,
            "components": pca.components,
            "arms": None if arms is None else (arms[0].outward, arms[1].outward),
            "sorted_columns": sorted_columns(post),
            "moments": cache(lambda: Moments.of(post)),
            "active": cache(lambda: ActiveNeurons.of(post, readout)),
            "extremes": cache(lambda: (post.min(axis=0), post.max(axis=0))),
        },
    )
    if heldout is not None:
        test_post, test = heldout
        sample.heldout = Sample(
            {
                "train": {
                    "post": test_post,
                    "region": test.region,
                    "s": test.s,
                    "labels": test.labels,
                    "logits": test.logits,
                }
            },
            {
                **sample.fixed,
                "sorted_columns": sorted_columns(test_post, ~neurons.dead_neurons(post)),
                "moments": cache(lambda: Moments.of(test_post)),
                "active": cache(lambda: sample.fixed["active"]().on(test_post)),
                "fitted": sample,
            },
        )
    return sample


def sorted_columns(post: np.ndarray, alive: np.ndarray | None = None) -> Callable[[Any, np.ndarray], SortedColumns]:
    """``summary(key, where)``: the columns of the neurons alive on the training images (``alive``; by default those
    active on some row of ``post``) sorted once, for weighted medians over the rows ``where`` (one summary per
    key, built on first use): every detector group of a resample lies among them (the dead set is held fixed)."""
    made: dict[Any, SortedColumns] = {}
    columns = cache(lambda: np.flatnonzero(~neurons.dead_neurons(post) if alive is None else alive))
    order = cache(lambda: np.argsort(post[:, columns()], axis=0, kind="stable"))

    def summary(key: Any, where: np.ndarray) -> SortedColumns:
        if key not in made:
            made[key] = SortedColumns.of(post, where, columns(), order())
        return made[key]

    return summary


def fitted_on(d: Sample) -> Sample:
    """The sample the fitted quantities (groups, dead set, minima, thresholds) come from: the training images'
    for a held-out sample, else ``d`` itself."""
    return d.fixed.get("fitted", d)


@dataclass(frozen=True)
class ActiveNeurons:
    """The neurons active on some image of the full sample, their activations and their readout: a never-active
    neuron adds nothing to any logit, so per-image interventions are computed on these columns alone."""

    mask: np.ndarray
    post: np.ndarray
    readout: Readout
    minima: np.ndarray  # each active neuron's minimum over the images it was found on

    @classmethod
    def of(cls, post: np.ndarray, readout: Readout) -> ActiveNeurons:
        mask = ~neurons.dead_neurons(post)
        active = np.ascontiguousarray(post[:, mask])
        return cls(mask, active, readout.restricted(mask), active.min(axis=0))

    def on(self, post: np.ndarray) -> ActiveNeurons:
        """The same neurons, readout and minima on other images."""
        return ActiveNeurons(self.mask, np.ascontiguousarray(post[:, self.mask]), self.readout, self.minima)

    def groups(self, g: neurons.Groups) -> neurons.Groups:
        """A grouping of all neurons, restricted to the active ones."""
        return neurons.Groups(g.one[self.mask], g.anti_one[self.mask], g.dead[self.mask])


def with_fixed(sample: Sample, **fixed: Any) -> Sample:
    """The same sample (its tables and memo) with more fixed values."""
    return replace(sample, fixed={**sample.fixed, **fixed})


def detector_groups(d: Sample, definition: str = "firing", dead_fraction: float = 0.0) -> neurons.Groups:
    """The detector groups of the (resampled) images: by firing (:func:`neurons.groups_by_firing`) or by arm
    direction (:func:`neurons.groups_by_arms`, the full sample's arms); dead: active on ≤ ``dead_fraction`` of
    the full sample. A resample re-judges the group of each neuron alive on the full sample and firing on the
    resample's 1-like or anti-1-like images; the dead set, and the group of a neuron the resample leaves silent
    there, are the full sample's (``full`` of :func:`neurons.groups_by_firing`). A held-out sample takes the
    training images' groups."""
    if d.fixed.get("fitted") is not None:
        return detector_groups(d.fixed["fitted"], definition, dead_fraction)

    def compute() -> neurons.Groups:
        t = d.table("train")
        w = d.weights("train")
        if w is None:
            firing = neurons.groups_by_firing(t["post"], t["region"], None, dead_fraction)
        else:
            full = detector_groups(replace(d, counts=None, _memo={}), "firing", dead_fraction)  # shared: computed once
            firing = neurons.groups_by_firing(t["post"], t["region"], w, dead_fraction, full, d.fixed["moments"]())
        if definition == "firing":
            return firing
        if d.fixed["arms"] is None:
            raise ValueError("no V: the arm-direction groups are undefined")
        return neurons.groups_by_arms(d.fixed["components"], *d.fixed["arms"], firing.dead)

    return d.shared(("groups", definition, dead_fraction), compute, per_resample=True)


def grouping_key(g: neurons.Groups) -> bytes:
    """A memo key for one grouping."""
    return g.one.tobytes() + g.anti_one.tobytes() + g.dead.tobytes()


def per_group(d: Sample, name: str, mask: np.ndarray, compute: Callable[[], Any]) -> Any:
    """Per-image values of one group of neurons (they do not depend on the resample's multiplicities), computed
    once for the sample and its resamples: a resample's groups are mostly the full sample's."""
    return d.shared((name, mask.tobytes()), compute)


def excitations(d: Sample, g: neurons.Groups, baseline: str = "minimum") -> tuple[np.ndarray, np.ndarray]:
    """Per image, the 1 group's and the anti-1 group's excitation above ``baseline`` (ablation.excitation)."""
    active = d.fixed["active"]()
    return tuple(
        per_group(
            d,
            f"excitation/{baseline}",
            m,
            lambda m=m: ablation.excitation(active.post, active.readout, m[active.mask], baseline, active.minima),
        )
        for m in (g.one, g.anti_one)
    )


# ------------------------------------------------------------------- the causal-scrubbing score's yardstick
NOISE = 1e-3  # CLAIMS.md: the causal-scrubbing score at p = 0.1%
PARTITIONS = 20  # CLAIMS.md: 20 seeded random partitions of the active neurons
PARTITION_SEED = 20261201  # fixed: every run scrubs the same 20 wrong hypotheses


def wrong_hypotheses_sample(scrubber, groups, train, prepared, acts, background) -> Sample:
    """Per noise level (computed in the ``background`` on first use or when ``fixed["start"](p)`` asks, memoised
    in the cache folder: 22 hypotheses × 5 seeds): per hypothesis, seed and training image, is the model's label
    kept? ``"random"`` holds the fully random replacement (every group from a random image) under the hypothesis's
    groups."""
    # neurons drawn in the order of their activation std: the same partitions whatever the neurons' indices or scale
    named = wrong_hypotheses.hypotheses(groups, PARTITIONS, PARTITION_SEED, weighted.column_std(train.post))
    code = hashlib.blake2b(digest_size=8)
    for module in (scrubbing, wrong_hypotheses, neurons, interventions):
        code.update(Path(module.__file__).read_bytes())
    code.update(repr((SEEDS, PARTITIONS, PARTITION_SEED)).encode())
    code.update(scrubber.digest.encode())  # the hypothesis scrubbed, its regions and s
    for hypothesis in named.values():  # and every wrong grouping of the neurons
        for _, mask in hypothesis.as_list():
            code.update(np.packbits(mask).tobytes())

    def start(p: float | str) -> Future:
        key = noise_key(p)

        def compute() -> dict[str, np.ndarray]:
            chosen = {"hypothesis": groups} if p == "random" else named
            return wrong_hypotheses.kept_under(scrubber, train.post, chosen, p, SEEDS)

        path = prepared.inputs.cache_dir / f"scrub-wrong-{key}-{acts.source.stem}-{code.hexdigest()}.npz"
        return background.start(f"wrong-hypotheses-{key}-{code.hexdigest()}", memoised, path, compute)

    def kept(p: float | str) -> dict[str, np.ndarray]:
        return start(p).result()

    return Sample(
        {"train": {"region": train.region}},
        {"kept": kept, "start": start, "rates": kept_rates(kept), "sizes": groups.sizes()},
    )


def kept_rates(kept):
    """``rates(p)``: per training image and hypothesis, the share of seeds that keep its label, (N, hypotheses) in
    the order of ``kept(p)``; computed once per level (every bootstrap resample weighs the same matrix)."""
    cache: dict[str, tuple[list[str], np.ndarray]] = {}

    def rates(p: float | str) -> tuple[list[str], np.ndarray]:
        key = noise_key(p)
        if key not in cache:
            per_seed = kept(p)
            cache[key] = list(per_seed), np.stack([v.mean(axis=0) for v in per_seed.values()], axis=1)
        return cache[key]

    return rates


def scores_at(d: Sample, p: float | str) -> dict[str, float]:
    """Per hypothesis, the fraction of labels kept at noise level ``p``: the mean over the seeds and the
    (resampled) training images."""
    names, rates = d.fixed["rates"](p)
    return dict(zip(names, (float(v) for v in d.mean("train", rates))))
