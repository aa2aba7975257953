"""The README's beyond-the-data results are generated from the records (report/ood.py, ``readme_block``, in the
claims' words): the block between the ``ood`` markers is what the suite measures now."""

from __future__ import annotations

import pytest

from claims.presentation import OOD_WORDS
from report.ood import (
    README_END,
    README_START,
    readme_block,
    readme_text_block,
    with_readme_block,
)
from report.readme import README

STALE = "run `pytest claims/ && python -m report.readme` and commit the result"


@pytest.mark.needs_data
def test_the_readme_beyond_the_data_section_matches_what_the_suite_measures(claims_run):
    if not claims_run.document["checkpoint"].get("challenge"):
        pytest.skip("the README describes the challenge checkpoint; this session tests another one")
    expected = readme_block(claims_run.document["ood"], OOD_WORDS)
    profiles = {r.get("profile") for r in claims_run.document["ood"]["families"].values()}
    if not all(f"({p} profile)" in readme_text_block(README.read_text()) for p in profiles):
        pytest.skip(f"the README shows another hypothesis profile's run than this session's ({', '.join(profiles)})")
    assert readme_text_block(README.read_text()) == expected, f"README.md's beyond-the-data section is stale: {STALE}"


def test_the_block_is_spliced_between_the_markers_only():
    section = {"summary": "the explanation generalises to 0 of 0 informative input families", "families": {}}
    text = f"intro\n{README_START}\nold\n{README_END}\noutro\n"
    out = with_readme_block(text, section)
    assert out.startswith(f"intro\n{README_START}\n**the explanation generalises to 0 of 0")
    assert out.endswith(f"\n{README_END}\noutro\n") and "old" not in out
    assert readme_text_block(out) == readme_block(section)
