"""pytest plugin: the options of ``pytest claims/ --robustness``. The engine that measures robustness is the
project's (the ``pytest_eis_robustness`` hooks of :mod:`report.hooks`); its record goes into the claim's record
(see :class:`report.claim.Verdict`). Without the flag nothing here runs."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("eis")
    group.addoption(
        "--robustness",
        action="store_true",
        default=False,
        help="also measure each claim's robustness: its allowed readings enumerated, a seeded bootstrap of its "
        "images against its acceptance bounds, and a held-out replication; recorded in claims.json and every view",
    )
    group.addoption(
        "--robustness-resamples",
        type=int,
        default=None,
        metavar="N",
        help="bootstrap resamples per claim with --robustness (default 200)",
    )


def enabled(config: pytest.Config) -> bool:
    return bool(config.getoption("robustness", default=False))


def pytest_configure(config: pytest.Config) -> None:
    n = config.getoption("robustness_resamples", default=None)
    if n is not None and n < 1:
        raise pytest.UsageError(f"--robustness-resamples must be a positive number, got {n}")
