"""The recovered labelling function: similarity to the clue "1" template, class 0 inside a band.

Write-up: "The labeling function -17305 < (image * (clue_image - 0.5)).sum() < -7762 (in words: dot product
to [clue_image minus grey image]) recovers model performance with 96.2% accuracy (fraction of points
classified identically to real model)."
"""

from __future__ import annotations

import numpy as np
import pytest

from analysis import labelling
from analysis.labelling import L_THRESHOLD, R_THRESHOLD, band_labels, similarity
from analysis.robustness import Bound, Choice, Judgement, Sample, declare
from claims.tolerance import within
from report.claim import claim

CLAIMED_AGREEMENT = 0.962  # "recovers model performance with 96.2% accuracy"
AGREEMENT_TOLERANCE = 0.001  # the write-up prints one decimal of a percentage: ±0.1 pp
CHALLENGE_TEST_ACCURACY = 0.9558  # the challenge's hint, the write-up's "95.6%"


ROUNDED_TOLERANCE = 0.0005  # "96.2%" read as a rounded value: [96.15%, 96.25%]
TOLERANCE = {
    AGREEMENT_TOLERANCE: 'CLAIMS.md: "96.2%" has one decimal, so within ±0.1 pp',
    ROUNDED_TOLERANCE: '"96.2%" read as a value rounded to one decimal: [96.15%, 96.25%]',
}
TOLERANCE_WHY = 'how exactly "96.2%" is stated'


def split_sample(*splits, heldout=None, **fixed) -> Sample:
    """The per-image arrays a labelling claim is computed on: for each split, ``s`` and the model's labels;
    ``heldout``: a split judged in the training images' place (the thresholds are the write-up's, fixed)."""
    tables = {name: {"s": sp.s, "labels": sp.labels} for name, sp in zip(("train", "test"), splits)}
    return Sample(tables, fixed, heldout=None if heldout is None else split_sample(heldout, **fixed))


def band_agreement(d: Sample, tables: tuple[str, ...], low: float = L_THRESHOLD, high: float = R_THRESHOLD) -> float:
    """Agreement of the band with the model over the images of ``tables`` (a resample's multiplicities counted)."""
    hits = {t: band_labels(d.table(t)["s"], low, high) == d.table(t)["labels"] for t in tables}
    return sum(d.count(t, h) for t, h in hits.items()) / sum(d.count(t, np.ones_like(h)) for t, h in hits.items())


@declare(
    "labeling-function",
    Choice.values("tolerance", AGREEMENT_TOLERANCE, TOLERANCE, why=TOLERANCE_WHY),
    Choice.among(
        "images",
        "train",
        {
            "train": "CLAIMS.md: the training set (the notebook's data)",
            "train+test": '"fraction of points" names no split: all 70,000 images',
        },
        why='which images "fraction of points" counts',
    ),
    resampled="the 60,000 training images",
)
def recovered_function_agreement(d: Sample, tolerance: float, images: str) -> Judgement:
    tables = ("train",) if images == "train" else ("train", "test")
    measured = band_agreement(d, tables)
    bound = Bound.within(CLAIMED_AGREEMENT, tolerance, images=sum(d.size(t) for t in tables))
    return Judgement(
        within(measured, CLAIMED_AGREEMENT, tolerance),
        {"agreement": measured},
        bounds={"agreement": bound},
        measured={
            "agreement": measured,
            "thresholds": [L_THRESHOLD, R_THRESHOLD],
            "images": sum(d.size(t) for t in tables),
        },
    )


@pytest.fixture(scope="module")
def labelling_figure(figure_store, train, pca_coords) -> str:
    return figure_store.render(
        "labelling", "labelling", train.s, train.labels, L_THRESHOLD, R_THRESHOLD, pca_coords[:, 0]
    )


@claim(
    "labeling-function",
    quote="The labeling function -17305 < (image * (clue_image - 0.5)).sum() < -7762 … recovers model "
    "performance with 96.2% accuracy (fraction of points classified identically to real model).",
    claimed={"agreement": CLAIMED_AGREEMENT},
    accept="agreement of the recovered function with the model's labels on the 60,000 training images "
    "within ±0.1 pp of 96.2%",
    family="labelling",
)
def test_recovered_function_agrees_with_the_model(verdict, train, test_split, labelling_figure):
    """Class 0 iff L < s < R, with s the similarity to clue − anti-clue (CLAIMS.md's reading; the literal
    formula is checked by ``formula-as-written``), against argmax of the network's logits."""
    judged = verdict.judge(recovered_function_agreement, split_sample(train, test_split, heldout=test_split))
    measured = judged.headline["agreement"]
    verdict.measured(**judged.measured)
    verdict.figure(labelling_figure)
    verdict.conclude(judged.holds, summary=f"agreement {measured:.2%}")


CLAIMED_SPLIT = {"one_like": 17000, "anti_one_like": 14000, "middle": 29000}


@declare(
    "class-split",
    Choice.values(
        "tolerance",
        500,
        {
            500: 'CLAIMS.md: "~17k" rounds to the nearest thousand, so ±500',
            1000: '"~" read as "about", looser than rounding: ±1000',
        },
        why='how far "~17k" reaches',
    ),
    resampled="the 60,000 training images",
    no_heldout="~17k / ~14k / ~29k are counts of the 60,000 training images: the 10,000 test images have no "
    "claimed counts",
)
def three_regions(d: Sample, tolerance: int) -> Judgement:
    r = labelling.regions(d.table("train")["s"])
    sizes = {
        labelling.REGION_NAMES[k]: d.count("train", r == k) for k in (labelling.ANTI, labelling.MIDDLE, labelling.ONE)
    }
    return Judgement(
        all(within(sizes[k], v, tolerance) for k, v in CLAIMED_SPLIT.items()),
        sizes,
        bounds={k: Bound.within(v, tolerance) for k, v in CLAIMED_SPLIT.items()},
        measured=sizes,
    )


@claim(
    "class-split",
    quote="the ~17k most similar images to “1” and ~14k most similar images to “anti 1” are labelled class 1, "
    "the remaining ~29k images are labelled class 0",
    claimed=CLAIMED_SPLIT,
    accept='each region\'s size within ±500 of 17k / 14k / 29k ("~17k" rounds to the nearest thousand)',
    depends_on="data",
    family="labelling",
)
def test_the_band_splits_the_training_set_17k_14k_29k(verdict, train, labelling_figure):
    """Counts of the three regions of s on the training set; depends on the data only, not the network."""
    judged = verdict.judge(three_regions, split_sample(train))
    sizes = dict(judged.measured)
    verdict.measured(**sizes)
    verdict.figure(labelling_figure)
    verdict.conclude(
        judged.holds,
        summary=f"1-like {sizes['one_like']}, anti-1-like {sizes['anti_one_like']}, middle {sizes['middle']}",
    )


@declare(
    "formula-as-written",
    Choice.values("tolerance", AGREEMENT_TOLERANCE, TOLERANCE, why=TOLERANCE_WHY),
    resampled="the 60,000 training images",
)
def printed_formula(d: Sample, tolerance: float) -> Judgement:
    agreements = {k: d.mean("train", band_labels(d.table("train")[k]) == d.table("train")["labels"]) for k in READINGS}
    literal = any(within(agreements[k], CLAIMED_AGREEMENT, tolerance) for k in READINGS[:2])
    corrected = within(agreements["corrected_clue_minus_anticlue"], CLAIMED_AGREEMENT, tolerance)
    bound = Bound.within(CLAIMED_AGREEMENT, tolerance, images=d.size("train"))
    agreements = {k: float(v) for k, v in agreements.items()}
    return Judgement(
        literal,
        agreements,
        erratum=corrected,
        measured=agreements,
        bounds={k: bound for k in READINGS[:2]},
        combine="any",
        erratum_bounds={"corrected_clue_minus_anticlue": bound},
    )


READINGS = ("literal_pixels_0_255", "literal_pixels_0_1", "corrected_clue_minus_anticlue")


@claim(
    "formula-as-written",
    quote="defining class 0 as where `-17305 < (image * (clue_image - 0.5)).sum() < -7762`",
    claimed={"agreement": CLAIMED_AGREEMENT},
    accept="the formula exactly as printed agrees with the model within ±0.1 pp of 96.2% (pixels 0..255, or "
    "pixels 0..1) → holds; only the corrected template clue − anti-clue does → erratum; neither → fails",
    family="labelling",
)
def test_the_printed_formula_recovers_the_labels(verdict, mnist, train, test_split, clue):
    """Three readings, all with the printed thresholds: the literal formula on pixels 0..255 and on pixels
    0..1 (ToTensor's scale), and the corrected template ``clue - anti_clue = 2·(clue - 0.5)`` on 0..255."""
    as_printed = similarity(mnist.train_images, clue - 0.5)  # one pass; the other readings are rescalings
    readings = {
        "literal_pixels_0_255": as_printed,
        "literal_pixels_0_1": as_printed / 255.0,  # Σ (x/255)·(clue − 0.5)
        "corrected_clue_minus_anticlue": train.s,  # the session's s: Σ x·(clue − anti-clue)
    }

    def held_out() -> dict[str, np.ndarray]:  # the same readings of the test images (built only if judged)
        printed = similarity(mnist.test_images, clue - 0.5)
        return {
            "literal_pixels_0_255": printed,
            "literal_pixels_0_1": printed / 255.0,
            "corrected_clue_minus_anticlue": test_split.s,
            "labels": test_split.labels,
        }

    judged = verdict.judge(
        printed_formula, Sample({"train": {**readings, "labels": train.labels}}, heldout=Sample({"train": held_out}))
    )
    agreements = dict(judged.measured)
    verdict.measured(**agreements)
    verdict.conclude(
        judged.holds,
        erratum=judged.erratum,
        correction="the printed template clue_image − 0.5 must be doubled: the thresholds belong to "
        "Σ x·(clue − (1 − clue)) = Σ x·2(clue − 0.5) with pixels 0..255, which agrees "
        f"{agreements['corrected_clue_minus_anticlue']:.2%} with the model (as printed: "
        f"{agreements['literal_pixels_0_255']:.2%} on 0..255, {agreements['literal_pixels_0_1']:.2%} on 0..1)",
        summary=f"as printed: {agreements['literal_pixels_0_255']:.2%} (pixels 0..255), "
        f"{agreements['literal_pixels_0_1']:.2%} (pixels 0..1); clue − anti-clue: "
        f"{agreements['corrected_clue_minus_anticlue']:.2%}",
    )


@declare(
    "test-set-hint",
    Choice.values(
        "tolerance",
        0.01,
        {
            0.01: "CLAIMS.md: within 1 pp of the hinted accuracy",
            0.005: '"we don\'t necessarily expect there to be a better simple solution": '
            "the agreement as close as the hint's stated precision allows, ±0.5 pp",
        },
        why='how close "only recovers … 95.6%" puts the agreement',
    ),
    Choice.among(
        "target",
        CHALLENGE_TEST_ACCURACY,
        {CHALLENGE_TEST_ACCURACY: "the challenge's hint: 95.58%", 0.956: 'the write-up\'s rounded "95.6%"'},
        why="which accuracy the agreement is compared with",
    ),
    resampled="the 10,000 test images",
    no_heldout="it is itself judged on the 10,000 held-out test images (nothing is fitted on them)",
)
def hint_agreement(d: Sample, tolerance: float, target: float) -> Judgement:
    measured = float(d.mean("test", band_labels(d.table("test")["s"]) == d.table("test")["labels"]))
    return Judgement(
        within(measured, target, tolerance),
        {"agreement": measured},
        bounds={"agreement": Bound.within(target, tolerance, images=d.size("test"))},
        measured={"agreement": measured, "images": d.size("test")},
    )


@claim(
    "test-set-hint",
    quote="Since the model itself only recovers ground truth accuracy with 95.6% we don't necessarily expect "
    "there to be a better simple solution. (challenge hint: 95.58% test accuracy)",
    claimed={"agreement": CHALLENGE_TEST_ACCURACY},
    accept="agreement of the recovered function with the model's labels on the 10,000 test images within "
    "1 pp of 95.58% (if the function is the secret labelling, this is the model's test accuracy)",
    family="labelling",
)
def test_on_the_test_set_agreement_matches_the_hinted_accuracy(verdict, test_split):
    judged = verdict.judge(hint_agreement, Sample({"test": {"s": test_split.s, "labels": test_split.labels}}))
    measured = judged.headline["agreement"]
    verdict.measured(**judged.measured)
    verdict.conclude(judged.holds, summary=f"test agreement {measured:.2%}")


@declare(
    "clue-is-a-one",
    no_open_choice="a dataset label read at a fixed index: the index (6, the write-up's and the challenge's) and the "
    "label set (MNIST's training labels) are named; nothing is estimated",
    resampled="nothing that enters the verdict: one image's label (a resample cannot change it)",
    no_heldout="one training image's label: there is nothing to replicate",
)
def clue_label(d: Sample) -> Judgement:
    digit = int(d.fixed["digit"])
    return Judgement(
        digit == 1,
        {"label": digit},
        measured={"label": digit, "index": labelling.CLUE_INDEX},
        bounds={"label": Bound(low=1, high=1)},
    )


@claim(
    "clue-is-a-one",
    quote="dataset image number 6, which is a “1”",
    claimed={"label": 1},
    accept="the MNIST training label of image 6 is 1",
    depends_on="data",
    family="labelling",
)
def test_the_clue_image_is_a_1(verdict, train):
    """Depends on the data only: the ground-truth digit, not the model's label."""
    judged = verdict.judge(clue_label, Sample({}, {"digit": int(train.digits[labelling.CLUE_INDEX])}))
    digit = int(judged.headline["label"])
    verdict.measured(**judged.measured)
    verdict.conclude(judged.holds, summary=f"training image {labelling.CLUE_INDEX} is labelled {digit}")
