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
    "labelling.png": ("The labelling function", "Histogram of the similarity s to the clue template, by model "
                      "label, with the write-up's two thresholds; beside it, s against the first principal component."),
    "v-shape.png": ("The V", "PCA of the 200 fc1 neurons, points coloured by model label, with the two fitted arms, the "
                    "logit-diff direction, the clue and 1 − clue; an inset zooms on the corner, where class 0 sits."),
    "feature-grid.png": ("Feature visualisations of the 200 neurons", "The 200 feature visualisations in a 10 × 20 "
                         "grid (neuron i at row i // 20, column i % 20), each framed by its neuron's group."),
    "feature-top15.png": ("The strongest detectors of each group", "The 15 strongest neurons of each detector group "
                          "beside the template clue − 0.5, with each one's correlation r to it."),
    "contributions.png": ("Per-neuron contributions", "Each neuron's logit-diff contribution weighted by its typical "
                          "activation, sorted; and the sign pattern of fc2's weights."),
    "dla.png": ("Direct logit attribution", "Stacked logit-diff contributions of the 1 and anti-1 detector groups "
                "for sampled images of each region."),
    "min-ablation.png": ("Min-ablation", "Fraction of model labels kept per ablated group and half, with the 50% "
                         "chance line, the fraction each ablation sends to class 0, and each half's class-0 share "
                         "before ablation."),
    "causal-scrubbing.png": ("Causal scrubbing", "Fraction of labels kept under causal scrubbing against the "
                             "similarity noise p (log axis): one replacement image per group (the notebook's scheme) "
                             "and every neuron drawing its own image."),
    "ood-counterexamples.png": ("Counterexamples beyond the data", "One row per generated input family: the source "
                                "training image, the generated counterexample, its s, the function's label and the "
                                "network's logit difference."),
    "ood-switch-points.png": ("Switch points", "The network's logit difference against s of generated inputs "
                              "(scaling, blending), with the write-up's thresholds, the far-from-threshold margin and "
                              "the fitted switch points with their 95% intervals."),
    "replica-recurrence.png": ("Recurrence across replicas", "For every claim and probe, the fraction of replicas on "
                               "which it holds or holds as corrected, with its Wilson 95% interval."),
    "replica-headlines.png": ("Headline numbers across replicas", "Each headline number's distribution across the "
                              "replicas, with the challenge network's value marked."),
}

#: Section titles of the claims' figure families (the ``family=`` of their ``@claim`` markers), shown in the order
#: the families first appear in the catalogue.
FAMILIES = {
    "labelling": "The labelling function", "pca": "PCA: the V", "features": "Detector neurons and their features",
    "contributions": "Per-neuron contributions", "dla": "Direct logit attribution",
    "min-ablation": "Ablations", "causal-scrubbing": "Causal scrubbing",
}


PRESENTATION = Presentation(title=TITLE, short_title=SHORT_TITLE, figures=FIGURES, families=FAMILIES,
                            terminal=TERMINAL_TITLE)
