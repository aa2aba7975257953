"""Root conftest: the suite's plugins (inputs and session fixtures; the claims engine and its robustness options;
claims × models), what the claims engine needs from this project (the run's context, the figure store, the
robustness engine), the hypothesis profiles of the property probes, where pytest-benchmark stores runs, and how
pytest-xdist distributes the claims."""

import os
import shlex
from collections.abc import Mapping
from typing import Any

import pytest

from claims.probe_settings import PROFILES, default_profile, register_profiles
from fixtures.locate import PROJECT_ROOT, default_cache_dir, shown_path
from report.records import RunContext, jsonable

pytest_plugins = ("fixtures.plugin", "report.plugin", "report.robust_plugin", "claims.matrix")

# hypothesis's convention: register the profiles when the conftest is imported and load the default one
# (`ci` when $CI is set, else `dev`); `--hypothesis-profile NAME` (hypothesis's own pytest plugin) then overrides it.
register_profiles(default_cache_dir())
from hypothesis import settings as _hypothesis_settings  # noqa: E402  (imported by register_profiles already)

_hypothesis_settings.load_profile(default_profile())

#: pytest-benchmark's default storage is relative to the working directory; the project keeps its runs here.
BENCHMARK_DEFAULT_STORAGE = "file://./.benchmarks"
BENCHMARKS = PROJECT_ROOT / "benchmarks"
#: pytest-benchmark's plugin (its entry point is disabled in pytest.ini: ``-p no:benchmark``).
BENCHMARK_PLUGIN = "pytest_benchmark.plugin"
SKIP_BENCHMARK = pytest.mark.skip(reason="a timing: run it with --benchmark-only")


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    """Load pytest-benchmark (its options, fixture and reports) only for a run given one of its options: every
    other run is spared importing it. Its options are added here, before the command line is parsed."""
    config = pluginmanager.get_plugin("pytestconfig")
    given = [*config.invocation_params.args, *shlex.split(os.environ.get("PYTEST_ADDOPTS", ""))]
    if any(str(arg).startswith("--benchmark") for arg in given):
        pluginmanager.import_plugin(BENCHMARK_PLUGIN)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    # An explicit --cache-dir moves hypothesis's storage (the explore profile's example database) with the cache.
    cache_dir = config.getoption("cache_dir", None) or os.environ.get("EIS_CACHE_DIR")
    if cache_dir:
        register_profiles(default_cache_dir(cache_dir))
    profile = config.getoption("hypothesis_profile", None)
    if profile is not None:
        from hypothesis.errors import InvalidArgument

        try:
            _hypothesis_settings.get_profile(profile)
        except InvalidArgument:
            raise pytest.UsageError(
                f"unknown hypothesis profile {profile!r}; the suite registers {', '.join(PROFILES)} "
                "(and hypothesis its own 'default')"
            ) from None
    # Timings run only with --benchmark-only (which overrides --benchmark-skip). Saved benchmark runs live in the
    # project's benchmarks/ whatever the working directory (unless given).
    if config.pluginmanager.has_plugin(BENCHMARK_PLUGIN):
        config.option.benchmark_skip = True
    if getattr(config.option, "benchmark_storage", None) == BENCHMARK_DEFAULT_STORAGE:
        config.option.benchmark_storage = f"file://{BENCHMARKS}"
    # Under pytest-xdist (-n N) without an explicit --dist, distribute by group: each claims module stays on
    # one worker (its figure and analysis fixtures are module-scoped, so they are computed once), while the
    # models of the claims × models matrix spread over all workers, one model per worker. The same with
    # explicit workers (--tx ... --dist load), e.g. on several machines.
    uses_workers = getattr(config.option, "numprocesses", None) or getattr(config.option, "tx", None)
    if uses_workers and getattr(config.option, "dist", "no") == "load":
        config.option.dist = "loadgroup"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    timed = config.pluginmanager.has_plugin(BENCHMARK_PLUGIN)
    for item in items:
        if not timed and "benchmark" in getattr(item, "fixturenames", ()):
            item.add_marker(SKIP_BENCHMARK)  # as pytest-benchmark's --benchmark-skip does
        if item.get_closest_marker("matrix") is None and item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(item.module.__name__ if hasattr(item, "module") else item.nodeid))


# ----------------------------------------------------------------------------------------- for the claims engine
@pytest.fixture(scope="session")
def run_context(prepared) -> RunContext:
    """What this run tests, as every report shows it (paths as the user gave them, relative to the project)."""
    ckpt, mnist = prepared.inputs.checkpoint, prepared.mnist
    data = {
        "train": int(len(mnist.train_images)),
        "test": int(len(mnist.test_images)),
        "dir": shown_path(mnist.root),
        "canonical_mnist": mnist.canonical,
    }
    if prepared.acts.band is not None:  # judged at the network's own band (--fit own)
        from analysis.labelling import L_THRESHOLD, R_THRESHOLD

        data["fit"] = {"band": list(prepared.acts.band), "mapped_to": [L_THRESHOLD, R_THRESHOLD]}
    return RunContext(
        checkpoint={"path": shown_path(ckpt.path), "sha256": ckpt.sha256, "challenge": ckpt.is_challenge},
        data=data,
    )


@pytest.fixture(scope="session")
def figure_store(report_dir, prepared) -> Any:
    """The claims' figures (claims/figures.py), drawn once and remembered in the cache folder."""
    from claims.figures_fixtures import FIGURES_MODULE
    from report.figstore import FigureStore

    store = FigureStore(report_dir, prepared.inputs.cache_dir, FIGURES_MODULE)
    yield store
    store.finish()  # before the report embeds the files


def _robustness_record(config: pytest.Config, declaration: Any, data: Any, judgement: Any) -> dict[str, Any]:
    """A claim's robustness record from the robustness engine, with its table cell. A measurement that breaks (a
    judge that cannot handle a resample, say) costs the claim its robustness record, which says why, never its
    verdict."""
    from analysis.robustness import RESAMPLES, measure, undeclared

    n = config.getoption("robustness_resamples", default=None)
    try:
        return jsonable(measure(declaration, data, judgement, resamples=RESAMPLES if n is None else int(n)))
    except Exception as exc:  # noqa: BLE001 - reported in the record and every view
        return undeclared(f"robustness measurement failed: {type(exc).__name__}: {exc}", "measurement failed")


def pytest_eis_robustness(config: pytest.Config, declaration: Any, data: Any, judgement: Any) -> Mapping[str, Any]:
    return _robustness_record(config, declaration, data, judgement)


def pytest_eis_robustness_unjudged(item: pytest.Item, record: Any) -> Mapping[str, Any]:
    """A claim whose test did not call verdict.judge has no robustness to measure: every view says so."""
    from analysis.robustness import undeclared

    return undeclared("its test calls no judge (README: Robustness, how to declare one)")
