"""Root conftest: the suite's two plugins (inputs and session fixtures; claim records and the report)."""

pytest_plugins = ("fixtures.plugin", "report.plugin")
