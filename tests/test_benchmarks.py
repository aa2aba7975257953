"""Timings of the suite's stages (pytest-benchmark). Skipped in normal runs (pytest-benchmark is not even loaded
without a --benchmark-* option, conftest.py); run them with

    pytest --benchmark-only                                  # all timings
    pytest --benchmark-only --benchmark-save=mine            # save a run under benchmarks/<machine>/
    pytest --benchmark-only --benchmark-compare=0004         # compare with the committed baseline (0004_stages)

The stages of a `pytest claims/` run: the activation child process (torch's import, the float64 forward pass, the
feature visualisation), each cached analysis artefact (template re-fits, scrubbing tables, the generated-input
sample), the counterexample searches, start-up and collection, and writing the report; and the heavy steps inside
them. No timing is asserted anywhere: these measure, the README reports.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from analysis.ablation import min_ablation_table
from analysis.labelling import L_THRESHOLD, R_THRESHOLD, agreement, band_labels
from claims.conftest import (  # noqa: F401  (the claims' analysis fixtures, for their timings)
    arms,
    groups,
    neuron_sample,
    pca,
    pca_coords,
    scrubber,
    vshape,
)
from claims.probe_settings import probe_settings
from fixtures.activations import NAMES
from fixtures.cache import read_cache
from fixtures.locate import PROJECT_ROOT

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


# ------------------------------------------------------------------------- the stages of a `pytest claims/` run
# One benchmark per stage of a cold or warm run, each timing the code the run itself calls (never a copy of it).


def _claims_run(*args: str, cwd=None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", *args], cwd=cwd or PROJECT_ROOT, capture_output=True, text=True, check=False
    )


def test_the_activation_child_process(benchmark, acts, mnist, prepared, tmp_path):
    """The cold run's child process: torch's import, the float64 forward pass of the 70,000 images and the anti-clue,
    the feature visualisation beside it, and writing the bundle."""
    from fixtures.activations import _child, _raise_for

    out = tmp_path / "bundle.npz"

    def run() -> None:
        _raise_for(_child(prepared.inputs.checkpoint, mnist, out), prepared.inputs.checkpoint)

    benchmark.pedantic(run, rounds=1, iterations=1)


def test_the_template_refits(benchmark, mnist, train, tmp_path):
    """The template probe's 300 similarity passes, sorts and band re-fits, cold (the sorts are cached per data, the
    agreements per checkpoint)."""
    from claims import test_probes

    ones = np.flatnonzero(mnist.train_labels == 1)
    ones = ones[ones != test_probes.CLUE_INDEX]
    rng = np.random.default_rng(test_probes.TEMPLATE_SEED)
    drawn = np.sort(rng.choice(ones, test_probes.TEMPLATES, replace=False))
    templates = np.concatenate([[test_probes.CLUE_INDEX], drawn])
    cache, edges = tmp_path / "templates.npz", tmp_path / "template-edges.npz"

    def fresh() -> tuple[tuple, dict]:
        cache.unlink(missing_ok=True)
        edges.unlink(missing_ok=True)
        return (mnist.train_images, train.labels, templates, cache, edges), {}

    benchmark.pedantic(test_probes.refitted_agreements, setup=fresh, rounds=2, iterations=1)


def test_the_per_neuron_scrubbing_table(benchmark, scrubber):  # noqa: F811
    """The causal-scrubbing sweep of the per-neuron scheme (cached per activation bundle)."""
    from claims.test_interventions import kept_images

    benchmark.pedantic(kept_images, args=(scrubber, "neuron", "value"), rounds=2, iterations=1)


@pytest.fixture(scope="module")
def ood_inputs(numpy_net, mnist, acts, train):
    from analysis import ood

    margin = ood.MARGIN * float(train.s.max() - train.s.min())
    return numpy_net, mnist, acts.template, margin, ood.FAR_PER_LOOK["dev"]


def test_the_generated_input_sample(benchmark, ood_inputs):
    """The seven families' sequential samples through the function and the network (cached per network, data,
    quota and code)."""
    from analysis import ood

    net, mnist, template, margin, quota = ood_inputs

    def sample() -> None:
        for f in ood.FAMILIES:
            ood.measure_sequentially(f, net.logit_diff, mnist.train_images, template, margin, quota)

    benchmark.pedantic(sample, rounds=1, iterations=1)


def test_the_counterexample_searches(benchmark, ood_inputs, train, test_split):
    """The seven families' counterexample searches, reductions and switch points (memoised per network, data,
    profile and code; a warm run only re-verifies the stored counterexamples)."""
    from threadpoolctl import threadpool_limits

    from analysis import ood
    from claims import test_ood

    net, mnist, template, margin, quota = ood_inputs
    images = mnist.train_images
    samples = {f: ood.measure_sequentially(f, net.logit_diff, images, template, margin, quota) for f in ood.FAMILIES}
    oracles = {f: ood.Oracle(f, mnist.train_images, template, net.logit_diff, margin) for f in ood.FAMILIES}
    splits = {"train": (train.s, train.labels), "test": (test_split.s, test_split.labels)}
    yardstick = ood.in_distribution(splits, margin)
    settings = probe_settings(test_ood.SEARCH_EXAMPLES)

    def search() -> None:
        with threadpool_limits(1, user_api="blas"):
            for f, sample in samples.items():
                oracle = oracles[f]
                test_ood._family_finding(f, sample, oracle, net, mnist, template, margin, quota, yardstick, settings)

    benchmark.pedantic(search, rounds=1, iterations=1)


def test_start_up_and_collection(benchmark):
    """pytest's start-up, the plugins and conftests, and collecting the claims (no test runs)."""

    def collect() -> None:
        assert _claims_run("--collect-only", "-q", "claims/").returncode == 0

    benchmark.pedantic(collect, rounds=3, iterations=1)


def test_writing_the_report(benchmark, prepared, tmp_path):
    """Writing claims.json, claims.md, the HTML page and the badge from a warm run's document (the HTML and badge
    libraries imported in the round, as in a run)."""
    from claims.presentation import PRESENTATION
    from report.records import RunReport
    from report.write import write_report

    out = tmp_path / "report"
    done = _claims_run("claims/", "-q", "-p", "no:randomly", f"--report-dir={out}")
    assert done.returncode == 0, done.stdout[-2000:]
    report = RunReport.from_document(json.loads((out / "claims.json").read_text()))
    benchmark.pedantic(write_report, args=(out, report), kwargs={"presentation": PRESENTATION}, rounds=3, iterations=1)
