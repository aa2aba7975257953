"""The claims' words on every page of the report: its titles, what each figure shows, and each figure family's
section title (the claims engine, report/, knows none of them; conftest.py hands them over)."""

from collections.abc import Mapping
from typing import Any

from report.ood import FamilyWords
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


# ---------------------------------------------------------------------------------------- generated inputs (OOD)
def _percent(v: Any, digits: int = 1) -> str:
    return "—" if v is None else f"{100 * v:.{digits}f}%"


def rule_text(section: Mapping[str, Any]) -> str:
    """The rule as applied, from the section's ``rule`` record."""
    rule = section.get("rule", {})
    yard = rule.get("in_distribution", {})
    if not rule:
        return ""
    split = ", ".join(f"{v['agree']:,} of {v['n_far']:,} {k}" for k, v in yard.items() if isinstance(v, dict))
    return (
        f"Rule, fixed before measuring: a generated input is *far* when its s lies more than "
        f"{100 * rule['margin_fraction_of_range']:.0f}% of the training range of s ({rule['margin_s']:,.0f}) from "
        f"both thresholds. Yardstick: far from the thresholds the network agrees with the function on "
        f"{split} MNIST images ({_percent(yard.get('far_agreement'), 3)}, "
        f"Wilson {100 * yard.get('confidence', 0):.0f}% "
        f"[{100 * yard['interval'][0]:.3f}, {100 * yard['interval'][1]:.4f}]%). A family *generalises* when the "
        f"Wilson lower bound of its far agreement is ≥ {100 * rule['bar']:.0f}% (the project's own bar: the "
        f"write-up claims nothing beyond its data), *breaks* when the upper bound is < {100 * rule['bar']:.0f}%, "
        f"and is *undetermined* otherwise. Inputs are drawn in seeded chunks of {rule['chunk']:,} until "
        f"{rule['far_per_look']:,} far inputs (a look; {_per_profile(rule['far_per_look_per_profile'])}); an "
        f"undetermined family draws another look's worth, up to {rule['looks']} looks ({rule['far_cap']:,} far "
        f"inputs), and stays undetermined there. Every look's interval is at the Bonferroni-adjusted "
        f"{100 * rule['look_confidence']:.2f}%, so each verdict is wrong with probability ≤ "
        f"{100 * (1 - rule['confidence']):.0f}%; with no disagreement at all a family needs "
        f"{rule['fewest_far_to_generalise']:,} far inputs to generalise. {_familywise(section)} "
        f"A family on which a network giving one "
        f"answer everywhere reaches ≥ {100 * rule['uninformative_at']:.0f}% far agreement is *uninformative*: "
        f"shown, never counted as evidence (a break there is still a break). The counterexample search draws "
        f"{_per_profile(rule['search_examples_per_profile'])} examples per family."
    )


def _familywise(section: Mapping[str, Any]) -> str:
    """Whether the verdicts survive a correction for all families as well as the looks."""
    rule, families = section.get("rule", {}), section.get("families", {})
    if "familywise_confidence" not in rule:
        return ""
    moved = [
        f"{k} ({r['verdict_familywise']})"
        for k, r in families.items()
        if r.get("verdict_familywise", r.get("verdict")) != r.get("verdict")
    ]
    return (
        f"Corrected for all {len(families)} families as well (Bonferroni, "
        f"{100 * rule['familywise_confidence']:.2f}%), "
        + (f"the verdicts change on {', '.join(moved)}." if moved else "every verdict stays the same.")
    )


def _per_profile(values: Mapping[str, Any]) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in values.items())


def outcome_text(ce: Mapping[str, Any]) -> str:
    """What one generated input did: its similarity s, the labelling function's label, the network's logit diff."""
    return f"s = {ce['s']:.0f}, function {ce['function_label']}, network logit diff {ce['logit_diff']:+.2f}"


#: The words of claims/test_ood.py's section: the band on s is the prediction each family tests.
OOD_WORDS = FamilyWords(
    title="Beyond the data: generated inputs",
    terminal="beyond the data",
    rule=rule_text,
    outcome=outcome_text,
    prediction="what s predicts",
    readme_counterexamples=(
        "Minimal counterexamples, each regenerated and proved minimal from its stored parameters "
        "(`analysis.ood.prove_minimal`; figure `ood-counterexamples.png`):"
    ),
    readme_switch_points=(
        "The network's switch points on generated inputs (best single threshold per side, bootstrap "
        "95% interval; figure `ood-switch-points.png`):"
    ),
    readme_switch_inside="the write-up's threshold lies inside the interval on {sides}",
    matrix_note=(
        "Per input family: *generalises* when the Wilson lower bound of the far-from-threshold agreement is "
        "≥ 99%, *breaks* when its upper bound is < 99% (far agreement in brackets); *uninformative* when a "
        "one-answer network would reach ≥ 95% there."
    ),
    matrix_page_note=(
        "Per input family: *generalises* when ≥ 95% of generated inputs far from the thresholds get the band's "
        "label (far-from-threshold agreement)."
    ),
)

#: What the run tested, labelled: (part of the run context, key, label), in the order the report lists them.
PROVENANCE = (
    ("checkpoint", "sha256", "checkpoint sha256"),
    ("checkpoint", "path", "checkpoint path"),
    ("checkpoint", "challenge", "challenge checkpoint"),
    ("data", "train", "training images"),
    ("data", "test", "test images"),
    ("data", "dir", "data folder"),
    ("data", "canonical_mnist", "canonical MNIST"),
)

PRESENTATION = Presentation(
    title=TITLE,
    short_title=SHORT_TITLE,
    figures=FIGURES,
    families=FAMILIES,
    terminal=TERMINAL_TITLE,
    ood=OOD_WORDS,
    provenance=PROVENANCE,
)
