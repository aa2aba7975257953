"""The yardstick of a causal-scrubbing score: the same scrubbing under wrong hypotheses with the same group
sizes (the two detector groups swapped; seeded random partitions of the active neurons), against fully random
replacement, and the share of the loss a hypothesis recovers, ``(score − random) / (1 − random)`` (the causal
scrubbing literature's "loss recovered", with the loss = 1 − fraction of model labels kept)."""

from __future__ import annotations

import dataclasses

import numpy as np

from analysis.neurons import Groups
from analysis.scrubbing import Scrubber


def swapped(groups: Groups) -> Groups:
    """The hypothesis with its two detector groups exchanged ("1" detectors called "anti-1" and back)."""
    return Groups(one=groups.anti_one, anti_one=groups.one, dead=groups.dead)


def random_partitions(groups: Groups, count: int, seed: int, key: np.ndarray | None = None) -> list[Groups]:
    """``count`` seeded partitions of the active neurons into a "1" and an "anti-1" group of the hypothesis's
    sizes (the dead neurons stay dead): hypotheses as specific as the real one, but wrong. With ``key`` (one value
    per neuron, e.g. its activation std) the neurons are drawn in the order of their key, not of their index, so a
    network with its neurons permuted gets the same partitions of the same neurons."""
    rng = np.random.default_rng(seed)
    active = np.flatnonzero(~groups.dead)
    if key is not None:
        active = active[np.argsort(np.asarray(key)[active], kind="stable")]
    n_one = int(groups.one.sum())
    out = []
    for _ in range(count):
        one = np.zeros_like(groups.one)
        one[rng.permutation(active)[:n_one]] = True
        out.append(Groups(one=one, anti_one=~groups.dead & ~one, dead=groups.dead))
    return out


def regrouped(scrubber: Scrubber, post: np.ndarray, groups: Groups, active_post: np.ndarray | None = None) -> Scrubber:
    """``scrubber`` under another split of the same active neurons into "1" and "anti-1" detectors: the same
    images, similarity index (and its cached windows), regions, labels, readout and dead neurons' part; the two
    detector groups' logit parts recomputed. Only the group scheme (a group from one replacement image).
    ``active_post``: ``post[:, ~groups.dead]``, if the caller has it (one copy for many hypotheses)."""
    active = ~groups.dead
    readout = scrubber.readout.restricted(active)
    cols = np.asarray(post)[:, active] if active_post is None else active_post
    parts = (
        readout.contribution(cols, groups.one[active]),
        readout.contribution(cols, groups.anti_one[active]),
        scrubber.parts[2],
    )
    return dataclasses.replace(scrubber, parts=parts, neurons=None, windows=scrubber.windows)


def loss_recovered(score: float, random: float) -> float:
    """``(score − random) / (1 − random)``: 1 when every label is kept, 0 at the fully random score, negative
    below it (NaN when fully random replacement already keeps every label)."""
    return (float(score) - random) / (1.0 - random) if random < 1 else float("nan")


def hypotheses(groups: Groups, partitions: int, seed: int, key: np.ndarray | None = None) -> dict[str, Groups]:
    """The hypothesis and its wrong variants by name: ``hypothesis``, ``swapped``, ``partition00`` … (seeded; ``key``
    as for :func:`random_partitions`)."""
    wrong = random_partitions(groups, partitions, seed, key)
    return {"hypothesis": groups, "swapped": swapped(groups), **{f"partition{k:02d}": g for k, g in enumerate(wrong)}}


def kept_under(
    scrubber: Scrubber, post: np.ndarray, named: dict[str, Groups], p: float | str, seeds: tuple[int, ...]
) -> dict[str, np.ndarray]:
    """Per hypothesis of ``named`` (the first is ``scrubber``'s own), per seed and image (seeds, N): is the model's
    label kept when every group is scrubbed at noise level ``p`` (group scheme)? The replacement images depend on
    the seed and the regions only, so every hypothesis is scrubbed with the same draws."""
    first = next(iter(named))
    active_posts: dict[bytes, np.ndarray] = {}  # the hypotheses share their dead neurons: one column copy

    def active_post(g: Groups) -> np.ndarray:
        key = np.packbits(g.dead).tobytes()
        if key not in active_posts:
            active_posts[key] = np.asarray(post)[:, ~g.dead]
        return active_posts[key]

    scrubbers = {n: scrubber if n == first else regrouped(scrubber, post, g, active_post(g)) for n, g in named.items()}
    active_posts.clear()  # not held while scrubbing: the run's peak memory stays where it was
    return {n: np.array([s.kept_images(p, seed) for seed in seeds]) for n, s in scrubbers.items()}
