"""Known answers for analysis/wrong_hypotheses.py: a three-image, three-neuron network whose scrubbing under the
right and the swapped hypothesis is worked out by hand, so a swapped group or sign fails."""

from __future__ import annotations

import numpy as np
import pytest

from analysis import wrong_hypotheses
from analysis.labelling import ANTI, MIDDLE, ONE
from analysis.neurons import Groups
from analysis.scrubbing import Scrubber
from model.interventions import Readout

# n0 a "1" detector, n1 an "anti-1" detector, n2 dead. fc2: logit 1 = n0 + n1, logit 0 = 0.5 (bias):
# class 1 iff n0 + n1 > 0.5.
FC2 = Readout(np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 0.0]]), np.array([0.5, 0.0]))
#                  n0   n1   n2     region  label
POST = np.array(
    [
        [1.0, 0.0, 0.0],  # ONE     1
        [0.0, 0.0, 0.0],  # MIDDLE  0
        [0.0, 1.0, 0.0],
    ]
)  # ANTI    1
REGION = np.array([ONE, MIDDLE, ANTI])
S = np.array([10.0, 0.0, -10.0])  # far apart: at a small noise level each image is alone in its window
LABELS = np.array([1, 0, 1])
RIGHT = Groups(
    one=np.array([True, False, False]), anti_one=np.array([False, True, False]), dead=np.array([False, False, True])
)
SEEDS = range(200)


def scrubber() -> Scrubber:
    return Scrubber.build(POST, FC2, RIGHT, S, REGION, LABELS)


def test_swapping_exchanges_the_two_detector_groups():
    swapped = wrong_hypotheses.swapped(RIGHT)
    assert swapped.one.tolist() == [False, True, False]
    assert swapped.anti_one.tolist() == [True, False, False]
    assert swapped.dead.tolist() == RIGHT.dead.tolist()


def test_random_partitions_keep_the_sizes_and_the_dead_neurons_and_are_seeded():
    groups = Groups(
        one=np.array([True, True, False, False, False, False]),
        anti_one=np.array([False, False, True, True, True, False]),
        dead=np.array([False, False, False, False, False, True]),
    )
    parts = wrong_hypotheses.random_partitions(groups, 30, seed=7)
    assert len(parts) == 30
    for p in parts:
        assert (int(p.one.sum()), int(p.anti_one.sum())) == (2, 3)
        assert p.dead.tolist() == groups.dead.tolist() and not (p.one & p.anti_one).any()
        assert not (p.one & p.dead).any() and not (p.anti_one & p.dead).any()
    assert len({tuple(np.flatnonzero(p.one)) for p in parts}) > 1  # not one partition repeated
    again = wrong_hypotheses.random_partitions(groups, 30, seed=7)
    assert all(a.one.tolist() == b.one.tolist() for a, b in zip(parts, again))


def test_the_right_hypothesis_keeps_every_label():
    # Image 0 (1-like): n0 from itself (alone in its window) = 1; n1 from an image outside the anti-1-like region
    # (0 or 1): 0 → class 1. Image 1: n0 from {1, 2}: 0, n1 from {0, 1}: 0 → class 0. Image 2: mirror of image 0.
    s = scrubber()
    assert all(s.kept(1e-3, seed) == 1.0 for seed in SEEDS)


def test_the_swapped_hypothesis_keeps_five_twelfths_on_average():
    # Swapped: "1" group = n1, "anti-1" group = n0.
    # Image 0: n1 from itself = 0; n0 "inactive" → from {0, 1}: 1 or 0 → kept with probability ½.
    # Image 1: n1 from {1, 2}: 0 or 1; n0 from {0, 1}: 1 or 0 → class 0 kept only if both are 0: ¼.
    # Image 2: n0 from itself = 0; n1 from {1, 2}: 0 or 1 → ½.  Mean (½ + ¼ + ½) / 3 = 5/12.
    swapped = wrong_hypotheses.regrouped(scrubber(), POST, wrong_hypotheses.swapped(RIGHT))
    kept = np.array([swapped.kept_images(1e-3, seed) for seed in SEEDS])
    assert kept.mean(axis=0) == pytest.approx([1 / 2, 1 / 4, 1 / 2], abs=0.1)
    assert kept.mean() == pytest.approx(5 / 12, abs=0.05)


def test_regrouping_the_right_hypothesis_changes_nothing():
    s = scrubber()
    again = wrong_hypotheses.regrouped(s, POST, RIGHT)
    for seed in range(5):
        assert again.kept_images(1e-3, seed).tolist() == s.kept_images(1e-3, seed).tolist()
        assert again.kept_images("random", seed).tolist() == s.kept_images("random", seed).tolist()


def test_loss_recovered_is_zero_at_random_and_one_at_perfect():
    assert wrong_hypotheses.loss_recovered(0.9, 0.5) == pytest.approx(0.8)  # (0.9 − 0.5) / (1 − 0.5)
    assert wrong_hypotheses.loss_recovered(0.5, 0.5) == 0.0
    assert wrong_hypotheses.loss_recovered(1.0, 0.5) == 1.0
    assert wrong_hypotheses.loss_recovered(0.3, 0.5) == pytest.approx(-0.4)  # worse than random
    assert np.isnan(wrong_hypotheses.loss_recovered(1.0, 1.0))


def test_the_named_hypotheses_are_the_right_one_first_then_the_wrong_ones():
    named = wrong_hypotheses.hypotheses(RIGHT, 3, seed=0)
    assert list(named) == ["hypothesis", "swapped", "partition00", "partition01", "partition02"]
    assert named["swapped"].one.tolist() == RIGHT.anti_one.tolist()


def test_every_hypothesis_is_scrubbed_with_the_same_draws():
    # under the right hypothesis every label is kept (see above); swapped, image 1 keeps its label only when
    # both detector groups draw image 1 (¼), so it is kept on some seeds and not on others
    kept = wrong_hypotheses.kept_under(scrubber(), POST, wrong_hypotheses.hypotheses(RIGHT, 2, 0), 1e-3, tuple(SEEDS))
    assert kept["hypothesis"].all()
    assert kept["hypothesis"].shape == kept["swapped"].shape == (len(SEEDS), 3)
    assert 0 < kept["swapped"][:, 1].mean() < 0.5


def test_keyed_partitions_follow_the_neurons_not_their_indices():
    # six active neurons with distinct keys; permuting the neurons permutes the partitions with them
    groups = Groups(
        one=np.array([True, True, True, False, False, False]),
        anti_one=np.array([False] * 3 + [True] * 3),
        dead=np.zeros(6, bool),
    )
    key = np.array([0.3, 0.1, 0.6, 0.2, 0.5, 0.4])
    order = np.array([4, 0, 5, 2, 1, 3])
    permuted = Groups(one=groups.one[order], anti_one=groups.anti_one[order], dead=groups.dead[order])
    for a, b in zip(
        wrong_hypotheses.random_partitions(groups, 5, 3, key),
        wrong_hypotheses.random_partitions(permuted, 5, 3, key[order]),
    ):
        assert b.one.tolist() == a.one[order].tolist()
