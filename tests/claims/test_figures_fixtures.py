"""The figure fixtures' own computations on synthetic inputs: the wrong hypotheses scrubbing is compared with."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from analysis.labelling import ANTI, MIDDLE, ONE
from analysis.neurons import Groups
from claims.figures_fixtures import (
    CLAIM_FIGURES,
    random_partitions,
    wrong_hypothesis_scores,
)
from model.interventions import Readout, labels_from_logits


def _world(n: int = 900, seed: int = 0):
    """Two "1" detectors firing on s > 1, two "anti-1" detectors firing on s < −1, two dead neurons; class 1 iff
    the detectors add up to more than 0.5: the hypothesis is exactly right here."""
    s = np.random.default_rng(seed).uniform(-3, 3, n)
    region = np.where(s > 1, ONE, np.where(s < -1, ANTI, MIDDLE)).astype(np.int8)
    up, down = np.maximum(s - 1, 0), np.maximum(-1 - s, 0)
    post = np.column_stack([up, 2 * up, down, 2 * down, np.zeros(n), np.zeros(n)])
    readout = Readout(np.array([[0.0] * 6, [1, 1, 1, 1, 0, 0]]), np.array([0.5, 0.0]))
    labels = labels_from_logits(readout.logits(post))
    groups = Groups(
        one=np.array([1, 1, 0, 0, 0, 0], bool),
        anti_one=np.array([0, 0, 1, 1, 0, 0], bool),
        dead=np.array([0, 0, 0, 0, 1, 1], bool),
    )
    return post, readout, groups, SimpleNamespace(s=s, region=region, labels=labels)


def test_the_right_hypothesis_beats_its_swap_and_every_random_partition():
    post, readout, groups, train = _world()
    out = wrong_hypothesis_scores(post, readout, groups, train, partitions=6)
    assert out["hypothesis"] > 0.99  # exactly right: only the noise of "similar" s can move a label
    assert out["swapped"] < out["hypothesis"] - 0.1
    assert max(out["random_partitions"]) <= out["hypothesis"]
    assert len(out["random_partitions"]) == 6
    assert out["loss_recovered"] == pytest.approx((out["hypothesis"] - out["fully_random"]) / (1 - out["fully_random"]))


@pytest.mark.parametrize("seed", range(5))
def test_random_partitions_keep_the_group_sizes_and_the_dead_neurons(seed):
    _, _, groups, _ = _world()
    partitions = random_partitions(groups, 8, seed)
    assert len(partitions) == 8
    for g in partitions:
        assert g.sizes() == groups.sizes()
        assert np.array_equal(g.dead, groups.dead) and not np.any(g.one & g.anti_one)
        assert np.array_equal(g.one | g.anti_one, ~groups.dead)
    assert len({g.one.tobytes() for g in partitions}) > 1  # drawn one after another, not the same one again


def test_every_attached_figure_is_a_fixture_of_the_module():
    import claims.figures_fixtures as module

    assert set(CLAIM_FIGURES) <= set(module.__all__)  # claims/conftest.py imports them
