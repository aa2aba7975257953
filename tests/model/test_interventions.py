"""model.interventions.Readout against brute force: copy the activations, overwrite neurons, recompute
``post @ W.T + b``."""

from __future__ import annotations

import numpy as np
import pytest

from model.interventions import Readout, labels_from_logits

# -------------------------------------------------------------------------------------------- helpers


def tiny_layer(seed: int = 0, n: int = 9, d: int = 7):
    """Random post-ReLU activations (n, d) with some exact zeros, fc2 weight (2, d) and bias (2,)."""
    rng = np.random.default_rng(seed)
    post = np.maximum(rng.standard_normal((n, d)), 0.0)
    return post, rng.standard_normal((2, d)), rng.standard_normal(2)


def random_mask(d: int, seed: int = 1, p: float = 0.5) -> np.ndarray:
    return np.random.default_rng(seed).random(d) < p


def brute_force_logits(post: np.ndarray, weight: np.ndarray, bias: np.ndarray, mask: np.ndarray, values) -> np.ndarray:
    """Overwrite the masked columns of a copy of ``post`` with ``values`` and run fc2 on it."""
    edited = post.copy()
    edited[:, mask] = values
    return edited @ weight.T + bias


def partition(d: int, k: int, seed: int = 2) -> list[np.ndarray]:
    """k boolean masks over d neurons, every neuron in exactly one (some may be empty)."""
    owner = np.random.default_rng(seed).integers(0, k, d)
    return [owner == g for g in range(k)]


MASKS = {
    "random": lambda d: random_mask(d),
    "none": lambda d: np.zeros(d, bool),
    "all": lambda d: np.ones(d, bool),
    "one": lambda d: np.arange(d) == 3,
}


# ------------------------------------------------------------------------------------------- logits


def test_logits_are_the_affine_map():
    post, weight, bias = tiny_layer()
    np.testing.assert_allclose(Readout(weight, bias).logits(post), post @ weight.T + bias)


def test_labels_from_logits_is_the_argmax():
    assert labels_from_logits(np.array([[0.0, 1.0], [2.0, -1.0], [0.5, 0.5]])).tolist() == [1, 0, 0]


@pytest.mark.parametrize("mask", MASKS.values(), ids=MASKS.keys())
def test_contribution_are_the_masked_neurons_contribution(mask):
    post, weight, bias = tiny_layer()
    m = mask(post.shape[1])
    expected = brute_force_logits(post, weight, np.zeros(2), ~m, 0.0)  # only the group's neurons left
    np.testing.assert_allclose(Readout(weight, bias).contribution(post, m), expected, atol=1e-12)


def test_contribution_of_a_partition_sum_to_the_logits_minus_bias():
    post, weight, bias = tiny_layer()
    parts = [Readout(weight, bias).contribution(post, m) for m in partition(post.shape[1], 3)]
    np.testing.assert_allclose(sum(parts) + bias, Readout(weight, bias).logits(post), atol=1e-12)


# ------------------------------------------------------------------------------------ interventions


@pytest.mark.parametrize("mask", MASKS.values(), ids=MASKS.keys())
def test_zero_ablate_equals_brute_force(mask):
    post, weight, bias = tiny_layer()
    m = mask(post.shape[1])
    expected = brute_force_logits(post, weight, bias, m, 0.0)
    np.testing.assert_allclose(Readout(weight, bias).zero_ablate(post, m), expected, atol=1e-12)


@pytest.mark.parametrize("mask", MASKS.values(), ids=MASKS.keys())
def test_min_ablate_equals_brute_force_with_each_neurons_minimum(mask):
    post, weight, bias = tiny_layer(seed=3)
    post = post + 0.25  # no neuron's minimum is zero, so min- and zero-ablation differ
    m = mask(post.shape[1])
    expected = brute_force_logits(post, weight, bias, m, post.min(axis=0)[m])
    np.testing.assert_allclose(Readout(weight, bias).min_ablate(post, m), expected, atol=1e-12)


@pytest.mark.parametrize("values", ["scalar", "per-neuron"])
def test_replace_equals_brute_force(values):
    post, weight, bias = tiny_layer(seed=4)
    m = random_mask(post.shape[1], seed=5)
    v = 1.5 if values == "scalar" else np.random.default_rng(6).standard_normal(int(m.sum()))
    np.testing.assert_allclose(
        Readout(weight, bias).replace(post, m, v), brute_force_logits(post, weight, bias, m, v), atol=1e-12
    )


def test_replace_with_the_neurons_own_values_changes_nothing():
    post, weight, bias = tiny_layer()
    m = np.arange(post.shape[1]) < 3
    one_image = post[:1]
    np.testing.assert_allclose(
        Readout(weight, bias).replace(one_image, m, one_image[0, m]),
        Readout(weight, bias).logits(one_image),
        atol=1e-12,
    )


def test_interventions_do_not_modify_their_inputs():
    post, weight, bias = tiny_layer()
    copies = [a.copy() for a in (post, weight, bias)]
    m = random_mask(post.shape[1])
    for fn in (Readout.zero_ablate, Readout.min_ablate):
        fn(Readout(weight, bias), post, m)
    Readout(weight, bias).replace(post, m, 3.0)
    for a, c in zip((post, weight, bias), copies):
        np.testing.assert_array_equal(a, c)


def test_resample_equals_brute_force():
    post, weight, bias = tiny_layer(seed=7, n=12)
    masks = partition(post.shape[1], 3)
    rng = np.random.default_rng(8)
    sources = [rng.integers(0, len(post), len(post)) for _ in masks]
    expected = np.empty((len(post), 2))
    for i in range(len(post)):
        row = np.empty(post.shape[1])
        for m, src in zip(masks, sources):
            row[m] = post[src[i], m]
        expected[i] = row @ weight.T + bias
    parts = [Readout(weight, bias).contribution(post, m) for m in masks]
    np.testing.assert_allclose(Readout(weight, bias).resample(parts, sources), expected, atol=1e-12)


def test_resample_with_identity_sources_reproduces_the_logits():
    post, weight, bias = tiny_layer()
    masks = partition(post.shape[1], 2)
    parts = [Readout(weight, bias).contribution(post, m) for m in masks]
    identity = [np.arange(len(post))] * len(masks)
    np.testing.assert_allclose(
        Readout(weight, bias).resample(parts, identity), Readout(weight, bias).logits(post), atol=1e-12
    )


def test_resample_needs_one_source_array_per_group():
    post, weight, bias = tiny_layer()
    parts = [Readout(weight, bias).contribution(post, m) for m in partition(post.shape[1], 2)]
    with pytest.raises(ValueError, match="one source index array per group"):
        Readout(weight, bias).resample(parts, [np.arange(len(post))])


# ------------------------------------------------------------------------------------------ checking


BAD_MASKS = {
    "int-01": np.ones(7, dtype=int),
    "float": np.ones(7, dtype=float),
    "short": np.ones(6, dtype=bool),
    "2-d": np.ones((1, 7), dtype=bool),
    "indices": np.array([0, 2, 4]),
}


def bad_mask_cases():
    for name, mask in BAD_MASKS.items():
        for op in ("zero_ablate", "min_ablate", "contribution", "logit_diff_contribution", "excitation", "restricted"):
            yield pytest.param(op, mask, id=f"{op}-{name}")


@pytest.mark.parametrize("fn,mask", list(bad_mask_cases()))
def test_a_mask_that_is_not_boolean_of_the_layers_width_is_refused(fn, mask):
    post, weight, bias = tiny_layer()
    readout = Readout(weight, bias)
    with pytest.raises(ValueError, match=r"boolean mask of shape \(7,\)"):
        if fn == "restricted":
            readout.restricted(mask)
        else:
            getattr(readout, fn)(post, mask)


def test_contribution_and_replace_refuse_a_bad_mask_too():
    post, weight, bias = tiny_layer()
    with pytest.raises(ValueError, match="boolean mask"):
        Readout(weight, bias).contribution(post, np.ones(7, dtype=int))
    with pytest.raises(ValueError, match="boolean mask"):
        Readout(weight, bias).replace(post, np.ones(7, dtype=int), 0.0)


@pytest.mark.parametrize("post_shape", [(9, 6), (9,), (9, 7, 1)])
def test_activations_that_do_not_match_fc2_are_refused(post_shape):
    _, weight, bias = tiny_layer()
    with pytest.raises(ValueError, match="do not match fc2 weights"):
        Readout(weight, bias).logits(np.zeros(post_shape))


def test_replace_with_the_wrong_number_of_values_says_how_many_are_needed():
    post, weight, bias = tiny_layer()
    m = np.arange(post.shape[1]) < 3
    with pytest.raises(ValueError, match="values") as info:
        Readout(weight, bias).replace(post, m, np.array([1.0, 2.0]))
    assert "3" in str(info.value) and "2" in str(info.value)


# ------------------------------------------------------------------------------------------ the value


def test_a_readout_is_frozen_float64_and_owns_its_arrays():
    _, weight, bias = tiny_layer()
    w32 = weight.astype(np.float32)
    readout = Readout(w32, bias)
    assert readout.weight.dtype == np.float64 and readout.bias.dtype == np.float64
    np.testing.assert_array_equal(readout.weight, w32)  # float32 values exactly
    w32[0, 0] = 99.0  # the caller's array is not the readout's
    assert readout.weight[0, 0] != 99.0
    with pytest.raises(ValueError):
        readout.weight[0, 0] = 1.0  # read-only
    with pytest.raises(AttributeError):
        readout.bias = np.zeros(2)  # type: ignore[misc]


@pytest.mark.parametrize(
    "weight,bias",
    [(np.zeros((3, 4)), np.zeros(2)), (np.zeros(4), np.zeros(2)), (np.zeros((2, 4)), np.zeros(3))],
    ids=["three-rows", "1-d", "bias"],
)
def test_a_layer_that_is_not_two_logits_is_refused(weight, bias):
    with pytest.raises(ValueError, match="fc2"):
        Readout(weight, bias)


def test_restricted_keeps_the_columns_of_the_mask_and_the_bias():
    post, weight, bias = tiny_layer()
    m = random_mask(post.shape[1])
    small = Readout(weight, bias).restricted(m)
    np.testing.assert_array_equal(small.weight, weight[:, m])
    np.testing.assert_allclose(small.logits(post[:, m]), Readout(weight, bias).replace(post, ~m, 0.0), atol=1e-12)


def test_minima_fitted_elsewhere_replace_the_rows_own_minima():
    rng = np.random.default_rng(6)
    readout = Readout(rng.normal(size=(2, 4)), rng.normal(size=2))
    post = np.abs(rng.normal(size=(50, 4)))
    mask = np.array([True, False, True, True])
    own = post.min(axis=0)
    np.testing.assert_array_equal(readout.excitation(post, mask, own), readout.excitation(post, mask))
    np.testing.assert_array_equal(readout.min_ablate(post, mask, own), readout.min_ablate(post, mask))
    lower = own - 1.0  # a lower baseline: every image more excited, by the weights' sum over the mask
    np.testing.assert_allclose(
        readout.excitation(post, mask, lower) - readout.excitation(post, mask), readout.direction[mask].sum()
    )


# --------------------------------------------------------------------------------- kept read-outs


def test_read_outs_of_a_frozen_matrix_are_computed_once_and_equal_a_fresh_computation():
    post, weight, bias = tiny_layer()
    mask = random_mask(post.shape[1])
    frozen = post.copy()
    frozen.flags.writeable = False
    readout = Readout(weight, bias)
    first, again = readout.logits(frozen), readout.logits(frozen)
    assert first is again and not first.flags.writeable
    np.testing.assert_array_equal(first, Readout(weight, bias).logits(post))
    assert readout.contribution(frozen, mask) is readout.contribution(frozen, mask)
    np.testing.assert_array_equal(readout.contribution(frozen, mask), Readout(weight, bias).contribution(post, mask))
    assert readout.contribution(frozen, mask) is not readout.contribution(frozen, ~mask)


def test_read_outs_of_a_matrix_that_can_change_are_computed_every_time():
    post, weight, bias = tiny_layer()
    readout = Readout(weight, bias)
    assert readout.logits(post) is not readout.logits(post)
    view = post[:4]
    view.flags.writeable = False  # read-only, but its base can still be written to
    before = readout.logits(view)
    post[:4] += 1.0
    np.testing.assert_array_equal(readout.logits(view), (post[:4]) @ weight.T + bias)
    assert not np.array_equal(before, readout.logits(view))


def test_a_pickled_readout_keeps_its_weights_not_its_read_outs():
    import pickle

    post, weight, bias = tiny_layer()
    post.flags.writeable = False
    readout = Readout(weight, bias)
    kept = readout.logits(post)
    copy = pickle.loads(pickle.dumps(readout))
    np.testing.assert_array_equal(copy.weight, readout.weight)
    assert copy.logits(post) is not kept and np.array_equal(copy.logits(post), kept)
