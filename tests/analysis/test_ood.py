"""The generated-input families (analysis/ood.py) do what they say, on synthetic images; the rule and the switch
points behave on known inputs; and, on the real data, a network that ignores the template (the untrained one)
breaks families that the challenge network does not."""

from __future__ import annotations

from collections.abc import Callable

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
        _, images = sample(family, sources)
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
    s1, s2 = (
        similarity(sources[params["source"]], synthetic_template),
        similarity(sources[params["other"]], synthetic_template),
    )
    lam = params["lam"]
    np.testing.assert_allclose(similarity(images, synthetic_template), lam * s1 + (1 - lam) * s2, rtol=1e-12, atol=1e-8)


def test_inversion_and_constants_follow_the_template_sum(sources, synthetic_template):
    params, images = sample("invert", sources)
    s0 = similarity(sources[params["source"]], synthetic_template)
    np.testing.assert_allclose(
        similarity(images, synthetic_template), 255 * synthetic_template.sum() - s0, rtol=1e-12, atol=1e-8
    )
    params, images = sample("constant", sources)
    np.testing.assert_allclose(
        similarity(images, synthetic_template), params["c"] * synthetic_template.sum(), rtol=1e-12, atol=1e-8
    )


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


def test_the_wilson_interval_is_scipys():
    from scipy.stats import binomtest

    for k, n, conf in [(0, 10, 0.95), (7, 10, 0.95), (1223, 1224, 0.9875), (2000, 2000, 0.9875), (1, 1, 0.5)]:
        ci = binomtest(k, n).proportion_ci(confidence_level=conf, method="wilson")
        np.testing.assert_allclose(ood.wilson(k, n, conf), (ci.low, ci.high), rtol=1e-12, atol=1e-15)
    assert ood.wilson(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        ood.wilson(3, 2)


def test_the_verdict_rule():
    """Generalises when the lower bound reaches 99%, breaks when the upper bound is below it, else undetermined;
    the bar is reached with no disagreement only from a stated number of far inputs on."""
    assert ood.verdict_for(2000, 2000) == "generalises" and ood.verdict_for(1930, 2000) == "breaks"
    assert ood.verdict_for(1985, 2000) == "undetermined" and ood.verdict_for(0, 0) == "undetermined"
    n = ood.fewest_far_to_generalise()
    assert ood.verdict_for(n, n) == "generalises" and ood.verdict_for(n - 1, n - 1) == "undetermined"
    assert ood.LOOK_CONFIDENCE == pytest.approx(1 - 0.05 / ood.LOOKS)
    s = np.array([-30000.0, -17305.0 + 100, -12000.0, -7762.0 - 50, 0.0])
    assert ood.far_from_thresholds(s, 1000).tolist() == [True, False, True, False, True]


def _flipping_network(template: np.ndarray, every: int) -> Callable:
    """A planted network that labels by the band on s, except that it flips one input in ``every`` (chosen by a
    hash of the image, so the same image always gets the same answer)."""
    from analysis.labelling import band_labels

    def logit_diff(images: np.ndarray) -> np.ndarray:
        label = band_labels(similarity(images, template))
        flip = (np.floor(images.reshape(len(images), -1).sum(axis=1) * 7.31) % every) == 0
        return np.where(label ^ flip, 1.0, -1.0)

    return logit_diff


@pytest.mark.parametrize(("every", "expected"), [(10**9, "generalises"), (8, "breaks")])
def test_the_sequential_rule_stops_at_the_first_look_when_it_can(sources, synthetic_template, every, expected):
    scale = 12000.0 / np.abs(similarity(sources, synthetic_template)).mean()  # spread s over both thresholds
    net = _flipping_network(synthetic_template * scale, every)
    sample = ood.measure_sequentially("constant", net, sources, synthetic_template * scale, 500.0, quota=700)
    looks = sample.looks(700)
    assert len(looks) == 1 and looks[0]["n_far"] >= 700 and len(sample.s) == looks[0]["n"]
    assert sample.summary(700)["verdict"] == expected


def test_an_undetermined_family_draws_more_looks_and_stays_undetermined_at_the_cap(sources, synthetic_template):
    """A network wrong on ~1% of inputs straddles the bar: every look is undetermined, the cap is reached."""
    scale = 12000.0 / np.abs(similarity(sources, synthetic_template)).mean()
    net = _flipping_network(synthetic_template * scale, 100)
    sample = ood.measure_sequentially("constant", net, sources, synthetic_template * scale, 500.0, quota=300)
    summary = sample.summary(300)
    assert [look["verdict"] for look in summary["looks"]] == ["undetermined"] * ood.LOOKS
    assert summary["capped"] and summary["verdict"] == "undetermined"
    assert [look["n_far"] >= (k + 1) * 300 for k, look in enumerate(summary["looks"])] == [True] * ood.LOOKS


def test_the_yardstick_pools_the_splits():
    s = np.array([-30000.0, -12000.0, 0.0, -17305.0, -12000.0])
    net = np.array([1, 0, 1, 1, 1])  # the last disagrees; the fourth is not far
    yard = ood.in_distribution({"train": (s[:3], net[:3]), "test": (s[3:], net[3:])}, 1000.0)
    assert yard["train"] == {"n_far": 3, "agree": 3} and yard["test"] == {"n_far": 1, "agree": 0}
    assert yard["n_far"] == 4 and yard["far_agreement"] == 0.75 and yard["far_disagreement_rate"] == 0.25


def test_the_base_rate_marks_a_one_class_family_uninformative(sources, synthetic_template):
    """Inverted images far from the thresholds on one side only: a one-answer network would pass."""
    template = synthetic_template * (12000.0 / np.abs(similarity(sources, synthetic_template)).mean())
    sample = ood.measure("constant", _flipping_network(template, 10**9), sources, template, 500.0)
    summary = sample.summary(100)
    share = summary["far_function_class_1_share"]
    assert summary["constant_answer_far_agreement"] == max(share, 1 - share)
    assert summary["informative"] == (max(share, 1 - share) < ood.UNINFORMATIVE_AT)
    blind = ood.FamilySample("constant", sample.params, np.full(10, -40000.0), np.ones(10), 500.0).summary(5)
    assert blind["constant_answer_far_agreement"] == 1.0 and blind["informative"] is False


def test_the_weighted_stump_is_the_stump_of_the_resample():
    """One code path: a bootstrap resample is the same stump with multiplicities as weights."""
    rng = np.random.default_rng(11)
    for _ in range(30):
        n = int(rng.integers(2, 200))
        s, y = rng.normal(size=n), rng.random(n) < 0.5
        picks = rng.integers(0, n, n)
        t_w, a_w = ood._stump(s, y, np.bincount(picks, minlength=n))
        t_r, a_r = ood._stump(s[picks], y[picks])
        assert t_w[0] == pytest.approx(t_r[0], abs=1e-12) and a_w[0] == pytest.approx(a_r[0], abs=1e-12)


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


def test_the_search_finds_a_planted_disagreement_and_minimise_proves_the_smallest_shift(sources, synthetic_template):
    """A planted 'network' that says class 0 whenever the top row holds ink, on sources whose top row is empty
    (and whose s lies far above R, class 1): shifting up disagrees; the minimal counterexample is the smallest
    such shift, two pixels up and none sideways (two rows empty), and its proof holds."""
    from hypothesis import settings

    clean = sources.copy()
    clean[:, :2] = 0  # no ink in the top two rows
    clean[:, 2] = 200  # ink in the third
    assert np.all(similarity(clean, synthetic_template) > -5000)  # function: class 1, far from R = -7762

    def logit_diff(images):
        return np.where(images[:, 0, :].sum(axis=1) > 0, -5.0, 5.0)

    found = ood.search_counterexample(
        "shift",
        clean,
        synthetic_template,
        logit_diff,
        1000.0,
        settings(max_examples=100, derandomize=True, deadline=None, database=None),
    )
    assert found.worst is not None and found.worst.function_label == 1 and found.worst.logit_diff < 0
    oracle = ood.Oracle("shift", clean, synthetic_template, logit_diff, 1000.0)
    params, minimality = ood.minimise(oracle, found.worst.params)
    assert (params["dy"], params["dx"]) == (-2, 0)
    assert ood.prove_minimal(oracle, params, minimality)["proved"]
    assert not ood.prove_minimal(oracle, {**params, "dy": -3, "dx": 1}, minimality)["proved"]  # (-2, 0) is smaller


def _pixel_network(special: set[int], needed: int) -> Callable:
    """Class 0 (against a function that says 1 everywhere far) once at least ``needed`` of ``special`` are white."""
    idx = np.array(sorted(special))

    def logit_diff(images):
        return np.where((images.reshape(len(images), -1)[:, idx] == 255).sum(axis=1) >= needed, -5.0, 5.0)

    return logit_diff


def test_delta_debugging_leaves_a_one_minimal_salt_set_and_the_proof_checks_it(sources, synthetic_template):
    clean = np.zeros_like(sources)
    template = np.full((28, 28), 1.0)  # s = total ink: 0 for the clean image, far above R with salt
    special = {3, 50, 400, 777}
    oracle = ood.Oracle("salt", clean, template, _pixel_network(special, 2), 1000.0)
    pixels = [10, 3, 20, 30, 50, 60, 400, 70, 777]
    assert oracle.disagrees([{"source": 0, "pixels": pixels}])[0]
    params, minimality = ood.minimise(oracle, {"source": 0, "pixels": pixels})
    assert len(params["pixels"]) == 2 and set(params["pixels"]) <= special
    proof = ood.prove_minimal(oracle, params, minimality)
    assert proof["proved"] and proof["neighbours_checked"] == 2
    assert not ood.prove_minimal(oracle, {"source": 0, "pixels": [3, 50, 400]}, minimality)["proved"]


def test_the_smallest_patch_at_the_corner_is_minimal(sources, synthetic_template):
    clean = np.zeros_like(sources)
    template = np.full((28, 28), -0.1)  # a white patch of any size keeps s far above R: class 1

    def logit_diff(images):  # the network says class 0 once pixel (9, 9) is covered
        return np.where(images[:, 9, 9] == 255, -5.0, 5.0)

    oracle = ood.Oracle("occlude", clean, template, logit_diff, 1000.0)
    start = {"source": 0, "size": 12, "row": 3, "col": 4, "value": 255}
    assert oracle.disagrees([start])[0]
    params, minimality = ood.minimise(oracle, start)
    assert params["size"] == 7  # rows 3..9, cols 4..10 is the first patch at (3, 4) that covers (9, 9)
    assert ood.prove_minimal(oracle, params, minimality)["proved"]
    assert not ood.prove_minimal(oracle, start, minimality)["proved"]


def test_a_constant_counterexample_states_its_interval_of_c(sources):
    template = np.full((28, 28), -1.0 / 784)  # s = -c: far from L = -17305 and R = -7762 for every c in [0, 255]

    def logit_diff(images):  # the function says class 1 (s > R); the network says 0 for c in (100, 150.3)
        c = images[:, 0, 0]
        return np.where((c > 100) & (c < 150.3), -1.0, 1.0)

    oracle = ood.Oracle("constant", sources, template, logit_diff, 1000.0)
    params, minimality = ood.minimise(oracle, {"c": 120.0})
    lo, hi = minimality["interval"]
    step = minimality["edge_resolution"]
    assert 100 < lo <= 100 + step and 150.3 - step <= hi < 150.3
    assert minimality["outside"][0] <= 100 and minimality["outside"][1] >= 150.3
    assert ood.prove_minimal(oracle, params, minimality)["proved"]
    assert not ood.prove_minimal(oracle, params, {**minimality, "interval": [90.0, hi]})["proved"]


def test_a_stored_counterexample_is_proved_from_its_json(sources, synthetic_template):
    """The proof works on what claims.json stores: the parameters and minimality after a JSON round trip."""
    import json

    clean = np.zeros_like(sources)
    oracle = ood.Oracle("salt", clean, np.full((28, 28), 1.0), _pixel_network({5, 6}, 2), 1000.0)
    params, minimality = ood.minimise(oracle, {"source": 1, "pixels": [7, 5, 8, 6, 9]})
    stored = json.loads(json.dumps({"params": params, "minimality": minimality}))
    assert ood.prove_minimal(oracle, stored["params"], stored["minimality"])["proved"]


@pytest.mark.needs_data
def test_the_untrained_network_breaks_families_the_challenge_network_keeps(numpy_net, mnist, template, train):
    """A network that ignores the template must not pass: the rule can fail."""
    from model.counterfactuals import untrained_state
    from model.numpy_net import NumpyNet

    untrained = NumpyNet.from_state(untrained_state(0))
    margin = ood.MARGIN * float(train.s.max() - train.s.min())
    verdicts = {}
    for family in ood.FAMILIES:
        challenge = ood.measure(family, numpy_net.logit_diff, mnist.train_images, template, margin).summary(500)
        blind = ood.measure(family, untrained.logit_diff, mnist.train_images, template, margin).summary(500)
        verdicts[family] = (challenge["verdict"], blind["verdict"])
    broken_only_by_untrained = [f for f, (c, u) in verdicts.items() if c == "generalises" and u == "breaks"]
    assert broken_only_by_untrained, verdicts


def test_the_report_section_merges_orders_and_renders():
    from report import ood as rep

    section: dict = {}
    rep.merge(
        section,
        {
            "family": "salt",
            "n": 2000,
            "agreement": 0.8,
            "n_far": 10,
            "far_agreement": 0.9,
            "far_interval": [0.6, 0.98],
            "constant_answer_far_agreement": 0.6,
            "informative": True,
            "verdict": "breaks",
            "in_distribution_far_agreement": 0.99997,
            "disagreement_ratio_to_in_distribution": 3344.0,
            "counterexample": {
                "params": {"source": 3, "pixels": [1, 2]},
                "s": -11000.0,
                "function_label": 0,
                "logit_diff": 2.5,
                "minimality": {"kind": "1-minimal"},
                "proof": {"proved": True},
            },
            "worst": {"params": {"source": 4, "pixels": [5]}, "s": -11000.0, "function_label": 0, "logit_diff": 3.0},
        },
    )
    rep.merge(
        section,
        {
            "family": "scale",
            "n": 2000,
            "agreement": 0.95,
            "n_far": 1000,
            "far_agreement": 1.0,
            "informative": True,
            "verdict": "generalises",
            "counterexample": None,
            "worst": None,
        },
    )
    rep.merge(
        section,
        {
            "family": "invert",
            "n": 1000,
            "n_far": 1000,
            "far_agreement": 1.0,
            "informative": False,
            "constant_answer_far_agreement": 1.0,
            "verdict": "generalises",
            "counterexample": None,
        },
    )
    rep.merge(
        section,
        {
            "family": "constant",
            "n": 1000,
            "n_far": 1000,
            "far_agreement": 0.9,
            "informative": False,
            "constant_answer_far_agreement": 0.97,
            "verdict": "breaks",
            "counterexample": None,
        },
    )
    rep.merge(section, {"rule": {}, "figures": []})
    done = rep.finish(section, ood.FAMILIES)
    assert list(done["families"]) == ["scale", "invert", "salt", "constant"]  # the families' order
    assert done["summary"] == (
        "the explanation generalises to 1 of 2 informative input families (scale); breaks on "
        "salt, constant; uninformative (not counted): invert, constant"
    )
    md = rep.markdown(done)
    assert (
        "| salt | 2000 | 90.00% of 10 | [60.00, 98.00] | 0 | 99.997% | 3,344× | 60.0% | breaks "
        "| source 3, pixels: 2 (1, 2)"
    ) in md
    assert "| invert | 1000 | 100.00% of 1000 |" in md and "| uninformative |" in md
    view = rep.page_view(done)
    classes = {row["cells"][0]: row["verdict_class"] for row in view["rows"]}
    assert classes == {"scale": "holds", "invert": "neutral", "salt": "fails", "constant": "fails"}
    block = rep.readme_block(done)
    assert "**Evidence that the explanation generalises**: scale." in block and "invert (a one-answer" in block
    cols = rep.matrix_columns(
        done,
        {
            "replica": {
                "ood": {
                    "families": {
                        "salt": {"verdict": "generalises", "far_agreement": 0.97, "informative": True},
                        "invert": {"verdict": "generalises", "far_agreement": 1.0, "informative": False},
                    }
                }
            }
        },
    )
    assert cols["salt"]["original"]["verdict"] == "breaks" and cols["salt"]["replica"]["verdict"] == "generalises"
    text = rep.matrix_markdown(cols, ["original", "replica"])
    assert "generalises (97.0%)" in text and "uninformative (100.0%)" in text
