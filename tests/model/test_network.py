"""The network (model/network.py): its forward pass against an independent numpy one, and its input checks."""

from __future__ import annotations

import re

import numpy as np
import pytest

pytest.importorskip("torch")

from model.network import activations, build_network, check_images  # noqa: E402
from model.spec import STATE_SHAPES, CheckpointError  # noqa: E402


def numpy_state(seed: int = 0, scale: float = 0.1) -> dict[str, np.ndarray]:
    """A float32 numpy state of the challenge shapes (no torch needed to build it)."""
    rng = np.random.default_rng(seed)
    return {k: (scale * rng.standard_normal(shape)).astype(np.float32) for k, shape in STATE_SHAPES.items()}


# ------------------------------------------------------------------------------ network and images


def white_images(n: int = 2) -> np.ndarray:
    return np.full((n, 28, 28), 255, dtype=np.uint8)


def random_images(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 28, 28), dtype=np.uint8)


def test_activations_on_weights_that_overflow_raise_checkpoint_error():
    state = {k: np.full(shape, 1e30, dtype=np.float32) for k, shape in STATE_SHAPES.items()}
    with pytest.raises(CheckpointError, match="non-finite") as info:
        activations(state, white_images())
    assert "another checkpoint" in str(info.value)


def reference_forward(state: dict[str, np.ndarray], images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The challenge CNN written out in numpy loops, independently of model/torchnet.py: valid 3×3
    cross-correlation, ReLU, 2×2 max-pool (floor), twice; flatten (channel, row, column); fc1; ReLU; fc2.
    Returns (fc1 pre-activations, logits) in float64."""

    def conv(x, w, b):  # x (C, H, W), w (O, C, 3, 3)
        c, h, wd = x.shape
        out = np.empty((w.shape[0], h - 2, wd - 2))
        for o in range(w.shape[0]):
            for i in range(h - 2):
                for j in range(wd - 2):
                    out[o, i, j] = np.sum(x[:, i : i + 3, j : j + 3] * w[o]) + b[o]
        return out

    def pool(x):
        c, h, wd = x.shape
        return np.array(
            [
                [[x[k, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2].max() for j in range(wd // 2)] for i in range(h // 2)]
                for k in range(c)
            ]
        )

    st = {k: v.astype(np.float64) for k, v in state.items()}
    pres, logits = [], []
    for img in images.astype(np.float64) / 255.0:
        h = pool(np.maximum(conv(img[None], st["conv1.weight"], st["conv1.bias"]), 0))  # 8 × 13 × 13
        h = pool(np.maximum(conv(h, st["conv2.weight"], st["conv2.bias"]), 0))  # 16 × 5 × 5
        pre = st["fc1.weight"] @ h.reshape(-1) + st["fc1.bias"]
        pres.append(pre)
        logits.append(st["fc2.weight"] @ np.maximum(pre, 0) + st["fc2.bias"])
    return np.array(pres), np.array(logits)


def test_activations_match_an_independent_numpy_forward_pass_and_do_not_depend_on_batching():
    state = numpy_state(seed=3)
    images = random_images(5, seed=4)
    out = activations(state, images, batch_size=2)
    pre, logits = reference_forward(state, images)
    assert out.pre.dtype == np.float32 and out.pre.shape == (5, 200)
    assert out.logits.dtype == np.float32 and out.logits.shape == (5, 2)
    np.testing.assert_allclose(out.pre, pre, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(out.logits, logits, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(out.labels, np.argmax(out.logits, axis=1))
    whole = activations(state, images, batch_size=5)
    np.testing.assert_allclose(whole.pre, out.pre, rtol=1e-5, atol=1e-6)


def test_build_network_refuses_a_state_of_another_architecture():
    state = numpy_state()
    state["fc1.weight"] = np.zeros((10, 400), dtype=np.float32)
    with pytest.raises(CheckpointError, match="wrong shapes fc1.weight"):
        build_network(state)


@pytest.mark.parametrize("images", [[[0] * 28] * 28, "images"], ids=["list", "str"])
def test_check_images_refuses_non_arrays_with_type_error(images):
    with pytest.raises(TypeError, match="numpy array"):
        check_images(images)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.int8, bool])
def test_check_images_refuses_non_uint8_with_type_error(dtype):
    with pytest.raises(TypeError, match="uint8"):
        check_images(np.zeros((2, 28, 28), dtype=dtype))


@pytest.mark.parametrize("shape", [(28, 28), (2, 28, 27), (2, 3, 28, 28), (2, 784), (2, 1, 1, 28, 28)])
def test_check_images_refuses_wrong_shapes_with_value_error(shape):
    with pytest.raises(ValueError, match=re.escape(str(shape))):
        check_images(np.zeros(shape, dtype=np.uint8))


def test_check_images_accepts_a_channel_axis_and_drops_it():
    images = random_images(3)
    np.testing.assert_array_equal(check_images(images[:, None]), images)
    assert check_images(images) is images


def test_activations_refuse_float_images():
    with pytest.raises(TypeError, match="uint8"):
        activations(numpy_state(), np.zeros((1, 28, 28), dtype=np.float32))


def test_eval_features_equal_the_training_order_of_relu_and_pooling_exactly():
    """Eval mode pools before its ReLU (the same values sooner); values and input gradients must equal those of
    the layer order training uses, ReLU then pooling, bit for bit."""
    import torch
    import torch.nn.functional as F

    net = build_network(numpy_state(seed=5), "float64")
    x = torch.from_numpy(random_images(16, seed=6)).unsqueeze(1).double().div(255.0).requires_grad_(True)
    y = x.detach().clone().requires_grad_(True)
    fast = net.features(x)
    h = net.pool(F.relu(net.conv1(y)))
    ordered = torch.flatten(net.pool(F.relu(net.conv2(h))), 1)
    assert torch.equal(fast, ordered)
    direction = torch.from_numpy(np.random.default_rng(7).standard_normal(400))
    (fast @ direction).sum().backward()
    (ordered @ direction).sum().backward()
    assert torch.equal(x.grad, y.grad)
