"""Known answers for analysis/detectors.py: tiny inputs whose answers are worked out by hand in the comments, so a
swapped sign, row, class or group fails."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import detectors, geometry
from analysis.detectors import OTHER, TOP_LEFT, TOP_RIGHT

#                 n0   n1
POST = np.array([[0.0, 2.0], [2.0, 2.0], [4.0, 2.0]])


def test_typical_activation_is_the_std_or_the_mean_per_neuron():
    # n0: values 0, 2, 4: mean 2, variance (4 + 0 + 4) / 3 = 8/3; n1 constant: std 0
    assert detectors.typical_activation(POST) == pytest.approx([np.sqrt(8 / 3), 0.0])
    assert detectors.typical_activation(POST, "mean") == pytest.approx([2.0, 2.0])


def test_typical_activation_counts_each_image_by_its_weight():
    # weights 2, 1, 0: n0 takes 0, 0, 2: mean 2/3, E[x²] = 4/3, variance 4/3 − 4/9 = 8/9
    w = np.array([2, 1, 0])
    assert detectors.typical_activation(POST, "std", w) == pytest.approx([np.sqrt(8 / 9), 0.0])
    assert detectors.typical_activation(POST, "mean", w) == pytest.approx([2 / 3, 2.0])
    with pytest.raises(ValueError, match="std' or 'mean"):
        detectors.typical_activation(POST, "median")


# fc2 rows (logit 0, logit 1) of three neurons, and their typical activations 1, 2, 10:
#   n0 (-1, 1) × 1  = (-1, 1):   follows the pattern (logit-0 cell ≤ 0, logit-1 cell ≥ 0)
#   n1 (0.5, 1) × 2 = (1, 2):    its logit-0 cell is > 0: breaks
#   n2 (-0.2, -0.1) × 10 = (-2, -1): its logit-1 cell is < 0: breaks
WEIGHT = np.array([[-1.0, 0.5, -0.2], [1.0, 1.0, -0.1]])
SCALE = np.array([1.0, 2.0, 10.0])


def test_the_cells_are_fc2_rows_times_typical_activation():
    assert detectors.weighted_readout(WEIGHT, SCALE) == pytest.approx(np.array([[-1, 1, -2], [1, 2, -1]]))


def test_a_cell_breaks_when_logit_0_is_positive_or_logit_1_negative():
    cells = detectors.weighted_readout(WEIGHT, SCALE)
    assert detectors.pattern_breaks(cells).tolist() == [[False, True, False], [False, False, True]]
    # the breaking cells |1| + |-1| of a total 1 + 1 + 2 + 1 + 2 + 1 = 8
    assert detectors.breaking_share(cells) == pytest.approx(2 / 8)


def test_a_readout_that_follows_the_pattern_has_no_breaking_share():
    cells = np.array([[-1.0, 0.0], [2.0, 0.0]])
    assert not detectors.pattern_breaks(cells).any()
    assert detectors.breaking_share(cells) == 0.0
    assert detectors.breaking_share(np.zeros((2, 3))) == 0.0


def test_firing_counts_and_active_images():
    post = np.array([[0.0, 1.0, 3.0], [0.0, 0.0, 3.0], [0.5, 0.0, 3.0]])
    dead = np.array([True, True, False])  # the third neuron is not asked about
    assert detectors.firing_counts(post, dead).tolist() == [1, 1]
    assert detectors.active_images(post, dead).tolist() == [True, False, True]


def test_the_auc_counts_pairs_with_ties_as_half():
    # column 0: positives score 0 and 1, negatives 0 and 2: pairs (0, 0) ½, (0, 2) 0, (1, 0) 1, (1, 2) 0 → 1.5 / 4
    # column 1 reversed: positives 2 and 1, negatives 2 and 0: ½ + 1 + 0 + 1 → 2.5 / 4
    scores = np.array([[0.0, 2.0], [0.0, 2.0], [1.0, 1.0], [2.0, 0.0]])
    positive = np.array([False, True, True, False])
    ranks = detectors.tie_ranks(scores)
    assert ranks[:, 0].tolist() == [0, 0, 1, 2]
    assert detectors.auc_from_ranks(ranks, positive) == pytest.approx([0.375, 0.625])
    # weights 1, 1, 1, 3: the negative at 2 counts three times: column 0 (½ + 1) / (2 × 4)
    assert detectors.auc_from_ranks(ranks, positive, np.array([1, 1, 1, 3]))[0] == pytest.approx(1.5 / 8)
    assert np.isnan(detectors.auc_from_ranks(ranks, np.zeros(4, bool))).all()


@settings(max_examples=100, deadline=None, derandomize=True, database=None)
@given(
    st.lists(st.lists(st.sampled_from([0.0, -0.0, 0.5, 1.0, 2.5, np.nan, -1.0]), min_size=3, max_size=3), max_size=20)
)
def test_tie_ranks_are_the_dense_ranks_of_each_column(rows):
    """Ranked column by column as np.unique ranks it (0 and -0 are one value; NaN last), minimum or not."""
    scores = np.array(rows, dtype=np.float64).reshape(-1, 3)
    expected = np.stack([np.unique(c, return_inverse=True)[1].reshape(-1) for c in scores.T], axis=1)
    np.testing.assert_array_equal(detectors.tie_ranks(scores), expected.reshape(scores.shape))


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(st.lists(st.integers(0, 4), min_size=4, max_size=30), st.randoms(use_true_random=False))
def test_the_auc_agrees_with_the_mann_whitney_auc_and_with_repeated_images(values, rnd):
    scores = np.array(values, dtype=np.float64)[:, None]
    positive = np.array([rnd.random() < 0.5 for _ in values])
    weights = np.array([rnd.randint(0, 3) for _ in values])
    ranks = detectors.tie_ranks(scores)
    assert detectors.auc_from_ranks(ranks, positive)[0] == pytest.approx(
        geometry.auc(scores[:, 0], positive), nan_ok=True
    )
    repeated = np.repeat(np.arange(len(values)), weights)
    expected = geometry.auc(scores[repeated, 0], positive[repeated]) if len(repeated) else np.nan
    assert detectors.auc_from_ranks(ranks, positive, weights)[0] == pytest.approx(expected, nan_ok=True)


def test_quadrants_of_the_loadings():
    # n0 (+, +) top right; n1 (−, +) top left; n2 (+, −), n3 (−, −), n4 (0, +) elsewhere
    loadings = np.array([[1.0, -1.0, 1.0, -1.0, 0.0], [1.0, 1.0, -1.0, -1.0, 1.0]])
    assert detectors.quadrants(loadings).tolist() == [TOP_RIGHT, TOP_LEFT, OTHER, OTHER, OTHER]


def test_a_neuron_is_in_its_own_quadrant_only_if_its_group_matches():
    quadrant = np.array([TOP_RIGHT, TOP_LEFT, TOP_RIGHT, TOP_LEFT, OTHER])
    one = np.array([True, False, False, True, True])
    anti_one = ~one
    # n0 "1" top right ✓; n1 "anti-1" top left ✓; n2 "anti-1" top right ✗; n3 "1" top left ✗; n4 elsewhere ✗
    assert detectors.in_own_quadrant(quadrant, one, anti_one).tolist() == [True, True, False, False, False]


def test_loadings_are_oriented_so_the_reference_point_is_positive():
    # the reference sits at (−2, 3): PC1 flips, PC2 keeps its sign; a reference at 0 keeps it too
    components = np.array([[1.0, -0.5], [0.25, 1.0]])
    assert detectors.oriented_loadings(components, np.array([-2.0, 3.0])).tolist() == [[-1.0, 0.5], [0.25, 1.0]]
    assert detectors.oriented_loadings(components, np.array([0.0, -1.0])).tolist() == [[1.0, -0.5], [-0.25, -1.0]]


def test_the_prepared_rank_counts_give_the_auc_of_every_row_bit_for_bit():
    """The most common rank's weights follow from the totals: the same pos and neg counts as binning every row,
    so the same AUC to the last bit (a silent detector, mostly at 0, and one that always fires)."""
    rng = np.random.default_rng(0)
    scores = np.round(np.maximum(rng.normal(-0.8, 1, size=(500, 3)), 0), 2)
    scores[:, 2] = rng.normal(size=500)
    positive = rng.random(500) < 0.3
    ranks = detectors.tie_ranks(scores)
    prepared = detectors.RankCounts.of(ranks, positive, [0, 2])
    for seed in range(5):
        w = np.bincount(np.random.default_rng(seed).integers(0, 500, 500), minlength=500).astype(np.float64)
        got = prepared.auc(w, [2, 0])
        for j, c in enumerate([2, 0]):
            pos = np.bincount(ranks[:, c], weights=w * positive)
            neg = np.bincount(ranks[:, c], weights=w * ~positive, minlength=len(pos))
            want = float(np.sum(pos * (np.cumsum(neg) - neg + 0.5 * neg))) / (w[positive].sum() * w[~positive].sum())
            assert got[j] == want
    with pytest.raises(ValueError):
        prepared.auc(np.full(500, 0.5))
