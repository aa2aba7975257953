"""The drawing functions on small synthetic inputs: each draws; the same inputs give the same PNG bytes."""

from __future__ import annotations

import numpy as np
import pytest

from claims import figures


def _inputs(name: str):
    rng = np.random.default_rng(0)
    kind = np.array(["one"] * 5 + ["anti_one"] * 5 + ["dead"] * 10)
    half = {"anti_one_half": 0.5, "one_half": 0.9}
    outcomes = {
        g: {"kept": half, "class_0_after": half, "class_0_before": half}
        for g in ("anti_one_group", "one_group", "both")
    }
    s = np.sort(rng.uniform(-40000, 12000, 3000))
    sweep = {k: {"mean": 0.9, "std": 0.01, "values": [0.89, 0.91]} for k in ("0.0001", "0.001", "0.01", "0.1")}
    sweep["random"] = {"mean": 0.5, "std": 0.0, "values": [0.5, 0.5]}
    wrong = {
        "p": 0.001,
        "hypothesis": 0.94,
        "swapped": 0.39,
        "random_partitions": list(rng.uniform(0.6, 0.75, 20)),
        "fully_random": 0.5,
        "loss_recovered": 0.88,
    }
    weight = rng.normal(size=(2, 20))
    return {
        "hint": (rng.random((28, 28)),),
        "feature_directions": (rng.normal(size=(5, 28, 28)), ["a", "b", "c", "d", "e"], rng.normal(size=5)),
        "loadings": (rng.normal(size=(4, 20)), ["PC1", "PC2", "arm 1", "arm 2"], kind),
        "zero_ablation": (
            s[:60],
            rng.normal(size=60),
            rng.normal(size=60),
            {"fraction_class_1_before": 0.4, "fraction_class_1_after": 0.5},
        ),
        "contributions": (weight[1] - weight[0], kind == "dead", weight, np.where(kind == "dead", 0.0, 1.0)),
        "min_ablation": (outcomes, s, s / 1000, {g: s / 2000 for g in outcomes}, -17305.0, -7762.0),
        "scrubbing": (sweep, sweep, wrong),
        "labelling": (s, (np.abs(s + 12000) < 5000).astype(int), -17305.0, -7762.0, s / 2000),
    }[name]


NAMES = (
    "hint",
    "feature_directions",
    "loadings",
    "zero_ablation",
    "contributions",
    "min_ablation",
    "scrubbing",
    "labelling",
)


@pytest.mark.parametrize("name", NAMES)
def test_each_figure_draws(name, tmp_path):
    assert figures.save(getattr(figures, name)(*_inputs(name)), tmp_path / "a" / f"{name}.png") == f"a/{name}.png"


def test_the_same_inputs_give_the_same_bytes(tmp_path):
    """The figure with the most parts (two panels, a scatter, annotations), drawn twice."""
    for folder in ("a", "b"):
        figures.save(figures.scrubbing(*_inputs("scrubbing")), tmp_path / folder / "scrubbing.png")
    assert (tmp_path / "a" / "scrubbing.png").read_bytes() == (tmp_path / "b" / "scrubbing.png").read_bytes()


def test_the_scrubbing_figure_keeps_every_wrong_hypothesis_in_view():
    sweep, per_neuron, wrong = _inputs("scrubbing")
    fig = figures.scrubbing(sweep, per_neuron, wrong)
    assert len(fig.axes) == 2 and fig.axes[0].get_ylim()[0] < wrong["swapped"]
    assert len(figures.scrubbing(sweep, per_neuron).axes) == 1
