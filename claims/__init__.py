"""The claims: one test module per claim family, each test quoting the write-up (``@claim(...)``).

The claims engine (``report/``) reads this package's catalogue from the markers of its ``test_*.py`` modules and
orders it by :data:`CATALOGUE_ORDER`.
"""

from pathlib import Path

#: CLAIMS.md's order of the catalogue: the order of every table and page of the report. Only the order lives here:
#: which claims exist, their words, rules, ``depends_on`` and families come from their ``@claim`` markers
#: (:mod:`report.catalogue`; a test checks that this list names exactly the marked claims).
CATALOGUE_ORDER = (
    "labeling-function",
    "class-split",
    "formula-as-written",
    "test-set-hint",
    "pca-variance",
    "v-shape",
    "logit-diff-to-corner",
    "clue-furthest-out",
    "feature-visualisation",
    "one-way-neurons",
    "detector-groups",
    "anti-one-baseline",
    "zero-ablation-baseline",
    "dla-exclusive",
    "min-ablation",
    "causal-scrubbing",
    "clue-is-a-one",
    "pc1-tracks-similarity",
    "pc2-separates-class-0",
    "corner-near-minus-2",
    "pca-uses-few-neurons",
    "regions-excite-groups",
    "either-group-rule",
    "ablation-lowers-logit-diff",
    "minimum-is-no-detection",
    "unexplained-share",
    "fc2-sign-pattern",
    "quadrants-are-groups",
    "quadrant-feature-visualisations",
    "scrubbing-beats-wrong-hypotheses",
    "recovered-equals-secret",
    "dead-neurons-stay-dead",
    "each-detector-tracks-its-region",
)


def catalogue():
    """This package's catalogue (:func:`report.catalogue.catalogue`)."""
    from report.catalogue import catalogue as of_package

    return of_package(Path(__file__).resolve().parent)
