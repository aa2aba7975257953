"""Falsification beyond the data: the write-up's mechanism — the network computes a linear similarity s to the
clue template and labels by the band L < s < R — predicts the network's label on inputs nobody trained on. Seven
families of generated inputs test that prediction (analysis/ood.py states each family and the rule).

Per family: agreement between the network (numpy forward pass of the checkpoint, model/numpy_net.py) and the
function far (> 5% of the range of s) from both thresholds, on seeded chunks drawn until each look's quota of far
inputs; beside it the yardstick (the same agreement on the MNIST images), the ratio of the disagreement rates, and
the base rate of a one-answer network. The verdict, fixed before measuring: *generalises* when the Wilson lower
bound of the far agreement is ≥ 99% (the project's bar; the write-up claims nothing beyond its data), *breaks* when
the upper bound is < 99%, *undetermined* otherwise (more looks, up to a cap; intervals Bonferroni-adjusted for the
looks). A family whose base rate is ≥ 95% is *uninformative*: never counted as evidence. A targeted hypothesis
search looks for the worst far disagreement; it is reduced to a minimal counterexample, proved minimal from its
stored parameters. Recorded under ``"ood"`` in claims.json.

Exit status: a verdict is a scientific result, not a suite failure. A family where the explanation *generalises*
passes; one where it *breaks* xfails with the finding (shown by ``-rx``, recorded and reported like an erratum); an
*undetermined* one skips with its interval; the test fails only when the measurement itself is broken (e.g. a
generator that does not do what it says, or a counterexample that is not minimal).
"""

from __future__ import annotations

import json
from concurrent.futures import Future

import numpy as np
import pytest

from analysis import ood
from analysis.labelling import L_THRESHOLD, R_THRESHOLD, band_labels
from claims.probe_settings import SCALE, current_profile, independent_of_imports, probe_settings
from claims.started_first import Background, starts_first
from report.claim import xfail
from report.ood import SECTION
from report.plugin import record_section
from report.records import jsonable

pytestmark = [pytest.mark.ood, pytest.mark.needs_data]

#: Hypothesis examples per family in the ``dev`` profile (other profiles scale it, see claims/probe_settings.py).
SEARCH_EXAMPLES = 20
#: The search may start from (and shrink) up to this many of the sample's far disagreements, most confident first.
KNOWN = 50
#: Record keys kept exactly as computed (a counterexample's inputs must regenerate it exactly).
EXACT = ("params", "minimality")


@pytest.fixture(autouse=True)
def judged_at_the_write_ups_band(acts):
    """The generated inputs are labelled at the write-up's band; a run at the network's own fit (``--fit own``)
    maps only the data's similarity, so it does not judge them (the replica study takes them as written)."""
    if acts.band is not None:
        pytest.skip("--fit own: the generated inputs are judged at the write-up's band, in the as-written run")


@pytest.fixture(scope="module")
def profile() -> str:
    """The loaded hypothesis profile (``--hypothesis-profile``; ``ci`` when $CI is set, else ``dev``)."""
    return current_profile()


@pytest.fixture(scope="module")
def quota(profile) -> int:
    """Far inputs each look adds under this profile."""
    return ood.FAR_PER_LOOK.get(profile, ood.FAR_PER_LOOK["ci"])


@pytest.fixture(scope="module")
def search_settings(profile):
    """The loaded hypothesis profile with this search's own example count (derandomised in dev and ci)."""
    return probe_settings(SEARCH_EXAMPLES)


@pytest.fixture(scope="module")
def margin(train) -> float:
    return margin_of(train)


def margin_of(train) -> float:
    """5% of the training set's range of s."""
    return ood.MARGIN * float(train.s.max() - train.s.min())


@pytest.fixture(scope="module")
def yardstick(train, test_split, margin) -> dict:
    """The network's far agreement with the function on the MNIST images themselves (training and test)."""
    return ood.in_distribution({"train": (train.s, train.labels), "test": (test_split.s, test_split.labels)}, margin)


@pytest.fixture(scope="module")
def samples(numpy_net, mnist, template, train, quota, prepared, background) -> dict[str, ood.FamilySample]:
    """Every family's sequential sample (:func:`family_samples`), started at the session's first test."""
    return start_family_samples(background, numpy_net, mnist, template, train, quota, prepared).result()


def start_family_samples(background: Background, numpy_net, mnist, template, train, quota, prepared) -> Future:
    """:func:`family_samples`, computed in the background once (~1 s of forward passes on a cold cache)."""
    args = (numpy_net, mnist, template, margin_of(train), quota, prepared)
    return background.start("ood-samples", family_samples, *args)


@starts_first("test_ood")
def _start_family_samples(request: pytest.FixtureRequest, background: Background) -> None:
    names = ("numpy_net", "mnist", "template", "train", "quota", "prepared")
    start_family_samples(background, *(request.getfixturevalue(name) for name in names))


def family_samples(numpy_net, mnist, template, margin, quota, prepared) -> dict[str, ood.FamilySample]:
    """Every family's sequential sample through the function and the network. Like the activations, the network's
    outputs are computed once per checkpoint, data, quota and code version (generators and forward pass) and
    cached: a warm run reads the values instead of running the images."""
    from fixtures.cache import load_or_build, write_cache

    def build(path) -> None:
        measured = {
            f: ood.measure_sequentially(f, numpy_net.logit_diff, mnist.train_images, template, margin, quota)
            for f in ood.FAMILIES
        }
        write_cache(
            path,
            {
                **{f"{f}/{k}": getattr(m, k) for f, m in measured.items() for k in ("s", "logit_diff")},
                **{f"{f}/params/{k}": v for f, m in measured.items() for k, v in m.params.items()},
            },
        )

    names = [
        f"{f}/{k}"
        for f in ood.FAMILIES
        for k in ("s", "logit_diff", *(f"params/{p}" for p in ood.sample_params(f, 1, 1)))
    ]
    arrays = load_or_build(_sample_cache_path(prepared, quota), build, names).arrays
    return {
        f: ood.FamilySample(
            f,
            {k.rsplit("/", 1)[1]: v for k, v in arrays.items() if k.startswith(f"{f}/params/")},
            arrays[f"{f}/s"],
            arrays[f"{f}/logit_diff"],
            margin,
        )
        for f in ood.FAMILIES
    }


def _sample_cache_path(prepared, quota: int):
    """Keyed by the checkpoint's sha256, the data's digest, the quota, and the code that generates and runs the
    inputs."""
    return _cache_path(prepared, "ood-sample", f"{ood.SEED}|{ood.CHUNK}|{quota}|{ood.LOOKS}|{ood.MAX_CHUNKS}")


def _cache_path(prepared, kind: str, rule: str, more_sources: tuple[str, ...] = ()):
    """A cache file of ``kind`` keyed by the checkpoint's sha256, the data's digest, ``rule``, and the source of the
    code that generates and runs the inputs (and ``more_sources``)."""
    import hashlib
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256(f"{prepared.inputs.checkpoint.sha256}|{prepared.mnist.identity}|{rule}".encode())
    for source in (
        "analysis/ood.py",
        "analysis/labelling.py",
        "model/labelling.py",
        "model/numpy_net.py",
        *more_sources,
    ):
        h.update((root / source).read_bytes())
    return Path(prepared.inputs.cache_dir) / f"{kind}-{h.hexdigest()[:24]}.npz"


@pytest.fixture(scope="module")
def oracles(numpy_net, mnist, template, margin) -> dict[str, ood.Oracle]:
    return {f: ood.Oracle(f, mnist.train_images, template, numpy_net.logit_diff, margin) for f in ood.FAMILIES}


@pytest.fixture(scope="module")
def findings(
    samples, oracles, numpy_net, mnist, template, margin, quota, yardstick, search_settings, prepared
) -> dict[str, dict]:
    """Each family's record: the sample's agreements, looks and verdict, the yardstick and base rate, the search's
    worst far disagreement reduced to a minimal counterexample (with the proof from its stored parameters), and
    (scale, blend) the fitted switch points. BLAS runs on one thread here: the forward passes are of a few dozen
    images, where a multi-threaded BLAS spends more CPU waiting than computing (the numbers are the same).

    A derandomised search (dev, ci) gives the same records for the same network, data, profile and code, so they
    are memoised in the cache folder like the sample (:func:`_findings_cache_path`); the explore profile searches
    afresh every run. A stored record is trusted only after its counterexample is run again through the network and
    the function and gives the stored s, labels and logit diff; the proof of minimality is always computed on the
    run's own network. So a stale or foreign cache file can never report a counterexample that is not one: it is
    recomputed."""
    from threadpoolctl import threadpool_limits

    from fixtures.cache import as_json, memoised_json

    def compute() -> dict[str, dict]:
        return {
            name: _family_finding(
                name, sample, oracles[name], numpy_net, mnist, template, margin, quota, yardstick, search_settings
            )
            for name, sample in samples.items()
        }

    def reproduces(stored: dict[str, dict]) -> bool:
        return set(stored) == set(samples) and all(_reproduces(oracles[name], rec) for name, rec in stored.items())

    with threadpool_limits(1, user_api="blas"):
        if search_settings.derandomize:
            out = memoised_json(_findings_cache_path(prepared, quota, search_settings), compute, reproduces)
        else:
            out = as_json(compute())
        for name, rec in out.items():
            ce = rec["counterexample"]
            if ce is not None:
                ce["proof"] = ood.prove_minimal(oracles[name], ce["params"], ce["minimality"])
    return out


def _reproduces(oracle: ood.Oracle, rec: dict) -> bool:
    """Whether a stored record's counterexample, run again through this run's network and the function, gives
    exactly the s, function label, network label and logit diff it states, and still disagrees. (Evaluated alone,
    as it was when recorded: a batch's BLAS kernels may round the last bits differently.)"""
    ce = rec.get("counterexample")
    if ce is None:
        return True
    (s,), (d,) = oracle.evaluate([ce["params"]])
    function = int(band_labels(np.array([s]))[0])
    stated = (ce["s"], ce["logit_diff"], ce["function_label"], ce["network_label"])
    return (float(s), float(d), function, int(d > 0)) == stated and bool(oracle.disagrees([ce["params"]])[0])


def _findings_cache_path(prepared, quota: int, search_settings):
    """Keyed like the sample, and by the search: the profile's settings, hypothesis's version, and the code that
    searches, reduces and records."""
    import hypothesis

    search = f"findings|{quota}|{search_settings.max_examples}|{current_profile()}|{hypothesis.__version__}"
    sources = ("claims/test_ood.py", "claims/probe_settings.py", "model/labelling.py")
    return _cache_path(prepared, "ood-findings", search, sources)


def _family_finding(name, sample, oracle, numpy_net, mnist, template, margin, quota, yardstick, search_settings):
    """One family's record (see :func:`findings`), without the proof of minimality."""
    with independent_of_imports():  # the same examples whatever else this invocation imported
        found = ood.search_counterexample(
            name,
            mnist.train_images,
            template,
            numpy_net.logit_diff,
            margin,
            search_settings,
            sample.far_disagreements(KNOWN),
        )
    rec = ood.family_record(sample, found, quota, yardstick, oracle)
    rec["search"].update(examples=search_settings.max_examples, examples_per_profile=_budget())
    return rec


def _budget() -> dict[str, int]:
    """The search's examples per family under each profile."""
    return {p: max(1, round(SEARCH_EXAMPLES * scale)) for p, scale in SCALE.items()}


def _portable(value, exact: bool = False):
    """The record as every other record is stored: measurements rounded by the one rule for records
    (report.records.portable_float, what a number keeps across CPUs), except a counterexample's parameters and
    minimality (its inputs: seeded draws, reduced by the minimiser), which must regenerate it exactly."""
    if exact:
        return json.loads(json.dumps(value, default=lambda v: v.tolist() if hasattr(v, "tolist") else str(v)))
    if isinstance(value, dict):
        return {k: _portable(v, k in EXACT) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_portable(v) for v in value]
    return jsonable(value)


def _record(request, payload: dict) -> None:
    record_section(request, SECTION, _portable(payload))


@pytest.mark.parametrize("family", list(ood.FAMILIES))
def test_the_explanation_generalises_to(family, findings, quota, profile, request):
    """Far from the thresholds, the network labels the generated inputs as the band on s says (the Wilson lower
    bound of the agreement ≥ 99%)."""
    rec = findings[family]
    _record(request, {"family": family, **rec, "profile": profile})
    assert rec["n_far"] > 0, f"{family}: no generated input lies far from the thresholds"
    assert rec["verdict"] == "undetermined" or rec["n_far"] >= quota, f"{family}: concluded before its first look"
    ce = rec["counterexample"]
    assert ce is None or ce["proof"]["proved"], f"{family}: the counterexample is not minimal: {ce}"
    lo, hi = rec["far_interval"]
    agreement = f"far agreement {rec['far_agreement']:.2%} of {rec['n_far']} [{lo:.2%}, {hi:.2%}]"
    base = (
        ""
        if rec["informative"]
        else (f"; uninformative: a one-answer network scores {rec['constant_answer_far_agreement']:.1%}")
    )
    if rec["verdict"] == "breaks":
        xfail(
            f"the explanation breaks on {family}: {agreement}, upper bound < {ood.BAR:.0%}{base} "
            f"(e.g. {ce['params']}: s = {ce['s']:.0f}, function says {ce['function_label']}, network logit "
            f"diff {ce['logit_diff']:+.2f})"
        )
    if rec["verdict"] == "undetermined":
        pytest.skip(f"undetermined on {family}: {agreement} straddles {ood.BAR:.0%}{base}")


def test_the_ood_rule_and_figures(findings, samples, margin, quota, yardstick, figure_store, mnist, request):
    """The rule as applied, and the figures: the counterexample gallery and the network's switch points."""
    gallery = []
    for name, rec in findings.items():
        ce = rec["counterexample"]
        if ce is None:
            continue
        generated = ood.generate(name, ood.one(ce["params"]), mnist.train_images)[0]
        source = mnist.train_images[ce["params"]["source"]] if "source" in ce["params"] else None
        label = rec["verdict"] if rec["informative"] else f"{rec['verdict']} (uninformative)"
        gallery.append(
            {
                "family": name,
                "verdict": label,
                "source": source,
                "generated": generated,
                "s": ce["s"],
                "function_label": ce["function_label"],
                "logit_diff": ce["logit_diff"],
                "minimal": True,
            }
        )
    switch = {
        name: {"s": samples[name].s, "logit_diff": samples[name].logit_diff, "fitted": findings[name]["switch_points"]}
        for name in ood.FAMILIES
        if ood.FAMILIES[name].continuous
    }
    figures = [
        figure_store.render("ood-counterexamples", "ood_gallery", gallery),
        figure_store.render("ood-switch-points", "ood_switch_points", switch, L_THRESHOLD, R_THRESHOLD, margin),
    ]
    _record(
        request,
        {
            "rule": {
                "seed": ood.SEED,
                "margin_fraction_of_range": ood.MARGIN,
                "margin_s": margin,
                "thresholds": [L_THRESHOLD, R_THRESHOLD],
                "bar": ood.BAR,
                "confidence": ood.CONFIDENCE,
                "looks": ood.LOOKS,
                "look_confidence": ood.LOOK_CONFIDENCE,
                "familywise_confidence": ood.FAMILYWISE_CONFIDENCE,
                "sequential_correction": "Bonferroni over the looks: each look's Wilson interval at "
                "1 - (1 - confidence) / looks",
                "chunk": ood.CHUNK,
                "far_per_look": quota,
                "far_per_look_per_profile": ood.FAR_PER_LOOK,
                "far_cap": ood.LOOKS * quota,
                "fewest_far_to_generalise": ood.fewest_far_to_generalise(),
                "uninformative_at": ood.UNINFORMATIVE_AT,
                "search_examples_per_profile": _budget(),
                "in_distribution": yardstick,
            },
            "figures": figures,
        },
    )
    assert yardstick["n_far"] > 0, "no MNIST image lies far from the thresholds"
