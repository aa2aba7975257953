"""The figure fixtures: every figure attached to a claim is one of them."""

from __future__ import annotations

from claims.figures_fixtures import CLAIM_FIGURES


def test_every_attached_figure_is_a_fixture_of_the_module():
    import claims.figures_fixtures as module

    assert set(CLAIM_FIGURES) <= set(module.__all__)  # claims/conftest.py imports them
