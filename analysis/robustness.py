"""Would the verdict change? Three questions a reviewer asks of one claim, answered with numbers, and one
vocabulary for the answer.

A claim declares, next to its test, the readings the write-up allows, each value with the words that allow
it, the readings its text or figures rule out (with the reason), and a pure judge built from the same analysis
functions its test calls::

    @declare("dead-threshold-claim",
             Choice.among("groups", "firing", {"firing": "CLAIMS.md: by where a neuron fires",
                                               "arms": "the write-up's route: the PCA arm it loads on"},
                          why="CLAIMS.md accepts either definition"),
             excluded=[("dead = active on a few images", "\"never active\" (the write-up)")])
    def judge(d: Sample, groups: str) -> Judgement:
        ...
        return Judgement(holds=..., headline={"one": 46}, bounds={"one": Bound(low=45, high=51)})

The test calls ``verdict.judge(judge, sample)`` (the default readings; one code path). With
``pytest claims/ --robustness`` :func:`measure` also records

- **readings**: the grid of allowed readings, enumerated (every combination when there are at most
  :data:`FULL_GRID`, else every one-at-a-time change and every pair); per choice, the values that flip the
  verdict with the others at their defaults; the share of the enumeration that keeps it;
- **sampling**: :data:`RESAMPLES` seeded bootstrap resamples of the images the claim is computed on (a resample
  is a vector of multiplicities); for each statistic an acceptance rule judges (``Judgement.bounds``), its 95%
  percentile interval, the bound(s) beside it and the distance in bootstrap standard errors. *Clear* when every
  interval lies on the verdict's side of every bound, *within sampling noise* when one crosses. A judge without
  bounds is judged by the share of resamples that keep its verdict (clear when at most 2.5% flip it: the
  percentile interval's own criterion), with its Monte Carlo error;
- **held-out**: the judge at its default readings on the 10,000 test images (``Sample.heldout``, with every
  fitted quantity held at the training set's), or why the claim cannot be judged there (``no_heldout=``).

A verdict is **settled** when no allowed reading flips it, its sampling is clear and it replicates on the
held-out images (or cannot be judged there, for a stated reason); otherwise it is marked with what applies:
**depends on reading** (naming the flip), **within sampling noise**, **does not replicate on held-out data**.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from verdicts import decide

RESAMPLES = 200
FULL_GRID = 1000  # up to this many combinations the grid is enumerated whole
TAIL = 0.025  # a 95% percentile interval leaves 2.5% of resamples on each side
SPAN_STEPS = 4  # Choice.span: low, high and the points between them that cut the range into this many parts
MAX_EXAMPLES = 0  # accepted by declare() for its callers; the grid is enumerated, so it is not used

SETTLED = "settled"
DEPENDS = "depends on reading"
NOISE = "within sampling noise"
NOT_REPLICATED = "does not replicate on held-out data"
HELDOUT_UNDECLARED = "held-out replication not declared"
#: Not a doubt about the value measured: the rule is finer than a sample of this size can resolve.
PRECISE = "stated more precisely than the data can confirm"
VOCABULARY = (SETTLED, DEPENDS, NOISE, NOT_REPLICATED)


# ----------------------------------------------------------------------------------------------- readings
@dataclass(frozen=True)
class Choice:
    """One analysis choice the write-up (or CLAIMS.md) leaves open: its default, the values a careful reader
    could take, each with the words that allow it (``words``; the choice's ``why`` where a value has none)."""

    name: str
    default: Any
    options: tuple[Any, ...]  # every value, the default first
    why: str
    words: tuple[str | None, ...] = ()
    low: float | None = None  # numeric choices: the declared range the values span
    high: float | None = None
    integer: bool = False

    @classmethod
    def values_of(
        cls,
        name: str,
        default: Any,
        values: Sequence[Any] | Mapping[Any, str],
        *,
        why: str,
        low: float | None = None,
        high: float | None = None,
        integer: bool = False,
    ) -> Choice:
        items = list(values.items()) if isinstance(values, Mapping) else [(v, None) for v in values]
        options = [v for v, _ in items]
        if default not in options:
            raise ValueError(f"choice {name}: default {default!r} is not among {options}")
        if len(set(map(repr, options))) != len(options):
            raise ValueError(f"choice {name}: repeated values {options}")
        ordered = [items[options.index(default)]] + [kv for kv in items if kv[0] != default]
        return cls(name, default, tuple(v for v, _ in ordered), why, tuple(w for _, w in ordered), low, high, integer)

    @classmethod
    def values(cls, name: str, default: Any, values: Sequence[Any] | Mapping[Any, str], *, why: str) -> Choice:
        """A declared, fixed set of values (a mapping gives each value its words)."""
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        lo, hi = (float(min(values)), float(max(values))) if numeric and len(values) > 1 else (None, None)
        return cls.values_of(name, default, values, why=why, low=lo, high=hi)

    @classmethod
    def among(cls, name: str, default: Any, options: Sequence[Any] | Mapping[Any, str], *, why: str) -> Choice:
        """Discrete readings (a mapping gives each its words)."""
        return cls.values_of(name, default, options, why=why)

    @classmethod
    def span(
        cls,
        name: str,
        default: float,
        low: float,
        high: float,
        *,
        why: str,
        words: Mapping[float, str],
        between: str,
        steps: int = SPAN_STEPS,
        integer: bool = False,
    ) -> Choice:
        """A numeric range as a declared, fixed set of values: ``low``, ``high``, the ``steps - 1`` points
        evenly between them, and the default. ``words``: the words that allow the default, ``low`` and ``high``
        (each its own); ``between``: those that allow the points between them."""
        if not low <= default <= high or not low < high:
            raise ValueError(f"choice {name}: need low <= default <= high, got {low}, {default}, {high}")

        def said(v: float) -> str | None:
            return next((w for k, w in words.items() if math.isclose(k, v, rel_tol=1e-12, abs_tol=1e-15)), None)

        unsaid = [v for v in (default, low, high) if said(v) is None]
        if unsaid:
            raise ValueError(f"choice {name}: no words for {unsaid} (the default, low and high each need theirs)")
        grid = np.linspace(low, high, steps + 1)
        grid = np.unique(np.round(grid).astype(int)) if integer else grid
        values = [default] + [v.item() for v in grid if not math.isclose(v, default, rel_tol=1e-12, abs_tol=1e-15)]
        return cls.values_of(
            name,
            default,
            {v: said(v) or between for v in values},
            why=why,
            low=float(low),
            high=float(high),
            integer=integer,
        )

    @property
    def numeric(self) -> bool:
        return self.low is not None

    def words_for(self, value: Any) -> str:
        return self.words[self.options.index(value)] or self.why if self.words else self.why

    def without(self, values: Iterable[Any]) -> Choice:
        drop = list(values)
        if self.default in drop:
            raise ValueError(f"choice {self.name}: its default {self.default!r} cannot be excluded")
        keep = [k for k, v in enumerate(self.options) if v not in drop]
        return replace(
            self,
            options=tuple(self.options[k] for k in keep),
            words=tuple(self.words[k] for k in keep) if self.words else (),
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "default": self.default,
            "why": self.why,
            "values": [{"value": v, "words": self.words_for(v)} for v in self.options],
        }
        if self.numeric:
            out["range"] = [self.low, self.high]
        else:
            out["options"] = list(self.options)
        return out


@dataclass(frozen=True)
class Excluded:
    """A reading the write-up's text or figures rule out: not explored, listed with the reason. When it is a
    value of a declared choice (``choice``, ``values``), that value is removed from the enumeration."""

    reading: str
    reason: str
    choice: str | None = None
    values: tuple[Any, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"reading": self.reading, "reason": self.reason}
        if self.choice:
            out["choice"], out["values"] = self.choice, list(self.values)
        return out


def exclude(choice: str, value: Any, reason: str, *, reading: str | None = None) -> Excluded:
    """Rule out one value of a declared choice (``reading`` names it in words; default ``choice = value``)."""
    return Excluded(reading or f"{choice} = {value}", reason, choice, (value,))


# ----------------------------------------------------------------------------------------------- judgements
@dataclass(frozen=True)
class Bound:
    """An acceptance rule on one statistic: it passes when ``low <= statistic <= high`` (either side open).
    ``images``: how many images the statistic is computed on (for the words when the rule is narrower than
    the sample can confirm)."""

    low: float | None = None
    high: float | None = None
    images: int | None = None

    @classmethod
    def within(cls, target: float, tolerance: float, images: int | None = None) -> Bound:
        return cls(target - tolerance, target + tolerance, images)

    def edges(self) -> list[tuple[str, float]]:
        return [(side, float(v)) for side, v in (("low", self.low), ("high", self.high)) if v is not None]

    def passes(self, value: float) -> bool:
        return math.isfinite(value) and all(value >= v if side == "low" else value <= v for side, v in self.edges())

    def text(self) -> str:
        if self.low is not None and self.high is not None:
            return f"[{_num(self.low)}, {_num(self.high)}]"
        return f"≥ {_num(self.low)}" if self.low is not None else f"≤ {_num(self.high)}"


@dataclass(frozen=True)
class Judgement:
    """A verdict, its headline numbers (each gets a bootstrap interval), and per acceptance rule the statistic
    it judges with its bound: ``bounds`` (headline name → :class:`Bound`) make ``holds`` when ``combine`` of
    them pass; ``erratum_bounds`` make the correction hold. ``measured`` is anything else the test records."""

    holds: bool
    headline: Mapping[str, float]
    erratum: bool = False
    measured: Mapping[str, Any] = field(default_factory=dict)
    bounds: Mapping[str, Bound] = field(default_factory=dict)
    combine: str = "all"  # how ``bounds`` make ``holds``: "all" of them pass, or "any" of them
    erratum_bounds: Mapping[str, Bound] = field(default_factory=dict)  # the correction's rules (all pass)

    def __post_init__(self) -> None:
        if self.combine not in ("all", "any"):
            raise ValueError(f"combine must be 'all' or 'any', got {self.combine!r}")
        missing = (set(self.bounds) | set(self.erratum_bounds)) - set(self.headline)
        if missing:
            raise ValueError(f"bounds on statistics that are not headline numbers: {sorted(missing)}")

    @property
    def verdict(self) -> str:
        return decide(self.holds, self.erratum)


_COUNTS = ("counts digest",)  # the memo key of a resample's hashed multiplicities


@dataclass
class Sample:
    """The per-image arrays a claim is computed on (``tables``: name → {key → array with one row per image};
    tables are resampled independently), what is fixed (model parameters, thresholds), a bootstrap resample's
    multiplicities (``counts``; None for the full sample), and ``heldout``: the same tables built from the
    held-out test images, with everything fitted on the training images held fixed."""

    tables: dict[str, dict[str, np.ndarray] | Callable[[], dict[str, np.ndarray]]]  # a callable: built on first use
    fixed: dict[str, Any] = field(default_factory=dict)
    counts: dict[str, np.ndarray] | None = None
    seed: int = 0  # for stochastic judges: differs per resample
    heldout: Sample | None = None
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
            key = (key, self.memo(_COUNTS, self._digest))
        if key not in store:
            if len(store) >= size:
                del store[next(iter(store))]
            store[key] = compute()
        return store[key]

    def _digest(self) -> tuple[bytes, ...]:
        """The resample's multiplicities as a short key (hashed once per resample)."""
        return tuple(hashlib.blake2b(c.tobytes(), digest_size=16).digest() for c in self.counts.values())

    def resampled(self, rng: np.random.Generator) -> Sample:
        counts = {
            name: np.bincount(rng.integers(0, self.size(name), self.size(name)), minlength=self.size(name))
            for name in self.tables
        }
        return replace(self, counts=counts, seed=int(rng.integers(0, 2**31 - 1)), heldout=None, _memo={})


Judge = Callable[..., Judgement]


@dataclass(frozen=True)
class Declaration:
    """A claim's allowed readings, excluded readings and judge. Call it like the judge: missing choices take
    their defaults."""

    claim: str
    choices: tuple[Choice, ...]
    judge: Judge
    no_open_choice: str | None = None  # why the acceptance leaves nothing open (when ``choices`` is empty)
    resampled: str = "the images the claim is computed on"
    max_examples: int = MAX_EXAMPLES
    not_explored: str | None = None  # readings that cannot be explored cheaply (a network pass each), and why
    seed_group: str | None = None  # claims of one group draw the same resamples (and can share their work)
    excluded: tuple[Excluded, ...] = ()
    no_heldout: str | None = None  # why the claim cannot be judged on held-out images

    def __post_init__(self) -> None:
        names = [c.name for c in self.choices]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.claim}: duplicate choice names {names}")
        for ex in self.excluded:
            if ex.choice is not None and ex.choice not in names:
                raise ValueError(f"{self.claim}: excluded reading {ex.reading!r} names no declared choice")
        if not self.open_choices and not self.no_open_choice and not self.excluded:
            raise ValueError(f"{self.claim}: declare the open choices, or say why there is none (no_open_choice=)")

    @property
    def open_choices(self) -> tuple[Choice, ...]:
        """The choices with the excluded values removed (what the enumeration explores)."""
        drop: dict[str, list[Any]] = {}
        for ex in self.excluded:
            if ex.choice is not None:
                drop.setdefault(ex.choice, []).extend(ex.values)
        return tuple(c.without(drop.get(c.name, ())) for c in self.choices)

    @property
    def defaults(self) -> dict[str, Any]:
        return {c.name: c.default for c in self.choices}

    def __call__(self, data: Sample, **choices: Any) -> Judgement:
        unknown = set(choices) - set(self.defaults)
        if unknown:
            raise TypeError(f"{self.claim}: unknown choices {sorted(unknown)}")
        return self.judge(data, **{**self.defaults, **choices})


REGISTRY: dict[str, Declaration] = {}


def declare(
    claim: str,
    *choices: Choice,
    no_open_choice: str | None = None,
    resampled: str | None = None,
    max_examples: int = MAX_EXAMPLES,
    not_explored: str | None = None,
    seed_group: str | None = None,
    excluded: Sequence[Excluded | tuple[str, str]] = (),
    no_heldout: str | None = None,
) -> Callable[[Judge], Declaration]:
    """Decorator: turn ``judge(data, **choices) -> Judgement`` into the claim's :class:`Declaration`.
    ``excluded``: readings ruled out by the write-up, as :class:`Excluded` (or ``(reading, reason)`` pairs);
    ``no_heldout``: why the claim cannot be judged on held-out images (otherwise its test passes a
    ``Sample`` with ``heldout``)."""

    def wrap(judge: Judge) -> Declaration:
        ruled_out = tuple(e if isinstance(e, Excluded) else Excluded(*e) for e in excluded)
        decl = Declaration(
            claim,
            tuple(choices),
            judge,
            no_open_choice,
            resampled or "the images the claim is computed on",
            max_examples,
            not_explored,
            seed_group,
            ruled_out,
            no_heldout,
        )
        REGISTRY[claim] = decl
        return decl

    return wrap


# ----------------------------------------------------------------------------------------------- enumeration
def combinations(choices: Sequence[Choice]) -> tuple[str, list[dict[str, Any]]]:
    """The grid of readings (only the values that differ from the defaults): every combination when there
    are at most FULL_GRID, else every one-at-a-time change and every pair. Deterministic order."""
    alternatives = [[(c.name, v) for v in c.options[1:]] for c in choices]
    total = math.prod(len(c.options) for c in choices)
    if total <= FULL_GRID:
        grid = [
            dict(kv for kv in combo if kv is not None)
            for combo in itertools.product(*[[None, *alt] for alt in alternatives])
        ]
        return f"all {total} combinations", grid
    grid = [{}] + [dict([kv]) for alt in alternatives for kv in alt]
    for a, b in itertools.combinations(range(len(choices)), 2):
        grid += [dict([x, y]) for x in alternatives[a] for y in alternatives[b]]
    return f"every one-at-a-time change and every pair ({len(grid)} of {total} combinations)", grid


def readings(decl: Declaration, data: Sample, base: Judgement) -> dict[str, Any]:
    """Enumerate the allowed readings: the per-choice flip table (each value, the others at their defaults),
    the share of the enumeration that keeps the verdict, and the flip to name."""
    choices = decl.open_choices
    out: dict[str, Any] = {
        "choices": [c.to_json() for c in choices],
        "excluded": [e.to_json() for e in decl.excluded],
        "no_open_choice": decl.no_open_choice,
        "not_explored": decl.not_explored,
    }
    if not any(len(c.options) > 1 for c in choices):
        why = decl.no_open_choice or "every other reading is excluded"
        return {
            **out,
            "enumeration": "no open choice",
            "evaluated": 1,
            "kept": 1,
            "kept_share": 1.0,
            "flip_table": [],
            "flips": [],
            "flip": None,
            "flip_text": "no open choice: " + why,
        }
    enumeration, grid = combinations(choices)
    verdicts: list[str] = []
    for combo in grid:
        verdicts.append(base.verdict if not combo else decl(data, **combo).verdict)
    seen = {tuple(sorted(c.items(), key=lambda kv: kv[0])): v for c, v in zip(grid, verdicts)}
    table = []
    for c in choices:
        rows = []
        for v in c.options:
            verdict = base.verdict if v == c.default else seen[((c.name, v),)]
            rows.append({"value": v, "verdict": verdict, "flips": verdict != base.verdict})
        flipping = [r["value"] for r in rows if r["flips"]]
        table.append(
            {
                "choice": c.name,
                "default": c.default,
                "values": rows,
                "flipping_values": flipping,
                "boundary": _boundary(c, rows),
            }
        )
    flips = [combo for combo, v in zip(grid, verdicts) if v != base.verdict]
    by_name = {c.name: c for c in choices}
    single = [
        {"choice": t["choice"], "value": r["value"], "verdict": r["verdict"]}
        for t in table
        for r in sorted(t["values"], key=lambda r: _nearness(by_name[t["choice"]], r["value"]))
        if r["flips"]
    ]
    flip = (
        {"readings": {single[0]["choice"]: single[0]["value"]}, "verdict": single[0]["verdict"]}
        if single
        else {"readings": min(flips, key=len), "verdict": verdicts[grid.index(min(flips, key=len))]}
        if flips
        else None
    )
    kept = len(grid) - len(flips)
    return {
        **out,
        "enumeration": enumeration,
        "evaluated": len(grid),
        "kept": kept,
        "kept_share": kept / len(grid),
        "flip_table": table,
        "flips": single,
        "flip": flip,
        "flip_text": flip_text(choices, flip) if flip else "no allowed reading flips it",
    }


def _nearness(choice: Choice, value: Any) -> float:
    """Order of a choice's values when naming a flip: a numeric one's nearest the default first, else as declared."""
    if choice.numeric:
        return abs(float(value) - float(choice.default))
    return float(choice.options.index(value))


def _boundary(choice: Choice, rows: list[dict[str, Any]]) -> str | None:
    """For a numeric choice whose values flip: between which declared values the verdict changes."""
    if not choice.numeric or not any(r["flips"] for r in rows):
        return None
    ordered = sorted(rows, key=lambda r: float(r["value"]))
    d = float(choice.default)
    parts = []
    for side in (-1, 1):
        run = [r for r in ordered if (float(r["value"]) - d) * side >= 0]
        run = run if side == 1 else run[::-1]  # from the default outwards
        for keep, nxt in itertools.pairwise(run):
            if nxt["flips"] and not keep["flips"]:
                parts.append(f"{nxt['verdict']} between {choice.name} = {_num(keep['value'])} and {_num(nxt['value'])}")
                break
    return "; ".join(parts) or None


def flip_text(choices: Sequence[Choice], flip: Mapping[str, Any]) -> str:
    by_name = {c.name: c for c in choices}
    parts = [f"{k} = {_num(v)} (default {_num(by_name[k].default)})" for k, v in flip["readings"].items()]
    return f"{flip['verdict']} if " + " and ".join(parts)


def _num(v: Any) -> str:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        return str(v)
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    f = float(v)
    return f"{f:.4g}" if abs(f) < 1e4 else f"{f:.0f}"


# ----------------------------------------------------------------------------------------------- sampling
def seed_for(claim: str) -> int:
    """A fixed seed per claim (the same on every machine)."""
    return zlib.crc32(claim.encode())


def bootstrap(
    decl: Declaration, data: Sample, base: Judgement, resamples: int = RESAMPLES, seed: int | None = None
) -> dict[str, Any]:
    """``resamples`` seeded bootstrap resamples at the default readings: per headline number its 95% percentile
    interval and standard error; per bounded statistic the distance to each bound; the sampling state."""
    seed = seed_for(decl.seed_group or decl.claim) if seed is None else seed
    rng = np.random.default_rng(seed)
    verdicts: list[str] = []
    values: dict[str, list[float]] = {k: [] for k in base.headline}
    for _ in range(resamples):
        j = decl(data.resampled(rng))
        verdicts.append(j.verdict)
        for k, v in values.items():
            v.append(float(j.headline.get(k, math.nan)))
    intervals = {k: _interval(float(base.headline[k]), np.asarray(v)) for k, v in values.items()}
    kept = verdicts.count(base.verdict)
    tally = {v: verdicts.count(v) for v in ("holds", "erratum", "fails") if v in verdicts}
    out = {
        "resamples": resamples,
        "seed": int(seed),
        "intervals": intervals,
        "kept": kept,
        "bootstrap_stability": kept / resamples,
        "monte_carlo_error": _mc_error(kept, resamples),
        "resample_verdicts": tally,
    }
    out.update(against_bounds(base, intervals, kept, resamples, _images(data)))
    return out


def _interval(estimate: float, a: np.ndarray) -> dict[str, float]:
    a = a[np.isfinite(a)]
    if not len(a):
        return {"estimate": estimate, "low": math.nan, "high": math.nan, "se": math.nan}
    lo, hi = np.percentile(a, [100 * TAIL, 100 * (1 - TAIL)])
    return {
        "estimate": estimate,
        "low": float(lo),
        "high": float(hi),
        "se": float(np.std(a, ddof=1)) if len(a) > 1 else 0.0,
    }


def _mc_error(kept: int, n: int) -> float:
    """One standard error of a share of resamples, from the resampling alone (Monte Carlo)."""
    p = kept / n
    return math.sqrt(p * (1 - p) / n)


def _images(data: Sample) -> int | None:
    sizes = [data.size(t) for t in data.tables if not callable(data.tables[t])]
    return max(sizes) if sizes else None


def against_bounds(
    base: Judgement, intervals: Mapping[str, Mapping[str, float]], kept: int, resamples: int, images: int | None
) -> dict[str, Any]:
    """Each bounded statistic's interval against its bound(s): per edge, the verdict's side (where the estimate
    is), the distance in bootstrap standard errors and whether the interval crosses it; the sampling state and
    its words. Without bounds: the share of resamples that keep the verdict decides."""
    if not base.bounds and not base.erratum_bounds:
        clear = resamples - kept <= TAIL * resamples
        mc = 100 * _mc_error(kept, resamples)
        text = (
            f"verdict kept in {share_text(kept, resamples)} ({_pct(kept, resamples)} ± {mc:.1f} pp Monte Carlo error)"
        )
        return {
            "statistics": {},
            "rule": "share of resamples",
            "sampling": "clear" if clear else NOISE,
            "in_doubt": [],
            "sampling_text": text,
        }
    stats = {
        name: _against(bound, intervals[name], images) for name, bound in {**base.bounds, **base.erratum_bounds}.items()
    }
    crossed = _deciding_crossings(base, stats)
    return {
        "statistics": stats,
        "rule": "intervals against bounds",
        "sampling": NOISE if crossed else "clear",
        "in_doubt": crossed,
        "sampling_text": sampling_text(stats, crossed),
    }


def _against(bound: Bound, iv: Mapping[str, float], images: int | None) -> dict[str, Any]:
    edges = []
    for side, edge in bound.edges():
        above = iv["estimate"] >= edge
        finite = math.isfinite(iv["low"]) and math.isfinite(iv["high"])
        crossed = not finite or (iv["low"] < edge if above else iv["high"] > edge)
        distance = abs(iv["estimate"] - edge) / iv["se"] if iv["se"] and math.isfinite(iv["se"]) else math.inf
        edges.append(
            {
                "edge": side,
                "bound": edge,
                "estimate_side": "above" if above else "below",
                "distance_se": distance,
                "crossed": bool(crossed),
            }
        )
    narrower = (
        bound.low is not None
        and bound.high is not None
        and math.isfinite(iv["high"] - iv["low"])
        and bound.high - bound.low < iv["high"] - iv["low"]
    )
    return {
        **iv,
        "bound": bound.text(),
        "passes": bound.passes(iv["estimate"]),
        "edges": edges,
        "tolerance_narrower_than_interval": bool(narrower),
        "images": bound.images if bound.images is not None else images,
    }


def _deciding_crossings(base: Judgement, stats: Mapping[str, Any]) -> list[str]:
    """The bounded statistics whose interval crosses a bound in a way that could change the verdict. A rule
    that is true under "all" is in doubt if any of its statistics crosses; one that is false is clear if one
    failing statistic lies clearly outside ("any": the mirror image). If the bounds at the estimates do not
    give the judge's verdict (it combines them otherwise), every crossing counts."""
    crossed = {n for n, s in stats.items() if any(e["crossed"] for e in s["edges"])}

    def rule(names: Sequence[str], combine: str) -> tuple[bool, list[str]]:
        passing = [n for n in names if stats[n]["passes"]]
        outcome = len(passing) == len(names) if combine == "all" else bool(passing)
        # the statistics that make the outcome: for a true "all" (false "any") every one; else the decisive ones
        if (combine == "all") == outcome:
            return outcome, [n for n in names if n in crossed]
        decisive = [n for n in names if (n in passing) == outcome]
        return outcome, [] if any(n not in crossed for n in decisive) else decisive

    doubts: list[str] = []
    if base.bounds:
        outcome, doubt = rule(list(base.bounds), base.combine)
        if outcome != base.holds:
            return sorted(crossed)
        doubts += doubt
    if base.erratum_bounds and not base.holds:
        outcome, doubt = rule(list(base.erratum_bounds), "all")
        if outcome != base.erratum:
            return sorted(crossed)
        doubts += doubt
    return doubts


def sampling_text(stats: Mapping[str, Any], crossed: Sequence[str]) -> str:
    """``agreement 96.25% [96.08, 96.40] crosses 96.3 (0.6 SE)``; the words when a rule is stated more
    precisely than the images can confirm."""
    if not crossed:
        nearest = min(
            ((e["distance_se"], n, e) for n, s in stats.items() for e in s["edges"]), default=None, key=lambda t: t[0]
        )
        if nearest is None:
            return "clear"
        d, n, e = nearest
        return f"clear: {n} {_interval_text(stats[n])}, {_se_text(d)} from {_num(e['bound'])}"
    parts = []
    for n in crossed:
        s = stats[n]
        e = min((e for e in s["edges"] if e["crossed"]), key=lambda e: e["distance_se"])
        text = f"{n} {_interval_text(s)} crosses {_num(e['bound'])} ({_se_text(e['distance_se'])} away)"
        if s["tolerance_narrower_than_interval"]:
            who = f"{s['images']:,} images" if s.get("images") else "the sample"
            text += f"; the rule {s['bound']} is stated more precisely than {who} can confirm"
        parts.append(text)
    return "; ".join(parts)


def _interval_text(s: Mapping[str, float]) -> str:
    return f"{_num(s['estimate'])} [{_num(s['low'])}, {_num(s['high'])}]"


def _se_text(d: float) -> str:
    return "∞ SE" if not math.isfinite(d) else f"{d:.1f} SE"


def share_text(kept: int, n: int) -> str:
    return f"all {n} resamples" if kept == n else f"{kept} of {n} resamples"


def _pct(kept: int, n: int) -> str:
    """A share in percent that never reads 100% (or 0%) unless it is exactly that."""
    p = 100 * kept / n
    if 0 < kept < n:
        p = min(max(p, 0.1), 99.9)
        return f"{math.floor(p * 10) / 10:.1f}%" if p > 50 else f"{math.ceil(p * 10) / 10:.1f}%"
    return f"{p:.0f}%"


# ----------------------------------------------------------------------------------------------- held-out
def heldout(decl: Declaration, data: Sample, base: Judgement, resamples: int = RESAMPLES) -> dict[str, Any]:
    """The judge at its default readings on the held-out images (``data.heldout``), with its own intervals
    against the bounds. *Replicates* when the held-out verdict is the training set's; *does not replicate*
    when it differs and its sampling is clear; a differing verdict within the held-out sample's noise is
    marked so (those images cannot tell)."""
    if decl.no_heldout:
        return {"judged": False, "why": decl.no_heldout, "state": "not applicable"}
    if data.heldout is None:
        return {
            "judged": False,
            "why": "no held-out sample declared (Sample.heldout or no_heldout=)",
            "state": "not declared",
        }
    held = decl(data.heldout)
    rec = bootstrap(decl, data.heldout, held, resamples, seed=seed_for(decl.claim + "/heldout"))
    same = held.verdict == base.verdict
    state = "replicates" if same else NOT_REPLICATED if rec["sampling"] == "clear" else NOISE
    shown = ", ".join(f"{k} {_num(v)}" for k, v in held.headline.items() if k in rec["in_doubt"]) or held.verdict
    return {
        "judged": True,
        "verdict": held.verdict,
        "state": state,
        "headline": dict(held.headline),
        "headline_text": shown,
        "intervals": rec["intervals"],
        "statistics": rec["statistics"],
        "sampling": rec["sampling"],
        "in_doubt": rec["in_doubt"],
        "sampling_text": rec["sampling_text"],
        "kept": rec["kept"],
        "resamples": resamples,
    }


# ----------------------------------------------------------------------------------------------- the record
def measure(
    decl: Declaration, data: Sample, base: Judgement | None = None, resamples: int = RESAMPLES
) -> dict[str, Any]:
    """The robustness record of one claim: readings enumerated, sampling against the bounds, the held-out
    replication, and the label in the fixed vocabulary (with its one-line ``cell``)."""
    from threadpoolctl import threadpool_limits

    base = decl(data) if base is None else base
    record: dict[str, Any] = {"declared": True, "verdict": base.verdict, "resampled": decl.resampled}
    # one BLAS thread: the judges' products are small, and on a loaded 2-core machine OpenBLAS's threads only
    # contend (a whole --robustness run: 130 CPU-s with two threads, 35 with one; the records are the same)
    with threadpool_limits(limits=1):
        record.update(bootstrap(decl, data, base, resamples))
        record["readings"] = readings(decl, data, base)
        record["heldout"] = heldout(decl, data, base, resamples)
    record.update(label(record))
    return record


def label(record: Mapping[str, Any]) -> dict[str, Any]:
    """The vocabulary, applied: ``settled`` or the marks that apply, and the table's one-line ``cell``."""
    r, h = record["readings"], record["heldout"]
    marks, words, marks_note = [], [], []
    if r["flip"]:
        marks.append(DEPENDS)
        words.append(f"{DEPENDS}: {r['flip_text']}")
    if record["sampling"] == NOISE or h["state"] == NOISE:
        # A rule whose tolerance is finer than any sample of this size can resolve is no doubt about the measured
        # value (an exact reproduction of a stated number lands here): it is said in words, not marked as noise.
        doubt = (record["sampling"] == NOISE and not precision_only(record)) or (
            h["state"] == NOISE and not precision_only(h)
        )
        if doubt:
            marks.append(NOISE)
        elif record["sampling"] == NOISE:
            marks_note.append(PRECISE)
        where = [noise_words(record)] if record["sampling"] == NOISE else []
        if h["state"] == NOISE:
            said, held = noise_words(record) if record["sampling"] == NOISE else "", noise_words(h)
            same = said.split(" is stated")[0] == held.split(" is stated")[0] and "stated more precisely" in said
            images = next((s["images"] for s in h["statistics"].values() if s.get("images")), None)
            likewise = f"likewise on {images:,} images" if images else "likewise"
            where.append(f"held-out {h['headline_text']}: " + (likewise if same else held))
        words.append((f"{NOISE}: " if doubt else "") + "; ".join(where))
    if h["state"] == NOT_REPLICATED:
        marks.append(NOT_REPLICATED)
        words.append(f"{NOT_REPLICATED} ({h['verdict']} on the held-out images)")
    settled = not marks and not marks_note and h["state"] != "not declared"
    label_text = SETTLED if settled else " · ".join(marks + marks_note) or HELDOUT_UNDECLARED
    cell_text = SETTLED if settled else " · ".join(words) or HELDOUT_UNDECLARED
    # the keys report/'s views and schema read (``fragile`` is "not settled")
    views = {
        "fragile": not settled,
        "fragile_because": marks or ([] if settled else [HELDOUT_UNDECLARED]),
        "minimal_flip_text": r["flip_text"],
        "choices": r["choices"],
        "not_explored": r["not_explored"],
    }
    return {"settled": settled, "label": label_text, "marks": marks, "cell": cell_text, **views}


def precision_only(sampling: Mapping[str, Any]) -> bool:
    """Is every statistic whose interval crosses a bound judged by a rule finer than the interval (the sample cannot
    resolve the rule, whatever the value), rather than one the measured value sits near?"""
    crossed = [sampling["statistics"][n] for n in sampling.get("in_doubt", ())]
    return bool(crossed) and all(s["tolerance_narrower_than_interval"] for s in crossed)


def noise_words(sampling: Mapping[str, Any]) -> str:
    """Why a sampling state is within noise, in few words: the rule stated more precisely than the images can
    confirm, or which bound the interval crosses, or the share of resamples that keep the verdict."""
    crossed = [(n, sampling["statistics"][n]) for n in sampling.get("in_doubt", ())]
    if not crossed:
        return f"kept in {share_text(sampling['kept'], sampling['resamples'])}"
    n, s = crossed[0]
    if s["tolerance_narrower_than_interval"]:
        who = f"{s['images']:,} images" if s.get("images") else "the sample"
        return f"{n} within {s['bound']} is stated more precisely than {who} can confirm"
    e = min((e for e in s["edges"] if e["crossed"]), key=lambda e: e["distance_se"])
    return f"{n} {_interval_text(s)} crosses {_num(e['bound'])}"


def undeclared(why: str, short: str = "no declaration") -> dict[str, Any]:
    """The record of a claim whose robustness was not measured (``short`` goes into the tables)."""
    return {
        "declared": False,
        "why": why,
        "short": short,
        "settled": False,
        "label": "not measured",
        "cell": f"not measured ({short})",
        "fragile": False,
    }


def is_fragile(robustness: Mapping[str, Any] | None) -> bool:
    """Measured and not settled (what report/'s views call fragile)."""
    return bool(robustness and robustness.get("declared") and not robustness.get("settled"))


def cell(robustness: Mapping[str, Any] | None) -> str:
    """The record's one line for a table (``settled``, or what applies)."""
    if not robustness:
        return ""
    if "cell" in robustness:
        return str(robustness["cell"])
    return f"not measured ({robustness.get('short', 'no declaration')})"
