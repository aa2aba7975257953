"""The generated-input families (analysis/ood.py) do what they say, on synthetic images; the rule and the switch
points behave on known inputs; and, on the real data, a network that ignores the template (the untrained one)
breaks families that the challenge network does not."""

from __future__ import annotations

import numpy as np
import pytest

from analysis import ood
from analysis.labelling import similarity


@pytest.fixture(scope="module")
def sources() -> np.ndarray:
    rng = np.random.default_rng(0)
    ink = rng.random((50, 28, 28)) < 0.2
    return np.where(ink, rng.integers(1, 256, (50, 28, 28)), 0).astype(np.uint8)


@pytest.fixture(scope="module")
def synthetic_template() -> np.ndarray:
    clue = np.random.default_rng(1).random((28, 28))
    return 2 * clue - 1


def sample(family: str, sources: np.ndarray, n: int = 200) -> tuple[dict, np.ndarray]:
    params = ood.sample_params(family, n, len(sources), seed=7)
    return params, ood.generate(family, params, sources)


def test_every_family_stays_in_pixel_range_and_is_deterministic(sources):
    for family in ood.FAMILIES:
        params, images = sample(family, sources)
        assert images.shape == (200, 28, 28) and images.dtype == np.float64
        assert images.min() >= 0 and images.max() <= 255, family
        again = ood.generate(family, ood.sample_params(family, 200, len(sources), seed=7), sources)
        assert np.array_equal(images, again), family


def test_scaling_scales_s(sources, synthetic_template):
    params, images = sample("scale", sources)
    s0 = similarity(sources[params["source"]], synthetic_template)
    np.testing.assert_allclose(similarity(images, synthetic_template), params["alpha"] * s0, rtol=1e-12, atol=1e-9)


def test_blending_blends_s(sources, synthetic_template):
    params, images = sample("blend", sources)
    s1, s2 = similarity(sources[params["source"]], synthetic_template), similarity(sources[params["other"]], synthetic_template)
    lam = params["lam"]
    np.testing.assert_allclose(similarity(images, synthetic_template), lam * s1 + (1 - lam) * s2, rtol=1e-12, atol=1e-8)


def test_inversion_and_constants_follow_the_template_sum(sources, synthetic_template):
    params, images = sample("invert", sources)
    s0 = similarity(sources[params["source"]], synthetic_template)
    np.testing.assert_allclose(similarity(images, synthetic_template), 255 * synthetic_template.sum() - s0, rtol=1e-12, atol=1e-8)
    params, images = sample("constant", sources)
    np.testing.assert_allclose(similarity(images, synthetic_template), params["c"] * synthetic_template.sum(), rtol=1e-12, atol=1e-8)


def test_shifts_move_the_ink_by_one_to_three_pixels(sources):
    params, images = sample("shift", sources)
    dy, dx = params["dy"], params["dx"]
    assert np.all(np.maximum(np.abs(dy), np.abs(dx)) >= 1) and np.all(np.abs(dy) <= 3) and np.all(np.abs(dx) <= 3)
    for k in range(len(images)):
        a, b = int(dy[k]), int(dx[k])
        x = sources[params["source"][k]].astype(float)
        moved = images[k][max(a, 0) : 28 + min(a, 0), max(b, 0) : 28 + min(b, 0)]
        assert np.array_equal(moved, x[max(-a, 0) : 28 + min(-a, 0), max(-b, 0) : 28 + min(-b, 0)])
        assert images[k].sum() <= x.sum()  # ink only leaves, through the border


def test_salt_sets_exactly_the_listed_pixels(sources):
    params, images = sample("salt", sources)
    for k in range(len(images)):
        listed = [p for p in params["pixels"][k] if p >= 0]
        assert 1 <= len(listed) <= ood.MAX_SALT
        x = sources[params["source"][k]].astype(float).ravel()
        flat = images[k].ravel()
        assert np.all(flat[listed] == 255)
        rest = np.setdiff1d(np.arange(784), listed)
        assert np.array_equal(flat[rest], x[rest])


def test_occlusion_paints_one_square_patch(sources):
    params, images = sample("occlude", sources)
    for k in range(len(images)):
        r, c, size, v = (int(params[n][k]) for n in ("row", "col", "size", "value"))
        assert ood.PATCH[0] <= size <= ood.PATCH[1] and r + size <= 28 and c + size <= 28
        assert np.all(images[k][r : r + size, c : c + size] == v)
        mask = np.ones((28, 28), bool)
        mask[r : r + size, c : c + size] = False
        assert np.array_equal(images[k][mask], sources[params["source"][k]].astype(float)[mask])


def test_a_recorded_counterexample_regenerates_exactly(sources):
    for family in ood.FAMILIES:
        params, images = sample(family, sources, n=20)
        for k in (0, 7, 19):
            stored = ood.params_of(params, k)
            assert np.array_equal(ood.generate(family, ood.one(stored), sources)[0], images[k]), family


def test_the_verdict_rule():
    assert ood.verdict_for(0.95) == "generalises" and ood.verdict_for(0.9499) == "breaks"
    assert ood.verdict_for(None) == "undetermined"
    s = np.array([-30000.0, -17305.0 + 100, -12000.0, -7762.0 - 50, 0.0])
    assert ood.far_from_thresholds(s, 1000).tolist() == [True, False, True, False, True]


def test_switch_points_find_a_known_switch():
    rng = np.random.default_rng(3)
    s = rng.uniform(-30000, 5000, 3000)
    labels = np.where((s > -16000) & (s < -9000), 0, 1)
    left, right = ood.switch_point(s, labels, "L"), ood.switch_point(s, labels, "R")
    # separable labels: the switch lies between the neighbouring samples, and so does its interval
    assert abs(left.at + 16000) < 100 and -16100 < left.low <= left.high < -15900 and left.agreement == 1.0
    assert abs(right.at + 9000) < 100 and -9100 < right.low <= right.high < -8900
    assert left.to_json()["write_up_inside_interval"] is False  # L = -17305 is far from the switch at -16000
    none = ood.switch_point(s, np.ones_like(labels), "L")
    assert none.at is None and none.to_json()["interval_95"] is None


def test_the_search_finds_and_shrinks_a_planted_disagreement(sources, synthetic_template):
    """A planted 'network' that says class 0 whenever the top row holds ink, on sources whose top row is empty
    (and whose s lies far above R, class 1): shifting up disagrees, and shrinking must reach the smallest such
    shift, one pixel up and none sideways (two rows empty: two pixels up)."""
    from hypothesis import settings

    clean = sources.copy()
    clean[:, :2] = 0  # no ink in the top two rows
    assert np.all(similarity(clean, synthetic_template) > -5000)  # function: class 1, far from R = -7762

    def logit_diff(images):
        return np.where(images[:, 0, :].sum(axis=1) > 0, -5.0, 5.0)

    found = ood.search_counterexample("shift", clean, synthetic_template, logit_diff, 1000.0,
                                      settings(max_examples=100, derandomize=True, deadline=None, database=None))
    assert found.minimal is not None and found.worst is not None
    assert found.minimal.function_label == 1 and found.minimal.logit_diff < 0
    assert (found.minimal.params["dy"], found.minimal.params["dx"]) == (-2, 0)


@pytest.mark.needs_data
def test_the_untrained_network_breaks_families_the_challenge_network_keeps(numpy_net, mnist, template, train):
    """A network that ignores the template must not pass: the rule can fail."""
    from model.counterfactuals import untrained_state
    from model.numpy_net import NumpyNet

    untrained = NumpyNet.from_state(untrained_state(0))
    margin = ood.MARGIN * float(train.s.max() - train.s.min())
    verdicts = {}
    for family in ood.FAMILIES:
        challenge = ood.measure(family, numpy_net.logit_diff, mnist.train_images, template, margin).summary()
        blind = ood.measure(family, untrained.logit_diff, mnist.train_images, template, margin).summary()
        verdicts[family] = (challenge["verdict"], blind["verdict"])
    broken_only_by_untrained = [f for f, (c, u) in verdicts.items() if c == "generalises" and u == "breaks"]
    assert broken_only_by_untrained, verdicts


def test_the_report_section_merges_orders_and_renders():
    from report import ood as rep

    section: dict = {}
    rep.merge(section, {"family": "salt", "n": 2000, "agreement": 0.8, "n_far": 10, "far_agreement": 0.9,
                        "constant_answer_far_agreement": 0.6, "verdict": "breaks",
                        "counterexample": {"params": {"source": 3, "pixels": [1, 2]}, "s": -11000.0, "function_label": 0,
                                           "logit_diff": 2.5},
                        "worst": {"params": {"source": 4, "pixels": [5]}, "s": -11000.0, "function_label": 0,
                                  "logit_diff": 3.0}})
    rep.merge(section, {"family": "scale", "n": 2000, "agreement": 0.95, "n_far": 10, "far_agreement": 1.0,
                        "verdict": "generalises", "counterexample": None, "worst": None})
    rep.merge(section, {"rule": {"sample_per_family": 2000, "margin_fraction_of_range": 0.05, "margin_s": 3056.0,
                                 "generalises_at": 0.95}, "figures": []})
    done = rep.finish(section)
    assert list(done["families"]) == ["scale", "salt"]  # the families' order, not the tests' order
    assert done["summary"] == "the explanation generalises to 1 of 2 input families (scale); breaks on salt"
    md = rep.markdown(done)
    assert "| salt | 2000 | 80.0% | 90.0% of 10 | 60.0% | breaks | source 3, pixels: 2 (1, 2)" in md
    view = rep.page_view(done)
    assert any(row["cells"][row["verdict_column"]] == "breaks" and row["verdict_class"] == "fails" for row in view["rows"])
    cols = rep.matrix_columns(done, {"replica": {"ood": {"families": {"salt": {"verdict": "generalises",
                                                                                "far_agreement": 0.97}}}}})
    assert cols["salt"]["original"]["verdict"] == "breaks" and cols["salt"]["replica"]["verdict"] == "generalises"
    assert "generalises (97.0%)" in rep.matrix_markdown(cols, ["original", "replica"])
