"""The weighted analysis functions a claim's judge calls on a bootstrap resample: weights of all ones give the
unweighted result, and integer counts give what the rows repeated by their counts give."""

from __future__ import annotations

import numpy as np
import pytest

from analysis import ablation, geometry, neurons, weighted
from analysis.labelling import ANTI, MIDDLE, ONE
from model.interventions import Readout
from tests.analysis.test_analysis import synthetic_model, v_points


def counts(n: int, seed: int = 0) -> np.ndarray:
    """A bootstrap resample's multiplicities (some rows drawn twice or more, some not at all)."""
    rng = np.random.default_rng(seed)
    return np.bincount(rng.integers(0, n, n), minlength=n)


def repeat(w: np.ndarray, *arrays: np.ndarray) -> list[np.ndarray]:
    return [np.repeat(a, w, axis=0) for a in arrays]


def same(a, b) -> None:
    """Equal up to rounding (dicts and arrays alike; NaN equals NaN)."""
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            same(a[k], b[k])
    elif isinstance(a, neurons.Groups):
        for x, y in zip((a.one, a.anti_one, a.dead), (b.one, b.anti_one, b.dead)):
            np.testing.assert_array_equal(x, y)
    else:
        np.testing.assert_allclose(
            np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64), rtol=1e-9, atol=1e-12
        )


@pytest.fixture(scope="module")
def model():
    """A small synthetic network: post-ReLU activations, a readout, regions, s and labels."""
    post, weight, bias, s, region = synthetic_model()
    readout = Readout(weight, bias)
    labels = np.argmax(readout.logits(post), axis=1)
    groups = neurons.groups_by_firing(post, region)
    return post, readout, region, s, labels, groups


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_weighted_mean_median_and_ranks_equal_the_repeated_rows(seed):
    rng = np.random.default_rng(seed)
    x = np.round(rng.normal(size=(301, 3)), 1)  # ties
    w = counts(len(x), seed)
    where = rng.random(len(x)) < 0.6
    (xr, wr) = repeat(w, x, where)
    same(weighted.mean(x, w), xr.mean(axis=0))
    same(weighted.mean(x, w, where), xr[wr].mean(axis=0))
    same(weighted.median(x[:, 0], w), np.median(xr[:, 0]))
    same(weighted.median(x[:-1, 0], w[:-1]), np.median(np.repeat(x[:-1, 0], w[:-1])))  # an even count too
    same(weighted.median_columns(x, w), np.median(xr, axis=0))
    ranks_of_copies = geometry.ranks(xr[:, 1])
    mean_rank = np.bincount(np.repeat(np.arange(len(x)), w), weights=ranks_of_copies, minlength=len(x))
    present = w > 0
    same(weighted.ranks(x[:, 1], w)[present], mean_rank[present] / w[present])


def test_weights_of_all_ones_give_the_plain_statistics():
    rng = np.random.default_rng(3)
    x = np.round(rng.normal(size=(200, 2)), 1)
    ones = np.ones(len(x), dtype=np.int64)
    same(weighted.mean(x, ones), weighted.mean(x))
    same(weighted.median(x[:, 0], ones), weighted.median(x[:, 0]))
    same(weighted.ranks(x[:, 0], ones), weighted.ranks(x[:, 0]))
    same(geometry.spearman(x[:, 0], x[:, 1], ones), geometry.spearman(x[:, 0], x[:, 1]))
    same(geometry.pearson(x[:, 0], x[:, 1], ones), geometry.pearson(x[:, 0], x[:, 1]))
    same(geometry.auc(x[:, 0], x[:, 1] > 0, ones), geometry.auc(x[:, 0], x[:, 1] > 0))


@pytest.mark.parametrize("seed", [0, 1])
def test_geometry_with_counts_equals_the_repeated_points(seed):
    points, _ = v_points(seed)
    w = counts(len(points), seed)
    (pr,) = repeat(w, points)
    rng = np.random.default_rng(seed)
    labels = rng.random(len(points)) < 0.5
    (lr,) = repeat(w, labels)
    same(geometry.auc(points[:, 1], labels, w), geometry.auc(pr[:, 1], lr))
    same(geometry.spearman(points[:, 0], points[:, 1], w), geometry.spearman(pr[:, 0], pr[:, 1]))
    line, line_r = geometry.fit_line(points, w), geometry.fit_line(pr)
    same(line.centre, line_r.centre)
    same(abs(line.direction @ line_r.direction), 1.0)
    same(line.r2, line_r.r2)
    v, vr = geometry.fit_v(points, w), geometry.fit_v(pr)
    same(v.split, vr.split)
    same(v.corner, vr.corner)
    same(v.corner_direction, vr.corner_direction)
    np.testing.assert_array_equal(np.repeat(v.left.members, w), vr.left.members)
    pca, pca_r = geometry.fit_pca(points, 2, w), geometry.fit_pca(pr, 2)
    same(pca.components, pca_r.components)
    same(pca.explained_variance_ratio, pca_r.explained_variance_ratio)


def test_geometry_with_weights_of_all_ones_is_unweighted():
    points, _ = v_points(0)
    ones = np.ones(len(points), dtype=np.int64)
    v, v1 = geometry.fit_v(points), geometry.fit_v(points, ones)
    same(v.split, v1.split)
    same(v.corner, v1.corner)
    pca, pca1 = geometry.fit_pca(points, 2), geometry.fit_pca(points, 2, ones)
    same(pca.components, pca1.components)


def neuron_results(post, readout, region, s, labels, groups, w=None):
    """Every weighted neuron and ablation statistic a judge uses, on the rows as given with weights ``w``."""
    threshold = ablation.strong_excitation_threshold(readout.logits(post), w)
    return {
        "groups": neurons.groups_by_firing(post, region, w),
        "dead": neurons.dead_neurons(post, w),
        "dead_rare": neurons.dead_neurons(post, w, 0.01),
        "std": neurons.typical_contribution(post, readout.direction, "std", w),
        "mean": neurons.typical_contribution(post, readout.direction, "mean", w),
        "threshold": threshold,
        "baseline": ablation.anti_one_baseline(post, readout, groups.anti_one, region, w),
        "baseline_middle": ablation.anti_one_baseline(post, readout, groups.anti_one, region, w, "middle"),
        "zero": ablation.zero_ablation_effect(post, readout, groups.anti_one, region, w),
        "zero_all": ablation.zero_ablation_effect(post, readout, groups.anti_one, region, w, "all"),
        "both": ablation.both_groups_strong(post, readout, groups, threshold, w),
        "both_zero": ablation.both_groups_strong(post, readout, groups, threshold, w, "zero"),
        "regions": ablation.regions_excite_groups(post, readout, groups, region, threshold, w),
        "rule": ablation.either_group_rule(post, readout, groups, labels, w)["agreement"],
        "per_group": ablation.either_group_rule_per_group(post, readout, groups, labels, w)["agreement"],
        "min": ablation.min_ablation_outcomes(post, readout, groups, s, w, midpoint=float(np.median(s))),
    }


def test_neuron_statistics_with_weights_of_all_ones_are_unweighted(model):
    post, _, region, _, _, groups = model
    ones = np.ones(len(post), dtype=np.int64)
    same(neuron_results(*model, ones), neuron_results(*model))
    offsets = neurons.no_detection_offset(post, groups.one, region != ONE)
    same(neurons.no_detection_offset(post, groups.one, region != ONE, ones), offsets)


@pytest.mark.parametrize("seed", [0, 1])
def test_neuron_statistics_with_counts_equal_the_repeated_rows(model, seed):
    """Per-image values (an excitation above each neuron's dataset minimum) are the rows' own: the minimum over
    the rows given; so the repeated rows are compared with the weighted rows where the minimum is the same."""
    post, readout, region, s, labels, groups = model
    w = counts(len(post), seed)
    w[np.argmin(post, axis=0)] += 1  # every neuron's minimum in the resample too
    postr, regionr, sr, labelsr = repeat(w, post, region, s, labels)
    weighted_ = neuron_results(post, readout, region, s, labels, groups, w)
    repeated = neuron_results(postr, readout, regionr, sr, labelsr, groups)
    repeated["min"] = ablation.min_ablation_outcomes(postr, readout, groups, sr, midpoint=float(np.median(s)))
    same(weighted_, repeated)
    inactive, inactive_r = region != ONE, regionr != ONE
    same(
        neurons.no_detection_offset(post, groups.one, inactive, w),
        neurons.no_detection_offset(postr, groups.one, inactive_r),
    )


def test_best_threshold_rule_with_counts_equals_the_repeated_rows():
    rng = np.random.default_rng(5)
    score = np.round(rng.normal(size=400), 1)
    labels = (score + rng.normal(size=400) > 0).astype(int)
    w = counts(400, 5)
    sr, lr = repeat(w, score, labels)
    assert ablation.best_threshold_rule(score, labels, w)[1] == pytest.approx(ablation.best_threshold_rule(sr, lr)[1])
    b = np.round(rng.normal(size=400), 1)
    (br,) = repeat(w, b)
    assert ablation.best_two_threshold_rule(score, b, labels, weights=w)["agreement"] == pytest.approx(
        ablation.best_two_threshold_rule(sr, br, lr)["agreement"]
    )


def test_regions_and_labels_of_the_synthetic_model_cover_every_case(model):
    """The fixtures above exercise every region (else a weighted share could be vacuously NaN on both sides)."""
    _, _, region, _, labels, groups = model
    assert {ANTI, MIDDLE, ONE} <= set(np.unique(region).tolist())
    assert set(np.unique(labels).tolist()) == {0, 1}
    assert groups.one.any() and groups.anti_one.any()


@pytest.mark.parametrize("seed", range(6))
def test_sorted_columns_give_the_weighted_medians_of_the_whole_columns(seed):
    """The summary's medians are exactly median_columns' (bit for bit, in the columns' own precision), also when a
    resample's median falls outside the window around the full sample's (a window of 0 or 1 rows forces that)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 800))
    x = np.round(np.maximum(rng.normal(size=(n, 5)), 0), 1).astype(np.float32 if seed % 2 else np.float64)  # ties
    where = rng.random(n) < rng.uniform(0.1, 0.9)
    where[0] = True
    columns = np.array([0, 2, 3, 4])
    for half_width in (None, 0, 1, 3):
        summary = weighted.SortedColumns.of(x, where, columns, half_width=half_width)
        for r in range(15):
            w = counts(n, 100 * seed + r)
            w[0] += 1  # some row of ``where`` in the resample
            got = summary.medians(w, [4, 0, 2])
            want = weighted.median_columns(x[:, [4, 0, 2]], np.where(where, w, 0))
            assert got.dtype == want.dtype
            np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError):
        summary.medians(counts(n), [1])  # not summarised


def test_no_detection_offset_with_a_summary_is_the_offset_without(model):
    post, _, region, _, _, groups = model
    inactive = region != ONE
    summary = weighted.SortedColumns.of(post, inactive, np.flatnonzero(~groups.dead))
    for seed in range(3):
        w = counts(len(post), seed)
        np.testing.assert_array_equal(
            neurons.no_detection_offset(post, groups.one, inactive, w, summary),
            neurons.no_detection_offset(post, groups.one, inactive, w),
        )
    with pytest.raises(ValueError):
        neurons.no_detection_offset(post, groups.one, region != ANTI, counts(len(post)), summary)


def test_moments_give_the_typical_contributions_and_groups_of_the_array(model):
    """Converted once, the same numbers up to the order of their sums; a column 0 throughout has mean 0."""
    post, readout, region, _, _, groups = model
    post = post.astype(np.float32)
    post[:, 0] = 0.0
    moments = weighted.Moments.of(post)
    assert not moments.common[0]
    for seed in range(3):
        w = counts(len(post), seed)
        for typical in ("std", "mean"):
            same(
                neurons.typical_contribution(post, readout.direction, typical, w, moments),
                neurons.typical_contribution(post, readout.direction, typical, w),
            )
        same(moments.mean(w, region == ONE), weighted.mean(post, w, region == ONE))
        full = neurons.groups_by_firing(post, region)
        same(
            neurons.groups_by_firing(post, region, w, full=full, moments=moments),
            neurons.groups_by_firing(post, region, w, full=full),
        )


def test_a_fixed_dead_set_is_kept_and_the_rest_grouped_on_the_resample(model):
    """A resample that misses a rare neuron's active images leaves it among the living when the full sample's
    dead set is given; its group is then judged on the resample by the same rule."""
    post, _, region, _, _, _ = model
    rare = post.copy()
    rare[:, 0] = 0.0
    rare[np.flatnonzero(region == ONE)[0], 0] = 1.0  # neuron 0 fires on one 1-like image only: a "1" detector
    w = counts(len(rare), 0)
    w[np.flatnonzero(region == ONE)[0]] = 0  # ... which this resample misses
    full = neurons.groups_by_firing(rare, region)
    assert full.one[0]
    assert not full.dead[0] and neurons.dead_neurons(rare, w)[0]
    g = neurons.groups_by_firing(rare, region, w, full=full)
    np.testing.assert_array_equal(g.dead, full.dead)
    assert g.one[0] == full.one[0] and g.anti_one[0] == full.anti_one[0]  # silent on the resample: its group kept
    free = neurons.groups_by_firing(rare, region, w)
    assert free.dead[0]  # without the full sample's groups the resample would call it dead
    np.testing.assert_array_equal(g.one[1:], free.one[1:])  # the others are grouped as without them


@pytest.mark.parametrize("seed", [0, 1])
def test_a_band_scorer_with_counts_scores_every_band_as_the_repeated_rows(seed):
    from analysis.labelling import BandScorer

    rng = np.random.default_rng(seed)
    s = np.round(rng.normal(size=500), 1)  # ties, with both labels among tied rows
    labels = (s + rng.normal(size=500) > 0).astype(int)
    w = counts(500, seed)
    sr, lr = repeat(w, s, labels)
    weighted_, repeated = BandScorer.fit(s, labels, w, np.argsort(s, kind="stable")), BandScorer.fit(sr, lr)
    np.testing.assert_array_equal(weighted_.sorted_s, repeated.sorted_s)
    assert weighted_.n_ones == repeated.n_ones
    edges = np.unique(s)
    low, high = np.meshgrid(edges, edges, indexing="ij")
    np.testing.assert_array_equal(weighted_.agreement(low, high), repeated.agreement(low, high))
    assert weighted_.best_band() == repeated.best_band()


@pytest.mark.parametrize("rows", [1, 2, 255, 256, 257, 1000, 4097])
@pytest.mark.parametrize("columns", [1, 2, 7, 200])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_column_std_has_numpys_bits(rows, columns, dtype):
    """Block by block, the same additions as numpy's std along axis 0, so the same bits: post-ReLU-like data
    (many exact zeros, a wide range) and a few constant columns."""
    rng = np.random.default_rng(rows * 1000 + columns)
    x = np.maximum(rng.standard_normal((rows, columns)) * rng.lognormal(0, 2, columns), 0).astype(dtype)
    x[:, ::5] = 1.5
    expected = x.std(axis=0, dtype=np.float64)
    np.testing.assert_array_equal(weighted.column_std(x).view(np.int64), expected.view(np.int64))
    view = x[:, ::2]  # not contiguous: numpy's own std
    np.testing.assert_array_equal(weighted.column_std(view), view.std(axis=0, dtype=np.float64))
