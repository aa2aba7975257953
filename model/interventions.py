"""Interventions on the 200 fc1 neurons, in numpy (no torch): the network after fc1 is linear, so an
intervention on neuron activations changes the logits by a sum of per-neuron terms.

``post`` is always the (N, 200) post-ReLU activation matrix, ``fc2_weight`` (2, 200), ``fc2_bias`` (2,).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _check(post: np.ndarray, fc2_weight: np.ndarray, mask: np.ndarray | None = None) -> None:
    if post.ndim != 2 or post.shape[1] != fc2_weight.shape[1]:
        raise ValueError(f"activations of shape {post.shape} do not match fc2 weights {fc2_weight.shape}")
    if mask is not None and (mask.dtype != bool or mask.shape != (post.shape[1],)):
        raise ValueError(f"a neuron group must be a boolean mask of shape ({post.shape[1]},), got {mask.dtype} {mask.shape}")


def logits_from_neurons(post: np.ndarray, fc2_weight: np.ndarray, fc2_bias: np.ndarray) -> np.ndarray:
    _check(post, fc2_weight)
    return post @ fc2_weight.T + fc2_bias


def labels_from_logits(logits: np.ndarray) -> np.ndarray:
    return np.argmax(logits, axis=1)


def group_logits(post: np.ndarray, fc2_weight: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Each image's contribution (N, 2) of the neurons in ``mask`` to the two logits."""
    _check(post, fc2_weight, mask)
    # The full product with the other columns' weights zeroed: no (N, k) copy of the masked columns.
    return post @ np.where(mask, fc2_weight, 0.0).T


def replace_group(
    post: np.ndarray, fc2_weight: np.ndarray, fc2_bias: np.ndarray, mask: np.ndarray, values: np.ndarray | float
) -> np.ndarray:
    """Logits after setting the neurons in ``mask`` to ``values`` (a scalar, or one value per masked neuron)."""
    _check(post, fc2_weight, mask)
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 0 and values.shape != (int(mask.sum()),):
        raise ValueError(f"expected a scalar or {int(mask.sum())} values (one per masked neuron), got shape {values.shape}")
    values = np.broadcast_to(values, (int(mask.sum()),))
    logits = logits_from_neurons(post, fc2_weight, fc2_bias)
    return logits - group_logits(post, fc2_weight, mask) + fc2_weight[:, mask] @ values


def zero_ablate(post: np.ndarray, fc2_weight: np.ndarray, fc2_bias: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Logits with the neurons in ``mask`` set to 0."""
    return replace_group(post, fc2_weight, fc2_bias, mask, 0.0)


def min_ablate(post: np.ndarray, fc2_weight: np.ndarray, fc2_bias: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Logits with each neuron in ``mask`` set to its minimum over the rows of ``post`` (the write-up's
    "dataset-minimum", its baseline for "no detection")."""
    _check(post, fc2_weight, mask)
    return replace_group(post, fc2_weight, fc2_bias, mask, post[:, mask].min(axis=0) if mask.any() else 0.0)


def resample_logits(parts: Sequence[np.ndarray], sources: Sequence[np.ndarray], fc2_bias: np.ndarray) -> np.ndarray:
    """Logits when each neuron group takes its activations from another image.

    ``parts[k]`` is group k's (N, 2) logit contribution for every image (see :func:`group_logits`); the
    groups must partition the neurons. ``sources[k][i]`` is the image whose group-k activations image i
    receives.
    """
    if len(parts) != len(sources):
        raise ValueError("one source index array per group is needed")
    out = np.broadcast_to(fc2_bias, parts[0].shape).astype(np.float64)
    for part, src in zip(parts, sources):
        out = out + part[src]
    return out
