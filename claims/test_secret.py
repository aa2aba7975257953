"""Is the recovered labelling function the secret one? What the challenge's hinted test accuracy allows.

Write-up: "We have solved this Mechanistic Interpretability challenge by understanding what the model does, and
found the correct labeling function (confirmed by the challenge author …)"; "Since the model itself only recovers
ground truth accuracy with 95.6% we don't necessarily expect there to be a better simple solution."
"""

from __future__ import annotations

from analysis.labelling import band_labels, disagreement_bound, hinted_counts
from analysis.robustness import Bound, Choice, Judgement, Sample, declare
from report.claim import claim

CHALLENGE_TEST_ACCURACY = 0.9558  # the challenge's hint 2: "the test set accuracy is 95.58%"
HINTS = {CHALLENGE_TEST_ACCURACY: 2, 0.956: 1}  # a hint and the decimals of the percentage it is printed with
CAVEAT = (
    "the hint may have been measured on another state of the network than the published checkpoint: the bound "
    "assumes 95.58% is this checkpoint's test accuracy"
)


@declare(
    "recovered-equals-secret",
    Choice.among(
        "hint",
        CHALLENGE_TEST_ACCURACY,
        tuple(HINTS),
        why="the challenge's hint 2 (95.58%, CLAIMS.md) or "
        'the write-up\'s rounded "95.6%", which stands for any count that rounds to it',
    ),
    resampled="nothing: the hint is the model's accuracy on exactly these 10,000 test images, not on a sample",
    no_heldout="it is itself judged on the 10,000 held-out test images (the recovered function is fixed)",
)
def same_as_the_secret(d: Sample, hint: float) -> Judgement:
    agreeing = d.count("test", band_labels(d.table("test")["s"]) == d.table("test")["labels"])
    bound = disagreement_bound(agreeing, hinted_counts(hint, HINTS[hint], d.size("test")))
    lowest, highest = hinted_counts(hint, HINTS[hint], d.size("test"))
    measured = {
        "agreement": agreeing / d.size("test"),
        "differs_on_at_least": bound,
        "agreeing": int(agreeing),
        "test_images": d.size("test"),
        "hinted_correct": [lowest, highest],
        "caveat": CAVEAT,
    }
    return Judgement(
        bound == 0,
        {"agreement": agreeing / d.size("test"), "differs_on_at_least": bound},
        measured=measured,
        bounds={"differs_on_at_least": Bound(high=0)},
    )


@claim(
    "recovered-equals-secret",
    quote="found the correct labeling function (confirmed by the challenge author); the model itself only recovers "
    "ground truth accuracy with 95.6% (challenge hint: 95.58% test accuracy)",
    claimed={"agreement": CHALLENGE_TEST_ACCURACY, "differs_on_at_least": 0},
    accept="were the recovered function the secret labelling, the model's agreement with it on the 10,000 test images "
    "would be its test accuracy, 95.58%: the agreement rounds to 95.58% (in [95.575%, 95.585%)) → holds; else fails, "
    "and the report states the bound: the recovered function differs from the secret labels on at least "
    "|agreement − 95.58%| × 10,000 test images (the hint may come from another state of the network)",
    family="labelling",
)
def test_the_recovered_function_can_be_the_secret_one(verdict, test_split):
    """On the test images where the two labellings are equal, the model agrees with both or with neither; so the
    counts of its agreement with each can differ only by images where the labellings differ."""
    judged = verdict.judge(same_as_the_secret, Sample({"test": {"s": test_split.s, "labels": test_split.labels}}))
    agreement, bound = judged.headline["agreement"], int(judged.headline["differs_on_at_least"])
    lowest, highest = hinted_counts(CHALLENGE_TEST_ACCURACY, HINTS[CHALLENGE_TEST_ACCURACY], len(test_split))
    verdict.measured(**judged.measured)
    bound_words = (
        f"the recovered function differs from the secret labels on at least {bound:,} of the "
        f"{len(test_split):,} test images"
    )
    verdict.conclude(
        judged.holds,
        summary=f"test agreement {agreement:.2%} vs the hinted accuracy 95.58% ({judged.measured['agreeing']:,} vs "
        f"{lowest:,} images): "
        + (bound_words if bound else "consistent with being the secret labelling")
        + f"; caveat: {CAVEAT}",
    )
