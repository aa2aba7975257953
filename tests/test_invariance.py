"""Claims must not depend on neuron indices or activation scale: permuting the 200 hidden units, or scaling
fc1 up and fc2 down by the same factor, computes the same function, so every verdict must be the same."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fixtures.checkpoint import load_state
from fixtures.locate import resolve_checkpoint
from tests.conftest import run_claims

pytestmark = [pytest.mark.needs_data, pytest.mark.slow]

#: Claims whose statement names a number in the units of the activations (the write-up's PCA coordinates), so
#: scaling fc1 moves the measurement, and with it possibly the verdict: the measured key scales by the factor.
ACTIVATION_SCALE = {"corner-near-minus-2": "corner_pc1"}


def permuted(state: dict[str, np.ndarray], seed: int = 7) -> dict[str, np.ndarray]:
    """The same network with its fc1 units in another order."""
    order = np.random.default_rng(seed).permutation(state["fc1.bias"].shape[0])
    out = dict(state)
    out["fc1.weight"], out["fc1.bias"] = state["fc1.weight"][order], state["fc1.bias"][order]
    out["fc2.weight"] = state["fc2.weight"][:, order]
    return out


FACTOR = 3.7


def rescaled(state: dict[str, np.ndarray], factor: float = FACTOR) -> dict[str, np.ndarray]:
    """The same function (ReLU is positively homogeneous) with fc1 activations ``factor`` times larger."""
    out = dict(state)
    out["fc1.weight"], out["fc1.bias"] = state["fc1.weight"] * factor, state["fc1.bias"] * factor
    out["fc2.weight"] = state["fc2.weight"] / factor
    return out


def save_state(state: dict[str, np.ndarray], path: Path) -> Path:
    import torch

    torch.save({k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)) for k, v in state.items()}, path)
    return path


@pytest.fixture(scope="module")
def original_state(pytestconfig) -> dict[str, np.ndarray]:
    return load_state(resolve_checkpoint(pytestconfig.getoption("weights"), allow_download=False).path)


@pytest.mark.parametrize("transform", [permuted, rescaled], ids=["permuted-units", "fc1-up-fc2-down"])
def test_an_equivalent_network_gets_the_same_verdicts(pytestconfig, claims_run, original_state, transform, tmp_path):
    weights = save_state(transform(original_state), tmp_path / "equivalent.pt")
    run = run_claims(pytestconfig, tmp_path / "report", "--weights", str(weights))
    doc = run.document
    assert doc["checkpoint"]["sha256"] != claims_run.document["checkpoint"]["sha256"]
    expected = {k: v["verdict"] for k, v in claims_run.document["claims"].items()}
    got = {k: v["verdict"] for k, v in doc["claims"].items()}
    if transform is rescaled:
        for cid, key in ACTIVATION_SCALE.items():
            before, after = claims_run.document["claims"][cid]["measured"][key], doc["claims"][cid]["measured"][key]
            assert after == pytest.approx(FACTOR * before, rel=1e-3)
            expected.pop(cid), got.pop(cid)
    assert got == expected
    assert {k: v["verdict"] for k, v in doc["probes"].items()} == {
        k: v["verdict"] for k, v in claims_run.document["probes"].items()
    }
