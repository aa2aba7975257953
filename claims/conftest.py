"""Analysis fixtures the claims share, built once per session from the run's inputs (fixtures/plugin.py: ``acts``,
``train``, ``fc2``): the sample the neuron and intervention claims are judged on, the detector groups, the PCA plane
and the V in it, and the causal scrubber. A claim module's own figures and measurements stay module fixtures in that
module."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import numpy as np
import pytest

from analysis import geometry, labelling, neurons
from analysis.robustness import Sample
from analysis.scrubbing import Scrubber
from claims import figures_fixtures, judgements, samples, started_first
from claims.figures_fixtures import *  # noqa: F401,F403  (the figure fixtures, and attach_figures)
from claims.started_first import background, start_the_slowest, starts_first  # noqa: F401  (started first)
from fixtures.activations import ActivationCache
from fixtures.cache import memoised
from fixtures.plugin import Split, building_bundle, prepare
from model.interventions import Readout
from report.figstore import start_drawing_process, stop_drawing_process


@pytest.hookimpl(wrapper=True, tryfirst=True)  # around the inputs plugin, which waits for the activation bundle
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]):
    started_first.waiting_last(items)
    started_first.start_data_only(config, items)
    if building_bundle(config):  # a new bundle: every figure of it will be drawn
        start_drawing_process(figures_fixtures.FIGURES_MODULE)
    try:
        return (yield)
    except BaseException:  # the run cannot start (e.g. a bad checkpoint): what has not started never will
        started_first.session_background(config).close(wait=False)
        stop_drawing_process(figures_fixtures.FIGURES_MODULE)
        raise


@pytest.fixture(scope="session")
def neuron_sample(acts: ActivationCache, train: Split, fc2: Readout, pca: geometry.PCA, arms) -> Sample:
    """What the neuron and intervention claims are judged on (claims/samples.py), with the test images held out."""
    return samples.neuron_sample(acts.train.post, train, fc2, pca, arms, heldout=(acts.test.post, acts.test))


@pytest.fixture(scope="session")
def groups(neuron_sample: Sample) -> neurons.Groups:
    """The detector groups by firing (CLAIMS.md's definition), as the claims' judges compute them."""
    return samples.detector_groups(neuron_sample)


@pytest.fixture(scope="session")
def pca(acts: ActivationCache, prepared) -> geometry.PCA:
    """The PCA plane of the training activations. It depends only on the activation bundle (checkpoint and data)
    and the fitting code, so it is memoised in the cache folder like the scrubbing tables: a warm run reads the
    same float64 arrays the fit wrote instead of refitting (~0.5 s of covariance)."""
    code = hashlib.blake2b(Path(geometry.__file__).read_bytes(), digest_size=8).hexdigest()
    path = prepared.inputs.cache_dir / f"pca-{acts.source.stem}-{code}.npz"

    def fit() -> dict[str, np.ndarray]:
        fitted = geometry.fit_pca(acts.train.post, 2)
        return {f.name: getattr(fitted, f.name) for f in dataclasses.fields(fitted)}

    return geometry.PCA(**memoised(path, fit, [f.name for f in dataclasses.fields(geometry.PCA)]))


@pytest.fixture(scope="session")
def pca_coords(pca: geometry.PCA, acts: ActivationCache) -> np.ndarray:
    return pca.transform(acts.train.post)


@pytest.fixture(scope="session")
def vshape(pca_coords: np.ndarray) -> geometry.VShape | None:
    """The V fitted in the PCA plane, or None when there is none to fit (e.g. a network whose neurons never
    fire): the claims about the V then fail, saying so, instead of erroring."""
    try:
        return geometry.fit_v(pca_coords)
    except geometry.NoV:
        return None


@pytest.fixture(scope="session")
def arms(vshape: geometry.VShape | None, train: Split) -> tuple[geometry.Arm, geometry.Arm] | None:
    """(the "1" arm, the "anti-1" arm) of the V, named by which holds more 1-like images (None without a V)."""
    return None if vshape is None else geometry.arms_by_content(vshape, train.region == labelling.ONE)


@pytest.fixture(scope="session")
def scrubber(acts: ActivationCache, fc2: Readout, groups: neurons.Groups, train: Split) -> Scrubber:
    return Scrubber.build(acts.train.post, fc2, groups, train.s, train.region, train.labels)


@pytest.fixture(scope="session")
def wrong_sample(
    scrubber: Scrubber,
    groups: neurons.Groups,
    train: Split,
    prepared,
    acts: ActivationCache,
    background,  # noqa: F811  (the fixture imported above)
) -> Sample:
    """The causal scrubbing of the hypothesis and of wrong ones of its shape (claims/samples.py): judged by
    scrubbing-beats-wrong-hypotheses, drawn beside the causal-scrubbing sweep."""
    return samples.wrong_hypotheses_sample(scrubber, groups, train, prepared, acts, background)


@starts_first("scrubbing-beats-wrong-hypotheses")
def _start_wrong_hypotheses(request: pytest.FixtureRequest, background) -> None:  # noqa: F811
    """The two noise levels the verdict and the scrubbing figure read (~1 s together on a cold cache)."""
    wrong = request.getfixturevalue("wrong_sample")
    for p in (samples.NOISE, "random"):
        wrong.fixed["start"](p)


def pytest_eis_judge(item: pytest.Item, declaration, data: Sample):
    """A claim's judgement, kept in the cache folder under everything it depends on (claims/judgements.py)."""
    from claims.probe_settings import current_profile

    acts = prepare(item.config).acts
    path = judgements.judgement_path(
        acts.source.parent, declaration.claim, acts.source.stem, acts.fit, current_profile()
    )
    return judgements.kept_judgement(path, lambda: declaration(data))
