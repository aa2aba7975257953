"""Hypothesis settings for the property probes: profiles chosen by ``--probe-profile`` or
``EIS_HYPOTHESIS_PROFILE`` (default ``ci`` when the ``CI`` variable is set, else ``dev``).

- ``dev``: fast (a second or so for all probes), derandomised so the report is reproducible;
- ``ci``: thorough (several times more examples), derandomised so CI reports are reproducible;
- ``explore``: random, with an example database in the cache folder (never in the repository), for
  hunting counterexamples; its reports are not reproducible and say so.

The suite runs pytest with hypothesis's own plugin switched off (see pytest.ini), so profiles are chosen
here rather than with ``--hypothesis-profile``.
"""

from __future__ import annotations

import os
from pathlib import Path

PROFILES = ("dev", "ci", "explore")
ENV = "EIS_HYPOTHESIS_PROFILE"
#: How many more examples ``ci`` and ``explore`` draw than ``dev``.
SCALE = {"dev": 1, "ci": 5, "explore": 5}


def profile_name(option: str | None) -> str:
    name = option or os.environ.get(ENV) or ("ci" if os.environ.get("CI") else "dev")
    if name not in PROFILES:
        raise ValueError(f"unknown probe profile {name!r}; choose one of {', '.join(PROFILES)}")
    return name


def probe_settings(name: str, dev_examples: int, cache_dir: Path) -> "settings":
    """Settings for one probe: ``dev_examples`` scaled by the profile. (hypothesis is imported here, so that
    checking a profile name at start-up costs nothing.)"""
    from hypothesis import HealthCheck, settings
    from hypothesis.database import DirectoryBasedExampleDatabase

    common = dict(
        max_examples=dev_examples * SCALE[name],
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        print_blob=False,
    )
    if name == "explore":
        return settings(derandomize=False, database=DirectoryBasedExampleDatabase(str(cache_dir / "hypothesis")), **common)
    return settings(derandomize=True, database=None, **common)
