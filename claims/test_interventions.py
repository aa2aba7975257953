"""Interventions: zero ablation and its baseline, direct logit attribution, minimum ablation, causal scrubbing.

Write-up: "We ablate a neuron by replacing its activation with its dataset-minimum … For images similar to the
“anti 1” image, ablating the “anti 1” detector reduces performance to random chance (50%), while ablating "1"
detectors has barely any effect. … As expected, ablating both always destroys performance."
"""

from __future__ import annotations

import numpy as np
import pytest

from analysis import ablation, neurons
from analysis.labelling import ANTI, MIDDLE, ONE
from analysis.scrubbing import NOISE_LEVELS, SEEDS
from claims.tolerance import between
from report.claim import claim

ALMOST_ALL = 0.90  # CLAIMS.md: "almost all" = ≥ 90%
BOTH_STRONG_MAX = 0.01  # "Most images excite either … or …, or neither": at most 1% excite both
CHANCE = (0.40, 0.60)  # "reduces performance to random chance (50%)"
BARELY_ANY_EFFECT = 0.90  # "barely any effect": ≥ 90% of labels kept
SCRUB_LOW_NOISE = (0.925, 0.955)  # "93%-94% preserved performance for all reasonable similarity thresholds"
SCRUB_ONE_PERCENT = 0.92  # "only dropping below 93% when at >1%": at 1% still about 93%
SCRUB_RANDOM = (0.45, 0.55)  # fully random resampling: "near 0.5"
DLA_SAMPLES = 25  # images per region in the attribution figure


@pytest.fixture(scope="module")
def min_table(train_post, fc2, groups, train) -> dict[str, dict[str, float]]:
    return ablation.min_ablation_table(train_post, fc2[0], fc2[1], groups, train.s)


@pytest.fixture(scope="module")
def sweep(scrubber) -> dict:
    return scrubber.sweep(NOISE_LEVELS, SEEDS)


@pytest.fixture(scope="module")
def dla_figure(figure_store, train, train_post, logit_diff_dir, groups, fc2) -> str:
    rng = np.random.default_rng(0)
    samples = {}
    for region, name in ((ANTI, "anti-1-like"), (MIDDLE, "middle (band)"), (ONE, "1-like")):
        ids = rng.choice(np.flatnonzero(train.region == region), DLA_SAMPLES, replace=False)
        samples[name] = ids[np.argsort(train.s[ids])]
    one = neurons.group_logit_diff(train_post, logit_diff_dir, groups.one)
    anti = neurons.group_logit_diff(train_post, logit_diff_dir, groups.anti_one)
    rest = neurons.logit_diff(train.logits) - one - anti
    return figure_store.render("dla", "dla", samples, one, anti, rest)


@claim(
    "zero-ablation-baseline",
    quote="The baseline for the “anti 1” detectors is below zero, so that zero-ablating them raises almost all "
    "data points to class 1.",
    claimed={"fraction_class_1_after": ALMOST_ALL},
    accept="zero the anti-1 group; over images outside the anti-1-like region: ≥ 90% labelled class 1 afterwards "
    "(literal) → holds; only ≥ 90% with a higher logit diff (mechanistic reading) → erratum; neither → fails",
    family="dla",
)
def test_zero_ablating_anti_one_detectors_raises_almost_all_to_class_1(verdict, train_post, fc2, groups, train,
                                                                      logit_diff_dir, dla_figure):
    effect = ablation.zero_ablation_effect(train_post, fc2[0], fc2[1], groups.anti_one, train.region, logit_diff_dir)
    verdict.measured(**effect)
    verdict.figure(dla_figure)
    verdict.conclude(
        effect["fraction_class_1_after"] >= ALMOST_ALL,
        erratum=effect["fraction_logit_diff_rises"] >= ALMOST_ALL,
        correction=f"zero-ablating the anti-1 detectors raises the logit diff of {effect['fraction_logit_diff_rises']:.1%} "
        f"of the images (their mean contribution there is {effect['group_mean_contribution']:+.2f}), but only "
        f"{effect['fraction_class_1_after']:.1%} end up in class 1: it raises almost all points towards class 1, "
        "not into it",
        summary=f"class 1 after: {effect['fraction_class_1_after']:.1%}; logit diff rises: "
        f"{effect['fraction_logit_diff_rises']:.1%}; baseline {effect['group_mean_contribution']:+.2f}",
    )


@claim(
    "dla-exclusive",
    quote="Most images excite either the “1” detectors (green), “anti 1” detectors (orange), or neither … only one "
    "of them contributes in every category.",
    claimed={"both_strong": 0.0},
    accept="fraction of training images where both groups contribute strongly ≤ 1%; strongly = the group lifts "
    "the logit diff above its no-detection baseline (every neuron at its dataset minimum) by at least "
    "|median logit diff of class-0 images|, i.e. enough on its own to carry a typical class-0 image to class 1",
    family="dla",
)
def test_images_excite_one_group_or_the_other_or_neither(verdict, train_post, logit_diff_dir, groups, train, dla_figure):
    threshold = ablation.strong_excitation_threshold(train.logits)
    if not (groups.one.any() and groups.anti_one.any() and np.isfinite(threshold)):
        verdict.conclude(False, summary="undefined: a detector group is empty or the model never says class 0, so "
                         "there is nothing to excite, or no margin to measure 'strongly' against")
    shares = ablation.both_groups_strong(train_post, logit_diff_dir, groups, threshold)
    verdict.measured(**shares, strong_threshold=threshold)
    verdict.figure(dla_figure)
    verdict.conclude(
        shares["both"] <= BOTH_STRONG_MAX,
        summary=f"both {shares['both']:.2%}, only \"1\" {shares['one_only']:.1%}, only \"anti-1\" "
        f"{shares['anti_one_only']:.1%}, neither {shares['neither']:.1%}",
    )


@pytest.fixture(scope="module")
def min_ablation_figure(figure_store, min_table) -> str:
    return figure_store.render("min-ablation", "min_ablation", min_table)


@claim(
    "min-ablation",
    quote="For images similar to the “anti 1” image, ablating the “anti 1” detector reduces performance to random "
    "chance (50%), while ablating \"1\" detectors has barely any effect. And equivalently, for images similar to "
    "the “1” image … As expected, ablating both always destroys performance.",
    claimed={"own_half": 0.5, "other_half": "barely any effect", "both": 0.5},
    accept="each neuron of a group set to its dataset minimum; fraction of model labels kept on the anti-1-like "
    "and 1-like halves (split at (L + R)/2): own half in [0.40, 0.60], other half ≥ 0.90; both groups: each "
    "half in [0.40, 0.60]",
    family="min-ablation",
)
def test_ablating_a_group_destroys_its_own_half_only(verdict, min_table, min_ablation_figure):
    t = min_table
    checks = {
        "anti_one_group": between(t["anti_one_group"]["anti_one_half"], *CHANCE)
        and t["anti_one_group"]["one_half"] >= BARELY_ANY_EFFECT,
        "one_group": between(t["one_group"]["one_half"], *CHANCE) and t["one_group"]["anti_one_half"] >= BARELY_ANY_EFFECT,
        "both": between(t["both"]["anti_one_half"], *CHANCE) and between(t["both"]["one_half"], *CHANCE),
    }
    verdict.measured(**t, checks=checks)
    verdict.figure(min_ablation_figure)
    verdict.conclude(
        all(checks.values()),
        summary="; ".join(f"{g.replace('_group', '').replace('_', '-')}: {v['anti_one_half']:.2f} / {v['one_half']:.2f}"
                          for g, v in t.items()) + " (anti-1 half / 1 half kept)",
    )


@pytest.fixture(scope="module")
def scrubbing_figure(figure_store, sweep) -> str:
    return figure_store.render("causal-scrubbing", "scrubbing", sweep)


@claim(
    "causal-scrubbing",
    quote="We find a very impressive 93% - 94% preserved performance for all reasonable similarity thresholds, "
    "only dropping below 93% when at >1% similarity threshold.",
    claimed={"0.0001": [0.93, 0.94], "0.001": [0.93, 0.94], "0.01": "≥ 0.92", "0.1": "below 1%", "random": 0.5},
    accept="resample-ablate all 200 neurons as the write-up describes, 5 seeds: p ≤ 0.1% mean in [0.925, 0.955]; "
    "p = 1% ≥ 0.92; p = 10% below the p = 1% value; fully random within [0.45, 0.55]",
    family="causal-scrubbing",
)
def test_scrubbing_all_neurons_keeps_93_to_94_percent(verdict, sweep, scrubbing_figure):
    """Scrubbing as in :mod:`analysis.scrubbing`: each group from one replacement image, chosen as the
    hypothesis allows; "similar" = within p × range(s). Measured on the 60,000 training images."""
    mean = {k: v["mean"] for k, v in sweep.items()}
    checks = {
        "low_noise": all(between(mean[k], *SCRUB_LOW_NOISE) for k in ("0.0001", "0.001")),
        "one_percent": mean["0.01"] >= SCRUB_ONE_PERCENT,
        "ten_percent_drops": mean["0.1"] < mean["0.01"],
        "random_is_chance": between(mean["random"], *SCRUB_RANDOM),
    }
    verdict.measured(**mean, spread={k: v["std"] for k, v in sweep.items()},
                     per_seed={k: v["values"] for k, v in sweep.items()}, seeds=list(SEEDS), checks=checks)
    verdict.figure(scrubbing_figure)
    verdict.conclude(
        all(checks.values()),
        summary=", ".join(f"p={k}: {v:.3f}" for k, v in mean.items()),
    )
