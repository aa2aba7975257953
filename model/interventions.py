"""The readout after fc1, and interventions on the 200 fc1 neurons, in numpy (no torch).

The network after fc1 is linear: ``logits = post @ weight.T + bias`` (fc2). :class:`Readout` is that layer, in
float64, with every operation the claims need: the logits, the logit-diff direction, a group's contribution to
the logits or to the logit diff, and one intervention, :meth:`Readout.replace` (set a group of neurons to given
values), of which ablation to zero and to the dataset minimum are the two named variants.

``post`` is always an (N, d) post-ReLU activation matrix (d = 200 for the challenge network), a group a boolean
mask over the d neurons.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

#: Read-outs of frozen activation matrices a :class:`Readout` keeps (each (N, 2): 1 MB for 60,000 images).
KEPT_READOUTS = 16


def _frozen(a: np.ndarray) -> bool:
    """True if neither ``a`` nor any array it views can be written to: its values can never change."""
    while isinstance(a, np.ndarray):
        if a.flags.writeable:
            return False
        a = a.base
    return True


def _readonly_float64(a: np.ndarray) -> np.ndarray:
    out = np.array(a, dtype=np.float64)  # a copy: the Readout owns its arrays
    out.flags.writeable = False
    return out


@dataclass(frozen=True)
class Readout:
    """fc2 as a frozen value: ``weight`` (2, d) and ``bias`` (2,), float64 (a float32 checkpoint's values exactly).

    Row 0 reads out class 0, row 1 class 1; the logit diff is logit 1 − logit 0."""

    weight: np.ndarray
    bias: np.ndarray

    def __post_init__(self) -> None:
        weight, bias = _readonly_float64(self.weight), _readonly_float64(self.bias)
        if weight.ndim != 2 or weight.shape[0] != 2:
            raise ValueError(f"fc2 weight must have 2 rows (one per logit), got shape {weight.shape}")
        if bias.shape != (2,):
            raise ValueError(f"fc2 bias must have shape (2,), got {bias.shape}")
        object.__setattr__(self, "weight", weight)
        object.__setattr__(self, "bias", bias)
        object.__setattr__(self, "_kept", OrderedDict())
        object.__setattr__(self, "_lock", threading.Lock())

    def __getstate__(self) -> dict[str, np.ndarray]:  # what a Readout is: its weights, not what it has kept
        return {"weight": self.weight, "bias": self.bias}

    def __setstate__(self, state: dict[str, np.ndarray]) -> None:
        object.__setattr__(self, "weight", state["weight"])
        object.__setattr__(self, "bias", state["bias"])
        object.__setattr__(self, "_kept", OrderedDict())
        object.__setattr__(self, "_lock", threading.Lock())

    def _once(self, post: np.ndarray, key: Any, compute: Callable[[], np.ndarray]) -> np.ndarray:
        """``compute()`` for a read-only ``post``, kept while ``post`` lives (the claims read out the same
        training activations many times); a writeable ``post`` is computed afresh every time. Read-only."""
        if not _frozen(post):
            return compute()
        kept: OrderedDict = self._kept  # type: ignore[attr-defined]
        slot = (id(post), key)
        with self._lock:  # type: ignore[attr-defined]
            if slot in kept and kept[slot][0]() is post:
                kept.move_to_end(slot)
                return kept[slot][1]
        value = compute()
        value.flags.writeable = False
        with self._lock:  # type: ignore[attr-defined]
            kept[slot] = (weakref.ref(post), value)
            while len(kept) > KEPT_READOUTS:
                kept.popitem(last=False)
        return value

    @property
    def neurons(self) -> int:
        return self.weight.shape[1]

    @cached_property
    def direction(self) -> np.ndarray:
        """``weight[1] − weight[0]``: how each neuron moves logit 1 − logit 0 per unit of activation."""
        d = self.weight[1] - self.weight[0]
        d.flags.writeable = False
        return d

    def restricted(self, mask: np.ndarray) -> "Readout":
        """The readout of the neurons in ``mask`` only (the same bias)."""
        self._check_mask(mask)
        return Readout(self.weight[:, mask], self.bias)

    # ------------------------------------------------------------------------------------------ checks
    def _check_mask(self, mask: np.ndarray) -> None:
        if mask.dtype != bool or mask.shape != (self.neurons,):
            raise ValueError(
                f"a neuron group must be a boolean mask of shape ({self.neurons},), got {mask.dtype} {mask.shape}"
            )

    def _check(self, post: np.ndarray, mask: np.ndarray | None = None) -> None:
        if post.ndim != 2 or post.shape[1] != self.neurons:
            raise ValueError(f"activations of shape {post.shape} do not match fc2 weights {self.weight.shape}")
        if mask is not None:
            self._check_mask(mask)

    # ------------------------------------------------------------------------------------ read-outs
    def logits(self, post: np.ndarray) -> np.ndarray:
        """(N, 2) logits of the activations."""
        self._check(post)
        return self._once(post, "logits", lambda: post @ self.weight.T + self.bias)

    def contribution(self, post: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Each image's contribution (N, 2) of the neurons in ``mask`` to the two logits (no bias)."""
        self._check(post, mask)
        # The full product with the other columns' weights zeroed: no (N, k) copy of the masked columns.
        return self._once(post, ("contribution", mask.tobytes()), lambda: post @ np.where(mask, self.weight, 0.0).T)

    def logit_diff_contribution(self, post: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Each image's contribution of the neurons in ``mask`` to the logit diff (no bias)."""
        self._check(post, mask)
        return self._once(post, ("logit diff", mask.tobytes()), lambda: post[:, mask] @ self.direction[mask])

    def excitation(self, post: np.ndarray, mask: np.ndarray, minima: np.ndarray | None = None) -> np.ndarray:
        """A group's logit-diff contribution above its no-detection baseline (every neuron at its minimum over the
        rows of ``post``, the write-up's baseline, or at ``minima``: one per neuron, fitted elsewhere), per image."""
        self._check(post, mask)
        if not mask.any():
            return np.zeros(len(post))
        low = self.minima(post)[mask] if minima is None else np.asarray(minima)[mask]
        return (post[:, mask] - low) @ self.direction[mask]

    # --------------------------------------------------------------------------------- interventions
    def replace(self, post: np.ndarray, mask: np.ndarray, values: np.ndarray | float) -> np.ndarray:
        """Logits after setting the neurons in ``mask`` to ``values`` (a scalar, or one value per masked neuron):
        the one intervention; the ablations below are its variants."""
        self._check(post, mask)
        values = np.asarray(values, dtype=np.float64)
        if values.ndim != 0 and values.shape != (int(mask.sum()),):
            raise ValueError(
                f"expected a scalar or {int(mask.sum())} values (one per masked neuron), got shape {values.shape}"
            )
        values = np.broadcast_to(values, (int(mask.sum()),))
        return self.logits(post) - self.contribution(post, mask) + self.weight[:, mask] @ values

    def zero_ablate(self, post: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Logits with the neurons in ``mask`` set to 0."""
        return self.replace(post, mask, 0.0)

    def min_ablate(self, post: np.ndarray, mask: np.ndarray, minima: np.ndarray | None = None) -> np.ndarray:
        """Logits with each neuron in ``mask`` set to its minimum over the rows of ``post`` (the write-up's
        "dataset-minimum", its baseline for "no detection"), or to ``minima`` (one per neuron, fitted elsewhere)."""
        self._check(post, mask)
        if not mask.any():
            return self.replace(post, mask, 0.0)
        return self.replace(post, mask, self.minima(post)[mask] if minima is None else np.asarray(minima)[mask])

    def minima(self, post: np.ndarray) -> np.ndarray:
        """Each neuron's minimum over the rows of ``post`` (kept like the read-outs: no copy of any columns)."""
        self._check(post)
        return self._once(post, "minima", lambda: post.min(axis=0))

    def resample(self, parts: Sequence[np.ndarray], sources: Sequence[np.ndarray]) -> np.ndarray:
        """Logits when each neuron group takes its activations from another image.

        ``parts[k]`` is group k's (N, 2) logit contribution for every image (see :meth:`contribution`); the
        groups must partition the neurons. ``sources[k][i]`` is the image whose group-k activations image i
        receives.
        """
        if len(parts) != len(sources):
            raise ValueError("one source index array per group is needed")
        out = np.broadcast_to(self.bias, parts[0].shape).astype(np.float64)
        for part, src in zip(parts, sources):
            out = out + part[src]
        return out


def labels_from_logits(logits: np.ndarray) -> np.ndarray:
    return np.argmax(logits, axis=1)
