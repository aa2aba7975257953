"""The probes' own helpers on synthetic inputs."""

from __future__ import annotations

import numpy as np
import pytest

import claims.test_probes as probes  # a module attribute: its tests are not collected here
from analysis.labelling import BandEdges, BandScorer


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
        # the data-only half computed once from the unsorted s, then judged against the labels
        assert BandEdges.of(s, candidates).best_agreement(labels) == scorer.best_band(candidates)[2]


def test_best_band_agreement_refuses_a_grid_without_a_band():
    scorer = BandScorer.fit(np.zeros(10), np.zeros(10, dtype=int))
    with pytest.raises(ValueError, match="no band"):
        probes.best_band_agreement(scorer)


def test_template_edges_are_shared_and_redrawn_when_the_templates_change(tmp_path):
    """The data-only cache gives every checkpoint the same re-fits as computing them afresh, and a file of
    another draw of templates under the same name is recomputed, not trusted."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (400, 28, 28), dtype=np.uint8)
    labels = [(rng.random(400) < 0.3).astype(int) for _ in range(2)]
    edges = tmp_path / "edges.npz"
    for k, templates in enumerate((np.array([0, 5, 9]), np.array([1, 5, 9]))):
        for j, y in enumerate(labels):
            shared = probes.refitted_agreements(images, y, templates, tmp_path / f"a{k}{j}.npz", edges)
            fresh = probes.refitted_agreements(
                images, y, templates, tmp_path / f"b{k}{j}.npz", tmp_path / f"e{k}{j}.npz"
            )
            assert np.array_equal(shared, fresh)
