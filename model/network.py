"""The challenge CNN in torch and its batched activation taps (checkpoint files: fixtures/checkpoint.py).

torch is imported inside functions: a warm claims run reads everything from the activation cache and
never imports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from model.spec import N_LOGITS, N_NEURONS, CheckpointError, check_state_shapes

if TYPE_CHECKING:  # pragma: no cover
    import torch

#: Images per forward batch; 512 is the fastest size measured on 2 cores. (The activations are computed in
#: float64 and stored as float32, so the result does not depend on the batch size, see :func:`activations`.)
BATCH_SIZE = 512
#: The precision the network is evaluated in by :func:`activations` and the feature visualisation.
COMPUTE_DTYPE = "float64"


def no_tf32() -> None:
    """Switch off TF32 (10-bit mantissa) matmuls and convolutions: on an Ampere-or-later GPU PyTorch's default
    TF32 convolutions flip labels near the decision boundary (2 training labels on an H200). No-op on a CPU."""
    import torch

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False


def build_network(state: dict[str, np.ndarray], dtype: str = "float32") -> "torch.nn.Module":
    """The challenge network in eval mode (dropout off) with ``state`` loaded, its parameters in ``dtype``
    (``"float32"`` or ``"float64"``; float32 weights are exact in float64)."""
    import torch

    from model.torchnet import ChallengeNet

    no_tf32()
    check_state_shapes(state, "state")
    net = ChallengeNet()
    # np.array copies: the cached arrays are read-only
    net.load_state_dict({k: torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in state.items()})
    return net.to(getattr(torch, dtype)).eval()


def check_images(images: np.ndarray, name: str = "images") -> np.ndarray:
    """Validate uint8 MNIST pixels, shape (N, 28, 28) or (N, 1, 28, 28); return them as (N, 28, 28)."""
    if not isinstance(images, np.ndarray):
        raise TypeError(f"{name}: expected a numpy array, got {type(images).__name__}")
    if images.dtype != np.uint8:
        raise TypeError(f"{name}: expected dtype uint8 (pixels 0..255), got {images.dtype}")
    if images.ndim == 4 and images.shape[1] == 1:
        images = images[:, 0]
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(f"{name}: expected shape (N, 28, 28) or (N, 1, 28, 28), got {images.shape}")
    return images


@dataclass(frozen=True)
class Activations:
    """Taps of the network over a set of images: fc1 pre-activations (N, 200) and logits (N, 2), float32.
    Its field names are the tap names the activation cache stores (``post`` is derived there, once)."""

    pre: np.ndarray
    logits: np.ndarray

    @cached_property
    def labels(self) -> np.ndarray:
        """The model's label: argmax of the two logits (computed once)."""
        return np.argmax(self.logits, axis=1)


def activations(
    state: dict[str, np.ndarray],
    images: np.ndarray,
    batch_size: int = BATCH_SIZE,
) -> Activations:
    """Run the network (eval mode) over uint8 images in fixed-size batches; return pre-ReLU fc1 and logits.

    Computed in float64 (:data:`COMPUTE_DTYPE`) and rounded once to float32: float32 kernels differ by CPU
    instruction set, thread count and batch size in the last bits, float64 ones by ~1e-16, far below float32's
    resolution, so the float32 result is the same on every machine (except a value within ~1e-16 of a float32
    rounding boundary: about one in 10^9).

    The activation cache takes its taps from the numpy pass (model/numpy_net.py), which has these bits; this one
    is the reference it is tested against, and what training uses.

    Raises :class:`CheckpointError` if the network produces NaN or infinity.
    """
    import torch

    images = check_images(images)
    net = build_network(state, COMPUTE_DTYPE)
    dtype = getattr(torch, COMPUTE_DTYPE)
    n = len(images)
    pre = np.empty((n, N_NEURONS), dtype=np.float32)
    logits = np.empty((n, N_LOGITS), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, n, batch_size):
            batch = torch.from_numpy(images[start : start + batch_size].copy()).unsqueeze(1).to(dtype).div_(255.0)
            out = net.taps(batch)
            with np.errstate(over="ignore"):  # rounded to float32 here; beyond its range -> inf, reported below
                pre[start : start + batch_size] = out["pre"].numpy()
                logits[start : start + batch_size] = out["logits"].numpy()
    bad = int((~np.isfinite(pre)).sum() + (~np.isfinite(logits)).sum())
    if bad:
        raise CheckpointError(
            f"the network produced {bad} non-finite activations (NaN or infinity) on {n} images; "
            "its weights are damaged or out of range. Use another checkpoint."
        )
    return Activations(pre=pre, logits=logits)
