"""The analysis functions on small synthetic data: PCA and AUC against scikit-learn, the V fit on a drawn V,
the band and its scorer against brute force, neuron groups, scrubbing, and invariance to reparametrising
the neurons (permuting them, scaling activations up and fc2 down)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import ablation, geometry, labelling, neurons
from analysis.labelling import ANTI, L_THRESHOLD, MIDDLE, ONE, R_THRESHOLD, BandScorer
from analysis.scrubbing import Scrubber, SimilarityIndex, draw_from, noise_key
from model.interventions import Readout, labels_from_logits

#: Property tests: reproducible (derandomised) and without an example database in the repository.
PROPERTY = settings(max_examples=100, deadline=None, derandomize=True, database=None)

# ============================================================================================ helpers


def unit(v) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    return v / np.linalg.norm(v)


def anisotropic_data(seed: int = 0, n: int = 300, scales=(5.0, 3.0, 2.0, 1.0, 0.5, 0.3, 0.2, 0.1)) -> np.ndarray:
    """Gaussian data with well-separated variances along a random rotation, off-centre."""
    rng = np.random.default_rng(seed)
    d = len(scales)
    rotation = np.linalg.qr(rng.standard_normal((d, d)))[0]
    return (rng.standard_normal((n, d)) * np.asarray(scales)) @ rotation + rng.standard_normal(d) * 3


def v_points(
    seed: int = 0,
    corner=(2.0, -1.0),
    left=(-1.0, 1.2),
    right=(1.0, 0.8),
    n_arm: int = 400,
    noise: float = 0.02,
    blob: int = 40,
) -> tuple[np.ndarray, np.ndarray]:
    """Points along two rays from ``corner`` (outward directions ``left``, ``right``), perpendicular noise, and
    a blob at the corner. Returns (points, arm id: 0 left ray, 1 right ray, -1 blob)."""
    rng = np.random.default_rng(seed)
    corner = np.asarray(corner)
    parts, ids = [], []
    for arm, direction in enumerate((unit(left), unit(right))):
        t = rng.uniform(0.3, 6.0, n_arm)
        normal = np.array([-direction[1], direction[0]])
        parts.append(corner + t[:, None] * direction + rng.normal(0, noise, n_arm)[:, None] * normal)
        ids.append(np.full(n_arm, arm))
    parts.append(corner + rng.normal(0, 0.05, (blob, 2)))
    ids.append(np.full(blob, -1))
    return np.concatenate(parts), np.concatenate(ids)


def brute_force_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    pos, neg = scores[positive], scores[~positive]
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return wins / (len(pos) * len(neg))


def image_stack(seed: int = 0, n: int = 4) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 28, 28)).astype(np.uint8)


def random_template(seed: int = 1) -> np.ndarray:
    return labelling.corrected_template(np.random.default_rng(seed).random((28, 28)))


def synthetic_model(seed: int = 0, n: int = 1500, n_one: int = 10, n_anti: int = 8, n_dead: int = 6):
    """A model-like setup in the write-up's scale: similarity ``s``, regions, post-ReLU activations of "1"
    detectors (rising with s), "anti-1" detectors (rising as s falls) and dead neurons, and an fc2 for which
    both detector groups push towards class 1 and the bias towards class 0.

    Returns (post (n, d), fc2 weight (2, d), fc2 bias (2,), s, region).
    """
    rng = np.random.default_rng(seed)
    s = rng.uniform(-26000.0, 2000.0, n)
    region = labelling.regions(s)
    z = (s - (L_THRESHOLD + R_THRESHOLD) / 2) / 5000.0  # ~ -2.7 .. 2.9
    one = np.maximum(
        rng.uniform(0.5, 2, n_one) * (z[:, None] - rng.uniform(0.3, 1.0, n_one)) + rng.normal(0, 0.1, (n, n_one)), 0
    )
    anti = np.maximum(
        rng.uniform(0.5, 2, n_anti) * (-z[:, None] - rng.uniform(0.3, 1.0, n_anti)) + rng.normal(0, 0.1, (n, n_anti)), 0
    )
    post = np.concatenate([one, anti, np.zeros((n, n_dead))], axis=1)
    d = post.shape[1]
    weight = np.empty((2, d))
    weight[0] = rng.normal(0, 0.3, d)
    weight[1] = weight[0] + np.concatenate([rng.uniform(1, 3, n_one + n_anti), rng.normal(0, 1, n_dead)])
    bias = np.array([1.0, -1.0])
    order = rng.permutation(d)  # detector kinds interleaved, as in a real layer
    return post[:, order], weight[:, order], bias, s, region


def reparametrise(post: np.ndarray, weight: np.ndarray, perm: np.ndarray, k) -> tuple[np.ndarray, np.ndarray]:
    """The same network with neurons permuted and neuron j's activation scaled by k[j] (fc2 by 1/k[j])."""
    k = np.broadcast_to(np.asarray(k, dtype=np.float64), (post.shape[1],))
    return post[:, perm] * k, weight[:, perm] / k


# ================================================================================================ PCA


def test_fit_pca_equals_scikit_learn_up_to_component_sign():
    sklearn_decomposition = pytest.importorskip("sklearn.decomposition")
    x = anisotropic_data()
    ours = geometry.fit_pca(x, 3)
    theirs = sklearn_decomposition.PCA(3, svd_solver="full").fit(x)
    signs = np.sign(np.sum(ours.components * theirs.components_, axis=1))
    assert np.all(signs != 0)
    np.testing.assert_allclose(ours.components, theirs.components_ * signs[:, None], atol=1e-10)
    np.testing.assert_allclose(ours.explained_variance_ratio, theirs.explained_variance_ratio_, rtol=1e-10)
    np.testing.assert_allclose(ours.mean, theirs.mean_, atol=1e-12)
    np.testing.assert_allclose(ours.transform(x), theirs.transform(x) * signs, atol=1e-9)


def test_fit_pca_components_are_orthonormal_with_positive_largest_loading():
    pca = geometry.fit_pca(anisotropic_data(seed=2), 4)
    np.testing.assert_allclose(pca.components @ pca.components.T, np.eye(4), atol=1e-12)
    largest = pca.components[np.arange(4), np.argmax(np.abs(pca.components), axis=1)]
    assert np.all(largest > 0)


def test_fit_pca_of_float32_data_matches_float64():
    x = anisotropic_data(seed=3).astype(np.float32)
    a, b = geometry.fit_pca(x, 2), geometry.fit_pca(x.astype(np.float64), 2)
    np.testing.assert_allclose(a.components, b.components, atol=1e-10)


def test_pca_direction_projects_a_vector_onto_the_components():
    pca = geometry.fit_pca(anisotropic_data(), 2)
    np.testing.assert_allclose(pca.direction(pca.components[1]), [0.0, 1.0], atol=1e-12)


@pytest.mark.parametrize("shape,k", [((1, 5), 1), ((10, 3), 4), ((10, 3), 0), ((10,), 1)])
def test_fit_pca_refuses_impossible_requests(shape, k):
    with pytest.raises(ValueError, match="PCA needs"):
        geometry.fit_pca(np.zeros(shape), k)


def test_pca_transform_refuses_the_wrong_width():
    pca = geometry.fit_pca(anisotropic_data(), 2)
    with pytest.raises(ValueError, match=r"\(N, 8\)"):
        pca.transform(np.zeros((3, 7)))


def test_fit_pca_of_constant_data_has_zero_explained_variance():
    pca = geometry.fit_pca(np.ones((5, 3)), 2)
    np.testing.assert_array_equal(pca.explained_variance_ratio, [0.0, 0.0])


# ================================================================================================ AUC


@pytest.mark.parametrize("values", [None, 5, 2], ids=["continuous", "five-values", "two-values"])
def test_auc_equals_scikit_learn_including_ties(values):
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    scores = rng.standard_normal(500) if values is None else rng.integers(0, values, 500).astype(float)
    positive = rng.random(500) < 0.3 + 0.1 * (scores > np.median(scores))
    assert geometry.auc(scores, positive) == pytest.approx(metrics.roc_auc_score(positive, scores), abs=1e-12)


@PROPERTY
@given(st.lists(st.tuples(st.integers(-3, 3), st.booleans()), min_size=2, max_size=30))
def test_auc_equals_pairwise_counting(pairs):
    scores = np.array([p[0] for p in pairs], dtype=float)
    positive = np.array([p[1] for p in pairs])
    if positive.all() or not positive.any():
        assert np.isnan(geometry.auc(scores, positive))
    else:
        assert geometry.auc(scores, positive) == pytest.approx(brute_force_auc(scores, positive), abs=1e-12)


def test_auc_of_perfect_and_reversed_separation():
    scores = np.arange(10.0)
    assert geometry.auc(scores, scores >= 5) == 1.0
    assert geometry.auc(-scores, scores >= 5) == 0.0


# ============================================================================================== the V


def test_fit_v_recovers_corner_arms_and_split_of_a_drawn_v():
    corner, left, right = np.array([2.0, -1.0]), unit([-1.0, 1.2]), unit([1.0, 0.8])
    points, arm = v_points(corner=corner, left=left, right=right)
    v = geometry.fit_v(points)

    np.testing.assert_allclose(v.corner, corner, atol=0.05)
    assert v.left.line.r2 > 0.999 and v.right.line.r2 > 0.999
    assert abs(v.split - corner[0]) < 0.3
    far = np.linalg.norm(points - corner, axis=1) > 0.5
    assert np.all(v.left.members[far & (arm == 0)]) and not np.any(v.left.members[far & (arm == 1)])
    assert np.all(v.right.members[far & (arm == 1)])
    assert np.all(v.left.members ^ v.right.members)
    assert v.left.outward @ left > 0.999 and v.right.outward @ right > 0.999
    assert v.opening_angle_deg == pytest.approx(geometry.angle_deg(left, right), abs=1.0)
    np.testing.assert_allclose(v.corner_direction, -unit(left + right), atol=0.01)
    assert v.arm_of(corner + 3 * left) is v.left and v.arm_of(corner + 3 * right) is v.right


def test_fit_v_is_unchanged_by_shuffling_the_points():
    points, _ = v_points(seed=4)
    order = np.random.default_rng(0).permutation(len(points))
    a, b = geometry.fit_v(points), geometry.fit_v(points[order])
    np.testing.assert_allclose(b.corner, a.corner, atol=1e-9)
    assert b.split == a.split
    np.testing.assert_array_equal(b.left.members, a.left.members[order])


def test_fit_line_of_collinear_points_has_r2_one():
    t = np.linspace(-2, 3, 20)
    line = geometry.fit_line(np.stack([1 + 2 * t, -1 + t], axis=1))
    assert line.r2 == pytest.approx(1.0)
    assert abs(line.direction @ unit([2, 1])) == pytest.approx(1.0)


def test_fit_line_of_a_round_cloud_has_r2_near_one_half():
    points = np.random.default_rng(0).standard_normal((4000, 2))
    assert geometry.fit_line(points).r2 == pytest.approx(0.5, abs=0.05)


@pytest.mark.parametrize("shape", [(1, 2), (5, 3), (5,)])
def test_fit_line_refuses_too_few_or_non_2d_points(shape):
    with pytest.raises(ValueError, match="two 2-D points"):
        geometry.fit_line(np.zeros(shape))


def test_best_split_refuses_too_few_points():
    with pytest.raises(ValueError, match="too few points"):
        geometry.best_split(np.zeros((3, 2)))


def test_arms_by_content_names_the_arm_with_more_one_like_points_first():
    points, arm = v_points(seed=5)
    v = geometry.fit_v(points)
    one_arm, anti_arm = geometry.arms_by_content(v, arm == 1)
    assert one_arm is v.right and anti_arm is v.left
    one_arm, anti_arm = geometry.arms_by_content(v, arm == 0)
    assert one_arm is v.left and anti_arm is v.right


def test_angle_deg_of_right_straight_and_undefined_angles():
    assert geometry.angle_deg(np.array([1, 0]), np.array([0, 2])) == pytest.approx(90)
    assert geometry.angle_deg(np.array([1, 1]), np.array([-1, -1])) == pytest.approx(180)
    assert np.isnan(geometry.angle_deg(np.zeros(2), np.array([1, 0])))


# ================================================================================ similarity and bands


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int64, np.float32, np.float64])
def test_similarity_is_identical_for_the_same_pixel_values_in_any_dtype(dtype):
    images, template = image_stack(), random_template()
    reference = labelling.similarity(images, template)
    np.testing.assert_array_equal(labelling.similarity(images.astype(dtype), template), reference)


def test_similarity_equals_the_sum_of_pixel_times_template():
    images, template = image_stack(n=3), random_template()
    expected = [float(np.sum(img.astype(np.float64) * template)) for img in images]
    np.testing.assert_allclose(labelling.similarity(images, template), expected, rtol=1e-12)


def test_similarity_of_one_image_is_zero_dimensional_and_a_channel_axis_is_accepted():
    images, template = image_stack(n=3), random_template()
    stack = labelling.similarity(images, template)
    assert labelling.similarity(images[1], template).shape == ()
    assert float(labelling.similarity(images[1], template)) == stack[1]  # one image is its row of the stack
    np.testing.assert_array_equal(labelling.similarity(images[:, None], template), stack)


SIMILARITY_SETTINGS = {
    "openblas-sse": {"OPENBLAS_CORETYPE": "Nehalem"},  # BLAS kernels of another CPU generation
    "openblas-avx": {"OPENBLAS_CORETYPE": "Sandybridge"},
    "numpy-baseline-simd": {"NPY_DISABLE_CPU_FEATURES": "AVX512F AVX512_SKX AVX2 FMA3"},  # numpy's own dispatch
}


@pytest.mark.parametrize("setting", SIMILARITY_SETTINGS)
def test_similarity_and_its_rival_metrics_have_the_same_bits_whatever_the_cpu_kernels(setting, tmp_path):
    """s decides regions and the order of near-ties (the scrubbing's draws), the metrics and the templates' s the
    similarity probe's re-fitted bands: none may depend on the kernels numpy or OpenBLAS pick for the CPU (BLAS dot
    products and norms did, under OpenBLAS's pre-AVX2 kernels)."""
    import os
    import subprocess
    import sys

    from fixtures.locate import PROJECT_ROOT

    images, clue = image_stack(n=2000), np.random.default_rng(1).random((28, 28))
    np.savez(tmp_path / "in.npz", images=images, clue=clue)
    code = (
        "import sys, numpy as np; from analysis.labelling import corrected_template, similarity, similarity_metrics, "
        "similarity_to_templates; z = np.load(sys.argv[1]); t = corrected_template(z['clue']); "
        "np.savez(sys.argv[2], s=similarity(z['images'], t), templates=similarity_to_templates(z['images'], "
        "z['images'][:5]), **similarity_metrics(z['images'], z['clue']))"
    )
    env = {**os.environ, **SIMILARITY_SETTINGS[setting]}
    cmd = [sys.executable, "-c", code, str(tmp_path / "in.npz"), str(tmp_path / "out.npz")]
    subprocess.run(cmd, cwd=PROJECT_ROOT, env=env, check=True)
    ours = {"s": labelling.similarity(images, labelling.corrected_template(clue))}
    ours["templates"] = labelling.similarity_to_templates(images, images[:5])
    ours.update(labelling.similarity_metrics(images, clue))
    with np.load(tmp_path / "out.npz") as theirs:
        assert sorted(theirs.files) == sorted(ours)
        for name, values in ours.items():
            np.testing.assert_array_equal(theirs[name], values, err_msg=name)


@pytest.mark.parametrize(
    "images,match",
    [
        (np.zeros((27, 28), np.uint8), "expected shape"),
        (np.zeros((2, 28, 27), np.uint8), "expected shape"),
        (np.zeros((2, 784), np.uint8), "expected shape"),
        (np.zeros((2, 3, 28, 28), np.uint8), "expected shape"),
        (np.zeros(5, np.uint8), "expected shape"),
        (np.zeros((2, 28, 28), bool), "dtype bool"),
        (np.zeros((2, 28, 28), complex), "dtype complex"),
        (np.full((2, 28, 28), "a"), "dtype <U1"),
        (np.full((2, 28, 28), -1, np.int16), "0..255"),
        (np.full((2, 28, 28), 256, np.int16), "0..255"),
        (np.full((2, 28, 28), 255.5), "0..255"),
        (np.full((2, 28, 28), np.nan), "NaN or infinity"),
        (np.full((2, 28, 28), np.inf, np.float32), "NaN or infinity"),
    ],
    ids=[
        "27x28",
        "28x27",
        "flat",
        "3-channels",
        "1-d",
        "bool",
        "complex",
        "str",
        "negative",
        "256",
        "255.5",
        "nan",
        "inf",
    ],
)
def test_similarity_refuses_bad_pixels_with_a_clear_value_error(images, match):
    with pytest.raises(ValueError, match=match):
        labelling.similarity(images, random_template())


def test_similarity_refuses_a_template_of_the_wrong_shape():
    with pytest.raises(ValueError, match="template"):
        labelling.similarity(image_stack(), np.zeros((28, 27)))


def test_clue_image_is_training_image_6_in_unit_range():
    images = image_stack(n=10)
    clue = labelling.clue_image(images)
    assert clue.dtype == np.float64
    np.testing.assert_allclose(clue, images[labelling.CLUE_INDEX] / 255.0)


def test_band_is_open_at_both_thresholds_and_regions_match_it():
    s = np.array([L_THRESHOLD - 1, L_THRESHOLD, L_THRESHOLD + 1, R_THRESHOLD - 1, R_THRESHOLD, R_THRESHOLD + 1])
    np.testing.assert_array_equal(labelling.band_labels(s), [1, 1, 0, 0, 1, 1])
    np.testing.assert_array_equal(labelling.regions(s), [ANTI, ANTI, MIDDLE, MIDDLE, ONE, ONE])
    assert labelling.regions(s).dtype == np.int8
    assert labelling.region_counts(s) == {"anti_one_like": 2, "middle": 2, "one_like": 2}


@PROPERTY
@given(st.lists(st.integers(-6, 6), min_size=1, max_size=30), st.integers(-6, 6), st.integers(-6, 6))
def test_band_class_0_is_exactly_the_middle_region(values, low, high):
    s = np.array(values, dtype=float)
    np.testing.assert_array_equal(labelling.band_labels(s, low, high) == 0, labelling.regions(s, low, high) == MIDDLE)


def test_agreement_is_the_fraction_of_equal_labels_and_checks_shapes():
    assert labelling.agreement(np.array([0, 1, 1, 0]), np.array([0, 1, 0, 0])) == 0.75
    with pytest.raises(ValueError, match="different shapes"):
        labelling.agreement(np.zeros(3), np.zeros(4))


threshold = st.integers(-12, 12).map(lambda v: v / 2)  # integers and halves: on and between the values of s


@PROPERTY
@given(
    st.lists(st.tuples(st.integers(-5, 5), st.integers(0, 1)), min_size=1, max_size=40),
    st.lists(st.tuples(threshold, threshold), min_size=1, max_size=8),
)
def test_band_scorer_agreement_equals_brute_force_including_ties_at_thresholds(data, bands):
    s = np.array([d[0] for d in data], dtype=float)
    labels = np.array([d[1] for d in data])
    scorer = BandScorer.fit(s, labels)
    lows, highs = np.array([b[0] for b in bands]), np.array([b[1] for b in bands])
    expected = [labelling.agreement(labelling.band_labels(s, lo, hi), labels) for lo, hi in bands]
    np.testing.assert_allclose(scorer.agreement(lows, highs), expected, atol=1e-12)
    assert scorer.agreement(lows[0], highs[0]) == pytest.approx(expected[0], abs=1e-12)


def test_best_band_finds_a_perfect_band_when_one_exists():
    s = np.arange(100.0)
    labels = labelling.band_labels(s, 20.5, 70.5)
    low, high, score = BandScorer.fit(s, labels).best_band()
    assert score == 1.0
    assert 20 <= low < 21 and 70 < high <= 71


def test_band_scorer_refuses_mismatched_inputs():
    with pytest.raises(ValueError, match="1-d of equal length"):
        BandScorer.fit(np.zeros(3), np.zeros(4))


# ============================================================================================ neurons


def constructed_firing() -> tuple[np.ndarray, np.ndarray]:
    """4 anti-1-like, 2 middle and 4 1-like images; one column per kind of neuron:
    0 dead, 1 fires on 1-like only, 2 on anti-1-like only, 3 on both but more on 1-like, 4 only in the middle,
    5 equally on both, 6 dead."""
    region = np.array([ANTI] * 4 + [MIDDLE] * 2 + [ONE] * 4, dtype=np.int8)
    on = {r: (region == r).astype(float) for r in (ANTI, MIDDLE, ONE)}
    zero = np.zeros(len(region))
    columns = [zero, on[ONE], on[ANTI], 2 * on[ONE] + on[ANTI], on[MIDDLE], on[ONE] + on[ANTI], zero]
    return np.stack(columns, axis=1), region


def test_groups_by_firing_on_a_constructed_activation_matrix():
    post, region = constructed_firing()
    groups = neurons.groups_by_firing(post, region)
    assert np.flatnonzero(groups.dead).tolist() == [0, 6]
    assert np.flatnonzero(groups.one).tolist() == [1, 3]
    assert np.flatnonzero(groups.anti_one).tolist() == [2, 4, 5]  # ties go to "anti-1" ("else")
    assert groups.sizes() == {"one": 2, "anti_one": 3, "dead": 2}
    stacked = np.stack([m for _, m in groups.as_list()])
    assert np.all(stacked.sum(axis=0) == 1)  # a partition


def test_groups_by_firing_refuses_mismatched_rows():
    post, region = constructed_firing()
    with pytest.raises(ValueError, match="10 activation rows but 9 regions"):
        neurons.groups_by_firing(post, region[:-1])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy's empty-mean warnings, today's behaviour
@pytest.mark.parametrize("empty", [ONE, ANTI], ids=["no-one-like", "no-anti-one-like"])
def test_groups_by_firing_refuses_a_region_without_images(empty):
    post, region = constructed_firing()
    keep = region != empty
    with pytest.raises(ValueError, match="no .*images"):
        neurons.groups_by_firing(post[keep], region[keep])


def test_dead_neurons_are_the_never_active_ones():
    post, _ = constructed_firing()
    np.testing.assert_array_equal(neurons.dead_neurons(post), [True, False, False, False, False, False, True])


def test_correlation_is_0_for_constant_1_for_the_template_and_minus_1_when_negated():
    template = np.random.default_rng(0).random((28, 28))
    other = np.random.default_rng(1).random((28, 28))
    images = np.stack([np.full((28, 28), 7.0), 3 * template + 2, 1 - template, other])
    with np.errstate(all="raise"):
        r = neurons.correlation_with(images, template)
    assert r[0] == 0.0
    assert r[1] == pytest.approx(1.0) and r[2] == pytest.approx(-1.0)
    assert -1 < r[3] < 1
    np.testing.assert_array_equal(neurons.correlation_with(images, np.ones((28, 28))), np.zeros(4))


def test_a_readout_refuses_a_layer_without_two_rows():
    with pytest.raises(ValueError, match="2 rows"):
        Readout(np.zeros((3, 3)), np.zeros(2))


def test_strongest_returns_the_top_k_of_the_mask_strongest_first():
    strength = np.array([5.0, 1.0, 9.0, 7.0, 3.0])
    mask = np.array([True, True, False, True, True])
    assert neurons.strongest(mask, strength, k=3).tolist() == [3, 0, 4]


def test_excitation_is_zero_at_the_baseline_and_for_an_empty_group():
    post = np.array([[0.0, 1.0], [2.0, 3.0]])
    readout = Readout(np.array([[0.0, 0.0], [1.0, -2.0]]), np.zeros(2))  # logit-diff direction (1, -2)
    np.testing.assert_allclose(readout.excitation(post, np.array([True, True])), [0.0, 2.0 - 4.0])
    np.testing.assert_array_equal(readout.excitation(post, np.array([False, False])), [0.0, 0.0])


# ========================================================================================== scrubbing


@PROPERTY
@given(
    st.lists(st.one_of(st.integers(-20, 20), st.floats(-20, 20, allow_nan=False)), min_size=1, max_size=40),
    st.sampled_from([1e-4, 1e-2, 0.05, 0.2, 1.0]),
    st.integers(0, 2**32 - 1),
)
def test_similar_image_is_never_itself_when_possible_and_stays_in_its_window(values, p, seed):
    s = np.array(values, dtype=float)
    index = SimilarityIndex.build(s)
    lo, count = index.window(p)
    drawn = index.similar((lo, count), np.random.default_rng(seed))
    position = index.rank[drawn]
    assert np.all((position >= lo) & (position < lo + count))
    assert np.all(np.abs(s[drawn] - s) <= p * index.range + 1e-12)
    assert np.all((drawn != np.arange(len(s))) | (count == 1))
    assert np.all(drawn[count == 1] == np.arange(len(s))[count == 1])


def test_similar_draws_every_other_member_of_a_window():
    index = SimilarityIndex.build(np.array([0.0, 0.0, 0.0, 0.0, 100.0]))
    window = index.window(0.01)
    seen = {int(index.similar(window, np.random.default_rng(seed))[0]) for seed in range(200)}
    assert seen == {1, 2, 3}


def test_draw_from_an_empty_pool_draws_from_everything():
    rng = np.random.default_rng(0)
    assert set(draw_from(np.array([False, True, False]), 50, rng)) == {1}
    assert set(draw_from(np.zeros(3, bool), 200, rng)) == {0, 1, 2}


def constant_parts_scrubber(seed: int = 0, n: int = 200) -> Scrubber:
    """Every image has the same activations: every group's logit part is identical across images."""
    rng = np.random.default_rng(seed)
    post = np.tile(rng.random(6), (n, 1))
    weight, bias = rng.standard_normal((2, 6)), rng.standard_normal(2)
    groups = neurons.Groups(
        one=np.arange(6) < 2, anti_one=(np.arange(6) >= 2) & (np.arange(6) < 4), dead=np.arange(6) >= 4
    )
    s = rng.uniform(-26000, 2000, n)
    labels = labels_from_logits(Readout(weight, bias).logits(post))
    return Scrubber.build(post, Readout(weight, bias), groups, s, labelling.regions(s), labels)


@pytest.mark.parametrize("p", [1e-4, 1e-2, 0.5, "random"])
def test_scrubbing_keeps_every_label_when_groups_parts_are_identical_across_images(p):
    assert constant_parts_scrubber().kept(p, seed=3) == 1.0


def region_detector_scrubber(n: int = 600) -> Scrubber:
    """The write-up's hypothesis made exactly true: "1" detectors are on (1) exactly on 1-like images, "anti-1"
    detectors exactly on anti-1-like ones; either lifts class 1 over the bias. The regions are far apart in s."""
    rng = np.random.default_rng(0)
    s = np.concatenate(
        [
            rng.uniform(-30000, -20000, n // 3),
            rng.uniform(-15000, -10000, n // 3),
            rng.uniform(-5000, 0, n - 2 * (n // 3)),
        ]
    )
    region = labelling.regions(s)
    post = np.stack([region == ONE, region == ONE, region == ANTI, np.zeros(n)], axis=1).astype(float)
    weight = np.array([[0.0, 0.0, 0.0, 0.5], [1.0, 1.0, 2.0, -0.5]])
    bias = np.array([1.0, 0.0])
    groups = neurons.Groups(
        one=np.array([1, 1, 0, 0], bool), anti_one=np.array([0, 0, 1, 0], bool), dead=np.array([0, 0, 0, 1], bool)
    )
    labels = labels_from_logits(Readout(weight, bias).logits(post))
    assert set(labels[region == MIDDLE]) == {0} and set(labels[region != MIDDLE]) == {1}
    return Scrubber.build(post, Readout(weight, bias), groups, s, region, labels)


def test_scrubbing_keeps_every_label_when_the_hypothesis_is_exactly_true():
    scrubber = region_detector_scrubber()
    assert [scrubber.kept(p, seed) for p in (1e-4, 1e-2) for seed in (0, 1)] == [1.0] * 4
    assert scrubber.kept("random", seed=0) < 0.8


def test_random_scrubbing_of_random_labels_is_near_chance():
    rng = np.random.default_rng(0)
    n = 4000
    post = rng.random((n, 6))
    weight, bias = rng.standard_normal((2, 6)), np.zeros(2)
    groups = neurons.Groups(
        one=np.arange(6) < 2, anti_one=np.arange(6) >= 4, dead=(np.arange(6) >= 2) & (np.arange(6) < 4)
    )
    s = rng.uniform(-26000, 2000, n)
    scrubber = Scrubber.build(post, Readout(weight, bias), groups, s, labelling.regions(s), rng.integers(0, 2, n))
    assert scrubber.kept("random", seed=0) == pytest.approx(0.5, abs=0.05)


def test_sweep_reports_mean_std_and_values_per_noise_level():
    sweep = constant_parts_scrubber().sweep(levels=(1e-3, "random"), seeds=(0, 1, 2))
    assert list(sweep) == ["0.001", "random"]
    assert sweep["random"] == {"mean": 1.0, "std": 0.0, "values": [1.0, 1.0, 1.0]}


@pytest.mark.parametrize("p", [0.0, -0.1, True, "half", None])
def test_scrubbing_refuses_a_bad_noise_level(p):
    with pytest.raises(ValueError, match="noise level"):
        constant_parts_scrubber().sources(p, seed=0)


def test_noise_keys_are_short_decimal_strings_or_random():
    assert [noise_key(p) for p in (1e-4, 1e-3, 0.01, 0.1, "random")] == ["0.0001", "0.001", "0.01", "0.1", "random"]


def test_scrubbing_is_reproducible_for_a_seed():
    scrubber = region_detector_scrubber()
    a, b = scrubber.sources(1e-2, seed=7), scrubber.sources(1e-2, seed=7)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


# ================================================================= invariance to reparametrising neurons


@pytest.fixture(scope="module")
def model():
    return synthetic_model()


@pytest.fixture(scope="module")
def reparametrised(model):
    post, weight, bias, s, region = model
    rng = np.random.default_rng(1)
    perm = rng.permutation(post.shape[1])
    k = rng.uniform(0.1, 10.0, post.shape[1])
    post2, weight2 = reparametrise(post, weight, perm, k)
    return perm, post2, weight2


def assert_nested_close(a: dict, b: dict, tol: float = 1e-9) -> None:
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], dict):
            assert_nested_close(a[key], b[key], tol)
        else:
            assert a[key] == pytest.approx(b[key], abs=tol, nan_ok=True), key


def test_reparametrised_network_computes_the_same_logits(model, reparametrised):
    post, weight, bias, _, _ = model
    _, post2, weight2 = reparametrised
    np.testing.assert_allclose(
        Readout(weight2, bias).logits(post2), Readout(weight, bias).logits(post), rtol=1e-12, atol=1e-12
    )


def test_groups_by_firing_follow_the_neurons_through_permutation_and_scaling(model, reparametrised):
    post, _, _, _, region = model
    perm, post2, _ = reparametrised
    groups, groups2 = neurons.groups_by_firing(post, region), neurons.groups_by_firing(post2, region)
    assert groups2.sizes() == groups.sizes()
    assert min(groups.sizes().values()) > 0
    for (_, mask), (_, mask2) in zip(groups.as_list(), groups2.as_list()):
        np.testing.assert_array_equal(mask2, mask[perm])


def test_min_ablation_table_is_invariant_to_reparametrising_neurons(model, reparametrised):
    post, weight, bias, s, region = model
    _, post2, weight2 = reparametrised
    table = ablation.min_ablation_table(post, Readout(weight, bias), neurons.groups_by_firing(post, region), s)
    table2 = ablation.min_ablation_table(post2, Readout(weight2, bias), neurons.groups_by_firing(post2, region), s)
    assert_nested_close(table2, table)
    assert table["both"]["one_half"] < 1.0  # the ablations do change labels: the comparison is not vacuous


def test_zero_ablation_effect_is_invariant_to_reparametrising_neurons(model, reparametrised):
    post, weight, bias, _, region = model
    _, post2, weight2 = reparametrised
    effect = ablation.zero_ablation_effect(
        post, Readout(weight, bias), neurons.groups_by_firing(post, region).anti_one, region
    )
    effect2 = ablation.zero_ablation_effect(
        post2, Readout(weight2, bias), neurons.groups_by_firing(post2, region).anti_one, region
    )
    assert_nested_close(effect2, effect)


def v_statistics(post: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Arm R² and the class-0-at-the-corner AUC, as the geometry claim computes them."""
    coords = geometry.fit_pca(post, 2).transform(post)
    v = geometry.fit_v(coords)
    distance = np.linalg.norm(coords - v.corner, axis=1)
    return {"r2_left": v.left.line.r2, "r2_right": v.right.line.r2, "corner_auc": geometry.auc(-distance, labels == 0)}


@pytest.mark.parametrize("k", [1.0, 3.7, 0.05])
def test_v_fit_and_corner_auc_are_invariant_to_permuting_and_scaling_activations(model, k):
    post, weight, bias, _, _ = model
    labels = labels_from_logits(Readout(weight, bias).logits(post))
    perm = np.random.default_rng(2).permutation(post.shape[1])
    post2, _ = reparametrise(post, weight, perm, k)
    before, after = v_statistics(post, labels), v_statistics(post2, labels)
    assert_nested_close(after, before, tol=1e-9)
    assert min(before["r2_left"], before["r2_right"]) > 0.8  # the synthetic activations do form a V


@pytest.mark.parametrize("p", [np.float32(1e-3), 1, np.float64(0.01)])
def test_scrubbing_accepts_any_positive_real_noise_level(p):
    one, anti, dead = constant_parts_scrubber().sources(p, seed=0)
    assert one.shape == anti.shape == dead.shape


def test_variance_along_fixed_components_is_the_fitted_ratio_on_the_images_they_were_fitted_on():
    x = np.random.default_rng(3).normal(size=(1000, 5)) * np.array([5.0, 3.0, 1.0, 0.5, 0.1])
    pca = geometry.fit_pca(x, 2)
    moments = geometry.block_moments(x, 100)
    along = geometry.moments_variance_ratios(moments, pca.components)
    np.testing.assert_allclose(along, pca.explained_variance_ratio, rtol=1e-9)
    other = np.random.default_rng(4).normal(size=(1000, 5))  # isotropic: any unit direction carries 1/5
    np.testing.assert_allclose(
        geometry.moments_variance_ratios(geometry.block_moments(other, 100), pca.components), 0.2, atol=0.05
    )


def test_r2_about_a_fixed_line_is_the_fit_on_its_own_points_and_drops_off_the_line():
    rng = np.random.default_rng(5)
    t = rng.normal(size=500)
    points = np.c_[t, 2 * t + 0.05 * rng.normal(size=500)]
    line = geometry.fit_line(points)
    assert geometry.line_r2(line, points) == pytest.approx(line.r2, rel=1e-12)
    across = np.c_[t, -0.5 * t]  # perpendicular to the fitted line
    assert geometry.line_r2(line, across) < 0.01
