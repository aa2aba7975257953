"""The challenge architecture as data: state_dict keys and shapes, with no torch import.

See ``../shared/README.md``::

    conv1: Conv2d(1, 8, 3)     conv2: Conv2d(8, 16, 3)     pool: MaxPool2d(2, 2)
    fc1:   Linear(400, 200)    fc2:   Linear(200, 2)        drop: Dropout(0.2)  (identity in eval mode)
    forward: pool(drop(relu(conv1(x)))) -> pool(drop(relu(conv2(.)))) -> flatten(400) -> relu(fc1) -> fc2
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

N_FEATURES = 400
N_NEURONS = 200
N_LOGITS = 2

STATE_SHAPES: dict[str, tuple[int, ...]] = {
    "conv1.weight": (8, 1, 3, 3),
    "conv1.bias": (8,),
    "conv2.weight": (16, 8, 3, 3),
    "conv2.bias": (16,),
    "fc1.weight": (N_NEURONS, N_FEATURES),
    "fc1.bias": (N_NEURONS,),
    "fc2.weight": (N_LOGITS, N_NEURONS),
    "fc2.bias": (N_LOGITS,),
}


class CheckpointError(ValueError):
    """A checkpoint file that is not a usable state_dict of the challenge network."""


def check_state_shapes(state: Mapping[str, Any], source: str) -> None:
    """Raise :class:`CheckpointError` naming ``source`` unless ``state`` has exactly the challenge keys and shapes.

    Works on anything with a ``.shape`` (torch tensors, numpy arrays).
    """
    if not isinstance(state, Mapping):
        raise CheckpointError(
            f"{source}: expected a state_dict (a mapping of parameter names to tensors), "
            f"found {type(state).__name__}. Save the model with torch.save(model.state_dict(), path)."
        )
    missing = [k for k in STATE_SHAPES if k not in state]
    extra = [k for k in state if k not in STATE_SHAPES]
    wrong = [
        f"{k}: {tuple(getattr(state[k], 'shape', ()))} (expected {shape})"
        for k, shape in STATE_SHAPES.items()
        if k in state and tuple(getattr(state[k], "shape", ())) != shape
    ]
    if missing or extra or wrong:
        parts = []
        if missing:
            parts.append("missing keys " + ", ".join(missing))
        if extra:
            parts.append("unexpected keys " + ", ".join(map(str, extra)))
        if wrong:
            parts.append("wrong shapes " + "; ".join(wrong))
        raise CheckpointError(
            f"{source}: not a state_dict of the challenge architecture ({'; '.join(parts)}). "
            "The suite needs conv1(1→8,3×3), conv2(8→16,3×3), fc1(400→200), fc2(200→2); "
            "see README.md, 'Using another checkpoint'."
        )


def check_finite(arrays: Mapping[str, np.ndarray], source: str) -> None:
    """Raise :class:`CheckpointError` if any parameter holds NaN or infinity."""
    bad = [k for k, v in arrays.items() if not np.all(np.isfinite(v))]
    if bad:
        raise CheckpointError(
            f"{source}: parameters {', '.join(bad)} contain NaN or infinity; the file is damaged or the "
            "training diverged. Use another checkpoint."
        )
