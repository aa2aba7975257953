"""The write-up's figures that no claim module draws itself, and the figures they attach to claims' records.

Each figure is drawn from the session's fixtures through the ``figure_store`` (memoised by its inputs).
:data:`CLAIM_FIGURES` says which claims use which figure; :func:`attach_figures` adds the figure to those claims'
records before their tests run, so a claim module needs no figure fixture of its own for them.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from analysis import ablation, geometry, neurons, weighted
from analysis.labelling import CLUE_INDEX, L_THRESHOLD, R_THRESHOLD
from claims.started_first import Background, starts_first
from fixtures.cache import memoised
from fixtures.locate import PROJECT_ROOT, project_env
from model import featurevis, network

__all__ = [  # the fixtures claims/conftest.py imports
    "attach_figures",
    "clue_oriented_pca",
    "contribution_figure",
    "direction_fv",
    "directions",
    "feature_directions_figure",
    "hint_figure",
    "loadings_figure",
    "min_ablation_panel",
    "regions_figure",
    "wrong_hypotheses",
    "zero_ablation_figure",
]

#: Images in the zero-ablation figure (drawn at random, seeded, from the training set).
ZERO_ABLATION_IMAGES = 60
#: The wrong hypotheses scrubbing is compared with: the noise level, and how many random partitions.
FEATUREVIS_TIMEOUT_S = 600
#: The module of the claims' drawing functions (a FigureStore's ``module``).
FIGURES_MODULE = "claims.figures"

#: figure fixture -> the claims whose records show it (a claim not in this run is skipped).
CLAIM_FIGURES = {
    "hint_figure": ("clue-is-a-one",),
    "feature_directions_figure": ("feature-visualisation",),
    "loadings_figure": ("pca-uses-few-neurons", "quadrants-are-groups", "quadrant-feature-visualisations"),
    "zero_ablation_figure": ("anti-one-baseline", "zero-ablation-baseline"),
    "contribution_figure": ("fc2-sign-pattern",),
    "regions_figure": ("regions-excite-groups", "each-detector-tracks-its-region", "causal-scrubbing"),
}


@pytest.fixture(autouse=True)
def attach_figures(request: pytest.FixtureRequest) -> None:
    """Add the figures of :data:`CLAIM_FIGURES` to the record of the claim this test checks."""
    marker = request.node.get_closest_marker("claim")
    if marker is None or not marker.args:
        return
    wanted = [name for name, ids in CLAIM_FIGURES.items() if marker.args[0].id in ids]
    if not wanted:
        return
    verdict = request.getfixturevalue("verdict")
    for name in wanted:
        path = request.getfixturevalue(name)
        if path is not None:
            verdict.figure(path)


# ----------------------------------------------------------------------------------------------- the inputs


@pytest.fixture(scope="session")
def clue_oriented_pca(pca: geometry.PCA, pca_coords: np.ndarray) -> np.ndarray:
    """PC1 and PC2 (2, 200), each oriented so that the clue's coordinate on it is positive."""
    signs = np.array([geometry.orientation(pca_coords[CLUE_INDEX, k]) for k in range(2)])
    return pca.components * signs[:, None]


@pytest.fixture(scope="session")
def directions(fc2, clue_oriented_pca, pca, arms) -> dict[str, np.ndarray]:
    """The directions of neuron space the write-up visualises, as unit vectors: the logit diff, PC1, PC2 and the
    two arm directions (each arm's outward unit vector in the PCA plane, mapped back to neuron space)."""
    out = {
        "logit diff (1 − 0)": fc2.direction / (np.linalg.norm(fc2.direction) or 1.0),
        "PC1": clue_oriented_pca[0],
        "PC2": clue_oriented_pca[1],
    }
    if arms is not None:
        out['"1" arm'] = arms[0].outward @ pca.components
        out['"anti-1" arm'] = arms[1].outward @ pca.components
    return out


def direction_feature_visualisations(prepared: Any, acts: Any, directions: np.ndarray) -> dict[str, np.ndarray]:
    """The feature visualisations of ``directions`` (k, 200) by the neurons' recipe (model/featurevis.py), computed
    once outside the test process (torch stays out of it: by the run's activation child if it is still serving,
    else by a child process of their own) and kept in the cache folder, keyed by the activation bundle, the recipe's
    and the network's code and the directions (rounded to the digits a record keeps, so that another CPU's PCA gives
    the same key and images)."""
    key = hashlib.blake2b(digest_size=8)
    for module in (featurevis, network):  # the recipe, and the network it runs (build_network, its dtype)
        key.update(Path(module.__file__).read_bytes())
    key.update(np.ascontiguousarray(directions).tobytes())
    path = prepared.inputs.cache_dir / f"featurevis-directions-{acts.source.stem}-{key.hexdigest()}.npz"

    def compute() -> dict[str, np.ndarray]:
        with tempfile.TemporaryDirectory() as tmp:
            inputs, out = Path(tmp) / "in.npz", Path(tmp) / "out.npz"
            np.savez(inputs, directions=directions, **{f"state/{k}": v for k, v in acts.params.state.items()})
            worker = acts.torch_worker
            if worker is None or not worker.featurevis(inputs, out, FEATUREVIS_TIMEOUT_S):
                _featurevis_in_a_child(inputs, out)
            with np.load(out, allow_pickle=False) as npz:
                return {"images": npz["images"], "reached": npz["reached"]}

    return memoised(path, compute, ("images", "reached"))


def _featurevis_in_a_child(inputs: Path, out: Path) -> None:
    """``python -m model.featurevis``: ``inputs`` visualised into ``out``; a failure raised with its stderr's end."""
    done = subprocess.run(
        [sys.executable, "-m", "model.featurevis", "--inputs", str(inputs), "--out", str(out)],
        cwd=PROJECT_ROOT,
        env=project_env(),
        capture_output=True,
        text=True,
        timeout=FEATUREVIS_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"feature visualisation of the directions failed (exit {done.returncode}):\n{done.stderr.strip()[-2000:]}"
        )


def start_direction_fv(background: Background, prepared, acts, directions) -> Future:
    """The feature visualisations of ``directions``, computed in the background (by the activation child if it
    still serves, else by a child process of their own)."""
    from report.figstore import portable

    stacked = portable(np.vstack(list(directions.values())))
    return background.start(
        "direction-feature-visualisations", direction_feature_visualisations, prepared, acts, stacked
    )


@starts_first("feature-visualisation")
def _start_direction_fv(request: pytest.FixtureRequest, background: Background) -> None:
    start_direction_fv(background, *(request.getfixturevalue(name) for name in ("prepared", "acts", "directions")))


@pytest.fixture(scope="session")
def direction_fv(prepared, acts, directions, background) -> tuple[list[str], dict[str, np.ndarray]]:
    return list(directions), start_direction_fv(background, prepared, acts, directions).result()


def _kind(groups: neurons.Groups) -> np.ndarray:
    kind = np.full(len(groups.dead), "dead", dtype=object)
    kind[groups.one] = "one"
    kind[groups.anti_one] = "anti_one"
    return kind.astype(str)


@pytest.fixture(scope="session")
def wrong_hypotheses(wrong_sample) -> dict[str, Any]:
    """What the scrubbing figure draws beside the sweep: scrubbing-beats-wrong-hypotheses' scores at p = 0.1%
    (:func:`claims.samples.scores_at`), the same numbers its record holds."""
    from analysis.wrong_hypotheses import loss_recovered
    from claims.samples import NOISE, scores_at

    scores, random = scores_at(wrong_sample, NOISE), scores_at(wrong_sample, "random")["hypothesis"]
    return {
        "p": NOISE,
        "hypothesis": scores["hypothesis"],
        "swapped": scores["swapped"],
        "random_partitions": [v for n, v in scores.items() if n.startswith("partition")],
        "fully_random": random,
        "loss_recovered": loss_recovered(scores["hypothesis"], random),
    }


@pytest.fixture(scope="session")
def min_ablation_panel(fc2, groups, train) -> tuple:
    """What the min-ablation figure draws beside the claim's outcomes: s, the logit diff of every training image
    before and after each group's minimum-ablation, and the two thresholds."""
    before = neurons.logit_diff(fc2.logits(train.post))
    after = {
        name: neurons.logit_diff(fc2.min_ablate(train.post, mask))  # the readout's min-ablation, as the claims'
        for name, mask in (
            ("anti_one_group", groups.anti_one),
            ("one_group", groups.one),
            ("both", groups.one | groups.anti_one),
        )
    }
    return train.s, before, after, L_THRESHOLD, R_THRESHOLD


# ----------------------------------------------------------------------------------------------- the figures


@pytest.fixture(scope="session")
def regions_figure(figure_store, train, pca_coords) -> str:
    """The labelling figure (the same inputs as the labelling claims', so it is drawn once): its histogram over
    the three regions of s is the one the write-up shows for the regions each detector group covers."""
    return figure_store.render(
        "labelling", "labelling", train.s, train.labels, L_THRESHOLD, R_THRESHOLD, pca_coords[:, 0]
    )


@pytest.fixture(scope="session")
def hint_figure(figure_store, clue) -> str:
    return figure_store.render("hint", "hint", clue)


@pytest.fixture(scope="session")
def feature_directions_figure(figure_store, direction_fv) -> str:
    names, fv = direction_fv
    return figure_store.render(
        "feature-directions",
        "feature_directions",
        fv["images"].astype(np.float64),
        names,
        fv["reached"].astype(np.float64),
    )


@pytest.fixture(scope="session")
def loadings_figure(figure_store, clue_oriented_pca, pca, arms, groups) -> str | None:
    if arms is None:
        return None
    vectors = np.vstack([clue_oriented_pca, arms[0].outward @ pca.components, arms[1].outward @ pca.components])
    names = ["PC1", "PC2", '"1" arm direction', '"anti-1" arm direction']
    return figure_store.render("loadings", "loadings", vectors, names, _kind(groups))


@pytest.fixture(scope="session")
def zero_ablation_figure(figure_store, train, groups, fc2) -> str:
    ids = np.random.default_rng(0).choice(len(train), ZERO_ABLATION_IMAGES, replace=False)
    ids = ids[np.argsort(train.s[ids], kind="stable")]
    one = fc2.logit_diff_contribution(train.post, groups.one)[ids]
    anti = fc2.logit_diff_contribution(train.post, groups.anti_one)[ids]
    shares = ablation.zero_ablation_effect(train.post, fc2, groups.anti_one, train.region)
    return figure_store.render(
        "zero-ablation",
        "zero_ablation",
        train.s[ids],
        one,
        anti,
        {k: shares[k] for k in ("fraction_class_1_before", "fraction_class_1_after")},
    )


@pytest.fixture(scope="session")
def contribution_figure(figure_store, train, groups, fc2) -> str:
    """The write-up's two rows (fc2 weight to each logit × activation std) above the sorted logit-diff
    contributions (one-way-neurons' measure, :func:`analysis.neurons.typical_contribution`)."""
    return figure_store.render(
        "contributions",
        "contributions",
        neurons.typical_contribution(train.post, fc2.direction),
        groups.dead,
        fc2.weight,
        weighted.column_std(train.post),
    )
