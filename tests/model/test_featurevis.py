"""The feature visualisation's optimiser step is ``torch.optim.Adam``'s, bit for bit, without importing
torch._dynamo (which ``Adam``'s constructor and ``step()`` do, at ~1 s a process); and slices of the neurons give
the whole run's images, bit for bit."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from fixtures.locate import PROJECT_ROOT
from model.featurevis import adam_step

torch = pytest.importorskip("torch")


def losses(x):
    """A loss whose gradient changes sign and scale across steps (so the moments matter)."""
    return (torch.sin(3 * x) * x**2).sum() + (x**3).mean()


@pytest.mark.parametrize("lr", [0.1, 1e-3])
def test_adam_step_is_torch_optim_adams_bit_for_bit(lr):
    start = torch.from_numpy(np.random.default_rng(0).standard_normal((5, 1, 28, 28)))
    ours, theirs = start.clone().requires_grad_(True), start.clone().requires_grad_(True)
    step, opt = adam_step(ours, lr), torch.optim.Adam([theirs], lr=lr)
    for _ in range(30):
        ours.grad = None
        losses(ours).backward()
        step()
        opt.zero_grad(set_to_none=True)
        losses(theirs).backward()
        opt.step()
    assert torch.equal(ours.detach(), theirs.detach())
    assert not torch.equal(ours.detach(), start)  # it moved


def test_the_feature_visualisation_does_not_import_dynamo():
    code = (
        "import sys, numpy as np; from model.featurevis import maximise_preactivations; from model.spec import "
        "STATE_SHAPES; state = {k: np.full(s, 0.01, np.float32) for k, s in STATE_SHAPES.items()}; "
        "maximise_preactivations(state, steps=2); print('torch._dynamo' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_slices_of_the_neurons_give_the_whole_runs_images_bit_for_bit():
    """What lets the activation child share the neurons between two threads."""
    from model.featurevis import maximise_preactivations
    from model.spec import STATE_SHAPES

    rng = np.random.default_rng(1)
    state = {k: (0.3 * rng.standard_normal(s)).astype(np.float32) for k, s in STATE_SHAPES.items()}
    whole = maximise_preactivations(state, steps=8)
    parts = [maximise_preactivations(state, steps=8, rows=slice(a, b)) for a, b in ((0, 1), (1, 26), (26, 200))]
    for k in range(2):
        assert np.array_equal(np.concatenate([p[k] for p in parts]), whole[k])
