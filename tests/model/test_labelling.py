"""The band a network's own labels call for (the replica study's refit), and the map that judges a claim at it."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from model.labelling import L_THRESHOLD, R_THRESHOLD, band_labels, best_band, mapped_to_band


def _every_band_agreement(s: np.ndarray, labels: np.ndarray) -> float:
    """The best agreement over every band with edges between (or beyond) the distinct values: brute force."""
    values = np.unique(s)
    edges = np.concatenate([[values[0] - 1], (values[1:] + values[:-1]) / 2, [values[-1] + 1]])
    return max(float(np.mean(band_labels(s, lo, hi) == labels)) for lo, hi in itertools.combinations(edges, 2))


@pytest.mark.parametrize("seed", range(6))
def test_best_band_is_the_exact_maximiser_over_every_band(seed):
    rng = np.random.default_rng(seed)
    s = rng.integers(-30, 30, size=60).astype(np.float64)  # ties included
    labels = band_labels(s, -8.5, 6.5)
    flip = rng.random(60) < 0.2
    labels = np.where(flip, 1 - labels, labels)
    low, high = best_band(s, labels)
    assert low < high
    assert float(np.mean(band_labels(s, low, high) == labels)) == pytest.approx(_every_band_agreement(s, labels))


def test_best_band_recovers_a_clean_band_between_its_neighbours():
    s = np.arange(10.0)
    labels = band_labels(s, 2.5, 6.5)  # class 0 on 3..6
    assert best_band(s, labels) == (2.5, 6.5)


def test_best_band_needs_one_label_per_value():
    with pytest.raises(ValueError, match="one label per"):
        best_band(np.arange(3.0), np.zeros(2))


def test_the_map_sends_a_band_onto_the_write_ups_thresholds_and_keeps_every_label():
    scale, offset = mapped_to_band(-100.0, 50.0)
    assert scale * -100.0 + offset == pytest.approx(L_THRESHOLD) and scale * 50.0 + offset == pytest.approx(R_THRESHOLD)
    s = np.linspace(-300, 300, 1001)
    assert np.array_equal(band_labels(scale * s + offset), band_labels(s, -100.0, 50.0))
    with pytest.raises(ValueError):
        mapped_to_band(1.0, 1.0)
