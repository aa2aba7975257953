"""The hooks through which a project plugs its engines into the claims engine (as pytest-html's ``hooks.py``
lets a project add to its report). Implement them in a ``conftest.py`` or plugin; the engine imports nothing of
the project."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest


@pytest.hookspec(firstresult=True)
def pytest_eis_robustness(
    config: pytest.Config, declaration: Any, data: Any, judgement: Any
) -> Mapping[str, Any] | None:
    """With ``--robustness``: the robustness record of ``judgement``, which ``declaration(data)`` returned in
    ``verdict.judge``. JSON-able; its ``cell`` is the one-line text every table shows, ``declared`` and
    ``fragile`` are counted in the summary."""


@pytest.hookspec(firstresult=True)
def pytest_eis_judge(item: pytest.Item, declaration: Any, data: Any) -> Any | None:
    """The judgement ``declaration(data)`` for the claim of ``item``, from wherever the project keeps judgements
    whose inputs did not change (None: the engine calls ``declaration(data)`` itself). The project must return
    exactly what the call would."""


@pytest.hookspec(firstresult=True)
def pytest_eis_robustness_unjudged(item: pytest.Item, record: Any) -> Mapping[str, Any] | None:
    """With ``--robustness``: the robustness record of a claim whose test concluded without ``verdict.judge``
    (called after the test, before its record is shipped)."""


@pytest.hookspec(firstresult=True)
def pytest_eis_matrix(
    config: pytest.Config, out: Path, document: Mapping[str, Any], sections: Mapping[str, list[Mapping[str, Any]]]
) -> Mapping[str, Any] | None:
    """The ``matrix.json`` document of a complete run written into ``out`` (None: no matrix), from this run's
    document and the section records the tests shipped (e.g. each model's claims run). A matrix that lists
    ``incomplete_models`` is degraded: the report then goes to ``partial/`` and the session fails."""


@pytest.hookspec(firstresult=True)
def pytest_eis_section_order(config: pytest.Config, section: str) -> list[str] | None:
    """The order of a section's records in the report (e.g. the input families of ``ood``); records it does not
    name follow alphabetically."""
