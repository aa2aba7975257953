"""The 200 neurons: feature visualisations, one-way contributions, and the detector groups.

Write-up: "we test our hypothesis that of the 200 neurons there are 48 neurons detecting "1" similarity, 31
neurons detecting "anti-1" similarity, and 121 dead (useless) neurons."
"""

from __future__ import annotations

import numpy as np
import pytest

from analysis import neurons
from analysis.robustness import Bound, Choice, Judgement, Sample, declare
from claims.samples import RESAMPLED, dead_choice, dead_excluded, detector_groups, groups_choice, with_fixed
from claims.tolerance import within
from report.claim import claim

TOP_K = 15  # "a sorted list of the 15 strongest"
FV_MAJORITY = 0.80  # "All the top right ones … all the top left ones", read as ≥ 80% (CLAIMS.md)
NEAR_ZERO = 0.01  # reported only: how many correlation signs rest on |r| below this
NEGATIVE_SHARE = 0.05  # CLAIMS.md: an erratum if negative contributions total ≤ 5% of the positive ones
CLAIMED_GROUPS = {"one": 48, "anti_one": 31, "dead": 121}
GROUP_TOLERANCE = 3


def typical_contribution(d: Sample, typical: str = "std") -> np.ndarray:
    """Per neuron: logit-diff weight × typical activation over the (resampled) training images."""
    return d.shared(
        ("typical", typical),
        lambda: neurons.typical_contribution(
            d.table("train")["post"],
            d.fixed["readout"].direction,
            typical,
            d.weights("train"),
            None if d.counts is None else d.fixed["moments"](),
        ),
        per_resample=True,
    )


@pytest.fixture(scope="module")
def contribution(neuron_sample) -> np.ndarray:
    """Per neuron: logit-diff weight × typical activation (std over the training images)."""
    return typical_contribution(neuron_sample)


@pytest.fixture(scope="module")
def fv_correlation(acts, clue) -> np.ndarray:
    return neurons.correlation_with(acts.fv.images, clue - 0.5)


@pytest.fixture(scope="module")
def strongest(groups, contribution) -> dict[str, np.ndarray]:
    strength = np.abs(contribution)
    return {
        "one": neurons.strongest(groups.one, strength, TOP_K),
        "anti_one": neurons.strongest(groups.anti_one, strength, TOP_K),
    }


@pytest.fixture(scope="module")
def feature_figures(figure_store, acts, groups, strongest, fv_correlation, clue) -> list[str]:
    kind = {int(i): name for name, mask in groups.as_list() for i in np.flatnonzero(mask)}
    return [
        figure_store.render("feature-grid", "feature_grid", acts.fv.images, kind),
        figure_store.render(
            "feature-top15",
            "feature_top",
            acts.fv.images,
            strongest["one"],
            strongest["anti_one"],
            fv_correlation,
            clue,
        ),
    ]


@declare(
    "feature-visualisation",
    Choice.among(
        "strength",
        "std",
        ("std", "mean"),
        why='"the 15 strongest": |logit-diff weight| × activation std (CLAIMS.md) or × mean activation',
    ),
    groups_choice(),
    dead_choice(),
    not_explored="the feature-visualisation recipe (steps, learning rate, start image) needs a network pass per "
    "choice; the images of the test's recipe (zeros, Adam, lr 0.1, 100 steps) are held fixed",
    resampled=RESAMPLED,
    seed_group="neurons",
    excluded=[dead_excluded()],
    no_heldout="the inputs are optimised per neuron, not data: there are no held-out images to judge them on",
)
def detectors_look_like_their_digit(d: Sample, strength: str, groups: str, dead_fraction: float) -> Judgement:
    g = detector_groups(d, groups, dead_fraction)
    fv = d.fixed["fv"]
    if not (g.one.any() and g.anti_one.any()):
        return Judgement(
            False, {"one_positive": float("nan"), "anti_one_negative": float("nan")}, measured={"groups": g.sizes()}
        )
    s = np.abs(typical_contribution(d, strength))
    strongest = {"one": neurons.strongest(g.one, s, TOP_K), "anti_one": neurons.strongest(g.anti_one, s, TOP_K)}

    def share(ids: np.ndarray, sign: int) -> float:
        return float(np.mean(np.sign(fv[ids]) == sign)) if len(ids) else float("nan")

    top = {"one_positive": share(strongest["one"], 1), "anti_one_negative": share(strongest["anti_one"], -1)}
    whole = {
        "one_positive": share(np.flatnonzero(g.one), 1),
        "anti_one_negative": share(np.flatnonzero(g.anti_one), -1),
    }
    measured = dict(
        top15=top,
        whole_group=whole,
        top15_neurons={k: v.tolist() for k, v in strongest.items()},
        top15_correlation={k: fv[v].tolist() for k, v in strongest.items()},
        near_zero={
            "threshold": NEAR_ZERO,
            "whole_group": {
                k: int(np.sum(np.abs(fv[m]) < NEAR_ZERO)) for k, m in (("one", g.one), ("anti_one", g.anti_one))
            },
            "top15": {k: int(np.sum(np.abs(fv[v]) < NEAR_ZERO)) for k, v in strongest.items()},
        },
    )
    return Judgement(
        top["one_positive"] >= FV_MAJORITY and top["anti_one_negative"] >= FV_MAJORITY,
        top,
        measured=measured,
        bounds={k: Bound(low=FV_MAJORITY) for k in top},
    )


@claim(
    "feature-visualisation",
    quote="All the “top right” ones (both positive) correspond to a sort of “1” (with some stripes), and all the "
    "“top left” ones correspond to a kinda “anti-1” … Here is a sorted list of the 15 strongest",
    claimed={"one_positive": FV_MAJORITY, "anti_one_negative": FV_MAJORITY},
    accept="per neuron an input maximising its pre-activation (zeros, Adam, lr 0.1, 100 steps); among the 15 "
    'strongest of each group (|logit-diff weight| × activation std) ≥ 80% of "1" detectors correlate '
    'positively with clue − 0.5 and ≥ 80% of "anti-1" detectors negatively',
    family="features",
)
def test_one_detectors_look_like_a_1_and_anti_one_detectors_like_an_anti_1(
    verdict, neuron_sample, fv_correlation, feature_figures
):
    """ "Positive" means a correlation above 0 of the image the recipe produces. The recipe runs in float64
    (model/featurevis.py), so every sign — also of the few active neurons whose image barely correlates with the
    template (|r| < 0.001) — is a property of the recipe, the same on every CPU, not of rounding (in float32 those
    signs, and the whole-group shares, changed between CPU kernels). How many signs rest on |r| < 0.01 is reported
    (``near_zero``); the top 15 that decide the verdict have none on this checkpoint."""
    judged = verdict.judge(detectors_look_like_their_digit, with_fixed(neuron_sample, fv=fv_correlation))
    verdict.measured(**judged.measured)
    if "top15" not in judged.measured:
        verdict.conclude(False, summary=f"no detectors to visualise: groups {judged.measured['groups']}")
    top, whole = judged.measured["top15"], judged.measured["whole_group"]
    for f in feature_figures:
        verdict.figure(f)
    verdict.conclude(
        judged.holds,
        summary=f'top 15: {top["one_positive"]:.0%} of "1" +, {top["anti_one_negative"]:.0%} of "anti-1" −; '
        f"whole groups {whole['one_positive']:.0%} / {whole['anti_one_negative']:.0%}",
    )


@declare(
    "one-way-neurons",
    Choice.among(
        "typical",
        "std",
        ("std", "mean"),
        why='"contributes": logit-diff weight × typical activation; '
        "CLAIMS.md takes the std over the training set as typical, the mean is the other natural reading",
    ),
    dead_choice(),
    resampled=RESAMPLED,
    seed_group="neurons",
    excluded=[dead_excluded()],
)
def no_neuron_pushes_the_other_way(d: Sample, typical: str, dead_fraction: float) -> Judgement:
    readout = d.fixed["readout"]
    active = ~detector_groups(d, "firing", dead_fraction).dead
    if not active.any():
        return Judgement(False, {"negative_neurons": 0, "negative_share": float("nan")}, measured={})
    shares = {k: neurons.negative_share(typical_contribution(d, k)[active]) for k in ("std", "mean")}
    c = typical_contribution(d, "std")[active]
    negative_weights = int((readout.direction[active] < 0).sum())
    breaking = int(neurons.breaks_sign_pattern(readout)[active].sum())
    w = readout.weight[:, active]
    measured = dict(
        active_neurons=int(active.sum()),
        negative_neurons=negative_weights,
        negative_share=shares["std"],
        negative_share_mean_weighted=shares["mean"],
        negative_total=float(-c[c < 0].sum()),
        positive_total=float(c[c > 0].sum()),
        breaking_fc2_sign_pattern=breaking,
        fc2_row0_negative=int((w[0] < 0).sum()),
        fc2_row1_positive=int((w[1] > 0).sum()),
    )
    headline = {
        "negative_neurons": negative_weights,
        "negative_share": shares[typical],
        "negative_share_std_weighted": shares["std"],
        "negative_share_mean_weighted": shares["mean"],
    }
    return Judgement(
        negative_weights == 0,
        headline,
        erratum=shares[typical] <= NEGATIVE_SHARE,
        measured=measured,
        bounds={"negative_neurons": Bound(high=0)},
        erratum_bounds={"negative_share": Bound(high=NEGATIVE_SHARE)},
    )


@claim(
    "one-way-neurons",
    quote="Every neuron contributes towards positive logit diff direction, no neuron contributes the other way! "
    "(the authors' notebook, not the write-up, later adds “a couple of negative neurons too”)",
    claimed={"negative_neurons": 0},
    accept="literal: no active neuron has a negative logit-diff weight → holds; else if the negative std-weighted "
    "contributions (weight × activation std) total ≤ 5% of the positive ones → erratum; else fails. The "
    "mean-weighted share (weight × mean activation) and the neurons breaking fc2's sign pattern are reported beside",
    family="contributions",
)
def test_every_neuron_pushes_towards_class_1(verdict, neuron_sample, contribution_figure):
    """The erratum rests on a choice: std-weighted contributions (how much a neuron moves the logit diff). With
    mean-weighted ones (what a neuron adds on average) the always-on neurons with negative weights, which carry
    the anti-1 baseline that anti-one-baseline relies on, weigh far more: both shares are shown."""
    judged = verdict.judge(no_neuron_pushes_the_other_way, neuron_sample)
    if not judged.measured:
        verdict.conclude(False, summary="no active neuron: nothing contributes to the logit diff at all")
    m = judged.measured
    negative_weights, n, share, mean_share = (
        m["negative_neurons"],
        m["active_neurons"],
        m["negative_share"],
        m["negative_share_mean_weighted"],
    )
    breaking = m["breaking_fc2_sign_pattern"]
    verdict.measured(**m)
    verdict.figure(contribution_figure)
    verdict.conclude(
        judged.holds,
        erratum=judged.erratum,
        correction=f"{negative_weights} of {n} active neurons have a negative logit-diff weight and push towards class "
        f"0; weighted by how much they vary (activation std) they total only {share:.1%} of the positive "
        f"contributions, but weighted by their mean activation {mean_share:.0%}; {breaking} of {n} break fc2's sign "
        "pattern (weight to logit 0 ≤ 0, to logit 1 ≥ 0). The claim holds only for what the neurons vary, not for "
        "what they add: the negative ones carry the anti-1 baseline",
        summary=f"{negative_weights} of {n} active neurons negative; negative share {share:.1%} std-weighted, "
        f"{mean_share:.1%} mean-weighted; {breaking} break fc2's sign pattern",
    )


@declare(
    "detector-groups",
    dead_choice(),
    groups_choice(),
    resampled=RESAMPLED,
    seed_group="neurons",
    excluded=[dead_excluded()],
    no_heldout="48 / 31 / 121 are counts of the 200 neurons, grouped on the training images: the test images have no"
    " claimed counts",
)
def group_sizes(d: Sample, dead_fraction: float, groups: str) -> Judgement:
    g = detector_groups(d, groups, dead_fraction)
    sizes = g.sizes()
    arms = d.fixed["arms"]
    by_arms = None if arms is None else neurons.groups_by_arms(d.fixed["components"], *arms, g.dead)
    measured = {
        **sizes,
        "by_arm_directions": by_arms.sizes() if by_arms else None,
        "agreement_of_definitions": float(np.mean(by_arms.one == g.one)) if by_arms else None,
    }
    return Judgement(
        all(within(sizes[k], v, GROUP_TOLERANCE) for k, v in CLAIMED_GROUPS.items()),
        sizes,
        measured=measured,
        bounds={k: Bound.within(v, GROUP_TOLERANCE) for k, v in CLAIMED_GROUPS.items()},
    )


@claim(
    "detector-groups",
    quote='of the 200 neurons there are 48 neurons detecting "1" similarity, 31 neurons detecting "anti-1" '
    "similarity, and 121 dead (useless) neurons",
    claimed=CLAIMED_GROUPS,
    accept='each group\'s size within ±3 (dead = never active on the training set; an active neuron is a "1" '
    'detector if it fires more on 1-like than on anti-1-like images, else "anti-1")',
    family="features",
)
def test_48_one_detectors_31_anti_one_detectors_121_dead(verdict, neuron_sample):
    """Firing-based groups decide (CLAIMS.md's definition). The write-up's own route, the arm directions of
    the PCA plot mapped back to neuron space, is reported beside them."""
    judged = verdict.judge(group_sizes, neuron_sample)
    m = judged.measured
    by_arms = m["by_arm_directions"]
    verdict.measured(**m)
    verdict.conclude(
        judged.holds,
        summary=f'"1" {m["one"]}, "anti-1" {m["anti_one"]}, dead {m["dead"]}'
        + (f" (by arm directions: {by_arms['one']} / {by_arms['anti_one']})" if by_arms else ""),
    )
