"""The replica study's two figures: recurrence per record with its interval, and each headline number across the
replicas with the challenge network's value marked."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from analysis.replica_study import CATEGORY_WORDS, CONFIDENCE, NETWORK_MAX_UPPER, TASK_MIN_FRACTION, TASK_MIN_LOWER

CATEGORY_COLOURS = {
    "task": "#1b6e20",
    "network": "#b3261e",
    "fails": "#5b2a86",
    "specific": "#1f5fa8",
    "varies": "#8a5300",
    "data": "#777777",
}
FIGURES = ("figures/replica-recurrence.png", "figures/replica-headlines.png")


def draw_figures(study: Mapping[str, Any], out: Any) -> list[str]:
    """Draw the study's two figures into ``out/figures``: recurrence per record with its interval, and each
    headline number's distribution over the replicas with the challenge network's value marked. Returns
    their paths relative to ``out``. Imports matplotlib (only a replica study pays for it)."""
    from pathlib import Path

    from claims.figures import save

    out = Path(out)
    return [save(recurrence_figure(study), out / FIGURES[0]), save(headline_figure(study), out / FIGURES[1])]


def _labelled(study: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    return [(r if s == "claims" else f"{s}/{r}", v) for s, rs in study["records"].items() for r, v in rs.items()]


def recurrence_figure(study: Mapping[str, Any]) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    items = _labelled(study)
    fig = Figure(figsize=(8.5, 0.32 * len(items) + 2.0))
    ax = fig.subplots()
    for y, (_name, v) in enumerate(items):
        f = v["fractions"]["recurs"]
        if f["fraction"] is None:
            continue
        colour = CATEGORY_COLOURS[v["category"]]
        ax.errorbar(
            f["fraction"],
            y,
            xerr=[[f["fraction"] - f["low"]], [f["high"] - f["fraction"]]],
            fmt="o",
            color=colour,
            ecolor=colour,
            capsize=3,
            ms=5,
        )
        mark = {"holds": "✔", "erratum": "≈", "fails": "✘"}.get(v["challenge_verdict"], "–")
        ax.annotate(mark, (1.02, y), xycoords=("axes fraction", "data"), va="center", fontsize=9, color="#333")
    for x, style in ((TASK_MIN_LOWER, ":"), (TASK_MIN_FRACTION, "--"), (NETWORK_MAX_UPPER, ":")):
        ax.axvline(x, color="#999", ls=style, lw=0.8)
    ax.set_yticks(range(len(items)), [name for name, _ in items], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(-0.02, 1.02)
    ax.set_xlabel(
        f"share of the {study.get('main_arm', 'main')} arm's {study['n']} replicas on which it recurs, each at its "
        f"own fit (Wilson {CONFIDENCE:.0%})"
    )
    for cat in CATEGORY_COLOURS:
        ax.plot([], [], "o", color=CATEGORY_COLOURS[cat], label=CATEGORY_WORDS[cat])
    fig.legend(loc="lower center", ncol=3, fontsize=7, frameon=False)
    ax.set_title("replica study: recurrence per record (right: the challenge network's verdict)", fontsize=10)
    height = 0.32 * len(items) + 2.0
    fig.subplots_adjust(left=0.3, right=0.95, bottom=1.2 / height, top=1 - 0.5 / height)
    return fig


def headline_figure(study: Mapping[str, Any]) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    panels = [
        (name, path, h, v["category"])
        for name, v in _labelled(study)
        for path, h in v["headlines"].items()
        if "min" in h and v["category"] != "data"
    ]
    cols = 4
    rows = max(1, math.ceil(len(panels) / cols))
    fig = Figure(figsize=(11, 1.25 * rows + 0.8))
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.flat[len(panels) :]:
        ax.set_axis_off()
    for ax, (name, path, h, cat) in zip(axes.flat, panels):
        values = sorted(v for v in h["replicas"].values() if v is not None)
        # A dot plot: equal values stack upwards, so the distribution's shape is visible without jitter.
        seen: dict[float, int] = {}
        ys = []
        for v in values:
            seen[v] = seen.get(v, 0) + 1
            ys.append(seen[v])
        ax.plot(values, ys, "o", ms=3.5, color=CATEGORY_COLOURS[cat], alpha=0.8)
        if h.get("challenge") is not None:
            ax.axvline(h["challenge"], color="black", lw=1.6)
        ax.set_yticks([])
        ax.set_ylim(0, max(ys + [1]) + 1)
        ax.tick_params(axis="x", labelsize=6)
        label = f"{name}\n{path}" + (" (outlier)" if h.get("outlier") else "")
        ax.set_title(label, fontsize=7)
    height = 1.25 * rows + 0.8
    fig.suptitle(
        f"headline numbers at the own fit over the {study.get('main_arm', 'main')} arm's {study['n']} replicas (dots) "
        "and the challenge network (black line)",
        fontsize=10,
        y=1 - 0.15 / height,
    )
    fig.subplots_adjust(hspace=1.3, wspace=0.25, top=1 - 0.8 / height, bottom=0.4 / height)
    return fig
