"""Feature visualisation: for every fc1 neuron, an input optimised to maximise its pre-activation.

CLAIMS.md fixes the recipe: start from zeros, Adam, lr 0.1, 100 steps, pixels unconstrained. It is
deterministic (no random start), so it is cached with the activations.

It runs in float64 (:data:`model.network.COMPUTE_DTYPE`): 100 Adam steps amplify rounding, and in float32
the images differ between CPU kernels (oneDNN AVX-512 vs AVX2, ATen's default kernels) enough to move their
correlation with the template by up to 0.025 and flip the sign of the near-zero ones. In float64 the same
amplification leaves differences near 1e-11, far below float32, in which the result is stored.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from model.spec import N_NEURONS

STEPS = 100
LR = 0.1


def maximise_preactivations(
    state: dict[str, np.ndarray],
    steps: int = STEPS,
    lr: float = LR,
    directions: np.ndarray | None = None,
    rows: slice = slice(None),
) -> tuple[np.ndarray, np.ndarray]:
    """Return (images (200, 28, 28) float32, reached pre-activation (200,) float32), image i for neuron i.

    With ``directions`` (k, 200), the same recipe for k directions of neuron space instead: image j maximises
    ``directions[j] · pre-activation`` (a neuron is the direction of its unit vector; its weights are then
    fc1's own row, so the neurons' images are the same either way). ``rows``: only those neurons' (or
    directions') images. Each image is optimised on its own (its loss term and its Adam moments are its own, and
    torch's float64 convolutions run image by image), so a slice's images are the whole run's, bit for bit, and
    slices can run in parallel."""
    if steps <= 0 or lr <= 0:
        raise ValueError(f"steps and lr must be positive, got steps={steps}, lr={lr}")
    import torch

    from model.network import COMPUTE_DTYPE, build_network

    dtype = getattr(torch, COMPUTE_DTYPE)
    net = build_network(state, COMPUTE_DTYPE)
    for p in net.parameters():
        p.requires_grad_(False)
    w = net.fc1.weight  # (200, 400): neuron i only needs its own row on image i
    b = net.fc1.bias
    if directions is not None:
        d = torch.from_numpy(np.asarray(directions, dtype=np.float64)).to(dtype)
        if d.ndim != 2 or d.shape[1] != N_NEURONS:
            raise ValueError(f"directions must have shape (k, {N_NEURONS}), got {tuple(d.shape)}")
        w, b = d @ w, d @ b  # direction j's weights on the 400 conv features
    w, b = w[rows], b[rows]
    x = torch.zeros(len(w), 1, 28, 28, dtype=dtype, requires_grad=True)
    step = adam_step(x, lr)
    for _ in range(steps):
        x.grad = None
        reached = (net.features(x) * w).sum(dim=1) + b
        (-reached.sum()).backward()
        step()
    with torch.no_grad():
        reached = (net.features(x) * w).sum(dim=1) + b
    return x.detach()[:, 0].numpy().astype(np.float32), reached.numpy().astype(np.float32)


def adam_step(x, lr: float):
    """One step of ``torch.optim.Adam([x], lr=lr)`` with its defaults: the functional update its ``step()`` calls,
    with the same state and arguments (so the same bits), without the wrapper around ``step()``, whose first call
    imports ``torch._dynamo`` (~1 s of a cold run, twice: the neurons' and the directions' visualisations)."""
    import inspect

    import torch
    from torch.optim.adam import Adam, adam
    from torch.optim.optimizer import _get_scalar_dtype

    # the optimiser's own defaults, read from its signature (constructing one would import torch._dynamo too)
    defaults = {
        k: v.default for k, v in inspect.signature(Adam.__init__).parameters.items() if k not in ("self", "params")
    }
    defaults["lr"] = lr
    state = ([torch.zeros_like(x)], [torch.zeros_like(x)], [torch.tensor(0.0, dtype=_get_scalar_dtype())])
    beta1, beta2 = defaults["betas"]

    def step() -> None:
        with torch.no_grad():
            adam(
                [x],
                [x.grad],
                state[0],
                state[1],
                [],
                state[2],
                amsgrad=defaults["amsgrad"],
                has_complex=False,
                beta1=beta1,
                beta2=beta2,
                lr=defaults["lr"],
                weight_decay=defaults["weight_decay"],
                eps=defaults["eps"],
                maximize=defaults["maximize"],
                foreach=defaults["foreach"],
                capturable=defaults["capturable"],
                differentiable=defaults["differentiable"],
                fused=defaults["fused"],
                decoupled_weight_decay=defaults["decoupled_weight_decay"],
            )

    return step


def visualise_file(inputs: Path, out: Path) -> None:
    """The feature visualisations of the directions in ``inputs`` (``directions`` (k, 200) and the parameters as
    ``state/<key>``), written to ``out`` (``images``, ``reached``): what :func:`main` and the activation child's
    worker (fixtures/activations.py) run for the test process, which never imports torch."""
    from model.spec import STATE_SHAPES

    with np.load(inputs, allow_pickle=False) as npz:
        state = {k: npz[f"state/{k}"] for k in STATE_SHAPES}
        directions = npz["directions"]
    import torch

    torch.set_num_threads(1)  # a few images: threads only add overhead (the result does not depend on their number)
    images, reached = maximise_preactivations(state, directions=directions)
    np.savez(Path(out), images=images, reached=reached)


def main(argv: list[str] | None = None) -> int:
    """``python -m model.featurevis --inputs IN.npz --out OUT.npz``: :func:`visualise_file` in a child process."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--inputs", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    visualise_file(Path(args.inputs), Path(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
