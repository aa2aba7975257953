"""Root conftest: the suite's two plugins (inputs and session fixtures; claim records and the report), the
hypothesis profiles of the property probes, where pytest-benchmark stores runs, and how pytest-xdist distributes
the claims."""

import os

import pytest

from claims.probe_settings import PROFILES, default_profile, register_profiles
from fixtures.locate import PROJECT_ROOT, default_cache_dir

pytest_plugins = ("fixtures.plugin", "report.plugin", "report.robust_plugin")

# hypothesis's convention: register the profiles when the conftest is imported and load the default one
# (`ci` when $CI is set, else `dev`); `--hypothesis-profile NAME` (hypothesis's own pytest plugin) then overrides it.
register_profiles(default_cache_dir())
from hypothesis import settings as _hypothesis_settings  # noqa: E402  (imported by register_profiles already)

_hypothesis_settings.load_profile(default_profile())

#: pytest-benchmark's default storage is relative to the working directory; the project keeps its runs here.
BENCHMARK_DEFAULT_STORAGE = "file://./.benchmarks"
BENCHMARKS = PROJECT_ROOT / "benchmarks"


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
    # Saved benchmark runs live in the project's benchmarks/ whatever the working directory (unless given).
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
    for item in items:
        if item.get_closest_marker("matrix") is None and item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(item.module.__name__ if hasattr(item, "module") else item.nodeid))
