"""The real report opened as a reviewer opens it: ``index.html`` from disk in headless Chromium, offline.

It runs the claims suite once (the session's ``claims_run``), loads the page through ``file://`` and checks
that every figure decodes, that the verdict table has one row per claim of ``claims.json``, and that the page
asked for nothing but ``file:`` and ``data:`` URLs. A full-page screenshot is left beside the report
(``index.png``) for a person to look at.

Needs Debian's ``chromium`` (``/usr/bin/chromium``) and the ``playwright`` package; Playwright's own browser
download is never used. Without either, the test is skipped, saying which is missing.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_SCHEMES = ("file:", "data:")


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """A headless Chromium context with a fresh profile. Session-scoped and requested before ``claims_run``,
    so a machine without a browser skips before paying for the claims run."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent (install Debian's chromium: apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        pytest.skip(f"playwright is not importable ({exc}); pip install playwright")
    with tempfile.TemporaryDirectory(prefix="eis-chromium-") as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
            service_workers="block",
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture(scope="session")
def opened_report(chromium: Any, claims_run: Any) -> dict[str, Any]:
    """The real report loaded once: what the page shows, and every URL it requested while loading."""
    requested: list[str] = []
    chromium.on("request", lambda request: requested.append(request.url))
    page = chromium.new_page()
    page.on("request", lambda request: requested.append(request.url))
    try:
        page.goto((claims_run.report_dir / "index.html").resolve().as_uri(), wait_until="load")
        page.wait_for_load_state("networkidle")
        images = page.eval_on_selector_all(
            "img",
            "els => els.map(e => ({src: e.src.slice(0, 40), alt: e.alt, complete: e.complete,"
            " width: e.naturalWidth, height: e.naturalHeight}))",
        )
        rows = page.locator("#verdicts tbody tr").count()
        row_ids = page.eval_on_selector_all("#verdicts tbody tr td:first-child", "els => els.map(e => e.textContent)")
        page.screenshot(path=str(claims_run.report_dir / "index.png"), full_page=True)
    finally:
        page.close()
    return {"images": images, "rows": rows, "row_ids": row_ids, "requested": requested}


@pytest.mark.needs_data
def test_every_figure_loads(opened_report: dict[str, Any], claims_run: Any) -> None:
    images = opened_report["images"]
    figures = {rel for rec in claims_run.document["claims"].values() for rel in rec["figures"]}
    assert figures, "the real run should draw figures"
    assert len(images) >= len(figures)
    broken = [img for img in images if not (img["complete"] and img["width"] > 0 and img["height"] > 0)]
    assert not broken, f"images that did not load: {broken}"


@pytest.mark.needs_data
def test_verdict_table_has_one_row_per_claim(opened_report: dict[str, Any], claims_run: Any) -> None:
    claims = claims_run.document["claims"]
    assert opened_report["rows"] == len(claims)
    assert [s.strip() for s in opened_report["row_ids"]] == list(claims)


@pytest.mark.needs_data
def test_page_requests_nothing_from_the_network(opened_report: dict[str, Any], claims_run: Any) -> None:
    requested = opened_report["requested"]
    assert any(url.startswith("file:") for url in requested), "the page load itself should have been recorded"
    outside = [url for url in requested if not url.startswith(LOCAL_SCHEMES)]
    assert not outside, f"the report asked the network for: {outside}"
    assert (claims_run.report_dir / "index.png").stat().st_size > 0


@pytest.mark.needs_data
def test_badge_text_fits_its_boxes(chromium: Any, claims_run: Any) -> None:
    """anybadge sizes the boxes from an estimate; here the browser lays the text out with a real font."""
    page = chromium.new_page()
    try:
        page.goto((claims_run.report_dir / "badge.svg").resolve().as_uri())
        geometry = page.evaluate(
            """() => {
                const svg = document.querySelector('svg');
                const paths = [...svg.querySelectorAll('g[mask] path')].map(p => p.getAttribute('d'));
                const split = Number(/^M(\\d+) 0h/.exec(paths[1])[1]);
                const texts = [...svg.querySelectorAll('text')].map(t => {
                    const b = t.getBBox(); return {text: t.textContent, left: b.x, right: b.x + b.width}; });
                return {width: Number(svg.getAttribute('width')), split, texts};
            }"""
        )
    finally:
        page.close()
    label, value = geometry["texts"][:2], geometry["texts"][2:]
    assert all(0 < t["left"] and t["right"] <= geometry["split"] for t in label), geometry
    assert all(geometry["split"] < t["left"] and t["right"] <= geometry["width"] for t in value), geometry
