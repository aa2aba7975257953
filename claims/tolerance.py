"""Acceptance helpers: the rules themselves come from the write-up's words (see CLAIMS.md)."""

from __future__ import annotations

import math

_EPS = 1e-12  # float slack only; never a tolerance on the science


def within(value: float, target: float, tolerance: float) -> bool:
    """``|value - target| <= tolerance`` (False for NaN)."""
    return math.isfinite(value) and abs(value - target) <= tolerance + _EPS


def between(value: float, low: float, high: float) -> bool:
    """``low <= value <= high`` (False for NaN)."""
    return math.isfinite(value) and low - _EPS <= value <= high + _EPS
