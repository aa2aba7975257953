"""The numpy forward pass (model/numpy_net.py) equals the torch network: on hypothesis-generated images (all-zero,
all-255, sparse, dense, random) and on all 70,000 MNIST images, with identical labels; and how fast it is."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.numpy_net import NumpyNet

#: Stated tolerance: torch computes in float32, numpy in float64; logits of magnitude ≤ ~100 round to ~1e-5.
LOGIT_TOLERANCE = 1e-4


def torch_logits(state: dict, images: np.ndarray) -> np.ndarray:
    """The reference: torch's forward pass of the same parameters (float pixels 0..255 allowed)."""
    import torch

    from model.network import build_network

    net = build_network(state)
    with torch.inference_mode():
        x = torch.from_numpy(np.asarray(images, dtype=np.float32)).unsqueeze(1) / 255.0
        return net(x).numpy().astype(np.float64)


def images_from(kind: str, seed: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "zeros":
        return np.zeros((n, 28, 28), np.uint8)
    if kind == "full":
        return np.full((n, 28, 28), 255, np.uint8)
    if kind == "constant":
        return np.broadcast_to(rng.integers(0, 256, (n, 1, 1)), (n, 28, 28)).astype(np.uint8)
    if kind == "float":
        return rng.uniform(0, 255, (n, 28, 28))
    density = {"sparse": 0.05, "dense": 0.5, "random": 1.0}[kind]
    return np.where(rng.random((n, 28, 28)) < density, rng.integers(0, 256, (n, 28, 28)), 0).astype(np.uint8)


generated = st.builds(
    images_from,
    st.sampled_from(["zeros", "full", "constant", "sparse", "dense", "random", "float"]),
    st.integers(0, 2**32 - 1),
    st.integers(1, 300),
)


def _check_equal(net: NumpyNet, state: dict, images: np.ndarray) -> None:
    ours, ref = net.logits(images), torch_logits(state, images)
    assert np.max(np.abs(ours - ref)) <= LOGIT_TOLERANCE
    diff = ref[:, 1] - ref[:, 0]
    decided = np.abs(diff) > LOGIT_TOLERANCE  # a tie within rounding may go either way
    assert np.array_equal(np.argmax(ours, 1)[decided], np.argmax(ref, 1)[decided])


@pytest.mark.needs_data
@settings(max_examples=25, derandomize=True, deadline=None, database=None)
@given(images=generated)
def test_equals_torch_on_generated_images(images, numpy_net, acts):
    _check_equal(numpy_net, acts.params.state, images)


@settings(max_examples=10, derandomize=True, deadline=None, database=None)
@given(generated, st.integers(0, 3))
def test_equals_torch_for_an_untrained_network(images, seed):
    from model.counterfactuals import untrained_state

    state = untrained_state(seed)
    _check_equal(NumpyNet.from_state(state), state, images)


def test_taps_reject_non_finite_activations():
    from model.counterfactuals import untrained_state
    from model.spec import CheckpointError

    state = dict(untrained_state(0))
    state["fc1.bias"] = np.full_like(state["fc1.bias"], np.inf)
    with pytest.raises(CheckpointError, match="non-finite"):
        NumpyNet.from_state(state).taps(images_from("random", 1, 3))


@pytest.mark.needs_data
def test_cached_taps_are_torchs_float64_pass_on_all_70000_images(acts, mnist):
    """The activation cache's taps come from :meth:`NumpyNet.taps` (chunked, two threads): they are torch's float64
    pass rounded to float32, bit for bit, on every training and test image and the anti-clue."""
    from fixtures.activations import anticlue_images
    from model.network import activations

    state = acts.params.state
    for images, cached in (
        (mnist.train_images, acts.train),
        (mnist.test_images, acts.test),
        (anticlue_images(mnist.train_images), acts.anticlue),
    ):
        torchs = activations(state, images)
        assert cached.pre.dtype == cached.logits.dtype == np.float32
        assert np.array_equal(cached.pre, torchs.pre) and np.array_equal(cached.logits, torchs.logits)


def test_single_images_blocks_and_dtypes_agree():
    from model.counterfactuals import untrained_state

    net = NumpyNet.from_state(untrained_state(1))
    x = images_from("random", 5, 300)
    whole = net.logits(x)
    # a block's matmul may round the last bit differently from a single image's (BLAS kernels by size)
    np.testing.assert_allclose(net.logits(x[7]), whole[7:8], rtol=0, atol=1e-12)  # one image as (28, 28)
    assert np.array_equal(net.logits(x[:, None]), whole)  # (N, 1, 28, 28)
    assert np.array_equal(net.logits(x.astype(np.float64)), whole)
    with pytest.raises(ValueError, match="expected shape"):
        net.logits(np.zeros((2, 27, 28)))
    with pytest.raises(ValueError, match="dtype"):
        net.logits(np.zeros((2, 28, 28), bool))


@pytest.mark.benchmark
@pytest.mark.needs_data
def test_numpy_forward_images_per_second(benchmark, numpy_net, mnist):
    """14,000 training images (the size of the OOD sample: 7 families × 2,000); images/s in extra_info."""
    images = mnist.train_images[:14000]
    benchmark.pedantic(numpy_net.logits, args=(images,), rounds=5, iterations=1)
    benchmark.extra_info["images_per_second"] = len(images) / benchmark.stats.stats.median
