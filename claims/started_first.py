"""The slowest artefacts of a run, started at its first test so that they compute beside the tests before them.

A run's tests are single-threaded Python; the slowest artefacts are numpy work that releases the GIL (the template
re-fits' 300 similarity passes and sorts, the scrubbing tables) or a child process (the feature visualisation of
the PCA directions). On two cores they can compute in a background thread while the other tests run. A starter is
registered by the module whose test needs the artefact (:func:`starts_first`, under the record id of that test)
and called at the session's first test if that record is in the run; the modules of those tests run last
(:func:`waiting_last`). A starter gathers its inputs from the session's fixtures in the main thread and hands the
artefact's own function to :class:`Background`. The fixture or test then waits for the same future, so the result
is the one it would have computed itself, and an error is raised where it is used.

Not under pytest-xdist: a worker does not know which tests it will be given.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest

from fixtures.locate import Inputs
from fixtures.mnist import MNIST
from fixtures.plugin import early_data

#: At most two artefacts at once: the machine the suite is sized for has two cores.
WORKERS = 2

Starter = Callable[[pytest.FixtureRequest, "Background"], None]
#: record id -> the starters of the artefacts its test needs (registered when the test's module is imported).
STARTERS: dict[str, list[Starter]] = {}
DataStarter = Callable[[Inputs, MNIST, "Background"], None]
#: record id -> the starters of artefacts of the data alone (memoised by the data's digest), started at collection.
DATA_STARTERS: dict[str, list[DataStarter]] = {}
_BACKGROUND = pytest.StashKey["Background"]()


def starts_first(record_id: str) -> Callable[[Starter], Starter]:
    """Register a starter for an artefact the test of ``record_id`` needs (a claim's or probe's id, or the name of
    a test module, e.g. ``test_ood``, for tests that are neither)."""

    def register(starter: Starter) -> Starter:
        STARTERS.setdefault(record_id, []).append(starter)
        return starter

    return register


def starts_with_the_data(record_id: str) -> Callable[[DataStarter], DataStarter]:
    """Register a starter of an artefact of the data alone that the test of ``record_id`` needs: it is called
    while the activation bundle is still being computed (a cold run's first seconds, when a core is partly idle)
    and must leave its result where the test finds it (a cache file memoised by the data's digest)."""

    def register(starter: DataStarter) -> DataStarter:
        DATA_STARTERS.setdefault(record_id, []).append(starter)
        return starter

    return register


def session_background(config: pytest.Config) -> "Background":
    """The session's one :class:`Background` (made on first use, closed by the ``background`` fixture)."""
    if _BACKGROUND not in config.stash:
        config.stash[_BACKGROUND] = Background()
    return config.stash[_BACKGROUND]


def start_data_only(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Call the data starters of the run's records, if the data was resolved at configure time."""
    early = early_data(config)
    if early is None or hasattr(config, "workerinput") or config.option.collectonly:
        return
    for record_id in sorted(record_ids(items) & set(DATA_STARTERS)):
        for starter in DATA_STARTERS[record_id]:
            try:
                starter(*early, session_background(config))
            except Exception:
                pass  # the test computes what it needs itself, and reports why it cannot


class Background:
    """Futures by name: :meth:`start` submits a computation once; every later call returns the same future."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="started-first")
        self._futures: dict[str, Future] = {}

    def start(self, name: str, compute: Callable[..., Any], *args: Any) -> Future:
        if name not in self._futures:
            self._futures[name] = self._pool.submit(compute, *args)
        return self._futures[name]

    def close(self, wait: bool = True) -> None:
        """Drop what has not started and (``wait``) wait for what has (a thread cannot be stopped)."""
        self._pool.shutdown(wait=wait, cancel_futures=True)


def record_ids(items: list[pytest.Item]) -> set[str]:
    """The ids of the claims and probes among ``items``, and the names of their modules."""
    out = set()
    for item in items:
        out.add(item.path.stem)
        for name in ("claim", "probe"):
            marker = item.get_closest_marker(name)
            if marker is not None and marker.args:
                out.add(marker.args[0].id)
    return out


def waiting_last(items: list[pytest.Item]) -> None:
    """Reorder ``items`` in place: the test modules holding a test whose artefact starts first run after the
    others, so that the artefacts compute beside those instead of being waited for. The order within a module is
    kept (its module fixtures are set up once); the report's order is the catalogue's, whatever the run's."""
    waiting = {item.path for item in items if record_ids([item]) & set(STARTERS)}
    items[:] = sorted(items, key=lambda item: item.path in waiting)  # stable


@pytest.fixture(scope="session")
def background(pytestconfig: pytest.Config) -> Any:
    """The session's background computations (closed at its end)."""
    pool = session_background(pytestconfig)
    yield pool
    pool.close()


@pytest.fixture(scope="session", autouse=True)
def start_the_slowest(request: pytest.FixtureRequest, background: Background) -> None:
    """Call the starter of every artefact a test of this run needs, before the first test runs."""
    if hasattr(request.config, "workerinput"):
        return
    for record_id in sorted(record_ids(request.session.items) & set(STARTERS)):
        for starter in STARTERS[record_id]:
            try:
                starter(request, background)
            except (Exception, pytest.skip.Exception, pytest.fail.Exception):
                pass  # an input that cannot be made: the test that needs it makes it itself and reports why
