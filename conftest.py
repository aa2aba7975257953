"""Root conftest: the suite's two plugins (inputs and session fixtures; claim records and the report)."""

pytest_plugins = ("fixtures.plugin", "report.plugin")


def pytest_configure(config):
    # Under pytest-xdist, send each test module to one worker (``--dist loadfile``) unless the user chose a
    # mode: a claims module's figure and analysis fixtures are module-scoped, so they are then computed once.
    if getattr(config.option, "numprocesses", None) and getattr(config.option, "dist", "no") == "load":
        config.option.dist = "loadfile"
