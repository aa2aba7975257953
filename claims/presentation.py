"""The claims' words on every page of the report: its titles, what each figure shows, and each figure family's
section title (the claims engine, report/, knows none of them; conftest.py hands them over)."""

from report.render import Presentation

TITLE = "EIS VII challenge 1: the write-up's claims, measured"
SHORT_TITLE = "EIS VII challenge 1: claims measured"
#: The terminal's section title above the verdict table.
TERMINAL_TITLE = "EIS VII claims: what the write-up said, what we measured"

#: What each figure shows: (title, description). The page uses them as the figure's caption and alt text (the
#: file name says nothing to a reader); a figure not listed here falls back to its file name.
FIGURES = {
    "hint.png": (
        "The hint image",
        "The image the challenge gave as its fourth hint: training image 6, a 1 (black = 0, white = 1).",
    ),
    "labelling.png": (
        "The labelling function",
        "Histogram of the similarity s to the clue template by model label, "
        "over the three regions of s (pale yellow: anti-1-like and 1-like, grey: the band between the "
        "write-up's two thresholds); beside it, the first principal component against s.",
    ),
    "v-shape.png": (
        "The V",
        "PCA of the 200 fc1 neurons, points coloured by model label, with the two arm directions "
        "as arrows from the corner, the logit-diff direction and its negative, the clue and 1 − clue; an "
        "inset zooms on the corner, where class 0 sits.",
    ),
    "feature-directions.png": (
        "Feature visualisations of directions",
        "The input maximising each direction's "
        "activation (d · fc1 pre-activation, the neurons' recipe): the logit-diff direction, "
        'PC1, PC2 and the two arm directions. Shown, not judged (the write-up: "without a '
        'super clear result"). Blue = positive pixels, red = negative, as in the write-up.',
    ),
    "feature-grid.png": (
        "Feature visualisations of the 200 neurons",
        "The 200 feature visualisations in a 10 × 20 "
        "grid (neuron i at row i // 20, column i % 20), each framed by its neuron's group. Blue = "
        "positive pixels, red = negative, as in the write-up.",
    ),
    "feature-top15.png": (
        "The strongest detectors of each group",
        "The 15 strongest neurons of each detector group "
        "beside the template clue − 0.5, with each one's correlation r to it. Blue = positive, as "
        "in the write-up.",
    ),
    "loadings.png": (
        "Loadings of the PCA and arm directions",
        "Each neuron's loading on PC1 and PC2 (top; both "
        "oriented so that the clue is positive) and on the two arm directions (bottom), by neuron index "
        "with the detector groups shaded; beside each, one loading against the other: the write-up's "
        '"top right" and "top left" neurons are its quadrants.',
    ),
    "contributions.png": (
        "Per-neuron contributions",
        "The write-up's two rows: each neuron's fc2 weight to logit 0 "
        "(top) and to logit 1 (bottom) times its typical activation (std), blue = positive, the "
        'cells that break "top red, bottom blue" ringed; below, the active neurons\' logit-diff '
        "contributions, sorted.",
    ),
    "zero-ablation.png": (
        "Zero ablation",
        "For 60 random training images sorted by s, the change of the logit diff "
        "when each detector group is set to zero; beside it, the share of the images outside the "
        "anti-1-like region labelled class 1 before and after zeroing the anti-1 group.",
    ),
    "dla.png": (
        "Direct logit attribution",
        "Stacked logit-diff contributions of the 1 and anti-1 detector groups for sampled images of each region.",
    ),
    "min-ablation.png": (
        "Min-ablation",
        "Left: the logit diff before and after setting each group to its dataset "
        "minimum, median per bin of s. Right: fraction of model labels kept per ablated group and "
        "half, with the 50% chance line, the fraction each ablation sends to class 0, and each "
        "half's class-0 share before ablation.",
    ),
    "causal-scrubbing.png": (
        "Causal scrubbing",
        "Fraction of labels kept under causal scrubbing against the "
        "similarity noise p (log axis): one replacement image per group (the notebook's scheme) "
        "and every neuron drawing its own image. Beside it, at p = 0.1%, the same scrubbing "
        "under wrong hypotheses of the same group sizes (the two groups swapped, 20 random "
        "partitions of the active neurons) and fully random replacement, with the loss the "
        "hypothesis recovers.",
    ),
    "ood-counterexamples.png": (
        "Counterexamples beyond the data",
        "One row per generated input family: the source "
        "training image, the generated counterexample, its s, the function's label and the "
        "network's logit difference.",
    ),
    "ood-switch-points.png": (
        "Switch points",
        "The network's logit difference against s of generated inputs "
        "(scaling, blending), with the write-up's thresholds, the far-from-threshold margin and "
        "the fitted switch points with their 95% intervals.",
    ),
    "replica-recurrence.png": (
        "Recurrence across replicas",
        "For every claim and probe, the fraction of replicas on "
        "which it holds or holds as corrected, with its Wilson 95% interval.",
    ),
    "replica-headlines.png": (
        "Headline numbers across replicas",
        "Each headline number's distribution across the replicas, with the challenge network's value marked.",
    ),
}

#: Section titles of the claims' figure families (the ``family=`` of their ``@claim`` markers), shown in the order
#: the families first appear in the catalogue.
FAMILIES = {
    "labelling": "The labelling function",
    "pca": "PCA: the V",
    "features": "Detector neurons and their features",
    "contributions": "Per-neuron contributions",
    "dla": "Direct logit attribution",
    "min-ablation": "Ablations",
    "causal-scrubbing": "Causal scrubbing",
}


PRESENTATION = Presentation(
    title=TITLE, short_title=SHORT_TITLE, figures=FIGURES, families=FAMILIES, terminal=TERMINAL_TITLE
)
