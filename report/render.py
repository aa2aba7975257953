"""Human-facing report files (filled in by the report issue): Markdown, HTML, badge, shields endpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def write_all(out: Path, doc: dict[str, Any]) -> None:
    return None
