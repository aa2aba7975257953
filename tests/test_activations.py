"""The activation cache's named view (fixtures/activations.py): names to the file's keys, one ``post`` in float64,
the parameters and the readout; on small synthetic bundles (the real one is the claims')."""

from __future__ import annotations

from functools import reduce
from pathlib import Path

import numpy as np
import pytest

from fixtures.activations import ARRAYS, ON_DISK, ActivationCache, Bundle, Taps
from fixtures.plugin import Split
from model.interventions import Readout
from model.spec import STATE_SHAPES


def synthetic_arrays(seed: int = 0, n: int = 6) -> dict[str, np.ndarray]:
    """A bundle's arrays under the file's keys, small: n training images, n - 1 test images, one anti-clue."""
    rng = np.random.default_rng(seed)
    sizes = {"train": n, "test": n - 1, "anticlue": 1}
    arrays: dict[str, np.ndarray] = {}
    for split, rows in sizes.items():
        arrays[f"{split}_pre"] = rng.standard_normal((rows, 200)).astype(np.float32)
        arrays[f"{split}_logits"] = rng.standard_normal((rows, 2)).astype(np.float32)
    arrays["fv_images"] = rng.random((200, 28, 28)).astype(np.float32)
    arrays["fv_reached"] = rng.standard_normal(200).astype(np.float32)
    for key, shape in STATE_SHAPES.items():
        arrays[f"state/{key}"] = rng.standard_normal(shape).astype(np.float32)
    for a in arrays.values():
        a.flags.writeable = False
    return arrays


@pytest.fixture
def arrays() -> dict[str, np.ndarray]:
    return synthetic_arrays()


@pytest.fixture
def acts(arrays) -> ActivationCache:
    return ActivationCache.from_arrays(arrays, Path("activations-v2-abc.npz"))


def resolve(acts: ActivationCache, name: str):
    """``acts.<name>`` for a dotted name; ``params.state.<state_dict key>`` indexes the state dict."""
    if name.startswith("params.state."):
        return acts.params.state[name.removeprefix("params.state.")]
    return reduce(getattr, name.split("."), acts)


def test_the_view_and_the_file_name_the_same_arrays():
    assert set(ON_DISK.values()) | {f"state/{k}" for k in STATE_SHAPES} == set(ARRAYS)


def test_every_stored_name_is_the_stored_array(arrays, acts):
    for name, key in ON_DISK.items():
        assert resolve(acts, name) is arrays[key], name
    for key in STATE_SHAPES:
        assert acts.params.state[key] is arrays[f"state/{key}"]


def test_every_name_the_view_lists_resolves(acts):
    for name in ActivationCache.names():
        assert resolve(acts, name) is not None, name
    assert {"train.post", "anticlue.pre", "params.fc2", "fv.images"} <= set(ActivationCache.names())


def test_post_is_the_relu_of_pre_in_float64_read_only_and_computed_once(acts):
    post = acts.train.post
    assert post.dtype == np.float64 and not post.flags.writeable
    np.testing.assert_array_equal(post, np.maximum(acts.train.pre.astype(np.float64), 0.0))
    assert (post == 0).any() and (post > 0).any()  # the ReLU did something
    assert acts.train.post is post
    assert acts.anticlue.post.shape == (1, 200)


def test_stored_taps_keep_their_dtype_and_labels_are_the_argmax(acts):
    assert acts.train.pre.dtype == np.float32 and acts.test.logits.dtype == np.float32
    np.testing.assert_array_equal(acts.test.labels, np.argmax(acts.test.logits, axis=1))
    assert len(acts.test) == 5


def test_the_readout_is_fc2_in_float64(arrays, acts):
    fc2 = acts.params.fc2
    assert isinstance(fc2, Readout) and fc2.weight.dtype == np.float64
    np.testing.assert_array_equal(fc2.weight, arrays["state/fc2.weight"])
    np.testing.assert_array_equal(fc2.bias, arrays["state/fc2.bias"])
    assert acts.params.fc2 is fc2  # built once


def test_a_split_reads_the_same_post_as_the_view(acts):
    """One ``post``: the typed split (train fixture) hands out the view's array itself, not a copy."""
    n = len(acts.train)
    split = Split(taps=acts.train, images=np.zeros((n, 28, 28), np.uint8), digits=np.zeros(n, np.int64),
                  s=np.zeros(n), region=np.zeros(n, np.int8))
    assert split.post is acts.train.post and split.pre is acts.train.pre and split.logits is acts.train.logits
    assert split.labels is acts.train.labels and len(split) == n


def test_a_bundle_builds_its_view_once_and_its_state_is_the_views(arrays):
    bundle = Bundle(arrays, Path("x.npz"), "hit")
    assert bundle.acts is bundle.acts
    assert bundle.state is bundle.acts.params.state
    assert bundle.acts.source == Path("x.npz")


def test_taps_are_activations_with_a_post():
    taps = Taps(pre=np.array([[-1.0, 2.0]], np.float32), logits=np.array([[0.0, 1.0]], np.float32))
    np.testing.assert_array_equal(taps.post, [[0.0, 2.0]])
    assert taps.labels.tolist() == [1]
