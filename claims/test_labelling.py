"""The recovered labelling function: similarity to the clue "1" template, class 0 inside a band.

Write-up: "The labeling function -17305 < (image * (clue_image - 0.5)).sum() < -7762 (in words: dot product
to [clue_image minus grey image]) recovers model performance with 96.2% accuracy (fraction of points
classified identically to real model)."
"""

from __future__ import annotations

import numpy as np
import pytest

from analysis import labelling
from analysis.labelling import L_THRESHOLD, R_THRESHOLD, agreement, band_labels, region_counts, similarity
from claims.tolerance import within
from report.claim import claim

CLAIMED_AGREEMENT = 0.962  # "recovers model performance with 96.2% accuracy"
AGREEMENT_TOLERANCE = 0.001  # the write-up prints one decimal of a percentage: ±0.1 pp
CHALLENGE_TEST_ACCURACY = 0.9558  # the challenge's hint, the write-up's "95.6%"


@pytest.fixture(scope="module")
def labelling_figure(figure_store, train, pca_coords) -> str:
    return figure_store.render("labelling", "labelling", train.s, train.labels, L_THRESHOLD, R_THRESHOLD,
                               pca_coords[:, 0])


@claim(
    "labeling-function",
    quote="The labeling function -17305 < (image * (clue_image - 0.5)).sum() < -7762 … recovers model "
    "performance with 96.2% accuracy (fraction of points classified identically to real model).",
    claimed={"agreement": CLAIMED_AGREEMENT},
    accept="agreement of the recovered function with the model's labels on the 60,000 training images "
    "within ±0.1 pp of 96.2%",
    family="labelling",
)
def test_recovered_function_agrees_with_the_model(verdict, train, labelling_figure):
    """Class 0 iff L < s < R, with s the similarity to clue − anti-clue (CLAIMS.md's reading; the literal
    formula is checked by ``formula-as-written``), against argmax of the network's logits."""
    recovered = band_labels(train.s)
    measured = agreement(recovered, train.labels)
    verdict.measured(agreement=measured, thresholds=[L_THRESHOLD, R_THRESHOLD], images=len(train))
    verdict.figure(labelling_figure)
    verdict.conclude(within(measured, CLAIMED_AGREEMENT, AGREEMENT_TOLERANCE), summary=f"agreement {measured:.2%}")


@claim(
    "class-split",
    quote="the ~17k most similar images to “1” and ~14k most similar images to “anti 1” are labelled class 1, "
    "the remaining ~29k images are labelled class 0",
    claimed={"one_like": 17000, "anti_one_like": 14000, "middle": 29000},
    accept="each region's size within ±500 of 17k / 14k / 29k (\"~17k\" rounds to the nearest thousand)",
    depends_on="data",
    family="labelling",
)
def test_the_band_splits_the_training_set_17k_14k_29k(verdict, train, labelling_figure):
    """Counts of the three regions of s on the training set; depends on the data only, not the network."""
    sizes = region_counts(train.s)
    claimed = {"one_like": 17000, "anti_one_like": 14000, "middle": 29000}
    verdict.measured(**sizes)
    verdict.figure(labelling_figure)
    verdict.conclude(
        all(within(sizes[k], v, 500) for k, v in claimed.items()),
        summary=f"1-like {sizes['one_like']}, anti-1-like {sizes['anti_one_like']}, middle {sizes['middle']}",
    )


@claim(
    "formula-as-written",
    quote="defining class 0 as where `-17305 < (image * (clue_image - 0.5)).sum() < -7762`",
    claimed={"agreement": CLAIMED_AGREEMENT},
    accept="the formula exactly as printed agrees with the model within ±0.1 pp of 96.2% (pixels 0..255, or "
    "pixels 0..1) → holds; only the corrected template clue − anti-clue does → erratum; neither → fails",
    family="labelling",
)
def test_the_printed_formula_recovers_the_labels(verdict, mnist, train, clue):
    """Three readings, all with the printed thresholds: the literal formula on pixels 0..255 and on pixels
    0..1 (ToTensor's scale), and the corrected template ``clue - anti_clue = 2·(clue - 0.5)`` on 0..255."""
    as_printed = similarity(mnist.train_images, clue - 0.5)  # one pass; the other readings are rescalings
    readings = {
        "literal_pixels_0_255": as_printed,
        "literal_pixels_0_1": as_printed / 255.0,  # Σ (x/255)·(clue − 0.5)
        "corrected_clue_minus_anticlue": train.s,  # the session's s: Σ x·(clue − anti-clue)
    }
    agreements = {k: agreement(band_labels(v), train.labels) for k, v in readings.items()}
    verdict.measured(**agreements)
    literal = any(within(agreements[k], CLAIMED_AGREEMENT, AGREEMENT_TOLERANCE) for k in list(agreements)[:2])
    corrected = within(agreements["corrected_clue_minus_anticlue"], CLAIMED_AGREEMENT, AGREEMENT_TOLERANCE)
    verdict.conclude(
        literal,
        erratum=corrected,
        correction="the printed template clue_image − 0.5 must be doubled: the thresholds belong to "
        "Σ x·(clue − (1 − clue)) = Σ x·2(clue − 0.5) with pixels 0..255, which agrees "
        f"{agreements['corrected_clue_minus_anticlue']:.2%} with the model (as printed: "
        f"{agreements['literal_pixels_0_255']:.2%} on 0..255, {agreements['literal_pixels_0_1']:.2%} on 0..1)",
        summary=f"as printed: {agreements['literal_pixels_0_255']:.2%} (pixels 0..255), "
        f"{agreements['literal_pixels_0_1']:.2%} (pixels 0..1); clue − anti-clue: "
        f"{agreements['corrected_clue_minus_anticlue']:.2%}",
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
    measured = agreement(band_labels(test_split.s), test_split.labels)
    verdict.measured(agreement=measured, images=len(test_split))
    verdict.conclude(within(measured, CHALLENGE_TEST_ACCURACY, 0.01), summary=f"test agreement {measured:.2%}")


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
    digit = int(train.digits[labelling.CLUE_INDEX])
    verdict.measured(label=digit, index=labelling.CLUE_INDEX)
    verdict.conclude(digit == 1, summary=f"training image {labelling.CLUE_INDEX} is labelled {digit}")
