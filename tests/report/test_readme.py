"""The README must stay true: its verdict table and badge are the ones the suite produces now."""

from __future__ import annotations

import pytest

from report.readme import BADGE, README, table_block, verdict_table
from report.records import RunReport

STALE = "run `pytest claims/ && python -m report.readme` and commit the result"


@pytest.fixture
def challenge_run(claims_run):
    if not claims_run.document["checkpoint"].get("challenge"):
        pytest.skip("the README describes the challenge checkpoint; this session tests another one")
    return claims_run


@pytest.mark.needs_data
def test_the_readme_table_matches_what_the_suite_measures(challenge_run):
    assert table_block(README.read_text()) == verdict_table(RunReport.from_document(challenge_run.document)), (
        f"README.md's table is stale: {STALE}"
    )


@pytest.mark.needs_data
def test_the_readme_badge_matches_the_report(challenge_run):
    assert BADGE.read_bytes() == (challenge_run.report_dir / "badge.svg").read_bytes(), (
        f"docs/badge.svg is stale: {STALE}"
    )


def test_the_table_is_spliced_between_the_markers_only():
    from report.readme import END, START, with_table

    text = f"intro\n{START}\nold\n{END}\noutro\n"
    assert with_table(text, "| new |") == f"intro\n{START}\n| new |\n{END}\noutro\n"
    assert with_table(f"intro\n{START}\n{END}\n", "| t |") == f"intro\n{START}\n| t |\n{END}\n"
