"""The challenge CNN in torch, checkpoint loading, and batched activation taps.

torch is imported inside functions: a warm claims run reads everything from the activation cache and
never imports it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from model.spec import CheckpointError, STATE_SHAPES, N_LOGITS, N_NEURONS, check_finite, check_state_shapes

if TYPE_CHECKING:  # pragma: no cover
    import torch

#: Images per forward batch; 512 is the fastest size measured on 2 cores. (The activations are computed in
#: float64 and stored as float32, so the result does not depend on the batch size, see :func:`activations`.)
BATCH_SIZE = 512
#: The precision the network is evaluated in by :func:`activations` and the feature visualisation.
COMPUTE_DTYPE = "float64"

def load_state(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Load and validate a challenge checkpoint; return its parameters as float32 numpy arrays.

    Uses ``torch.load(..., weights_only=True, map_location="cpu")``: a checkpoint is data, never code.
    Raises :class:`CheckpointError` with the file's name and what to do for every way a file can be wrong.
    """
    import pickle
    import zipfile

    import torch

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file. Pass --weights PATH or set EIS_WEIGHTS.")
    advice = "download it again, or point --weights at a state_dict saved with torch.save(model.state_dict(), path)"
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path}: the file is empty; {advice}.")
    if zipfile.is_zipfile(path):
        damaged = _damaged_zip_member(path)
        if damaged:
            raise CheckpointError(f"{path}: damaged ({damaged}); {advice}.")
    else:
        with open(path, "rb") as fh:
            legacy = fh.read(2)[:1] == b"\x80"  # a pickle stream: torch.save's pre-1.6 format
        if not legacy:
            raise CheckpointError(
                f"{path}: not a torch checkpoint (neither torch.save's zip format nor its legacy pickle format); "
                f"it is truncated, corrupted or another kind of file; {advice}."
            )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        objects = _pickled_classes(path)
        if objects:
            raise CheckpointError(
                f"{path}: holds pickled Python objects beyond tensors ({', '.join(objects[:5])}), e.g. a whole "
                "model object, which the suite never unpickles. Save only the weights: "
                "torch.save(model.state_dict(), path)."
            ) from None
        raise CheckpointError(f"{path}: its pickle stream is damaged or truncated; {advice}.") from None
    except (EOFError, RuntimeError, zipfile.BadZipFile, OSError, ValueError, KeyError) as exc:
        raise CheckpointError(f"{path}: cannot be read as a torch checkpoint ({_first_line(exc)}); {advice}.") from None
    check_state_shapes(state, str(path))
    arrays: dict[str, np.ndarray] = {}
    for key in STATE_SHAPES:
        value = state[key]
        if not isinstance(value, torch.Tensor) or not value.is_floating_point():
            kind = f"a {value.dtype} tensor" if isinstance(value, torch.Tensor) else f"a {type(value).__name__}"
            raise CheckpointError(
                f"{path}: parameter {key} is {kind}, not floating-point; save the float weights with "
                "torch.save(model.state_dict(), path)."
            )
        arrays[key] = value.detach().to(torch.float32).cpu().numpy().copy()
    check_finite(arrays, str(path))
    return arrays


def _damaged_zip_member(path: Path) -> str | None:
    """torch.load does not check the zip's CRCs, so flipped weight bytes would load silently: check them."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        return f"its zip archive cannot be read: {_first_line(exc)}"
    return f"CRC mismatch in {bad}" if bad else None


def _pickled_classes(path: Path) -> list[str]:
    """Names of the non-tensor classes a checkpoint would need to unpickle (empty if it is merely damaged)."""
    from torch.serialization import get_unsafe_globals_in_checkpoint

    try:
        return list(get_unsafe_globals_in_checkpoint(path))
    except Exception:  # a damaged stream cannot even be scanned
        return []


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _first_line(exc: BaseException) -> str:
    text = _ANSI.sub("", str(exc)).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:200]


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
    net.load_state_dict({k: torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in state.items()})  # a copy: cached arrays are read-only
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
    (``post`` is derived once, in the activation cache's named view: :class:`fixtures.activations.Taps`.)"""

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
    between_batches: Callable[[], None] | None = None,
) -> Activations:
    """Run the network (eval mode) over uint8 images in fixed-size batches; return pre-ReLU fc1 and logits.

    Computed in float64 (:data:`COMPUTE_DTYPE`) and rounded once to float32: float32 kernels differ by CPU
    instruction set, thread count and batch size in the last bits, float64 ones by ~1e-16, far below float32's
    resolution, so the float32 result is the same on every machine (except a value within ~1e-16 of a float32
    rounding boundary: about one in 10^9).

    ``between_batches`` is called before every batch (the bundle builder uses it to widen torch's thread
    pool once the feature visualisation running beside it has finished).

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
            if between_batches is not None:
                between_batches()
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


def save_state(state: dict[str, np.ndarray], path: str | os.PathLike[str]) -> str:
    """Save a challenge state_dict (numpy arrays) with ``torch.save``, atomically; return its sha256."""
    from fixtures.files import save_checkpoint

    return save_checkpoint(state, Path(path))
