"""Hypothesis settings for the property probes, as hypothesis users know them: profiles registered with
``settings.register_profile`` and chosen with hypothesis's own ``--hypothesis-profile`` (its pytest plugin is on).

Profiles (registered by the root ``conftest.py`` when pytest starts; ``ci`` is loaded when ``$CI`` is set, else
``dev``):

- ``dev``: 100 examples per probe unit (hypothesis's default), derandomised, no example database: reports are
  reproducible and the probes take about a second;
- ``ci``: five times the examples, derandomised, no database (hypothesis's own ``ci`` profile, thorough);
- ``explore``: five times the examples, random, with an example database in the cache folder, for hunting
  counterexamples; its reports are not reproducible and say so (``"profile": "explore"`` in each record).

Every probe derives its settings from the active profile: :func:`probe_settings` scales the probe's own example
count by the profile's ``max_examples`` / 100. Nothing a test elsewhere does can change them: a test that wants
other settings decorates itself with ``@settings(...)`` and never calls ``settings.load_profile``.

Hypothesis's storage (the ``explore`` database, and anything else it writes) lives in the cache folder, never in
the working directory.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from hypothesis import settings as Settings

PROFILES = ("dev", "ci", "explore")
#: The examples of a probe unit in a profile with hypothesis's default ``max_examples`` (100).
BASE_EXAMPLES = 100
#: How many more examples ``ci`` and ``explore`` draw than ``dev``.
SCALE = {"dev": 1, "ci": 5, "explore": 5}


def default_profile() -> str:
    """hypothesis's convention: ``ci`` when the ``CI`` environment variable is set, else ``dev``."""
    return "ci" if os.environ.get("CI") else "dev"


def active_profile(config: Any) -> str:
    """The profile this run uses: the one named by ``--hypothesis-profile``, else :func:`default_profile`. A child
    run (another model's claims, on any machine) is given it explicitly, so its records never depend on that
    machine's environment."""
    return config.getoption("hypothesis_profile", None) or default_profile()


def register_profiles(cache_dir: Path) -> None:
    """Register ``dev``, ``ci`` and ``explore`` (re-registering replaces them: the cache folder may change once the
    command line is parsed) and point hypothesis's storage at ``cache_dir/hypothesis``."""
    from hypothesis import HealthCheck, settings
    from hypothesis.configuration import set_hypothesis_home_dir
    from hypothesis.database import DirectoryBasedExampleDatabase

    home = Path(cache_dir) / "hypothesis"
    if not os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
        set_hypothesis_home_dir(home)
    common = dict(
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        print_blob=False,
    )
    settings.register_profile(
        "dev", max_examples=BASE_EXAMPLES * SCALE["dev"], derandomize=True, database=None, **common
    )
    settings.register_profile("ci", max_examples=BASE_EXAMPLES * SCALE["ci"], derandomize=True, database=None, **common)
    settings.register_profile(
        "explore",
        max_examples=BASE_EXAMPLES * SCALE["explore"],
        derandomize=False,
        database=DirectoryBasedExampleDatabase(str(home / "examples")),
        **common,
    )


def current_profile() -> str:
    from hypothesis import settings

    return settings.get_current_profile_name()


def probe_settings(dev_examples: int) -> "Settings":
    """Settings for one probe: the active profile, with ``dev_examples`` scaled by its ``max_examples`` / 100."""
    from hypothesis import settings

    scale = settings.default.max_examples / BASE_EXAMPLES
    return settings(settings.default, max_examples=max(1, round(dev_examples * scale)))


@contextmanager
def probe_search(item: Any = None) -> Iterator[None]:
    """The context a probe runs its hypothesis search in: :func:`independent_of_imports`, and the search's
    statistics handed to hypothesis's pytest plugin as the pytest item's own (the search is a ``@given`` function
    inside the probe, not the test itself), so ``--hypothesis-show-statistics`` lists every probe."""
    with independent_of_imports(), _statistics_of(item):
        yield


@contextmanager
def _statistics_of(item: Any) -> Iterator[None]:
    try:
        from hypothesis.statistics import collector, describe_statistics
    except ImportError:  # pragma: no cover
        yield
        return
    if item is None:
        yield
        return

    def note(stats: dict) -> None:
        stats["nodeid"] = item.nodeid
        item.hypothesis_statistics = describe_statistics(stats)

    with collector.with_value(note):
        yield


@contextmanager
def independent_of_imports() -> Iterator[None]:
    """Run a probe's search with hypothesis's pool of *local constants* empty.

    Besides random values, hypothesis (since 6.131) sometimes draws a constant found in the source of any local,
    non-test module imported so far (``hypothesis.internal.conjecture.providers._get_local_constants``). Which
    modules are imported depends on the invocation — ``pytest`` imports ``model/train.py`` for the suite's own
    tests, ``pytest claims/`` does not — so the probes drew other examples, and recorded other numbers, depending
    on what else was collected (0.54 pp vs 0.58 pp for the robustness probe). With the pool empty the examples
    depend only on the probe, its settings and the seed. (Private API of the pinned hypothesis; where it is absent
    there is nothing to pin. ``tests/test_invocations.py`` fails if records differ between invocations.)
    """
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # pragma: no cover
        yield
        return
    if not (hasattr(providers, "_get_local_constants") and hasattr(providers, "Constants")):  # pragma: no cover
        yield
        return
    saved = providers._get_local_constants
    empty = providers.Constants()
    providers._get_local_constants = lambda: empty
    providers.CONSTANTS_CACHE.cache.clear()
    try:
        yield
    finally:
        providers._get_local_constants = saved
        providers.CONSTANTS_CACHE.cache.clear()
