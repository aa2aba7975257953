"""The probes' own helpers on synthetic inputs."""

from __future__ import annotations

import numpy as np
import pytest

import claims.test_probes as probes  # a module attribute: its tests are not collected here
from analysis.labelling import BandScorer


@pytest.mark.parametrize("seed", range(40))
def test_best_band_agreement_equals_best_band_on_the_same_grid(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 3000))
    s = rng.normal(size=n) if seed % 2 else rng.integers(-20, 20, n).astype(float)  # odd: distinct; even: many ties
    labels = (rng.random(n) < rng.random()).astype(int)
    if seed % 5 == 0:  # a real band: class 0 inside, with noise
        labels = np.where((s > -0.5) & (s < 0.7), 0, 1) ^ (rng.random(n) < 0.1)
    scorer = BandScorer.fit(s, labels)
    for candidates in (2, 7, 400):
        if len(np.unique(np.quantile(scorer.sorted_s, np.linspace(0, 1, candidates)))) < 2:
            continue
        assert probes.best_band_agreement(scorer, candidates) == scorer.best_band(candidates)[2]


def test_best_band_agreement_refuses_a_grid_without_a_band():
    scorer = BandScorer.fit(np.zeros(10), np.zeros(10, dtype=int))
    with pytest.raises(ValueError, match="no band"):
        probes.best_band_agreement(scorer)
