"""The neurons the PCA directions use, by quadrant of their loadings: the detector groups, and what they look like.

Write-up: "some neurons activate both eigenvectors positively (we call them “top right direction neurons” …), and
some neurons activate the first one (x) negatively and the second one (y) positively (“top left direction
neurons”)"; "All the “top right” ones (both positive) correspond to a sort of “1” (with some stripes), and all
the “top left” ones correspond to a kinda “anti-1”".
"""

from __future__ import annotations

import numpy as np
import pytest

from analysis import detectors, geometry, neurons
from analysis.detectors import TOP_LEFT, TOP_RIGHT
from analysis.labelling import CLUE_INDEX
from analysis.robustness import Bound, Choice, Judgement, Sample, declare
from report.claim import claim

TOP_LOADINGS = 15  # CLAIMS.md: the 15 neurons with the largest |loading| on each of PC1 and PC2
SAME_NEURONS = 0.90  # "these are the same neurons": ≥ 90% of them are the two groups, each in its quadrant
ALL_READ_AS = 0.90  # "All the top right ones … all the top left ones": ≥ 90% (the literal 100% is reported)

TOP_CHOICE = {
    "why": '"make use mostly of a couple of neurons only": CLAIMS.md takes the 15 largest |loadings| '
    'of each component, the size of the write-up\'s list of "the 15 strongest"; 10 or 20 read the '
    "same words",
    "words": {
        TOP_LOADINGS: "CLAIMS.md: the 15 largest |loadings| of each component, as many as the write-up's list of \"the "
        '15 strongest"',
        10: '"a couple of neurons only" read more tightly: the 10 largest of each component',
        20: '"make use mostly of" read more loosely: the 20 largest of each component',
    },
    "between": '"a couple of neurons": a size between 10 and 20 reads the same words as 15',
    "integer": True,
}
GROUPS_CHOICE = {
    "why": "CLAIMS.md: the groups by where a neuron fires (1-like vs anti-1-like images), or by the "
    "PCA plot's arm directions (the write-up's route); either is acceptable"
}


@pytest.fixture(scope="module")
def quadrant_sample(pca, pca_coords, groups, arms, acts, clue) -> Sample:
    """Fitted once on the 60,000 training images: PC1 and PC2's loadings, both oriented so the clue is positive
    on each (the write-up's plot); the two definitions of the groups; each neuron's feature visualisation's
    correlation with clue − 0.5."""
    by_arms = None
    if arms is not None:
        by_arms = neurons.groups_by_arms(pca.components, arms[0].outward, arms[1].outward, groups.dead)
    return Sample(
        {},
        {
            "loadings": detectors.oriented_loadings(pca.components, pca_coords[CLUE_INDEX]),
            "groups": {"firing": groups, "arms": by_arms},
            "fv_correlation": neurons.correlation_with(acts.fv.images, clue - 0.5),
        },
    )


def union_quadrants(d: Sample, top: int) -> tuple[np.ndarray, np.ndarray]:
    """U, the union of the ``top`` largest |loadings| of PC1 and of PC2, and each of its neurons' quadrant."""
    loadings = d.fixed["loadings"]
    union, _ = geometry.top_loading_union(loadings, top)
    return union, detectors.quadrants(loadings)[union]


@declare(
    "quadrants-are-groups",
    Choice.span("top", TOP_LOADINGS, 10, 20, **TOP_CHOICE),
    Choice.among("groups", "firing", ("firing", "arms"), **GROUPS_CHOICE),
    resampled="nothing: the loadings are one PCA fit on the 60,000 training images (pca-variance resamples that "
    "fit), the groups one split of the neurons",
    no_heldout="it compares two groupings of the 200 neurons fitted on the training images: no image enters the "
    "comparison",
)
def quadrant_neurons_are_the_groups(d: Sample, top: int, groups: str) -> Judgement:
    g = d.fixed["groups"][groups]
    union, quadrant = union_quadrants(d, top)
    if g is None or not len(union):
        return Judgement(False, {"fraction_in_own_quadrant": float("nan")})
    own = detectors.in_own_quadrant(quadrant, g.one[union], g.anti_one[union])
    fraction = float(np.mean(own))
    kind = np.where(g.one[union], "one", np.where(g.anti_one[union], "anti_one", "dead"))
    table = {
        q: {k: int(np.sum((quadrant == q) & (kind == k))) for k in ("one", "anti_one", "dead")}
        for q in (TOP_RIGHT, TOP_LEFT, "other")
    }
    measured = {
        "fraction_in_own_quadrant": fraction,
        "union_size": len(union),
        "union": union,
        "quadrant_by_group": table,
        "not_in_own_quadrant": union[~own],
    }
    return Judgement(
        fraction >= SAME_NEURONS,
        {"fraction_in_own_quadrant": fraction},
        measured=measured,
        bounds={"fraction_in_own_quadrant": Bound(low=SAME_NEURONS)},
    )


@claim(
    "quadrants-are-groups",
    quote="some neurons activate both eigenvectors positively (“top right direction neurons”) … and some neurons "
    "activate the first one negatively and the second one positively (“top left direction neurons”); these are "
    "the same neurons as we observed above",
    claimed={"fraction_in_own_quadrant": SAME_NEURONS},
    accept="U = the union of the 15 neurons with the largest |loading| on PC1 and the 15 on PC2 (post-ReLU PCA, both "
    "axes oriented so the clue is positive); top right: both loadings > 0, top left: PC1 < 0 < PC2; ≥ 90% of U are "
    'top-right "1" detectors or top-left "anti-1" detectors',
    family="pca",
)
def test_the_pca_quadrants_hold_the_two_detector_groups(verdict, quadrant_sample, groups):
    judged = verdict.judge(quadrant_neurons_are_the_groups, quadrant_sample)
    if "union" not in judged.measured:
        verdict.conclude(False, summary="no neurons load on PC1 or PC2")
    verdict.measured(**judged.measured)
    union, table = judged.measured["union"], judged.measured["quadrant_by_group"]
    fraction = judged.measured["fraction_in_own_quadrant"]
    in_own = len(union) - len(judged.measured["not_in_own_quadrant"])
    verdict.conclude(
        judged.holds,
        summary=f"{in_own} of the {len(union)} neurons PC1 and PC2 use most ({fraction:.0%}) are top-right "
        f'"1" or top-left "anti-1" detectors; top right: {table[TOP_RIGHT]["one"]} "1" + '
        f'{table[TOP_RIGHT]["anti_one"]} "anti-1", top left: {table[TOP_LEFT]["anti_one"]} "anti-1" + '
        f'{table[TOP_LEFT]["one"]} "1", elsewhere {sum(table["other"].values())}',
    )


def quadrant_shares(d: Sample, top: int) -> dict[str, float]:
    """Of U's top-right neurons, the share whose feature visualisation correlates positively with clue − 0.5; of
    its top-left ones, the share that correlates negatively (NaN for an empty quadrant)."""
    union, quadrant = union_quadrants(d, top)
    r = d.fixed["fv_correlation"][union]

    def share(q: str, sign: int) -> float:
        return float(np.mean(np.sign(r[quadrant == q]) == sign)) if np.any(quadrant == q) else float("nan")

    return {"top_right_positive": share(TOP_RIGHT, 1), "top_left_negative": share(TOP_LEFT, -1)}


@declare(
    "quadrant-feature-visualisations",
    Choice.span("top", TOP_LOADINGS, 10, 20, **TOP_CHOICE),
    Choice.span(
        "share",
        ALL_READ_AS,
        ALL_READ_AS,
        1.0,
        why='"All the “top right” ones … all the “top left” ones": CLAIMS.md accepts ≥ 90%; the literal "all" is 100%',
        words={
            ALL_READ_AS: 'CLAIMS.md: "All the “top right” ones … all the “top left” ones" accepted for ≥ 90% of them',
            1.0: 'the literal "all": every one of them',
        },
        between='between CLAIMS.md\'s 90% and the literal "all"',
    ),
    resampled="nothing: the loadings are one PCA fit on the 60,000 training images, the feature visualisations one "
    "optimised input per neuron",
    no_heldout="the inputs are optimised per neuron, not data: there are no held-out images to judge them on",
)
def quadrant_neurons_look_like_their_template(d: Sample, top: int, share: float) -> Judgement:
    shares = quadrant_shares(d, top)
    union, quadrant = union_quadrants(d, top)
    r, g = d.fixed["fv_correlation"], d.fixed["groups"]["firing"]
    whole = {
        "one_positive": float(np.mean(r[g.one] > 0)) if g.one.any() else None,
        "anti_one_negative": float(np.mean(r[g.anti_one] < 0)) if g.anti_one.any() else None,
    }
    measured = {
        **shares,
        "literal_all": all(v == 1.0 for v in shares.values()),
        "whole_groups": whole,
        "top_right": {str(int(i)): float(r[i]) for i in union[quadrant == TOP_RIGHT]},
        "top_left": {str(int(i)): float(r[i]) for i in union[quadrant == TOP_LEFT]},
    }
    return Judgement(
        all(v >= share for v in shares.values()),
        shares,
        measured=measured,
        bounds={k: Bound(low=share) for k in shares},
    )


@claim(
    "quadrant-feature-visualisations",
    quote="All the “top right” ones (both positive) correspond to a sort of “1” (with some stripes), and all the "
    "“top left” ones correspond to a kinda “anti-1”",
    claimed={"top_right_positive": ALL_READ_AS, "top_left_negative": ALL_READ_AS},
    accept="the feature visualisation (the recipe of feature-visualisation) of every top-right and every top-left "
    "neuron of U (quadrants-are-groups); its correlation with clue − 0.5: ≥ 90% of the top-right neurons correlate "
    'positively and ≥ 90% of the top-left negatively; the literal "all" (100%) and the whole detector groups\' '
    "shares are reported",
    family="features",
)
def test_top_right_neurons_look_like_a_1_and_top_left_like_an_anti_1(verdict, quadrant_sample, groups):
    judged = verdict.judge(quadrant_neurons_look_like_their_template, quadrant_sample)
    shares = dict(judged.headline)
    verdict.measured(**judged.measured)
    literal, whole = judged.measured["literal_all"], judged.measured["whole_groups"]
    top_right, top_left = len(judged.measured["top_right"]), len(judged.measured["top_left"])
    verdict.conclude(
        judged.holds,
        summary=f"{shares['top_right_positive']:.0%} of {top_right} top-right neurons look "
        f'like a "1", {shares["top_left_negative"]:.0%} of {top_left} top-left like an '
        f'"anti-1" (literal "all": {"yes" if literal else "no"}); whole groups '
        + " / ".join("–" if v is None else f"{v:.0%}" for v in whole.values()),
    )
