"""Known answers for the hint's bound and the similarity metrics of analysis/labelling.py (the labelling
function itself is tested in test_known_answers.py and test_analysis.py)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import labelling


def test_a_printed_accuracy_stands_for_the_counts_that_round_to_it():
    # 95.58% of 10,000: [9557.5, 9558.5) holds one count; 95.6%: [9555, 9565) holds 9555..9564
    assert labelling.hinted_counts(0.9558, 2, 10_000) == (9558, 9558)
    assert labelling.hinted_counts(0.956, 1, 10_000) == (9555, 9564)
    assert labelling.hinted_counts(0.5, 0, 10) == (5, 5)  # 50%: [4.95, 5.05) of 10 images


def test_the_bound_is_the_distance_to_the_hinted_counts():
    assert labelling.disagreement_bound(9592, (9558, 9558)) == 34
    assert labelling.disagreement_bound(9520, (9558, 9558)) == 38
    assert labelling.disagreement_bound(9558, (9558, 9558)) == 0
    assert labelling.disagreement_bound(9550, (9555, 9564)) == 5
    assert labelling.disagreement_bound(9560, (9555, 9564)) == 0
    assert labelling.disagreement_bound(9570, (9555, 9564)) == 6


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(st.lists(st.tuples(st.integers(0, 1), st.integers(0, 1), st.integers(0, 1)), min_size=1, max_size=40))
def test_the_bound_never_exceeds_the_images_where_the_labellings_differ(rows):
    model, recovered, secret = (np.array(c) for c in zip(*rows))
    agreeing, correct = int(np.sum(model == recovered)), int(np.sum(model == secret))
    assert labelling.disagreement_bound(agreeing, (correct, correct)) <= int(np.sum(recovered != secret))


# A clue with one lit pixel: t = clue − anti-clue is +1 there and −1 on the other 783 pixels.
CLUE = np.zeros((28, 28))
CLUE[0, 0] = 1.0
DOT = np.zeros((28, 28), np.uint8)
DOT[0, 0] = 255


def test_the_metrics_of_an_image_that_matches_the_clue():
    m = labelling.similarity_metrics(np.stack([DOT, 255 - DOT, np.zeros((28, 28), np.uint8)]), CLUE)
    # the dot: t·x = 255, clue·x = 255, |x| = 255 and |t| = 28: cosine 1/28; x is e0 and t = 2·e0 − 1: Pearson +1
    assert m["dot_clue_minus_anticlue"][0] == pytest.approx(255)
    assert m["dot_clue"][0] == pytest.approx(255)
    assert m["cosine_clue_minus_anticlue"][0] == pytest.approx(1 / 28)
    assert m["pearson_clue_minus_anticlue"][0] == pytest.approx(1.0)
    # its inverse lights the 783 other pixels: t·x = −783·255, clue·x = 0, cosine −783 / (√783 · 28), Pearson −1
    assert m["dot_clue_minus_anticlue"][1] == pytest.approx(-783 * 255)
    assert m["dot_clue"][1] == pytest.approx(0)
    assert m["cosine_clue_minus_anticlue"][1] == pytest.approx(-np.sqrt(783) / 28)
    assert m["pearson_clue_minus_anticlue"][1] == pytest.approx(-1.0)
    # a blank image: every metric 0 (no direction to compare)
    assert [m[k][2] for k in labelling.METRICS] == [0.0, 0.0, 0.0, 0.0]


def test_the_write_ups_metric_is_the_session_similarity():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5, 28, 28)).astype(np.uint8)
    clue = rng.random((28, 28))
    m = labelling.similarity_metrics(images, clue)
    assert m["dot_clue_minus_anticlue"] == pytest.approx(
        labelling.similarity(images, labelling.corrected_template(clue))
    )
    x = images.reshape(5, -1).astype(float)
    t = (2 * clue - 1).ravel()
    assert m["pearson_clue_minus_anticlue"] == pytest.approx([np.corrcoef(row, t)[0, 1] for row in x])


def test_template_similarities_are_the_exact_integer_sums_divided_once():
    """float32 blocks of 196 pixels hold every partial sum exactly, even at the extremes (pixels 0 and 255)."""
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, (300, 28, 28)).astype(np.uint8)
    images[0], images[1:3] = 0, 255  # blank, and saturated: the largest sums against the templates below
    templates = np.stack([np.zeros((28, 28), np.uint8), np.full((28, 28), 255, np.uint8), images[7]])
    exact = images.reshape(300, 784).astype(np.int64) @ (2 * templates.reshape(3, 784).astype(np.int64) - 255).T
    got = labelling.similarity_to_templates(images, templates)
    assert got.shape == (3, 300)
    np.testing.assert_array_equal(got, exact.T / 255.0)
    assert np.abs(exact).max() == 784 * 255 * 255


def test_template_similarities_refuse_fractional_pixels():
    with pytest.raises(ValueError, match="integer pixels"):
        labelling.similarity_to_templates(np.full((2, 28, 28), 0.5), np.zeros((1, 28, 28), np.uint8))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-(2**26), 2**26), min_size=0, max_size=300), st.integers(1, 4))
def test_integer_order_is_the_stable_argsort(values, spread):
    v = np.asarray(values, dtype=np.float64) // spread * spread  # coarser values: more ties
    np.testing.assert_array_equal(labelling.integer_order(v), np.argsort(v, kind="stable"))


def test_integer_order_refuses_fractions():
    with pytest.raises(ValueError, match="integer values"):
        labelling.integer_order(np.array([0.5, 1.0]))
