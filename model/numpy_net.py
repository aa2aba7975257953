"""The challenge network in numpy (float64), so probes can query it in the test process without torch.

``conv1 3×3 → ReLU → max-pool 2 → conv2 3×3 → ReLU → max-pool 2 → flatten(400) → fc1 → ReLU → fc2``, dropout off
(eval mode), from a state_dict of numpy arrays (the activation cache's ``acts.params.state``).

How it is fast (measured on 2 cores: a plain im2col of each 3×3 conv runs ~2,000 images/s): each conv block is
fused with its max-pool. A pooled output sees a 4×4 input patch (stride 2), so one matmul of the 4×4 patches with
a (4 pool positions × channels, patch) weight gives the four conv outputs under every pooled cell, and the pool is
an elementwise max of four contiguous row blocks. Adding a per-channel bias and ReLU are monotone, so they commute
with the max and run on a quarter of the values. Activations stay channel-first, so the pooled 16×5×5 maps are
already in torch's flatten order. Blocks of :data:`BLOCK` images stay in cache; they run on up to two threads with
single-threaded BLAS (threaded BLAS on these small matmuls is slower), each block's result independent of the
thread that computed it.

float64 throughout: the logits differ from torch's float32 ones by rounding only (~1e-5); labels match torch's on
all 70,000 MNIST images (tests/model/test_numpy_net.py).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from model.network import Activations
from model.spec import STATE_SHAPES, CheckpointError, check_state_shapes

#: Images per block (fixed: the same block boundaries, hence the same rounding, on every run).
BLOCK = 128
#: Images per chunk of :meth:`NumpyNet.taps` (whole blocks, so that chunking changes no bit).
TAPS_CHUNK = 64 * BLOCK
#: Threads for large batches (the project's machines have 2 cores).
THREADS = min(2, os.cpu_count() or 1)


def _fused_conv_pool_weight(w: np.ndarray) -> np.ndarray:
    """(2·2·out, in·4·4): row (di, dj, o) holds kernel o placed at offset (di, dj) of a 4×4 patch."""
    out_ch, in_ch = w.shape[:2]
    fused = np.zeros((2, 2, out_ch, in_ch, 4, 4), dtype=np.float64)
    for di in range(2):
        for dj in range(2):
            fused[di, dj, :, :, di : di + 3, dj : dj + 3] = w
    return fused.reshape(4 * out_ch, in_ch * 16)


def _pool4(h: np.ndarray, ch: int) -> np.ndarray:
    return np.maximum(np.maximum(h[:ch], h[ch : 2 * ch]), np.maximum(h[2 * ch : 3 * ch], h[3 * ch :]))


@dataclass(frozen=True)
class NumpyNet:
    """Parameters arranged for the forward pass (float64)."""

    w1: np.ndarray  # (32, 16): conv1 fused with its pool
    b1: np.ndarray  # (8, 1)
    w2: np.ndarray  # (64, 128): conv2 fused with its pool
    b2: np.ndarray  # (16, 1)
    fc1_w: np.ndarray  # (400, 200)
    fc1_b: np.ndarray  # (200,)
    fc2_w: np.ndarray  # (200, 2)
    fc2_b: np.ndarray  # (2,)

    @classmethod
    def from_state(cls, state: Mapping[str, np.ndarray]) -> "NumpyNet":
        """From a challenge state_dict of numpy arrays (keys and shapes checked)."""
        check_state_shapes(state, "state")
        p = {k: np.asarray(state[k], dtype=np.float64) for k in STATE_SHAPES}
        return cls(
            w1=_fused_conv_pool_weight(p["conv1.weight"]),
            b1=p["conv1.bias"][:, None],
            w2=_fused_conv_pool_weight(p["conv2.weight"]),
            b2=p["conv2.bias"][:, None],
            fc1_w=np.ascontiguousarray(p["fc1.weight"].T),
            fc1_b=p["fc1.bias"],
            fc2_w=np.ascontiguousarray(p["fc2.weight"].T),
            fc2_b=p["fc2.bias"],
        )

    def pre(self, images: np.ndarray) -> np.ndarray:
        """fc1 pre-activations (N, 200) of pixel images (N, 28, 28) in 0..255 (any real dtype)."""
        x = as_stack(images)
        blocks = [x[i : i + BLOCK] for i in range(0, len(x), BLOCK)]
        if len(blocks) <= 1 or THREADS == 1:
            parts = [self._pre_block(b) for b in blocks]
        else:
            from concurrent.futures import ThreadPoolExecutor

            from threadpoolctl import threadpool_limits

            with threadpool_limits(1, user_api="blas"), ThreadPoolExecutor(THREADS) as pool:
                parts = list(pool.map(self._pre_block, blocks))
        return np.concatenate(parts) if parts else np.empty((0, 200))

    def logits(self, images: np.ndarray) -> np.ndarray:
        """Logits (N, 2), float64."""
        return self._readout(self.pre(images))

    def taps(self, images: np.ndarray) -> Activations:
        """The network's taps as the activation cache stores them: fc1 pre-activations and logits computed in
        float64 and rounded once to float32 (the same bits as torch's float64 pass, model/network.py, on every
        MNIST image; tests/model/test_numpy_net.py). Raises :class:`CheckpointError` on NaN or infinity."""
        x = as_stack(images)
        taps = Activations(pre=np.empty((len(x), 200), np.float32), logits=np.empty((len(x), 2), np.float32))
        for start in range(0, len(x), TAPS_CHUNK):  # whole blocks: the same bits as one call, a fraction of the memory
            pre = self.pre(x[start : start + TAPS_CHUNK])
            with np.errstate(over="ignore", invalid="ignore"):  # inf or NaN (damaged weights): reported below
                taps.pre[start : start + len(pre)] = pre
                taps.logits[start : start + len(pre)] = self._readout(pre)
        bad = int((~np.isfinite(taps.pre)).sum() + (~np.isfinite(taps.logits)).sum())
        if bad:
            raise CheckpointError(
                f"the network produced {bad} non-finite activations (NaN or infinity) on {len(x)} images; "
                "its weights are damaged or out of range. Use another checkpoint."
            )
        return taps

    def _readout(self, pre: np.ndarray) -> np.ndarray:
        return np.maximum(pre, 0.0) @ self.fc2_w + self.fc2_b

    def logit_diff(self, images: np.ndarray) -> np.ndarray:
        """``logit 1 − logit 0`` (N,): positive means class 1."""
        z = self.logits(images)
        return z[:, 1] - z[:, 0]

    def labels(self, images: np.ndarray) -> np.ndarray:
        """argmax of the logits (a tie goes to class 0, as with torch's argmax)."""
        return np.argmax(self.logits(images), axis=1)

    def _pre_block(self, x: np.ndarray) -> np.ndarray:
        n = len(x)
        x = x.astype(np.float64) / 255.0
        cols = sliding_window_view(x, (4, 4), axis=(1, 2))[:, ::2, ::2].transpose(3, 4, 0, 1, 2).reshape(16, n * 169)
        h = _pool4(self.w1 @ cols, 8)
        h = np.maximum(h + self.b1, 0.0).reshape(8, n, 13, 13)
        windows = sliding_window_view(h, (4, 4), axis=(2, 3))[:, :, ::2, ::2]
        cols = windows.transpose(0, 4, 5, 1, 2, 3).reshape(128, n * 25)
        h = _pool4(self.w2 @ cols, 16)
        h = np.maximum(h + self.b2, 0.0).reshape(16, n, 25).transpose(1, 0, 2).reshape(n, 400)
        return h @ self.fc1_w + self.fc1_b


def as_stack(images: np.ndarray) -> np.ndarray:
    """Images as a stack (N, 28, 28) of real pixels (a single (28, 28) image becomes a stack of one)."""
    x = np.asarray(images)
    if x.ndim == 4 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3 or x.shape[1:] != (28, 28):
        raise ValueError(f"images: expected shape (N, 28, 28), (N, 1, 28, 28) or (28, 28), got {x.shape}")
    if x.dtype == bool or not (np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)):
        raise ValueError(f"images: pixels must be integers or floats in 0..255, got dtype {x.dtype}")
    return x
