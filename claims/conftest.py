"""Analysis fixtures the claims share, built once per session from the run's inputs (fixtures/plugin.py: ``acts``,
``train``, ``train_post``, ``fc2``): the logit-diff direction, the detector groups, the PCA plane and the V in it,
and the causal scrubber. A claim module's own figures and measurements stay module fixtures in that module."""

from __future__ import annotations

import numpy as np
import pytest

from analysis import geometry, labelling, neurons
from analysis.scrubbing import Scrubber
from claims.figures_fixtures import *  # noqa: F401,F403  (the figure fixtures, and attach_figures)
from fixtures.plugin import Split
from model.interventions import Readout


@pytest.fixture(scope="session")
def logit_diff_dir(fc2: Readout) -> np.ndarray:
    """fc2's logit-diff direction, weight[1] − weight[0] (200,)."""
    return fc2.direction


@pytest.fixture(scope="session")
def groups(train_post: np.ndarray, train: Split) -> neurons.Groups:
    return neurons.groups_by_firing(train_post, train.region)


@pytest.fixture(scope="session")
def pca(train_post: np.ndarray) -> geometry.PCA:
    return geometry.fit_pca(train_post, 2)


@pytest.fixture(scope="session")
def pca_coords(pca: geometry.PCA, train_post: np.ndarray) -> np.ndarray:
    return pca.transform(train_post)


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
def scrubber(train_post: np.ndarray, fc2: Readout, groups: neurons.Groups, train: Split) -> Scrubber:
    return Scrubber.build(train_post, fc2, groups, train.s, train.region, train.labels)
