"""The write-up's figures, re-drawn from the session's measurements (matplotlib, object API, Agg, PNG).

Every function returns a :class:`matplotlib.figure.Figure` titled with the claim id(s) it illustrates. The
claims draw them through :class:`report.figstore.FigureStore`, which imports this module (and matplotlib,
~0.5 s) only when a figure is not already in the cache.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from fixtures.files import atomic_write  # noqa: E402

CLASS_COLOURS = {0: "#1f77b4", 1: "#ff7f0e"}  # model label 0 / 1
#: The three regions of s as background bands: outer regions pale yellow, the band pale grey (clear of the blue and
#: orange of the model labels drawn over them).
REGION_COLOURS = {"anti": "#fff2a8", "middle": "#dddddd", "one": "#fff2a8"}
#: Signed images and weights in the write-up's colours: blue = positive, red = negative (matplotlib's RdBu).
SIGNED_CMAP = "RdBu"
GROUP_COLOURS = {"one": "#2ca02c", "anti_one": "#ff7f0e", "both": "#d62728", "dead": "#7f7f7f"}
DPI = 110


def save(fig: Figure, path: Path) -> str:
    """Write ``fig`` as PNG atomically; return the path relative to the report folder (``figures/x.png``)."""
    atomic_write(
        path,
        lambda fh: fig.savefig(
            fh, dpi=DPI, format="png", metadata={"Software": None}, pil_kwargs={"compress_level": 2}
        ),
        fsync=False,
    )
    return f"{path.parent.name}/{path.name}"


def _subsample(n: int, k: int = 12000, seed: int = 0) -> np.ndarray:
    if n <= k:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, k, replace=False))


def v_shape(
    coords: np.ndarray,
    labels: np.ndarray,
    v: Any,
    logit_dir: np.ndarray,
    clue: np.ndarray,
    anticlue: np.ndarray,
    ratios: np.ndarray,
) -> Figure:
    """The V: PCA of the 200 neurons coloured by model label, the fitted arms, the logit-diff direction,
    the clue and 1 - clue; an inset zooms on the corner, where class 0 sits."""
    fig = Figure(figsize=(8, 6.6))
    ax = fig.subplots()
    idx = _subsample(len(coords))
    for lab in (0, 1):
        m = idx[labels[idx] == lab]
        ax.scatter(
            coords[m, 0],
            coords[m, 1],
            s=3,
            alpha=0.35,
            color=CLASS_COLOURS[lab],
            rasterized=True,
            label=f"model label {lab}",
        )
    span = float(np.ptp(coords[idx], axis=0).max())
    for arm, name in ((v.left, "left arm"), (v.right, "right arm")):
        proj = (coords[arm.members] - v.corner) @ arm.outward
        end = v.corner + arm.outward * np.percentile(proj, 99.5)
        # the arm direction as an arrow from the corner (the write-up's "arm-directions … added as arrows")
        ax.annotate(
            "",
            xy=end,
            xytext=v.corner,
            arrowprops={
                "arrowstyle": "-|>",
                "color": "black",
                "lw": 1.4,
                "mutation_scale": 16,
                "shrinkA": 0,
                "shrinkB": 0,
            },
        )
        mid = v.corner + 0.6 * (end - v.corner)
        normal = np.array([-arm.outward[1], arm.outward[0]])
        if np.dot(normal, -v.corner_direction) > 0:  # label on the outside of the V, not between the arms
            normal = -normal
        ax.annotate(
            f"{name}\nR² {arm.line.r2:.4f}",
            mid,
            fontsize=8,
            xytext=tuple(14 * normal),
            textcoords="offset points",
            ha="right" if normal[0] < 0 else "left",
            va="center",
        )
    # Both directions drawn from a point between the arms: the dashed one (class 0 − class 1) heads for the corner.
    unit = logit_dir / (np.linalg.norm(logit_dir) or 1.0)
    tail = v.corner - v.corner_direction * 0.35 * span
    for sign, style in ((1, "-"), (-1, "--")):
        ax.annotate(
            "",
            xy=tail + sign * unit * 0.18 * span,
            xytext=tail,
            arrowprops=dict(arrowstyle="-|>", color="purple", lw=2, ls=style, mutation_scale=16),
        )
    ax.plot([], [], color="black", lw=1.4, marker=">", markersize=5, label="arm directions (line fits)")
    ax.plot([], [], color="purple", lw=2, label="logit diff (1 − 0) direction")
    ax.plot([], [], color="purple", lw=2, ls="--", label="class 0 − class 1 direction")
    ax.scatter(*clue, s=90, color="red", edgecolor="black", zorder=5, label="clue (train image 6)")
    ax.scatter(*anticlue, s=90, color="blue", edgecolor="black", zorder=5, label="1 − clue (anti-1)")
    ax.scatter(*v.corner, s=50, marker="x", color="black", zorder=5, label="corner (arms cross)")
    ax.set_xlabel(f"PC1 ({ratios[0]:.1%} of variance)")
    ax.set_ylabel(f"PC2 ({ratios[1]:.1%} of variance)")
    ax.set_title(
        "pca-variance · v-shape · logit-diff-to-corner · clue-furthest-out\n"
        "PCA of the 200 fc1 neurons (60,000 training images)",
        fontsize=10,
    )
    ax.legend(loc="upper right", fontsize=8)
    ax.set_aspect("equal", adjustable="datalim")
    _corner_inset(ax, coords, labels, v, span)
    fig.subplots_adjust(left=0.09, right=0.98, bottom=0.08, top=0.9)
    return fig


def _corner_inset(ax: Any, coords: np.ndarray, labels: np.ndarray, v: Any, span: float) -> None:
    """Zoom on the corner: class 0 (blue) should fill it."""
    half = 0.06 * span
    near = np.flatnonzero(np.all(np.abs(coords - v.corner) <= half, axis=1))
    near = near[_subsample(len(near), 6000, seed=1)]
    inset = ax.inset_axes([0.36, 0.5, 0.3, 0.34])
    for lab in (1, 0):
        m = near[labels[near] == lab]
        inset.scatter(coords[m, 0], coords[m, 1], s=2, alpha=0.4, color=CLASS_COLOURS[lab], rasterized=True)
    inset.scatter(*v.corner, s=30, marker="x", color="black", zorder=5)
    inset.set_xlim(v.corner[0] - half, v.corner[0] + half)
    inset.set_ylim(v.corner[1] - half, v.corner[1] + half)
    inset.set_title("the corner, zoomed", fontsize=7, pad=2)
    inset.tick_params(labelsize=6)
    ax.indicate_inset_zoom(inset, edgecolor="grey")


def _shade_regions(ax: Any, low: float, high: float, with_labels: bool) -> None:
    """The three regions of s as background bands, named at the top when ``with_labels``."""
    left, right = ax.get_xlim()
    for (a, b), key, name in (
        ((left, low), "anti", "anti-1-like"),
        ((low, high), "middle", "middle (band)"),
        ((high, right), "one", "1-like"),
    ):
        ax.axvspan(a, b, color=REGION_COLOURS[key], alpha=0.6, lw=0, zorder=0)
        if with_labels:
            ax.text((a + b) / 2, 0.99, name, transform=ax.get_xaxis_transform(), ha="center", va="top", fontsize=8)
    ax.set_xlim(left, right)


def labelling(s: np.ndarray, labels: np.ndarray, low: float, high: float, pc1: np.ndarray) -> Figure:
    """Histogram of ``s`` by model label over the three regions of s (shaded) with the write-up's two thresholds;
    beside it, the first principal component against ``s``."""
    fig = Figure(figsize=(11, 4.3))
    ax1, ax2 = fig.subplots(1, 2)
    bins = np.linspace(s.min(), s.max(), 120)
    for lab in (0, 1):
        ax1.hist(s[labels == lab], bins=bins, alpha=0.6, color=CLASS_COLOURS[lab], label=f"model label {lab}")
    ax1.set_ylim(0, ax1.get_ylim()[1] * 1.12)  # room for the region names
    top = ax1.get_ylim()[1]
    for t, name, ha, dx in ((low, f"L = {low:g}", "right", -3), (high, f"R = {high:g}", "left", 3)):
        ax1.axvline(t, color="black", ls="--", lw=1)
        ax1.annotate(name, (t, top * 0.84), fontsize=8, xytext=(dx, 0), textcoords="offset points", ha=ha, va="top")
    _shade_regions(ax1, low, high, with_labels=True)
    ax1.set_xlabel("similarity s = Σ x·(clue − anti-clue)")
    ax1.set_ylabel("training images")
    ax1.set_title("labeling-function · class-split: s by model label, by region", fontsize=10)
    ax1.legend(fontsize=8, loc="center left", bbox_to_anchor=(0.0, 0.7))
    idx = _subsample(len(s))
    for lab in (0, 1):
        m = idx[labels[idx] == lab]
        ax2.scatter(
            s[m], pc1[m], s=2, alpha=0.35, color=CLASS_COLOURS[lab], rasterized=True, label=f"model label {lab}"
        )
    for t in (low, high):
        ax2.axvline(t, color="black", ls="--", lw=1)
    _shade_regions(ax2, low, high, with_labels=False)
    ax2.set_xlabel("similarity s")
    ax2.set_ylabel("PC1 of the 200 neurons")
    ax2.set_title("labeling-function · pc1-tracks-similarity: PC1 against s", fontsize=10)
    ax2.legend(fontsize=8, markerscale=3)
    fig.subplots_adjust(left=0.07, right=0.99, bottom=0.12, top=0.92, wspace=0.22)
    return fig


def _tile(img: np.ndarray, frame: str | None, pad: int = 2) -> np.ndarray:
    """One image as RGB (:data:`SIGNED_CMAP`, symmetric per-image scale: blue positive, red negative) in a coloured
    frame."""
    cmap = matplotlib.colormaps[SIGNED_CMAP]
    lim = float(np.abs(img).max()) or 1.0
    rgb = cmap((img / lim + 1) / 2)[..., :3]
    out = np.ones((img.shape[0] + 2 * pad, img.shape[1] + 2 * pad, 3))
    if frame:
        out[:] = matplotlib.colors.to_rgb(frame)
    out[pad:-pad, pad:-pad] = rgb
    return out


def mosaic(tiles: list[np.ndarray], cols: int, gap: int = 1) -> np.ndarray:
    """Tiles of equal shape in a white-spaced grid, one RGB array (drawn with a single imshow: fast)."""
    h, w, _ = tiles[0].shape
    rows = -(-len(tiles) // cols)
    out = np.ones((rows * (h + gap) - gap, cols * (w + gap) - gap, 3))
    for k, t in enumerate(tiles):
        r, c = divmod(k, cols)
        out[r * (h + gap) : r * (h + gap) + h, c * (w + gap) : c * (w + gap) + w] = t
    return out


def _group_legend(fig: Figure, **kw: Any) -> None:
    handles = [
        matplotlib.patches.Patch(color=GROUP_COLOURS[g], label=lab)
        for g, lab in (("one", '"1" detector'), ("anti_one", '"anti-1" detector'), ("dead", "dead"))
    ]
    fig.legend(handles=handles, ncols=3, fontsize=9, **kw)


def feature_grid(images: np.ndarray, kind: dict[int, str]) -> Figure:
    """The 200 feature visualisations in a 10 × 20 grid (neuron i at row i // 20, column i % 20), framed by
    the neuron's group."""
    cols = 20
    tiles = [_tile(images[i], GROUP_COLOURS.get(kind.get(i, "dead"))) for i in range(len(images))]
    fig = Figure(figsize=(13, 7.4))
    ax = fig.subplots()
    ax.imshow(mosaic(tiles, cols), interpolation="nearest")
    h = tiles[0].shape[0] + 1
    ax.set_xticks(np.arange(cols) * h + h / 2 - 1, [str(c) for c in range(cols)], fontsize=7)
    ax.set_yticks(
        np.arange(len(tiles) // cols) * h + h / 2 - 1, [str(r * cols) for r in range(len(tiles) // cols)], fontsize=7
    )
    ax.set_xlabel("neuron index mod 20")
    ax.set_ylabel("neuron index (row start)")
    ax.set_title(
        "feature-visualisation: the input maximising each fc1 neuron (blue = positive, red = negative pixels, "
        "as in the write-up)",
        fontsize=10,
    )
    _group_legend(fig, loc="lower center")
    fig.subplots_adjust(left=0.06, right=0.99, bottom=0.12, top=0.94)
    return fig


def feature_top(images: np.ndarray, one: np.ndarray, anti: np.ndarray, corr: np.ndarray, clue: np.ndarray) -> Figure:
    """The 15 strongest neurons of each detector group beside the template clue − 0.5, with each one's
    correlation r to it."""
    fig = Figure(figsize=(13, 2.9))
    axes = fig.subplots(2, 1)
    for ax, ids, name, colour in (
        (axes[0], one, '15 strongest "1" detectors', GROUP_COLOURS["one"]),
        (axes[1], anti, '15 strongest "anti-1" detectors', GROUP_COLOURS["anti_one"]),
    ):
        tiles = [_tile(clue - 0.5, "black")] + [_tile(images[i], colour) for i in ids]
        ax.imshow(mosaic(tiles, len(tiles), gap=4), interpolation="nearest")
        w = tiles[0].shape[1] + 4
        ax.set_xticks(
            np.arange(len(tiles)) * w + w / 2 - 2, ["clue − 0.5"] + [f"#{i}\nr={corr[i]:+.2f}" for i in ids], fontsize=7
        )
        ax.set_yticks([])
        ax.set_ylabel(name.replace("15 strongest ", ""), fontsize=8)
        ax.tick_params(length=0)
    fig.suptitle(
        "feature-visualisation: the 15 strongest neurons of each group (|logit-diff weight| × activation std);"
        " r = correlation with clue − 0.5; blue = positive",
        fontsize=10,
    )
    fig.subplots_adjust(left=0.04, right=0.99, bottom=0.12, top=0.86, hspace=0.7)
    return fig


def contributions(contrib: np.ndarray, dead: np.ndarray, fc2_weight: np.ndarray, typical: np.ndarray) -> Figure:
    """The write-up's two rows: each neuron's fc2 weight to logit 0 (top) and to logit 1 (bottom), × its typical
    activation (std), blue = positive; cells breaking the pattern (top > 0 or bottom < 0, active neurons) ringed.
    Below, the logit-diff contributions (the two rows' difference) of the active neurons, sorted."""
    fig = Figure(figsize=(12, 6.4))
    ax1, ax2 = fig.subplots(2, 1, gridspec_kw={"height_ratios": [1, 1.6]})
    rows = fc2_weight * typical[None, :]
    lim = float(np.abs(rows).max()) or 1.0
    im = ax1.imshow(rows, aspect="auto", cmap=SIGNED_CMAP, vmin=-lim, vmax=lim, interpolation="nearest")
    active = ~dead
    breaking = active & ((rows[0] > 0) | (rows[1] < 0))
    for r, bad in ((0, active & (rows[0] > 0)), (1, active & (rows[1] < 0))):
        xs = np.flatnonzero(bad)
        ax1.scatter(xs, np.full(len(xs), r), s=7, facecolor="none", edgecolor="black", lw=0.6)
    ax1.set_yticks(
        [0, 1], ["fc2 weight to logit 0\n× activation std", "fc2 weight to logit 1\n× activation std"], fontsize=8
    )
    ax1.set_xlabel(f"neuron index (all {len(contrib)}; dead neurons have std 0: white)")
    ax1.set_title(
        f"fc2-sign-pattern · one-way-neurons: the write-up's two rows (blue = positive; {int(breaking.sum())} "
        'active neurons break "top red, bottom blue", ringed)',
        fontsize=10,
    )
    fig.colorbar(im, ax=ax1, fraction=0.02, pad=0.01).ax.tick_params(labelsize=7)
    ids = np.flatnonzero(active)
    order = ids[np.argsort(contrib[ids], kind="stable")[::-1]]
    vals = contrib[order]
    up, down = matplotlib.colormaps[SIGNED_CMAP](0.85), matplotlib.colormaps[SIGNED_CMAP](0.15)
    ax2.bar(np.arange(len(vals)), vals, color=[up if v >= 0 else down for v in vals], width=1.0)
    ax2.axhline(0, color="black", lw=0.8)
    ax2.set_xlabel(f"active neurons, sorted by contribution ({len(ids)} of {len(contrib)}; dead ones omitted)")
    ax2.set_ylabel("logit-diff weight × activation std")
    ax2.set_title("one-way-neurons: contribution to the logit diff (1 − 0) per neuron", fontsize=10)
    ax2.legend(
        handles=[
            matplotlib.patches.Patch(color=up, label=f"towards class 1 ({int((vals > 0).sum())})"),
            matplotlib.patches.Patch(color=down, label=f"towards class 0 ({int((vals < 0).sum())})"),
        ],
        fontsize=8,
    )
    fig.subplots_adjust(left=0.12, right=0.96, bottom=0.08, top=0.95, hspace=0.45)
    return fig


def dla(samples: dict[str, np.ndarray], one: np.ndarray, anti: np.ndarray, rest: np.ndarray) -> Figure:
    """Direct logit attribution: stacked logit-diff contributions of the two groups for sampled images of each region."""  # noqa: E501
    fig = Figure(figsize=(11, 4.3))
    ax = fig.subplots()
    x0 = 0
    ticks = []
    for name, ids in samples.items():
        x = np.arange(x0, x0 + len(ids))
        first = x0 == 0
        o, a = one[ids], anti[ids]
        # positive parts stack upwards from 0, negative parts downwards: "1" first, "anti-1" on top of it
        ax.bar(x, np.maximum(o, 0), color=GROUP_COLOURS["one"], width=0.85, label='"1" detectors' if first else None)
        ax.bar(x, np.minimum(o, 0), color=GROUP_COLOURS["one"], width=0.85)
        ax.bar(
            x,
            np.maximum(a, 0),
            bottom=np.maximum(o, 0),
            color=GROUP_COLOURS["anti_one"],
            width=0.85,
            label='"anti-1" detectors' if first else None,
        )
        ax.bar(x, np.minimum(a, 0), bottom=np.minimum(o, 0), color=GROUP_COLOURS["anti_one"], width=0.85)
        ax.scatter(
            x, one[ids] + anti[ids] + rest[ids], color="black", s=8, zorder=5, label="logit diff" if x0 == 0 else None
        )
        ticks.append((x0 + (len(ids) - 1) / 2, name))
        x0 += len(ids) + 3
    ax.axhline(0, color="black", lw=0.8)
    shown = np.concatenate(list(samples.values()))
    pos = np.maximum(one[shown], 0) + np.maximum(anti[shown], 0)
    neg = np.minimum(one[shown], 0) + np.minimum(anti[shown], 0)
    total = one[shown] + anti[shown] + rest[shown]
    hi, lo = max(pos.max(), total.max(), 0.0), min(neg.min(), total.min(), 0.0)
    ax.set_ylim(lo - 0.06 * (hi - lo), hi + 0.06 * (hi - lo))  # stacked bars don't autoscale with margins
    ax.set_xticks([t for t, _ in ticks], [n for _, n in ticks])
    ax.set_xlabel("sampled training images, by region of s (sorted by s within each)")
    ax.set_ylabel("contribution to logit diff (1 − 0)")
    ax.set_title("dla-exclusive: each group's contribution to the logit diff", fontsize=10)
    ax.legend(fontsize=8)
    fig.subplots_adjust(left=0.07, right=0.99, bottom=0.12, top=0.92)
    return fig


def _binned_median(x: np.ndarray, y: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bin centres and the median of ``y`` in each bin of ``x`` (bins with fewer than 20 points left out)."""
    k = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(edges) - 2)
    centres, medians = [], []
    for b in range(len(edges) - 1):
        in_bin = y[k == b]
        if len(in_bin) >= 20:
            centres.append((edges[b] + edges[b + 1]) / 2)
            medians.append(float(np.median(in_bin)))
    return np.array(centres), np.array(medians)


def min_ablation(
    outcomes: dict[str, dict[str, dict[str, float]]],
    s: np.ndarray,
    before: np.ndarray,
    after: dict[str, np.ndarray],
    low: float,
    high: float,
) -> Figure:
    """Left: the logit diff before and after each group's minimum-ablation, median per bin of s (what the
    write-up's left panel shows: ablating either lowers it). Right: fraction of model labels kept per ablated
    group and half, with the 50% chance line; beside each bar the fraction the ablation sends to class 0, and
    per half the class-0 share before ablation (what an ablation that sends everything to class 0 keeps)."""
    fig = Figure(figsize=(13, 4.8))
    left, ax = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.15]})
    edges = np.linspace(float(s.min()), float(s.max()), 61)
    lines = [
        ("before", before, "#bbbbbb", "-", "before ablation"),
        ("anti_one_group", after["anti_one_group"], GROUP_COLOURS["anti_one"], "-", 'ablate "anti-1" detectors'),
        ("one_group", after["one_group"], GROUP_COLOURS["one"], "-", 'ablate "1" detectors'),
        ("both", after["both"], GROUP_COLOURS["both"], "--", "ablate both groups"),
    ]
    for key, values, colour, style, label in lines:
        x, med = _binned_median(s, values, edges)
        # "before" wide and pale underneath: where an ablation changes nothing its line lies on it
        left.plot(
            x,
            med,
            style,
            color=colour,
            lw=5 if key == "before" else 1.6,
            label=label,
            zorder=1 if key == "before" else 2,
        )
    left.axhline(0, color="grey", lw=0.8)
    left.text(float(s.max()), 0, "class 1 above, class 0 below ", fontsize=7, va="bottom", ha="right", color="grey")
    for t in (low, high):
        left.axvline(t, color="black", ls=":", lw=1)
    left.set_xlabel("similarity s (dotted: L, R)")
    left.set_ylabel("logit diff (1 − 0), median per bin of s")
    left.set_title("ablation-lowers-logit-diff: the logit diff before and after ablation", fontsize=9)
    left.legend(fontsize=8, loc="upper center")
    halves = [("anti_one_half", "anti-1-like half (s < midpoint)"), ("one_half", "1-like half (s ≥ midpoint)")]
    groups = [
        ("anti_one_group", '"anti-1" detectors', GROUP_COLOURS["anti_one"]),
        ("one_group", '"1" detectors', GROUP_COLOURS["one"]),
        ("both", "both groups", GROUP_COLOURS["both"]),
    ]
    width = 0.26
    for k, (g, lab, colour) in enumerate(groups):
        vals = [outcomes[g]["kept"][h] for h, _ in halves]
        x = np.arange(2) + (k - 1) * width
        bars = ax.bar(x, vals, width, color=colour, label=f"ablate {lab}")
        ax.bar_label(bars, fmt="%.2f", fontsize=8, label_type="center", color="white", fontweight="bold")
        for xi, (h, _) in zip(x, halves):  # inside the bar, under its top: clear of the 50% and class-0 lines
            ax.text(
                xi,
                outcomes[g]["kept"][h] - 0.06,
                f"→0: {outcomes[g]['class_0_after'][h]:.0%}",
                ha="center",
                va="top",
                fontsize=7,
                color="white",
            )
    before = next(iter(outcomes.values()))["class_0_before"]
    for i, (h, _) in enumerate(halves):
        ax.hlines(
            before[h],
            i - 1.5 * width,
            i + 1.5 * width,
            color="black",
            lw=1.5,
            ls="-",
            label="class-0 share before ablation" if i == 0 else None,
        )
    ax.axhline(0.5, color="black", ls="--", lw=1, label="chance (50%)")
    ax.set_xticks(np.arange(2), [n for _, n in halves])
    ax.set_xlim(-0.5, 2.35)
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("fraction of model labels kept")
    ax.set_title("min-ablation: labels kept per half (→0: share of the half labelled class 0 after)", fontsize=9)
    ax.legend(fontsize=8, loc="upper right")
    fig.suptitle("groups set to their dataset minimum", fontsize=10)
    fig.subplots_adjust(left=0.06, right=0.99, bottom=0.11, top=0.88, wspace=0.16)
    return fig


def scrubbing(
    sweep: dict[str, dict[str, Any]],
    per_neuron: dict[str, dict[str, Any]] | None = None,
    wrong: dict[str, Any] | None = None,
) -> Figure:
    """Fraction of labels kept under causal scrubbing against the similarity noise p (log axis): the notebook's
    scheme (one replacement image per group) and, if given, every neuron drawing its own image. With ``wrong``,
    beside it the yardstick at one noise level: the hypothesis, its two groups swapped, random partitions of
    the active neurons into groups of the same sizes, and fully random replacement, with the loss recovered."""
    fig = Figure(figsize=(8 if wrong is None else 12.5, 4.5))
    if wrong is None:
        ax = fig.subplots()
    else:
        ax, side = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.7, 1]}, sharey=True)
    keys = [k for k in sweep if k != "random"]
    ps = np.array([float(k) for k in keys])
    for k, p in zip(keys, ps):
        vals = sweep[k]["values"]
        ax.scatter([p] * len(vals), vals, color="#1f77b4", s=12, alpha=0.6)
    ax.errorbar(
        ps,
        [sweep[k]["mean"] for k in keys],
        yerr=[sweep[k]["std"] for k in keys],
        fmt="o-",
        color="#1f77b4",
        capsize=4,
        label="one image per group (notebook; judged), mean ± std over seeds",
    )
    if per_neuron is not None:
        ax.errorbar(
            ps,
            [per_neuron[k]["mean"] for k in keys],
            yerr=[per_neuron[k]["std"] for k in keys],
            fmt="s--",
            color="#9467bd",
            capsize=4,
            label="one image per neuron (reported)",
        )
    if "random" in sweep:
        r = sweep["random"]
        ax.axhline(r["mean"], color="#d62728", ls=":", label=f"fully random resampling ({r['mean']:.3f})")
    ax.axhspan(0.93, 0.94, color="green", alpha=0.12, label="write-up: 93%–94%")
    ax.set_xscale("log")
    ax.set_xlabel("similarity noise p (fraction of the range of s)")
    ax.set_ylabel("fraction of model labels kept")
    floor = 0.45
    if wrong is not None:  # the wrong hypotheses may score below chance: keep every point in view
        floor = min(floor, wrong["swapped"] - 0.05, min(wrong["random_partitions"], default=1.0) - 0.05)
    ax.set_ylim(floor, 1.0)
    ax.set_title("causal-scrubbing: resample-ablating all 200 neurons", fontsize=10)
    ax.legend(fontsize=8, loc="center left")
    if wrong is not None:
        _wrong_hypotheses(side, wrong)
        fig.subplots_adjust(left=0.06, right=0.99, bottom=0.12, top=0.89, wspace=0.05)
    else:
        fig.subplots_adjust(left=0.09, right=0.98, bottom=0.12, top=0.92)
    return fig


def _wrong_hypotheses(ax: Any, wrong: dict[str, Any]) -> None:
    """The scrubbing score of the hypothesis beside wrong hypotheses of the same group sizes (one panel)."""
    partitions = np.asarray(wrong["random_partitions"], dtype=float)
    jitter = np.linspace(-0.15, 0.15, len(partitions)) if len(partitions) > 1 else np.zeros(len(partitions))
    ax.scatter(
        np.full(len(partitions), 2.0) + jitter,
        partitions,
        s=14,
        color="#7f7f7f",
        label=f"{len(partitions)} random partitions (same sizes)",
    )
    ax.scatter([0], [wrong["hypothesis"]], s=60, color="#1f77b4", zorder=5, label="the hypothesis")
    ax.scatter([1], [wrong["swapped"]], s=60, marker="D", color="#ff7f0e", zorder=5, label="its two groups swapped")
    ax.axhline(wrong["fully_random"], color="#d62728", ls=":", label=f"fully random ({wrong['fully_random']:.3f})")
    best = float(np.max(partitions)) if len(partitions) else None
    for x, v, what in ((0, wrong["hypothesis"], ""), (1, wrong["swapped"], ""), (2, best, "best ")):
        if v is not None:
            ax.annotate(f"{what}{v:.3f}", (x, v), xytext=(0, 8), textcoords="offset points", ha="center", fontsize=8)
    ax.set_xticks([0, 1, 2], ["hypothesis", "groups\nswapped", "random\npartitions"], fontsize=8)
    ax.set_xlim(-0.5, 2.5)
    ax.tick_params(labelleft=False)
    ax.set_title(
        f"scrubbing-beats-wrong-hypotheses (p = {wrong['p']:g}):\nthe hypothesis recovers "
        f"{wrong['loss_recovered']:.0%} of the loss",
        fontsize=9,
    )
    ax.legend(fontsize=7, loc="upper right")


def hint(clue: np.ndarray) -> Figure:
    """The challenge's hint 4, the image it gave: training image 6, a "1" (pixels in [0, 1], black = 0)."""
    fig = Figure(figsize=(3.2, 3.5))
    ax = fig.subplots()
    ax.imshow(clue, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title("clue-is-a-one: the hint image\n(training image 6)", fontsize=9)
    fig.subplots_adjust(left=0.04, right=0.96, bottom=0.03, top=0.86)
    return fig


def feature_directions(images: np.ndarray, names: list[str], reached: np.ndarray) -> Figure:
    """The feature visualisations of directions of neuron space (the neurons' recipe, on d · pre-activation), one
    panel each in the write-up's colours (blue = positive), symmetric scale per image."""
    fig = Figure(figsize=(2.3 * len(images) + 0.4, 3.1))
    axes = fig.subplots(1, len(images), squeeze=False)[0]
    for ax, img, name, r in zip(axes, images, names, reached):
        lim = float(np.abs(img).max()) or 1.0
        ax.imshow(img, cmap=SIGNED_CMAP, vmin=-lim, vmax=lim, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"{name}\nreached {r:.3g}", fontsize=8)
    fig.suptitle(
        "feature-visualisation of directions (shown, not judged): input maximising d · fc1 pre-activation; "
        "blue = positive",
        fontsize=9,
    )
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.03, top=0.72, wspace=0.12)
    return fig


def _group_strip(ax: Any, kind: np.ndarray) -> None:
    """Colour the background of each neuron's column by its group (dead neurons left white)."""
    for i, k in enumerate(kind):
        if k != "dead":
            ax.axvspan(i - 0.5, i + 0.5, color=GROUP_COLOURS[k], alpha=0.18, lw=0, zorder=0)


def loadings(vectors: np.ndarray, names: list[str], kind: np.ndarray) -> Figure:
    """Each neuron's loading on PC1 and PC2 (top) and on the two arm directions (bottom), by neuron index, with
    the detector groups shaded; beside each, one loading against the other (the write-up's "top right" and "top
    left" neurons are the quadrants)."""
    fig = Figure(figsize=(13, 6.6))
    axes = fig.subplots(2, 2, gridspec_kw={"width_ratios": [3.2, 1]})
    x = np.arange(vectors.shape[1])
    pair_colours = ("#1f3a93", "#9467bd")
    for row, (a, b) in enumerate(((0, 1), (2, 3))):
        bars, scatter = axes[row]
        _group_strip(bars, kind)
        for j, (v, off) in enumerate(((a, -0.2), (b, 0.2))):
            bars.bar(x + off, vectors[v], width=0.4, color=pair_colours[j], label=names[v])
        bars.axhline(0, color="black", lw=0.6)
        bars.set_xlim(-1, len(x))
        bars.set_ylabel("loading")
        bars.legend(fontsize=8, loc="upper right")
        for k in ("one", "anti_one"):
            m = kind == k
            scatter.scatter(vectors[a][m], vectors[b][m], s=14, color=GROUP_COLOURS[k])
        m = kind == "dead"
        scatter.scatter(vectors[a][m], vectors[b][m], s=6, color=GROUP_COLOURS["dead"])
        scatter.axhline(0, color="black", lw=0.6)
        scatter.axvline(0, color="black", lw=0.6)
        scatter.set_xlabel(names[a], fontsize=8)
        scatter.set_ylabel(names[b], fontsize=8)
        scatter.tick_params(labelsize=7)
    axes[0, 0].set_title(
        "pca-uses-few-neurons · quadrants-are-groups: loadings on PC1 and PC2 (oriented so the clue is positive)",
        fontsize=10,
    )
    axes[1, 0].set_title("pca-uses-few-neurons: loadings on the two arm directions", fontsize=10)
    axes[1, 0].set_xlabel("neuron index (background: the neuron's detector group)")
    _group_legend(fig, loc="lower center")
    fig.subplots_adjust(left=0.06, right=0.99, bottom=0.14, top=0.95, hspace=0.35, wspace=0.18)
    return fig


def zero_ablation(s: np.ndarray, one: np.ndarray, anti: np.ndarray, shares: dict[str, float]) -> Figure:
    """Left: for random training images (sorted by s; ``s`` and the two groups' logit-diff contributions), the
    change of the logit diff when each detector group is
    zero-ablated (minus its contribution: a linear readout). Right: the share of the images outside the
    anti-1-like region labelled class 1, before and after zero-ablating the anti-1 group."""
    fig = Figure(figsize=(12, 4.3))
    ax, side = fig.subplots(1, 2, gridspec_kw={"width_ratios": [4, 1]})
    x = np.arange(len(s))
    ax.bar(x - 0.2, -one, width=0.4, color=GROUP_COLOURS["one"], label='zero-ablate the "1" detectors')
    ax.bar(x + 0.2, -anti, width=0.4, color=GROUP_COLOURS["anti_one"], label='zero-ablate the "anti-1" detectors')
    ax.axhline(0, color="black", lw=0.8)
    ticks = np.linspace(0, len(s) - 1, 6).astype(int)
    ax.set_xticks(ticks, [f"s = {s[t]:.0f}" for t in ticks], fontsize=7)
    ax.set_xlabel(f"{len(s)} random training images, sorted by s")
    ax.set_ylabel("change of the logit diff (1 − 0)")
    ax.set_title("anti-one-baseline · zero-ablation-baseline: effect of zero-ablating a group", fontsize=10)
    ax.legend(fontsize=8)
    vals = [shares["fraction_class_1_before"], shares["fraction_class_1_after"]]
    bars = side.bar([0, 1], vals, color=["#7f7f7f", GROUP_COLOURS["anti_one"]], width=0.6)
    side.bar_label(bars, fmt="%.3f", fontsize=8)
    side.axhline(0.9, color="black", ls="--", lw=1)
    side.text(-0.45, 0.91, '"almost all" (≥ 90%)', fontsize=7, va="bottom", ha="left")
    side.set_xticks([0, 1], ["before", "anti-1 group\nzeroed"], fontsize=8)
    side.set_ylim(0, 1.08)
    side.set_ylabel("labelled class 1", fontsize=8)
    side.set_title("images outside the\nanti-1-like region", fontsize=9)
    fig.subplots_adjust(left=0.07, right=0.99, bottom=0.14, top=0.88, wspace=0.25)
    return fig


# ----------------------------------------------------------------------------------------------- beyond the data


def ood_gallery(rows: list[dict[str, Any]]) -> Figure:
    """One row per input family: the source training image, the generated counterexample (shrunk when the search
    found one, else the sample's worst), its s, the function's label and the network's logit difference."""
    n = max(len(rows), 1)
    fig = Figure(figsize=(5.6, 1.55 * n + 0.3))
    axes = fig.subplots(n, 2, squeeze=False)
    for k, row in enumerate(rows):
        src_ax, gen_ax = axes[k]
        if row["source"] is not None:
            src_ax.imshow(row["source"], cmap="gray", vmin=0, vmax=255)
            src_ax.set_title("source", fontsize=7)
        else:
            src_ax.imshow(np.full((28, 28), 255.0), cmap="gray", vmin=0, vmax=255)
            src_ax.text(14, 14, "(no source)", ha="center", va="center", fontsize=7, color="#555555")
        gen_ax.imshow(row["generated"], cmap="gray", vmin=0, vmax=255)
        gen_ax.set_title("minimal (shrunk)" if row["minimal"] else "worst in sample", fontsize=7)
        for ax in (src_ax, gen_ax):
            ax.set_xticks([])
            ax.set_yticks([])
        net = int(row["logit_diff"] > 0)
        src_ax.set_ylabel(row["family"], fontsize=9, rotation=0, ha="right", va="center")
        gen_ax.text(
            1.08,
            0.5,
            f"{row['verdict']}\ns = {row['s']:.0f}\nfunction: class {row['function_label']}\n"
            f"network: class {net}\nlogit 1 − 0 = {row['logit_diff']:+.2f}",
            transform=gen_ax.transAxes,
            fontsize=8,
            va="center",
            color="#b3261e" if row["verdict"] == "breaks" else "black",
        )
    if not rows:
        axes[0, 0].set_axis_off()
        axes[0, 1].set_axis_off()
        axes[0, 0].text(0, 0.5, "no disagreement far from the thresholds in any family", fontsize=9)
    fig.suptitle("beyond the data: counterexamples per input family", fontsize=10)
    fig.subplots_adjust(left=0.2, right=0.62, top=1 - 0.45 / (1.55 * n + 0.3), bottom=0.02, hspace=0.35, wspace=0.1)
    return fig


def ood_switch_points(families: dict[str, dict[str, Any]], low: float, high: float, margin: float) -> Figure:
    """The network's logit difference against s of generated inputs (scaling, blending), with the write-up's
    thresholds, the far-from-threshold margin, and the fitted switch points with their 95% intervals."""
    fig = Figure(figsize=(8.5, 3.4 * max(len(families), 1)), layout="constrained")
    axes = fig.subplots(max(len(families), 1), 1, squeeze=False)[:, 0]
    for ax, (name, fam) in zip(axes, families.items()):
        s, d = np.asarray(fam["s"]), np.asarray(fam["logit_diff"])
        ax.scatter(s, d, s=4, alpha=0.45, c=np.where(d > 0, CLASS_COLOURS[1], CLASS_COLOURS[0]), rasterized=True)
        ax.axhline(0, color="black", lw=0.6)
        for t, label in ((low, "L"), (high, "R")):
            ax.axvline(t, color="black", ls="--", lw=1)
            ax.axvspan(t - margin, t + margin, color="#999999", alpha=0.15, lw=0)
            ax.text(t, ax.get_ylim()[1], f" {label}", va="top", fontsize=8)
        for _side, sp in fam["fitted"].items():
            if sp.get("fitted") is None:
                continue
            lo, hi = sp["interval_95"]
            ax.axvspan(lo, hi, color="purple", alpha=0.25, lw=0)
            ax.axvline(sp["fitted"], color="purple", lw=1.2)
        ax.set_title(
            f"{name}: network logit 1 − 0 vs s of generated inputs (dashed: L, R; grey: ±5% margin; "
            "purple: fitted switch, 95%)",
            fontsize=8,
        )
        ax.set_xlabel("s (similarity to the clue template)")
        ax.set_ylabel("logit 1 − logit 0")
    return fig
