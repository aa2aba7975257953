"""The catalogue page must stay true: docs/catalogue.md is what the claims' markers say now."""

from __future__ import annotations

from claims import catalogue
from claims.catalogue_page import PAGE, STALE, WRITE_UP_URL, entries, render


def test_the_catalogue_page_matches_the_markers():
    assert PAGE.read_text(encoding="utf-8") == render(entries()), STALE


def test_every_claim_and_probe_is_on_the_page_once_in_catalogue_order():
    cat = catalogue()
    headings = [line[5:-1] for line in render(entries()).splitlines() if line.startswith("### `")]
    assert headings == [*cat.claim_ids, *cat.probe_ids]


def test_the_page_cites_the_write_up_by_its_public_address_only():
    page = render(entries())
    assert WRITE_UP_URL in page
    assert "../" not in page and "/work/" not in page and "seed/" not in page
