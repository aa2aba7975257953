"""How robust is a verdict? Resampling the data (bootstrap) and the analysis choices the write-up left open
(a multiverse searched with hypothesis).

A claim declares, next to its test, the choices a careful reader could make differently, and a pure judge
built from the same analysis functions its test calls::

    @declare("dead-threshold-claim",
             Choice.span("dead_fraction", 0.0, 0.0, 0.001, why="'never active' could mean 'active on < 0.1%'"),
             Choice.among("groups", "firing", ("firing", "arms"), why="CLAIMS.md accepts either definition"))
    def judge(d: Sample, dead_fraction: float, groups: str) -> Judgement:
        ...
        return Judgement(holds=..., headline={"one": 46, "anti_one": 32})

The test calls ``verdict.judge(judge, sample)`` (the default choices; one code path), and with
``pytest claims/ --robustness`` :func:`measure` also gives

- **bootstrap**: ``resamples`` (≥ 200) seeded resamples of the images the claim is computed on (multiplicities,
  not copies: a resample is a vector of counts, so a mean over 60,000 images costs one dot product); a 95%
  percentile interval per headline number and ``bootstrap_stability``, the fraction of resamples whose
  verdict equals the full sample's;
- **multiverse**: a derandomised hypothesis search over the declared choices (every value of each choice
  ordered from the default outwards, so hypothesis shrinks towards the defaults), the ``explored`` count and
  ``kept_fraction`` of distinct combinations that keep the verdict, a scan of each choice alone, and the
  **minimal flip**: the smallest change of one choice that changes the verdict, a numeric boundary located by
  bisection ("flips to fails if dead_fraction ≥ 0.0003"), or ``none in range``.

A verdict is **fragile** when it holds in fewer than 95% of resamples or of the explored choices.
"""

from __future__ import annotations

import hashlib
import math
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

RESAMPLES = 200
STABLE = 0.95  # below this fraction of resamples or of choices a verdict is fragile
MAX_EXAMPLES = 60  # hypothesis examples per claim (distinct combinations are what is counted)
BISECTIONS = 30


# ----------------------------------------------------------------------------------------------- declarations
@dataclass(frozen=True)
class Choice:
    """One analysis choice the write-up (or CLAIMS.md) leaves open: its default, the range a careful reader
    would accept, and why. ``values`` are ordered from the default outwards (hypothesis shrinks to index 0)."""

    name: str
    default: Any
    values: tuple[Any, ...]
    why: str
    low: float | None = None  # numeric choices: the accepted interval
    high: float | None = None
    integer: bool = False

    @classmethod
    def among(cls, name: str, default: Any, options: Sequence[Any], *, why: str) -> "Choice":
        if default not in options:
            raise ValueError(f"choice {name}: default {default!r} is not among {list(options)}")
        return cls(name, default, (default, *[o for o in options if o != default]), why)

    @classmethod
    def span(cls, name: str, default: float, low: float, high: float, *, why: str, steps: int = 16,
             integer: bool = False) -> "Choice":
        if not low <= default <= high or not low < high:
            raise ValueError(f"choice {name}: need low <= default <= high, got {low}, {default}, {high}")
        grid = np.linspace(low, high, steps + 1)
        if integer:
            grid = np.unique(np.round(grid).astype(int))
        grid = [v.item() for v in grid if v != default]
        ordered = sorted(grid, key=lambda v: (abs(v - default), v))
        return cls(name, default, (default, *ordered), why, float(low), float(high), integer)

    @property
    def numeric(self) -> bool:
        return self.low is not None

    def distance(self, value: Any) -> float:
        """How far ``value`` is from the default, as a share of the accepted range (discrete: rank / count)."""
        if self.numeric:
            return abs(float(value) - float(self.default)) / (self.high - self.low)
        return self.values.index(value) / max(len(self.values) - 1, 1)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "default": self.default, "why": self.why}
        if self.numeric:
            out["range"] = [self.low, self.high]
        else:
            out["options"] = list(self.values)
        return out


@dataclass(frozen=True)
class Judgement:
    """A verdict and its headline numbers (what gets a bootstrap interval); ``measured`` is anything else the
    test records."""

    holds: bool
    headline: Mapping[str, float]
    erratum: bool = False
    measured: Mapping[str, Any] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        return "holds" if self.holds else "erratum" if self.erratum else "fails"  # as report.records.decide


@dataclass
class Sample:
    """The per-image arrays a claim is computed on (``tables``: name → {key → array with one row per image};
    tables are resampled independently), what is fixed (model parameters, thresholds), and a bootstrap
    resample's multiplicities (``counts``; None for the full sample)."""

    tables: dict[str, dict[str, np.ndarray] | Callable[[], dict[str, np.ndarray]]]  # a callable: built on first use
    fixed: dict[str, Any] = field(default_factory=dict)
    counts: dict[str, np.ndarray] | None = None
    seed: int = 0  # for stochastic judges: differs per resample
    _memo: dict[Any, Any] = field(default_factory=dict, repr=False)
    _shared: dict[bool, dict[Any, Any]] = field(default_factory=dict, repr=False)  # kept by every resample

    def table(self, name: str) -> dict[str, np.ndarray]:
        """A table's arrays (a lazy table is built once, shared with every resample of this sample)."""
        table = self.tables[name]
        if callable(table):
            table = self.tables[name] = table()
        sizes = {len(v) for v in table.values()}
        if len(sizes) > 1:
            raise ValueError(f"table {name}: arrays of different lengths {sorted(sizes)}")
        return table

    def size(self, table: str) -> int:
        return len(next(iter(self.table(table).values())))

    def weights(self, table: str) -> np.ndarray | None:
        return None if self.counts is None else self.counts[table]

    def mean(self, table: str, values: np.ndarray) -> float | np.ndarray:
        """Mean over the images of ``table`` (weighted by the resample's multiplicities), along axis 0."""
        w = self.weights(table)
        v = np.asarray(values, dtype=np.float64)
        return v.mean(axis=0) if w is None else (w @ v.reshape(len(v), -1)).reshape(v.shape[1:]) / w.sum()

    def count(self, table: str, mask: np.ndarray) -> int:
        w = self.weights(table)
        return int(np.sum(mask)) if w is None else int(w[np.asarray(mask, bool)].sum())

    def rows(self, table: str, key: str) -> np.ndarray:
        """The rows of ``key`` as the resample holds them (each image repeated by its multiplicity)."""
        values = self.table(table)[key]
        w = self.weights(table)
        return values if w is None else self.memo(("rows", table, key), lambda: np.repeat(values, w, axis=0))

    def memo(self, key: Any, compute: Callable[[], Any]) -> Any:
        """A value derived from this sample, computed once (e.g. a PCA fit shared by several choices)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def shared(self, key: Any, compute: Callable[[], Any], *, per_resample: bool = False) -> Any:
        """A value computed once for this sample and all its resamples: one that does not depend on the
        multiplicities (e.g. per-image values of one neuron grouping; the 256 most recent kept), or with
        ``per_resample`` a small one keyed by them (e.g. a resample's neuron groups; 4096 kept), so that claims
        judging one sample on the same resamples (a ``seed_group``) share it."""
        store, size = self._shared.setdefault(per_resample, {}), 4096 if per_resample else 256
        if per_resample and self.counts is not None:
            key = (key, tuple(hashlib.blake2b(c.tobytes(), digest_size=16).digest() for c in self.counts.values()))
        if key not in store:
            if len(store) >= size:
                del store[next(iter(store))]
            store[key] = compute()
        return store[key]

    def resampled(self, rng: np.random.Generator) -> "Sample":
        counts = {name: np.bincount(rng.integers(0, self.size(name), self.size(name)), minlength=self.size(name))
                  for name in self.tables}
        return replace(self, counts=counts, seed=int(rng.integers(0, 2**31 - 1)), _memo={})


Judge = Callable[..., Judgement]


@dataclass(frozen=True)
class Declaration:
    """A claim's choice space and judge. Call it like the judge: missing choices take their defaults."""

    claim: str
    choices: tuple[Choice, ...]
    judge: Judge
    no_open_choice: str | None = None  # why the acceptance leaves nothing open (when ``choices`` is empty)
    resampled: str = "the images the claim is computed on"
    max_examples: int = MAX_EXAMPLES
    not_explored: str | None = None  # choices named by the issue that cannot be explored cheaply, and why
    seed_group: str | None = None  # claims of one group draw the same resamples (and can share their work)

    def __post_init__(self) -> None:
        if not self.choices and not self.no_open_choice:
            raise ValueError(f"{self.claim}: declare the open choices, or say why there is none (no_open_choice=)")
        names = [c.name for c in self.choices]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.claim}: duplicate choice names {names}")

    @property
    def defaults(self) -> dict[str, Any]:
        return {c.name: c.default for c in self.choices}

    def __call__(self, data: Sample, **choices: Any) -> Judgement:
        unknown = set(choices) - set(self.defaults)
        if unknown:
            raise TypeError(f"{self.claim}: unknown choices {sorted(unknown)}")
        return self.judge(data, **{**self.defaults, **choices})


REGISTRY: dict[str, Declaration] = {}


def declare(claim: str, *choices: Choice, no_open_choice: str | None = None, resampled: str | None = None,
            max_examples: int = MAX_EXAMPLES, not_explored: str | None = None,
            seed_group: str | None = None) -> Callable[[Judge], Declaration]:
    """Decorator: turn ``judge(data, **choices) -> Judgement`` into the claim's :class:`Declaration`."""

    def wrap(judge: Judge) -> Declaration:
        decl = Declaration(claim, tuple(choices), judge, no_open_choice,
                           resampled or "the images the claim is computed on", max_examples, not_explored, seed_group)
        REGISTRY[claim] = decl
        return decl

    return wrap


# ----------------------------------------------------------------------------------------------- bootstrap
def seed_for(claim: str) -> int:
    """A fixed seed per claim (the same on every machine)."""
    return zlib.crc32(claim.encode())


def bootstrap(decl: Declaration, data: Sample, base: Judgement, resamples: int = RESAMPLES,
              seed: int | None = None) -> dict[str, Any]:
    """``resamples`` seeded bootstrap resamples at the default choices: 95% percentile intervals of the headline
    numbers and the fraction of resamples with the full sample's verdict."""
    seed = seed_for(decl.seed_group or decl.claim) if seed is None else seed
    rng = np.random.default_rng(seed)
    verdicts: list[str] = []
    values: dict[str, list[float]] = {k: [] for k in base.headline}
    for _ in range(resamples):
        j = decl(data.resampled(rng))
        verdicts.append(j.verdict)
        for k in values:
            values[k].append(float(j.headline.get(k, math.nan)))
    intervals = {}
    for k, v in values.items():
        a = np.asarray(v)
        a = a[np.isfinite(a)]
        lo, hi = (np.percentile(a, [2.5, 97.5]) if len(a) else (math.nan, math.nan))
        intervals[k] = {"estimate": float(base.headline[k]), "low": float(lo), "high": float(hi)}
    tally = {v: verdicts.count(v) for v in ("holds", "erratum", "fails") if v in verdicts}
    return {"resamples": resamples, "seed": int(seed),
            "intervals": intervals, "bootstrap_stability": verdicts.count(base.verdict) / resamples,
            "resample_verdicts": tally}


# ----------------------------------------------------------------------------------------------- multiverse
class _Evaluator:
    """Verdicts of choice combinations, each computed once."""

    def __init__(self, decl: Declaration, data: Sample) -> None:
        self.decl, self.data = decl, data
        self.seen: dict[tuple, str] = {}

    def key(self, combo: Mapping[str, Any]) -> tuple:
        return tuple((c.name, combo.get(c.name, c.default)) for c in self.decl.choices)

    def __call__(self, combo: Mapping[str, Any]) -> str:
        k = self.key(combo)
        if k not in self.seen:
            self.seen[k] = self.decl(self.data, **dict(k)).verdict
        return self.seen[k]


def _strategy(decl: Declaration):
    from hypothesis import strategies as st

    return st.fixed_dictionaries({c.name: st.integers(0, len(c.values) - 1).map(c.values.__getitem__)
                                  for c in decl.choices})


def _settings(max_examples: int):
    from hypothesis import HealthCheck, Phase, settings

    return settings(max_examples=max_examples, derandomize=True, database=None, deadline=None,
                    phases=(Phase.generate, Phase.shrink), suppress_health_check=list(HealthCheck),
                    report_multiple_bugs=False)


def _explore(decl: Declaration, evaluate: _Evaluator, base: str) -> dict[str, Any] | None:
    """A derandomised hypothesis search: sample combinations, and if one flips the verdict, shrink it
    (towards the defaults) to a minimal flipping combination."""
    from hypothesis import find, given
    from hypothesis.errors import NoSuchExample

    @_settings(decl.max_examples)
    @given(_strategy(decl))
    def sample(combo: dict[str, Any]) -> None:
        evaluate(combo)

    sample()
    if all(v == base for v in evaluate.seen.values()):
        return None
    try:
        shrunk = find(_strategy(decl), lambda c: evaluate(c) != base, settings=_settings(decl.max_examples))
    except NoSuchExample:  # pragma: no cover - a flip was seen above, find() meets it again
        return None
    return {k: v for k, v in shrunk.items() if v != decl.defaults[k]}


def _one_choice_flip(choice: Choice, evaluate: _Evaluator, base: str) -> dict[str, Any] | None:
    """The value of ``choice`` nearest its default (all else at default) that changes the verdict; for a
    numeric choice the boundary is then located by bisection between the last keeping and first flipping value."""
    for value in choice.values[1:]:
        verdict = evaluate({choice.name: value})
        if verdict == base:
            continue
        boundary = value
        if choice.numeric:
            keep, flip = float(choice.default), float(value)
            for _ in range(BISECTIONS):
                mid = (keep + flip) / 2
                if choice.integer:
                    mid = int(round(mid))
                    if mid in (keep, flip):
                        break
                if evaluate({choice.name: mid}) == base:
                    keep = mid
                else:
                    flip = mid
            boundary = int(flip) if choice.integer else flip
            verdict = evaluate({choice.name: boundary})
        return {"choice": choice.name, "default": choice.default, "value": boundary, "verdict": verdict,
                "distance": choice.distance(boundary), "text": flip_text(choice, boundary, verdict)}
    return None


def flip_text(choice: Choice, value: Any, verdict: str) -> str:
    if choice.numeric:
        side = "≥" if float(value) > float(choice.default) else "≤"
        return f"{verdict} if {choice.name} {side} {_num(value)} (default {_num(choice.default)})"
    return f"{verdict} if {choice.name} = {value} (default {choice.default})"


def _num(v: Any) -> str:
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        return str(int(v))
    f = float(v)
    return f"{f:.4g}" if abs(f) < 1e4 else f"{f:.0f}"


def multiverse(decl: Declaration, data: Sample, base: Judgement) -> dict[str, Any]:
    """Explore the declared choices: explored count, kept fraction, per-choice flips, the minimal flip."""
    out: dict[str, Any] = {"choices": [c.to_json() for c in decl.choices], "no_open_choice": decl.no_open_choice,
                           "not_explored": decl.not_explored}
    if not decl.choices:
        return {**out, "explored": 1, "kept_fraction": 1.0, "flips": [], "shrunk_flip": None,
                "minimal_flip": None, "minimal_flip_text": "no open choice: " + str(decl.no_open_choice)}
    evaluate = _Evaluator(decl, data)
    evaluate({})
    shrunk = _explore(decl, evaluate, base.verdict)
    flips = [f for f in (_one_choice_flip(c, evaluate, base.verdict) for c in decl.choices) if f]
    flips.sort(key=lambda f: (f["distance"], f["choice"]))
    minimal = flips[0] if flips else None
    if minimal:
        text = "flips to " + minimal["text"]
    elif shrunk:
        text = "no single choice flips it; together: " + ", ".join(f"{k} = {v}" for k, v in shrunk.items())
    else:
        text = "none in range"
    kept = sum(v == base.verdict for v in evaluate.seen.values())
    return {**out, "explored": len(evaluate.seen), "kept_fraction": kept / len(evaluate.seen), "flips": flips,
            "shrunk_flip": shrunk, "minimal_flip": minimal, "minimal_flip_text": text}


def measure(decl: Declaration, data: Sample, base: Judgement | None = None, resamples: int = RESAMPLES) -> dict[str, Any]:
    """The robustness record of one claim: bootstrap at the default choices, then the multiverse."""
    base = decl(data) if base is None else base
    record: dict[str, Any] = {"declared": True, "verdict": base.verdict, "resampled": decl.resampled}
    record.update(bootstrap(decl, data, base, resamples))
    record.update(multiverse(decl, data, base))
    why = []
    if record["bootstrap_stability"] < STABLE:
        why.append(f"{record['bootstrap_stability']:.0%} of resamples")
    if record["kept_fraction"] < STABLE:
        why.append(f"{record['kept_fraction']:.0%} of choices")
    record["fragile"] = bool(why)
    record["fragile_because"] = why
    return record


def undeclared(why: str, short: str = "no declaration") -> dict[str, Any]:
    """The record of a claim whose robustness was not measured (``short`` goes into the tables)."""
    return {"declared": False, "why": why, "short": short, "fragile": False}


def is_fragile(robustness: Mapping[str, Any] | None) -> bool:
    return bool(robustness and robustness.get("fragile"))


def cell(robustness: Mapping[str, Any] | None) -> str:
    """One line for a table: ``fragile · 74% of 200 resamples · 100% of 31 choices``."""
    if not robustness:
        return ""
    if not robustness.get("declared"):
        return f"not measured ({robustness.get('short', 'no declaration')})"
    choices = ("no open choice" if not robustness.get("choices")
               else f"{robustness['kept_fraction']:.0%} of {robustness['explored']} choices")
    text = f"{robustness['bootstrap_stability']:.0%} of {robustness['resamples']} resamples · {choices}"
    return ("fragile · " if robustness.get("fragile") else "robust · ") + text
