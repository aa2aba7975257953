"""The recovered labelling function's lowest layer: the clue template, the similarity ``s``, the band and regions.

From the write-up: class 0 iff ``-17305 < s < -7762`` with ``s(x) = sum(x8 * (clue - anti_clue))``, pixels
``x8`` in 0..255, ``clue`` = training image 6 in [0, 1], ``anti_clue = 1 - clue`` (CLAIMS.md's reading).
Here because training replicas (model/train.py) and the input fixtures need it; :mod:`analysis.labelling`
re-exports it beside the statistics the claims use.
"""

from __future__ import annotations

import numpy as np

#: The write-up's thresholds (its printed band ``-17305 < ... < -7762``).
L_THRESHOLD = -17305.0
R_THRESHOLD = -7762.0
#: Training image 6 is the challenge's hint image, a "1".
CLUE_INDEX = 6

ANTI, MIDDLE, ONE = 0, 1, 2
REGION_NAMES = {ANTI: "anti_one_like", MIDDLE: "middle", ONE: "one_like"}

#: Images per chunk of :func:`similarity`: its float64 products (1.6 MB) stay in the CPU's cache and reuse one
#: allocation; a chunk of 8,192 (51 MB) made each pass fault in fresh memory and ran 3× slower. Each image's sum is
#: the same whatever the chunk.
CHUNK_IMAGES = 256


def clue_image(train_images: np.ndarray) -> np.ndarray:
    """The clue, training image 6, as float64 in [0, 1], shape (28, 28)."""
    return as_pixels(train_images[CLUE_INDEX], "clue image").astype(np.float64) / 255.0


def corrected_template(clue: np.ndarray) -> np.ndarray:
    """``clue - anti_clue = 2 * (clue - 0.5)``: the template the write-up's numbers use."""
    return clue - (1.0 - clue)


def as_pixels(images: np.ndarray, name: str = "images") -> np.ndarray:
    """Check pixel input: a real array of shape (28, 28) or (N, 28, 28) (or (N, 1, 28, 28)), finite, in 0..255.

    Any integer or float dtype with those values is accepted and gives the same result; anything else is a
    :class:`ValueError` that says what is wrong.
    """
    a = np.asarray(images)
    if a.dtype == bool or not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
        raise ValueError(f"{name}: pixels must be integers or floats in 0..255, got dtype {a.dtype}")
    if a.ndim == 4 and a.shape[1] == 1:
        a = a[:, 0]
    if a.shape[-2:] != (28, 28) or a.ndim not in (2, 3):
        raise ValueError(f"{name}: expected shape (28, 28), (N, 28, 28) or (N, 1, 28, 28), got {a.shape}")
    if a.size and np.issubdtype(a.dtype, np.floating) and not np.all(np.isfinite(a)):
        raise ValueError(f"{name}: pixels contain NaN or infinity")
    if a.size and (a.min() < 0 or a.max() > 255):
        raise ValueError(f"{name}: pixels must lie in 0..255, found {a.min()}..{a.max()}")
    return a


def similarity(images: np.ndarray, template: np.ndarray) -> np.ndarray:
    """``s(x) = sum(x * template)`` for pixels in 0..255, in float64 (chunked to bound memory).

    The same bits on every CPU: each image's 784 products (each rounded once) are summed by numpy's pairwise
    summation, whose order is fixed, not by a BLAS dot product, whose order depends on the kernel OpenBLAS picks
    for the CPU (its pre-AVX2 kernels round differently on 2/3 of the training images, which reorders near-ties
    of s). Returns shape (N,) for a stack of images, a 0-d array for one image.
    """
    x = as_pixels(images)
    t = np.asarray(template, dtype=np.float64)
    if t.shape != (28, 28):
        raise ValueError(f"template: expected shape (28, 28), got {t.shape}")
    one = x.ndim == 2
    flat = x.reshape(-1, 784)
    tv = t.reshape(784)
    out = np.empty(len(flat), dtype=np.float64)
    for start in range(0, len(flat), CHUNK_IMAGES):
        products = flat[start : start + CHUNK_IMAGES].astype(np.float64)
        products *= tv
        np.add.reduce(products, axis=1, out=out[start : start + CHUNK_IMAGES])
    return np.asarray(out[0]) if one else out


def band_labels(s: np.ndarray, low: float = L_THRESHOLD, high: float = R_THRESHOLD) -> np.ndarray:
    """The recovered labelling function: class 0 iff ``low < s < high``, else class 1."""
    return np.where((s > low) & (s < high), 0, 1)


def regions(s: np.ndarray, low: float = L_THRESHOLD, high: float = R_THRESHOLD) -> np.ndarray:
    """Region of each image: ANTI (``s <= low``), MIDDLE (inside the band), ONE (``s >= high``)."""
    return np.where(s <= low, ANTI, np.where(s >= high, ONE, MIDDLE)).astype(np.int8)


def best_band(s: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """The band ``(low, high)`` whose labelling agrees best with ``labels`` (0/1) on these images: the exact
    maximiser over every band, found once over the sorted distinct values of ``s`` (inside the band counts +1 for
    each class-0 image and -1 for each class-1 image; the best contiguous run is the band). Its edges lie halfway
    between neighbouring values; of equally good bands the lowest is taken."""
    s = np.asarray(s, dtype=np.float64)
    labels = np.asarray(labels)
    if s.shape != labels.shape or s.ndim != 1 or len(s) < 2:
        raise ValueError(f"need one label per similarity, at least two; got shapes {s.shape} and {labels.shape}")
    values, inverse = np.unique(s, return_inverse=True)
    gain = np.bincount(inverse, weights=np.where(labels == 0, 1.0, -1.0), minlength=len(values))
    best, best_start, best_end = -np.inf, 0, 0
    running, start = 0.0, 0
    for i, g in enumerate(gain):  # Kadane: the largest sum over a contiguous run
        if running <= 0:
            running, start = g, i
        else:
            running += g
        if running > best:
            best, best_start, best_end = running, start, i
    low = values[best_start] - 1.0 if best_start == 0 else (values[best_start - 1] + values[best_start]) / 2
    high = values[best_end] + 1.0 if best_end == len(values) - 1 else (values[best_end] + values[best_end + 1]) / 2
    return float(low), float(high)


def mapped_to_band(low: float, high: float) -> tuple[float, float]:
    """``(scale, offset)`` of the increasing affine map that sends the band ``(low, high)`` onto the write-up's
    ``(L_THRESHOLD, R_THRESHOLD)``: a claim judged on ``scale * s + offset`` is judged at that band."""
    if not high > low:
        raise ValueError(f"a band needs low < high, got ({low}, {high})")
    scale = (R_THRESHOLD - L_THRESHOLD) / (high - low)
    return scale, L_THRESHOLD - scale * low
