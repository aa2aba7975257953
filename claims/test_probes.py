"""Property probes of the labelling function (hypothesis): not claims of the write-up but questions a
careful reader asks of it. Each records what it found under ``"probes"`` in claims.json.

Evaluating a threshold pair is O(log N) on the cached ``s`` and model labels (:class:`BandScorer`: ``s``
sorted once, prefix counts of labels), so hundreds of examples take milliseconds.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, target
from hypothesis import strategies as st

from analysis.labelling import (
    CLUE_INDEX, L_THRESHOLD, R_THRESHOLD, BandScorer, similarity, similarity_to_templates,
)
from claims.probe_settings import probe_settings, profile_name
from report.claim import probe

pytestmark = pytest.mark.probe

NEIGHBOURHOOD = 0.05  # "within ±5% of the range of s around (L, R)"
BEAT_MARGIN = 0.001  # "beats the write-up's agreement by more than 0.1 pp"
SHIFT_RANGE = 0.02  # robustness curve: thresholds moved up to ±2% of the range of s
STEP = 0.001  # one step of the curve: 0.1% of the range of s
CLIFF = 0.005  # "no cliff": one step never changes agreement by more than 0.5 pp
PURE = 0.90  # purity read like the catalogue's "almost all": ≥ 90%
WINDOW = 0.05  # the least pure window of s searched for is 5% of the range wide
TEMPLATE_BATCH = 8
CLUE_BEATS = 0.90  # "the template for 1 seems to be the given hint": better than ≥ 90% of other "1"s


@pytest.fixture(scope="module")
def profile(pytestconfig) -> str:
    return profile_name(pytestconfig.getoption("probe_profile"))


@pytest.fixture(scope="module")
def hsettings(profile, prepared):
    """``hsettings(n)``: the profile's settings for a probe that draws ``n`` examples in the dev profile."""
    return lambda n: probe_settings(profile, n, prepared.inputs.cache_dir)


@pytest.fixture(scope="module")
def scorer(train) -> BandScorer:
    return BandScorer.fit(train.s, train.labels)


@pytest.fixture(scope="module")
def s_range(train) -> float:
    return float(train.s.max() - train.s.min())


def _agreement(scorer: BandScorer, low: float, high: float) -> float:
    return float(scorer.agreement(low, high))


@probe(
    "local-optimum",
    question="Is the write-up's band (-17305, -7762) a local optimum, or do nearby thresholds agree better with "
    "the model?",
    accept="no threshold pair within ±5% of the range of s around (L, R) beats the agreement at (L, R) by more "
    "than 0.1 pp — searched by hypothesis (targeting agreement) and on a 201 × 201 grid",
)
def test_no_nearby_band_beats_the_write_ups(verdict, scorer, s_range, hsettings, profile):
    base = _agreement(scorer, L_THRESHOLD, R_THRESHOLD)
    reach = NEIGHBOURHOOD * s_range
    best = {"agreement": base, "low": L_THRESHOLD, "high": R_THRESHOLD}

    @hsettings(60)
    @given(st.floats(-1, 1), st.floats(-1, 1))
    def search(dl: float, dr: float) -> None:
        low, high = L_THRESHOLD + dl * reach, R_THRESHOLD + dr * reach
        a = _agreement(scorer, low, high)
        target(a, label="agreement")
        if a > best["agreement"]:
            best.update(agreement=a, low=low, high=high)

    search()
    offsets = np.linspace(-reach, reach, 201)
    lows, highs = np.meshgrid(L_THRESHOLD + offsets, R_THRESHOLD + offsets, indexing="ij")
    grid = scorer.agreement(lows.ravel(), highs.ravel())
    k = int(np.argmax(grid))
    grid_best = {"agreement": float(grid[k]), "low": float(lows.ravel()[k]), "high": float(highs.ravel()[k])}
    gain = max(best["agreement"], grid_best["agreement"]) - base
    verdict.measured(write_up=base, hypothesis_best=best, grid_best=grid_best, gain_pp=100 * gain, profile=profile,
                     window=[L_THRESHOLD - reach, R_THRESHOLD + reach])
    verdict.conclude(
        gain <= BEAT_MARGIN,
        summary=f"best nearby band ({grid_best['low']:.0f}, {grid_best['high']:.0f}) agrees {grid_best['agreement']:.2%} "
        f"vs {base:.2%} at (L, R): +{100 * gain:.2f} pp",
    )


@probe(
    "robustness",
    question="How fragile is the agreement to the exact thresholds: is there a cliff near (L, R)?",
    accept="moving L, R or both by up to ±2% of the range of s, one step of 0.1% of the range never changes the "
    "agreement by more than 0.5 pp (curves on every step; hypothesis searches arbitrary shifts for the largest jump)",
)
def test_agreement_has_no_cliff_near_the_thresholds(verdict, scorer, s_range, hsettings, profile):
    step, reach = STEP * s_range, SHIFT_RANGE * s_range
    shifts = np.arange(-round(SHIFT_RANGE / STEP), round(SHIFT_RANGE / STEP) + 1) * step
    curves = {
        "both": scorer.agreement(L_THRESHOLD + shifts, R_THRESHOLD + shifts),
        "low_only": scorer.agreement(L_THRESHOLD + shifts, np.full_like(shifts, R_THRESHOLD)),
        "high_only": scorer.agreement(np.full_like(shifts, L_THRESHOLD), R_THRESHOLD + shifts),
    }
    curve_jump = max(float(np.max(np.abs(np.diff(c)))) for c in curves.values())
    worst = {"jump": 0.0}

    @hsettings(80)
    @given(st.floats(-1, 1), st.floats(-1, 1), st.floats(-1, 1), st.floats(-1, 1))
    def search(dl: float, dr: float, el: float, er: float) -> None:
        low, high = L_THRESHOLD + dl * reach, R_THRESHOLD + dr * reach
        jump = abs(_agreement(scorer, low + el * step, high + er * step) - _agreement(scorer, low, high))
        target(jump, label="jump")
        if jump > worst["jump"]:
            worst.update(jump=jump, low=low, high=high, step=[el * step, er * step])

    search()
    largest = max(curve_jump, worst["jump"])
    verdict.measured(
        shifts_fraction_of_range=(shifts / s_range).tolist(),
        curves={k: v.tolist() for k, v in curves.items()},
        largest_step_change_pp=100 * largest,
        hypothesis_worst=worst,
        bound_pp=100 * CLIFF,
        profile=profile,
    )
    verdict.conclude(
        largest <= CLIFF,
        summary=f"largest change per 0.1%-of-range step: {100 * largest:.2f} pp; agreement over ±2%: "
        f"{min(float(c.min()) for c in curves.values()):.2%}–{max(float(c.max()) for c in curves.values()):.2%}",
    )


@probe(
    "band-purity",
    question="Inside the band does the model say class 0, and outside class 1 — on both sides, everywhere?",
    accept="≥ 90% of images inside the band are class 0 to the model and ≥ 90% outside are class 1; the least pure "
    "window of s (5% of its range wide), found by a targeted search, is reported",
)
def test_the_band_is_pure_on_both_sides(verdict, train, scorer, s_range, hsettings, profile):
    inside = (train.s > L_THRESHOLD) & (train.s < R_THRESHOLD)
    purity = {
        "inside_class_0": float(np.mean(train.labels[inside] == 0)),
        "outside_class_1": float(np.mean(train.labels[~inside] == 1)),
        "below_band_class_1": float(np.mean(train.labels[train.s <= L_THRESHOLD] == 1)),
        "above_band_class_1": float(np.mean(train.labels[train.s >= R_THRESHOLD] == 1)),
    }
    width = WINDOW * s_range
    lo_s, hi_s = float(train.s.min()), float(train.s.max())
    worst = {"impurity": 0.0}

    def impurity(a: float, b: float, expect_zero: bool) -> tuple[float, int]:
        i = np.searchsorted(scorer.sorted_s, a, side="left")
        j = np.searchsorted(scorer.sorted_s, b, side="right")
        n = int(j - i)
        zeros = int(scorer.zeros_before[j] - scorer.zeros_before[i])
        wrong = n - zeros if expect_zero else zeros
        return (wrong / n if n else 0.0), n

    @hsettings(60)
    @given(st.floats(0, 1), st.sampled_from(["inside", "below", "above"]))
    def search(u: float, where: str) -> None:
        span = {"inside": (L_THRESHOLD, R_THRESHOLD), "below": (lo_s, L_THRESHOLD), "above": (R_THRESHOLD, hi_s)}[where]
        a = span[0] + u * max(span[1] - span[0] - width, 0.0)
        b = min(a + width, span[1])
        bad, n = impurity(a, b, expect_zero=where == "inside")
        assume(n >= 50)  # windows with a handful of images say nothing
        target(bad, label="impurity")
        if bad > worst["impurity"]:
            worst.update(impurity=bad, window=[a, b], where=where, images=n)

    search()
    verdict.measured(**purity, least_pure_window=worst, profile=profile)
    verdict.conclude(
        purity["inside_class_0"] >= PURE and purity["outside_class_1"] >= PURE,
        summary=f"inside {purity['inside_class_0']:.1%} class 0, outside {purity['outside_class_1']:.1%} class 1; "
        f"least pure window {worst['impurity']:.0%} wrong ({worst.get('where', '-')})",
    )


@probe(
    "template-specificity",
    question="Is the clue image special, or would any training \"1\" as template (thresholds re-fitted) explain "
    "the labels as well?",
    accept="with thresholds re-fitted for every template the same way, the clue's agreement is higher than that "
    "of ≥ 90% of the other training \"1\"s hypothesis draws",
)
def test_the_clue_beats_other_ones_as_template(verdict, mnist, train, hsettings, profile):
    ones = np.flatnonzero(mnist.train_labels == 1)
    ones = ones[ones != CLUE_INDEX]

    def refit(indices: np.ndarray) -> np.ndarray:
        s_all = similarity_to_templates(mnist.train_images, mnist.train_images[indices])
        return np.array([BandScorer.fit(s_all[:, k], train.labels).best_band()[2] for k in range(len(indices))])

    clue = float(refit(np.array([CLUE_INDEX]))[0])
    others: dict[int, float] = {}

    @hsettings(2)
    @given(st.lists(st.sampled_from(ones.tolist()), min_size=TEMPLATE_BATCH, max_size=TEMPLATE_BATCH, unique=True))
    def draw(batch: list[int]) -> None:
        fresh = [i for i in batch if i not in others]
        if fresh:
            others.update(zip(fresh, refit(np.array(fresh)).tolist()))
        target(max(others[i] for i in batch), label="best other template")

    draw()
    values = np.array(list(others.values()))
    beaten = float(np.mean(values < clue))
    verdict.measured(
        clue_agreement=clue,
        others_drawn=len(values),
        others_agreement={str(k): v for k, v in sorted(others.items())},
        others_median=float(np.median(values)),
        others_max=float(values.max()),
        fraction_beaten_by_clue=beaten,
        profile=profile,
    )
    verdict.conclude(
        beaten >= CLUE_BEATS,
        summary=f"clue {clue:.2%} (re-fitted) beats {beaten:.0%} of {len(values)} other \"1\"s "
        f"(median {np.median(values):.2%}, best {values.max():.2%})",
    )


def images_from(seed: int, density: float) -> np.ndarray:
    """Three 28×28 uint8 images: hypothesis picks the seed and how many pixels are lit (density 0 = blank, 1 = all
    random), so blank, sparse, dense and saturated images all occur. (Drawing 2,352 pixels one by one through
    hypothesis would cost ~10 ms an example.)"""
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 256, (3, 28, 28), dtype=np.uint8)
    return np.where(rng.random((3, 28, 28)) < density, values, 0).astype(np.uint8)


pixels = st.builds(images_from, st.integers(0, 2**32 - 1), st.sampled_from([0.0, 0.05, 0.3, 1.0]))


@probe(
    "algebra",
    question="Does the similarity behave as its formula says: linear, complement rule, dtype-blind, strict about its "
    "input?",
    accept="on generated images: s(x + y) = s(x) + s(y); s(255 − x) = 255·Σ(clue − anti-clue) − s(x); equal values "
    "in uint8/int64/float32/float64 give identical s; wrong shape, dtype, range or NaN raise a clear ValueError",
    depends_on="data",
)
def test_similarity_is_linear_and_strict(verdict, template, hsettings, profile):
    worst = {"linearity": 0.0, "complement": 0.0}
    total = 255.0 * float(template.sum())

    @hsettings(40)
    @given(pixels, pixels)
    def algebra(x: np.ndarray, y: np.ndarray) -> None:
        y = np.minimum(y, 255 - x)  # keep x + y inside 0..255
        sx, sy, sxy = similarity(x, template), similarity(y, template), similarity(x + y, template)
        worst["linearity"] = max(worst["linearity"], float(np.max(np.abs(sxy - (sx + sy)))))
        worst["complement"] = max(worst["complement"], float(np.max(np.abs(similarity(255 - x, template) - (total - sx)))))
        for dtype in (np.int64, np.float32, np.float64):
            assert np.array_equal(similarity(x.astype(dtype), template), sx), dtype

    bad_inputs = {
        "wrong shape": np.zeros((2, 27, 28), np.uint8),
        "bool dtype": np.zeros((2, 28, 28), bool),
        "complex dtype": np.zeros((2, 28, 28), complex),
        "negative pixel": np.full((2, 28, 28), -1, np.int64),
        "pixel above 255": np.full((2, 28, 28), 256.0),
        "NaN pixel": np.full((2, 28, 28), np.nan),
    }
    rejected = {}
    for name, value in bad_inputs.items():
        try:
            similarity(value, template)
            rejected[name] = "accepted"
        except ValueError as exc:
            rejected[name] = str(exc)
    try:
        algebra()
        dtype_blind = True
    except AssertionError:
        dtype_blind = False
    tolerance = 1e-6 * total  # float64 rounding of sums of 784 products
    ok = (worst["linearity"] <= abs(tolerance) and worst["complement"] <= abs(tolerance) and dtype_blind
          and all(v != "accepted" for v in rejected.values()))
    verdict.measured(max_linearity_error=worst["linearity"], max_complement_error=worst["complement"],
                     dtype_blind=dtype_blind, invalid_inputs=rejected, profile=profile)
    verdict.conclude(
        ok,
        summary=f"linearity error {worst['linearity']:.1e}, complement error {worst['complement']:.1e}, dtype-blind "
        f"{dtype_blind}, {sum(v != 'accepted' for v in rejected.values())}/{len(rejected)} bad inputs rejected",
    )
