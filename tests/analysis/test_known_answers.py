"""Known answers for every function that decides a verdict: tiny synthetic networks and inputs whose right
answer is worked out by hand in the comments, so a swapped sign, a swapped group or a swapped half fails a
test. None of these restates the implementation: expected values are literals (or, for the property tests,
a brute-force computation written independently here).

Network convention used throughout: the readout ``Readout(weight (2, d), bias (2,))``, the logit diff direction is
row 1 − row 0.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import ablation, geometry, labelling, neurons
from analysis.labelling import ANTI, MIDDLE, ONE
from analysis.neurons import Groups
from analysis.scrubbing import Scrubber
from model.interventions import Readout

PROPERTY = settings(max_examples=60, deadline=None, derandomize=True, database=None)

# ---------------------------------------------------------------------------------- a three-neuron network
# n0: an "anti-1" detector, fc2 column (w0, w1) = (+0.5, -0.5): logit-diff weight -1
# n1: a "1" detector,      fc2 column (-0.5, +0.5):            logit-diff weight +1
# n2: an always-on neuron, fc2 column (+0.5, -0.5):            logit-diff weight -1
# bias (0, 0.1): logit diff = 0.1 - n0 + n1 - n2
W = np.array([[0.5, -0.5, 0.5], [-0.5, 0.5, -0.5]])
B = np.array([0.0, 0.1])
DIRECTION = np.array([-1.0, 1.0, -1.0])
FC2 = Readout(W, B)
ANTI_GROUP = np.array([True, False, False])
ONE_GROUP = np.array([False, True, False])
#                 n0    n1   n2      region   logit diff   label | n0 zeroed: logit diff, label
POST = np.array(
    [
        [2.0, 0.0, 0.0],  # MIDDLE   -1.9         0     |  0.1   1  (flips)
        [0.05, 0.0, 0.0],  # MIDDLE   0.05        1     |  0.1   1  (was 1)
        [3.0, 1.0, 0.0],  # ONE      -1.9         0     |  1.1   1  (flips)
        [0.0, 0.0, 1.0],  # ONE      -0.9         0     | -0.9   0  (n0 was 0: no change)
        [5.0, 0.0, 0.0],
    ]
)  # ANTI     -4.9         0     |  excluded (anti-1-like)
REGION = np.array([MIDDLE, MIDDLE, ONE, ONE, ANTI])


def test_zero_ablation_effect_by_hand():
    effect = ablation.zero_ablation_effect(POST, FC2, ANTI_GROUP, REGION)
    assert effect["images"] == 4
    assert effect["fraction_class_1_before"] == pytest.approx(1 / 4)  # image 1
    assert effect["fraction_class_1_after"] == pytest.approx(3 / 4)  # images 0, 1, 2
    assert effect["fraction_class_0_flipped"] == pytest.approx(2 / 3)  # images 0 and 2 of the class-0 images 0, 2, 3
    assert effect["fraction_logit_diff_rises"] == pytest.approx(3 / 4)  # n0 > 0 on images 0, 1, 2
    assert effect["group_mean_contribution"] == pytest.approx((-2 - 0.05 - 3 - 0) / 4)


def test_zero_ablating_the_other_group_gives_other_answers():
    # the "1" group zeroed instead: image 2 loses +1 (logit diff -2.9, still class 0), nothing else changes
    effect = ablation.zero_ablation_effect(POST, FC2, ONE_GROUP, REGION)
    assert effect["fraction_class_1_after"] == pytest.approx(1 / 4)
    assert effect["group_mean_contribution"] == pytest.approx(1 / 4)


def test_anti_one_baseline_by_hand():
    base = ablation.anti_one_baseline(POST, FC2, ANTI_GROUP, REGION)
    # outside the anti-1-like region the anti group contributes -2, -0.05, -3, 0
    assert base == {"images": 4, "mean": pytest.approx(-5.05 / 4), "fraction_negative": pytest.approx(3 / 4)}


def test_min_ablation_logit_diff_change_by_hand():
    # n0's dataset minimum is 0: setting it there removes -n0 from the logit diff, i.e. adds n0
    np.testing.assert_allclose(ablation.min_ablation_logit_diff_change(POST, FC2, ANTI_GROUP), [2, 0.05, 3, 0, 5])
    # n1's minimum is 0 too: removes +n1
    np.testing.assert_allclose(ablation.min_ablation_logit_diff_change(POST, FC2, ONE_GROUP), [0, 0, -1, 0, 0])
    # n2's minimum over the five images is 0; with a raised floor it is 1 and the change is n2 - 1
    raised = POST + np.array([0.0, 0.0, 1.0])
    np.testing.assert_allclose(
        ablation.min_ablation_logit_diff_change(raised, FC2, np.array([False, False, True])), [0, 0, 0, 1, 0]
    )


def test_readout_by_hand():
    # the three-neuron readout above: logit 0 = 0.5 n0 − 0.5 n1 + 0.5 n2, logit 1 = 0.1 − 0.5 n0 + 0.5 n1 − 0.5 n2
    post = np.array([[2.0, 1.0, 1.0], [0.0, 3.0, 2.0]])
    pair = np.array([True, False, True])  # n0 and n2
    np.testing.assert_allclose(FC2.logits(post), [[1.0, -0.9], [-0.5, 0.6]])
    # n0 and n2 contribute (0.5·2 + 0.5·1, −0.5·2 − 0.5·1) = (1.5, −1.5) and (1, −1); to the logit diff −3 and −2
    np.testing.assert_allclose(FC2.contribution(post, pair), [[1.5, -1.5], [1.0, -1.0]])
    np.testing.assert_allclose(FC2.logit_diff_contribution(post, pair), [-3.0, -2.0])
    # above their minima over the two rows (n0: 0, n2: 1): −(2 − 0) − (1 − 1) = −2 and −(0 − 0) − (2 − 1) = −1
    np.testing.assert_allclose(FC2.excitation(post, pair), [-2.0, -1.0])


def test_readout_ablations_by_hand():
    post = np.array([[2.0, 1.0, 1.0], [0.0, 3.0, 2.0]])
    pair = np.array([True, False, True])
    # to zero: rows (0, 1, 0) and (0, 3, 0) -> logits (−0.5, 0.6) and (−1.5, 1.6)
    np.testing.assert_allclose(FC2.zero_ablate(post, pair), [[-0.5, 0.6], [-1.5, 1.6]])
    # to the minimum over the rows (n0 -> 0, n2 -> 1): rows (0, 1, 1) and (0, 3, 1) -> (0, 0.1) and (−1, 1.1)
    np.testing.assert_allclose(FC2.min_ablate(post, pair), [[0.0, 0.1], [-1.0, 1.1]])
    # to given values (n0 = 4, n2 = −2): rows (4, 1, −2) and (4, 3, −2) -> (0.5, −0.4) and (−0.5, 0.6)
    np.testing.assert_allclose(FC2.replace(post, pair, np.array([4.0, -2.0])), [[0.5, -0.4], [-0.5, 0.6]])
    # a scalar sets every neuron of the group: n0 = n2 = 1 -> rows (1, 1, 1), (1, 3, 1) -> (0.5, −0.4), (−0.5, 0.6)
    np.testing.assert_allclose(FC2.replace(post, pair, 1.0), [[0.5, -0.4], [-0.5, 0.6]])
    # resampling: group {n0, n2} of row 1 into row 0 and the rest kept: row (0, 1, 2) -> (0.5, −0.4)
    parts = [FC2.contribution(post, pair), FC2.contribution(post, ~pair)]
    np.testing.assert_allclose(FC2.resample(parts, [np.array([1, 1]), np.array([0, 1])]), [[0.5, -0.4], [-0.5, 0.6]])


# --------------------------------------------------------------------------------------- halves of s
# midpoint of the band: (-17305 + -7762) / 2 = -12533.5
S = np.array([-20000.0, -15000.0, -10000.0, -5000.0, 0.0])  # first two in the anti-1-like half
BEFORE = np.array([0, 1, 0, 1, 1])
AFTER = np.array([0, 0, 0, 0, 1])


def test_kept_by_half_by_hand():
    # anti-1-like half: image 0 kept, image 1 changed -> 1/2; 1-like half: images 2, 4 kept, 3 changed -> 2/3
    assert ablation.kept_by_half(AFTER, BEFORE, S) == {"anti_one_half": 0.5, "one_half": pytest.approx(2 / 3)}


def test_class_0_by_half_by_hand():
    assert ablation.class_0_by_half(BEFORE, S) == {"anti_one_half": 0.5, "one_half": pytest.approx(1 / 3)}
    assert ablation.class_0_by_half(AFTER, S) == {"anti_one_half": 1.0, "one_half": pytest.approx(2 / 3)}


def test_min_ablation_outcomes_by_hand():
    # n0 anti group (weight -1), n1 "1" group (weight +1), bias (0, 0.1); minima: n0 = 0, n1 = 0
    post = np.array(
        [
            [4.0, 0.0],  # s -20000 (anti half): ld 0.1 - 4 = -3.9 -> 0
            [0.0, 0.0],  # s -15000 (anti half): ld 0.1 -> 1
            [0.0, 2.0],  # s  -5000 (1 half):    ld 2.1 -> 1
            [1.0, 0.0],
        ]
    )  # s      0 (1 half):    ld -0.9 -> 0
    s = np.array([-20000.0, -15000.0, -5000.0, 0.0])
    groups = Groups(one=np.array([False, True]), anti_one=np.array([True, False]), dead=np.array([False, False]))
    out = ablation.min_ablation_outcomes(post, Readout(W[:, :2], B), groups, s)
    # ablating n0 (to 0): ld = 0.1, 0.1, 2.1, 0.1 -> labels 1, 1, 1, 1
    assert out["anti_one_group"]["kept"] == {"anti_one_half": 0.5, "one_half": 0.5}
    assert out["anti_one_group"]["class_0_after"] == {"anti_one_half": 0.0, "one_half": 0.0}
    # ablating n1 (to 0): ld = -3.9, 0.1, 0.1, -0.9 -> labels 0, 1, 1, 0 = before
    assert out["one_group"]["kept"] == {"anti_one_half": 1.0, "one_half": 1.0}
    # both: ld = 0.1 everywhere -> all class 1
    assert out["both"]["class_0_after"] == {"anti_one_half": 0.0, "one_half": 0.0}
    assert out["both"]["class_0_before"] == {"anti_one_half": 0.5, "one_half": 0.5}
    assert ablation.min_ablation_table(post, Readout(W[:, :2], B), groups, s)["one_group"] == out["one_group"]["kept"]


# ------------------------------------------------------------------------------ excitation and "strongly"


def test_strong_excitation_threshold_by_hand():
    logits = np.array([[3.0, 0.0], [2.0, 1.0], [0.0, 5.0], [4.0, 0.5]])
    # logit diffs -3, -1, 5, -3.5; class-0 images: -3, -1, -3.5, median -3 -> threshold 3
    assert ablation.strong_excitation_threshold(logits) == pytest.approx(3.0)
    assert np.isnan(ablation.strong_excitation_threshold(np.array([[0.0, 1.0]])))  # no class-0 image


# two groups, logit-diff weights (2 for the "1" neuron n0, 1 for the "anti-1" neuron n1); n0 never drops
# below 1 (its no-detection baseline), n1's minimum is 0. Excitation = (activation - minimum) × weight.
GROUPS2 = Groups(one=np.array([True, False]), anti_one=np.array([False, True]), dead=np.array([False, False]))
DIR2 = np.array([2.0, 1.0])
FC2_2 = Readout(np.array([[0.0, 0.0], [2.0, 1.0]]), np.zeros(2))  # its logit-diff direction is DIR2
POST2 = np.array(
    [
        [1.0, 0.0],  # one 0, anti 0 -> neither
        [2.0, 0.0],  # one 2, anti 0 -> one only (>= 1.5)
        [1.0, 3.0],  # one 0, anti 3 -> anti only
        [2.0, 3.0],  # both
        [1.2, 0.2],  # one 0.4, anti 0.2 -> neither
        [1.0, 4.0],
    ]
)  # anti only


def test_both_groups_strong_by_hand():
    shares = ablation.both_groups_strong(POST2, FC2_2, GROUPS2, 1.5)
    assert shares == {
        "both": pytest.approx(1 / 6),
        "one_only": pytest.approx(1 / 6),
        "anti_one_only": pytest.approx(2 / 6),
        "neither": pytest.approx(2 / 6),
    }


def test_regions_excite_groups_by_hand():
    region = np.array([MIDDLE, ONE, ANTI, MIDDLE, MIDDLE, ANTI])
    shares = ablation.regions_excite_groups(POST2, FC2_2, GROUPS2, region, 1.5)
    # anti-1-like images 2, 5: anti ahead on both; 1-like image 1: one ahead; middle 0, 3, 4: 3 is strong -> 2/3
    assert shares == {"anti_one_like": 1.0, "middle": pytest.approx(2 / 3), "one_like": 1.0}
    swapped = np.array([MIDDLE, ANTI, ONE, MIDDLE, MIDDLE, ONE])
    assert ablation.regions_excite_groups(POST2, FC2_2, GROUPS2, swapped, 1.5)["one_like"] == 0.0


def test_either_group_rule_by_hand():
    # stronger group's excitation per image: 0, 2, 3, 4, 0.4, 4; model labels 0, 1, 1, 1, 0, 1
    rule = ablation.either_group_rule(POST2, FC2_2, GROUPS2, np.array([0, 1, 1, 1, 0, 1]))
    assert rule == {"theta": 2.0, "agreement": 1.0}
    # image 2 (score 3) class 0 between class-1 scores 2 and 4: no threshold gets all; θ = 2 or 4 miss one
    rule = ablation.either_group_rule(POST2, FC2_2, GROUPS2, np.array([0, 1, 0, 1, 0, 1]))
    assert rule == {"theta": 2.0, "agreement": pytest.approx(5 / 6)}


def test_either_group_rule_per_group_by_hand():
    # "1" excitation 0, 2, 0, 2, 0.4, 0; anti 0, 0, 3, 3, 0.2, 4; labels: class 1 iff one >= 2 or anti >= 4
    labels = np.array([0, 1, 0, 1, 0, 1])
    rule = ablation.either_group_rule_per_group(POST2, FC2_2, GROUPS2, labels)
    assert rule["agreement"] == 1.0 and rule["theta_anti_one"] == 4.0 and 0.4 < rule["theta_one"] <= 2.0
    # one threshold on the stronger group cannot: image 2 (max 3, class 0) lies between image 1 (2) and 5 (4)
    assert ablation.either_group_rule(POST2, FC2_2, GROUPS2, labels)["agreement"] == pytest.approx(5 / 6)
    # sums 0, 2, 3, 5, 0.6, 4: one threshold on the sum misses image 2 too
    assert rule["sum_agreement"] == pytest.approx(5 / 6)
    swapped = ablation.either_group_rule_per_group(
        POST2, FC2_2, Groups(GROUPS2.anti_one, GROUPS2.one, GROUPS2.dead), labels
    )
    assert 3.0 < swapped["theta_one"] <= 4.0 and swapped["theta_anti_one"] == 2.0  # thresholds follow the groups


@PROPERTY
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4), st.integers(0, 1)), min_size=1, max_size=25))
def test_best_two_threshold_rule_equals_brute_force(rows):
    a, b, labels = (np.array([r[i] for r in rows], dtype=float) for i in range(3))
    grid = [*range(6), np.inf]
    best = max(float(np.mean(((a >= ta) | (b >= tb)).astype(int) == labels)) for ta in grid for tb in grid)
    # few distinct values: the 101 quantiles of a include every one of them, so the search is exact here
    assert ablation.best_two_threshold_rule(a, b, labels)["agreement"] == pytest.approx(best)


def test_best_threshold_rule_by_hand():
    assert ablation.best_threshold_rule(np.array([1.0, 2.0, 3.0, 4.0]), np.array([0, 0, 1, 1])) == (3.0, 1.0)
    # every candidate: θ=1 -> 2/4, θ=2 -> 3/4, θ=3 -> 2/4, θ=4 -> 3/4, θ=inf -> 2/4; the first best is 2
    assert ablation.best_threshold_rule(np.array([4.0, 2.0, 3.0, 1.0]), np.array([1, 1, 0, 0])) == (2.0, 0.75)
    # ties share one prediction: θ=1 -> 2/3, θ=2 -> 2/3, θ=inf -> 1/3
    assert ablation.best_threshold_rule(np.array([1.0, 1.0, 2.0]), np.array([0, 1, 1])) == (1.0, pytest.approx(2 / 3))
    # everything class 0 is best: θ = inf
    assert ablation.best_threshold_rule(np.array([1.0, 2.0]), np.array([0, 0])) == (float("inf"), 1.0)


@PROPERTY
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 1)), min_size=1, max_size=30))
def test_best_threshold_rule_equals_brute_force(pairs):
    score = np.array([p[0] for p in pairs], dtype=float)
    labels = np.array([p[1] for p in pairs])
    best = max(float(np.mean((score >= t).astype(int) == labels)) for t in [*score.tolist(), np.inf])
    theta, agree = ablation.best_threshold_rule(score, labels)
    assert agree == pytest.approx(best)
    assert float(np.mean((score >= theta).astype(int) == labels)) == pytest.approx(best)


# ------------------------------------------------------------------------------------ neurons


def test_typical_contribution_by_hand():
    post = np.array([[0.0, 1.0], [2.0, 1.0], [4.0, 1.0]])
    direction = np.array([-1.0, 2.0])
    # std (population) of column 0 = sqrt(8/3), of column 1 = 0; means 2 and 1
    np.testing.assert_allclose(neurons.typical_contribution(post, direction), [-np.sqrt(8 / 3), 0.0])
    np.testing.assert_allclose(neurons.typical_contribution(post, direction, "mean"), [-2.0, 2.0])
    with pytest.raises(ValueError, match="std' or 'mean"):
        neurons.typical_contribution(post, direction, "median")


def test_negative_share_by_hand():
    assert neurons.negative_share(np.array([3.0, -1.0, 1.0, -0.5])) == pytest.approx(1.5 / 4)
    assert neurons.negative_share(np.array([-1.0, 0.0])) == float("inf")


def test_breaks_sign_pattern_by_hand():
    w = np.array([[-1.0, 1.0, -1.0, 0.0, 0.0], [1.0, 1.0, -1.0, 0.0, 2.0]])
    # follows iff weight to logit 0 <= 0 and to logit 1 >= 0, not both zero
    assert neurons.breaks_sign_pattern(Readout(w, np.zeros(2))).tolist() == [False, True, True, True, False]


def test_no_detection_offset_by_hand():
    post = np.array([[0.0, 2.0, 5.0], [0.0, 3.0, 5.0], [10.0, 10.0, 10.0], [1.0, 2.0, 0.0]])
    inactive = np.array([True, True, False, True])
    # column 0: median(0, 0, 1) - 0 = 0; column 1: median(2, 3, 2) - 2 = 0; column 2: median(5, 5, 0) - 0 = 5 of 10
    np.testing.assert_allclose(neurons.no_detection_offset(post, np.array([True, True, True]), inactive), [0, 0, 0.5])
    np.testing.assert_allclose(neurons.no_detection_offset(post, np.array([False, False, True]), ~inactive), [1.0])


def test_groups_by_arms_by_hand():
    components = np.array([[1.0, 0.0, 0.6, 0.0], [0.0, 1.0, 0.3, 0.0]])
    dead = np.array([False, False, False, True])
    # arm "1" along PC1, arm "anti-1" along PC2: loadings 1/0, 0/1, 0.6/0.3, dead
    g = neurons.groups_by_arms(components, np.array([1.0, 0.0]), np.array([0.0, 1.0]), dead)
    assert g.one.tolist() == [True, False, True, False]
    assert g.anti_one.tolist() == [False, True, False, False]
    assert g.dead.tolist() == dead.tolist()


def test_logit_diff_direction_by_hand():
    w = np.array([[1.0, 2.0, 3.0], [4.0, 0.0, -1.0]])
    np.testing.assert_array_equal(Readout(w, np.zeros(2)).direction, [3.0, -2.0, -4.0])
    np.testing.assert_array_equal(FC2.direction, DIRECTION)
    np.testing.assert_array_equal(FC2_2.direction, DIR2)


def test_logit_diff_direction_predicts_logit_1_minus_logit_0_of_a_hand_computed_forward():
    rng = np.random.default_rng(0)
    w, b, post = rng.normal(size=(2, 5)), rng.normal(size=2), rng.uniform(0, 2, (4, 5))
    for row in post:  # logits written out as sums, independently of any project function
        logit0 = b[0] + sum(w[0, j] * row[j] for j in range(5))
        logit1 = b[1] + sum(w[1, j] * row[j] for j in range(5))
        assert row @ Readout(w, b).direction == pytest.approx(logit1 - logit0 - (b[1] - b[0]))


def test_corrected_template_by_hand():
    clue = np.zeros((28, 28))
    clue[0, :4] = [0.0, 0.25, 0.5, 1.0]
    t = labelling.corrected_template(clue)
    # clue - (1 - clue) = 2·clue - 1: pixel 0 -> -1, 0.25 -> -0.5, 0.5 -> 0, 1 -> +1
    np.testing.assert_allclose(t[0, :4], [-1.0, -0.5, 0.0, 1.0])
    assert t[5, 5] == -1.0
    # s of an image lit (255) only where the clue is 1: 255 × (+1) = 255; only where it is 0: -255
    lit = np.zeros((28, 28), np.uint8)
    lit[0, 3] = 255
    assert float(labelling.similarity(lit, t)) == 255.0
    lit[0, 3], lit[0, 0] = 0, 255
    assert float(labelling.similarity(lit, t)) == -255.0


# ------------------------------------------------------------------------------------ geometry


def test_spearman_by_hand_and_against_scipy():
    assert geometry.spearman(np.array([1.0, 2, 3, 4]), np.array([10.0, 20, 30, 1000])) == pytest.approx(1.0)
    assert geometry.spearman(np.array([1.0, 2, 3, 4]), np.array([4.0, 3, 2, 1])) == pytest.approx(-1.0)
    # ranks (1, 2, 3) and (2, 1, 3): 1 - 6·Σd²/(n(n²-1)) = 1 - 6·2/24 = 0.5
    assert geometry.spearman(np.array([1.0, 2, 3]), np.array([5.0, 4, 6])) == pytest.approx(0.5)
    from scipy.stats import spearmanr

    rng = np.random.default_rng(1)
    a, b = rng.integers(0, 5, 50).astype(float), rng.normal(size=50)
    assert geometry.spearman(a, b) == pytest.approx(spearmanr(a, b).statistic)


def test_orientation_makes_the_reference_positive():
    assert geometry.orientation(-3.0) == -1.0 and geometry.orientation(2.0) == 1.0 and geometry.orientation(0.0) == 1.0


def test_top_loading_union_by_hand():
    vectors = np.array([[3.0, 0.0, 0.0, 1.0], [0.0, 2.0, 0.0, 0.0]])
    union, share = geometry.top_loading_union(vectors, 1)
    assert union.tolist() == [0, 1]
    np.testing.assert_allclose(share, [9 / 10, 1.0])
    union, share = geometry.top_loading_union(-vectors, 2)  # |loading|: sign does not matter
    assert union.tolist() == [0, 1, 3]  # row 0: neurons 0, 3; row 1: neuron 1, then the first of the zeros
    np.testing.assert_allclose(share, [1.0, 1.0])


def test_corner_direction_of_a_symmetric_v_points_down():
    v = geometry.fit_v(np.array([[x, abs(x)] for x in np.linspace(-3, 3, 61)]))
    np.testing.assert_allclose(v.corner_direction, [0.0, -1.0], atol=1e-9)
    assert geometry.angle_deg(np.array([0.0, -1.0]), v.corner_direction) == pytest.approx(0.0, abs=1e-6)
    assert geometry.angle_deg(np.array([1.0, 1.0]), v.corner_direction) == pytest.approx(135.0)


# ------------------------------------------------------------------------------------ scrubbing schemes


def test_per_neuron_scrubbing_keeps_everything_when_each_neuron_is_a_function_of_its_region():
    # "1" neurons are 1 on 1-like images and 0 elsewhere, "anti-1" neurons the mirror: the hypothesis is exactly
    # true, so any replacement it allows gives the same activations and every label is kept, in both schemes
    rng = np.random.default_rng(0)  # three clusters of s, far (> p·range) from the thresholds L and R
    s = np.concatenate(
        [rng.uniform(-26000, -20000, 130), rng.uniform(-15000, -10000, 140), rng.uniform(-5000, 2000, 130)]
    )
    region = labelling.regions(s)
    post = np.stack([region == ONE, region == ONE, region == ANTI, np.zeros(400, bool)], axis=1).astype(float)
    w = np.array([[0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 0.0]])
    b = np.array([0.5, 0.0])
    groups = Groups(
        one=np.array([True, True, False, False]),
        anti_one=np.array([False, False, True, False]),
        dead=np.array([False, False, False, True]),
    )
    labels = np.argmax(post @ w.T + b, axis=1)
    scrubber = Scrubber.build(post, Readout(w, b), groups, s, region, labels)
    for scheme in ("group", "neuron"):
        assert scrubber.kept(0.01, 0, scheme) == 1.0
    with pytest.raises(ValueError, match="scheme"):
        scrubber.kept(0.01, 0, "image")


def test_the_two_scrubbing_schemes_by_hand():
    # two perfectly correlated "1" neurons (both 1 on odd images, 0 on even ones), class 1 iff both are on.
    # Fully random replacement: one image per group keeps the pair together, so class 1 on ~1/2 of the images;
    # one image per neuron needs two independent odd draws, so class 1 on ~1/4. Either way ~1/2 of labels kept
    # (label-1 images keep with p 1/2 vs 1/4, label-0 images with 1/2 vs 3/4).
    s = np.linspace(0, 1000, 200)  # all 1-like (s >= R)
    region = labelling.regions(s)
    a = (np.arange(200) % 2).astype(float)
    post = np.stack([a, a], axis=1)
    w = np.array([[0.0, 0.0], [1.0, 1.0]])
    b = np.array([1.5, 0.0])
    groups = Groups(one=np.array([True, True]), anti_one=np.array([False, False]), dead=np.array([False, False]))
    labels = np.argmax(post @ w.T + b, axis=1)
    scrubber = Scrubber.build(post, Readout(w, b), groups, s, region, labels)
    for scheme in ("group", "neuron"):
        assert np.mean([scrubber.kept("random", seed, scheme) for seed in range(20)]) == pytest.approx(0.5, abs=0.03)
    assert np.mean(
        [scrubber._neuron_logits("random", seed).argmax(axis=1).mean() for seed in range(20)]
    ) == pytest.approx(0.25, abs=0.03)
    # with a window holding only images of one parity (p·range = 5.1 reaches only the neighbours 5.03 away,
    # which have the other parity), the group scheme flips every label; so does the neuron scheme
    assert scrubber.kept(0.0051, 0, "group") == 0.0
    assert scrubber.kept(0.0051, 0, "neuron") == 0.0
