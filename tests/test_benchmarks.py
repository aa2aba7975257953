"""Timings of the suite's heavy steps (pytest-benchmark). Skipped in normal runs; run them with

    pytest --benchmark-only                                  # all timings
    pytest --benchmark-only --benchmark-save=baseline        # save a baseline under .benchmarks/
    pytest --benchmark-only --benchmark-compare              # compare with the newest saved run

No timing is asserted anywhere: these measure, the README reports.
"""

from __future__ import annotations

import pytest

from analysis.ablation import min_ablation_table
from analysis.labelling import L_THRESHOLD, R_THRESHOLD, agreement, band_labels
from claims.conftest import groups, scrubber  # noqa: F401  (the claims' analysis fixtures, for their timings)
from fixtures.activations import NAMES
from fixtures.cache import read_cache

pytestmark = [pytest.mark.benchmark, pytest.mark.needs_data]


def test_forward_pass_over_60000_images(benchmark, acts, mnist):
    from model.network import activations

    benchmark.pedantic(activations, args=(acts.params.state, mnist.train_images), rounds=3, iterations=1)


def test_loading_the_warm_activation_cache(benchmark, acts):
    benchmark.pedantic(read_cache, args=(acts.source, NAMES), rounds=5, iterations=1)


def test_one_agreement_evaluation_full_pass(benchmark, train):
    benchmark(lambda: agreement(band_labels(train.s, L_THRESHOLD, R_THRESHOLD), train.labels))


def test_one_agreement_evaluation_sorted_prefix_counts(benchmark, train):
    from analysis.labelling import BandScorer

    scorer = BandScorer.fit(train.s, train.labels)
    benchmark(scorer.agreement, L_THRESHOLD, R_THRESHOLD)


def test_one_causal_scrubbing_pass(benchmark, scrubber):  # noqa: F811
    benchmark(scrubber.kept, 1e-3, 0)


def test_one_min_ablation(benchmark, fc2, groups, train):  # noqa: F811
    benchmark(min_ablation_table, train.post, fc2, groups, train.s)


def test_feature_visualisation_batch(benchmark, acts):
    from model.featurevis import maximise_preactivations

    benchmark.pedantic(maximise_preactivations, args=(acts.params.state,), rounds=2, iterations=1)
