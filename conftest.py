"""Root conftest: the suite's two plugins (inputs and session fixtures; claim records and the report), and
how pytest-xdist distributes the claims."""

import pytest

pytest_plugins = ("fixtures.plugin", "report.plugin")


def pytest_configure(config):
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
