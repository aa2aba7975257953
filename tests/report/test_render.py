"""The human-facing report files (``report.render``) on small synthetic documents: no model, no data.

They check what a reviewer relies on: one table row per claim, errata and failures explained, an HTML page
that needs nothing from the network, figures that load (or a visible note when one is missing), a badge whose
colour and text say whether any claim fails, and byte-identical output for the same document.
"""

from __future__ import annotations

import base64
import json
import re
import struct
import zlib
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from claims import catalogue
from report import render
from report.records import RunReport
from report.write import write_report
from tests.report.documents import run_report

CLAIM_IDS = catalogue().claim_ids

CONTEXT = {
    "checkpoint": {"path": "data/mnist_model.pt", "sha256": "ab" * 32, "challenge": True},
    "data": {"train": 600, "test": 100, "dir": "~/data", "canonical_mnist": False},
}


def tiny_png(width: int = 3, height: int = 2, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A valid RGB PNG without any imaging library: enough for a browser or a parser to decode."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def record(verdict: str = "holds", **overrides: Any) -> dict[str, Any]:
    rec = {
        "verdict": verdict,
        "quote": "the write-up says so",
        "claimed": {"agreement": 0.962},
        "accept": "within ±0.1 pp",
        "measured": {"agreement": 0.96246666, "thresholds": [-17305.0, -7762.0], "nested": {"a": 1, "b": 0.000123456}},
        "summary": "agreement 96.25%",
        "erratum": "the correction that holds" if verdict == "erratum" else None,
        "known_nonreproduction": None,
        "depends_on": "model",
        "family": "labelling",
        "figures": [],
        "test": "claims/test_x.py::test_it",
        "rerun": "pytest claims/test_x.py::test_it",
    }
    rec.update(overrides)
    return rec


def make_doc(claims: dict[str, dict[str, Any]], probes: dict[str, Any] | None = None) -> dict[str, Any]:
    """A ``claims.json`` document built by the real ``build_report``, so the schema is the public one."""
    return run_report(CONTEXT, claims, probes).to_document()


def write(out: Path, doc: dict[str, Any], **kwargs: Any) -> Path:
    """The report files of ``doc``, written from its typed records as a run writes them."""
    from claims.presentation import PRESENTATION

    render.write_all(out, RunReport.from_document(doc), **{"presentation": PRESENTATION, **kwargs})
    return out


class Page(HTMLParser):
    """Collects what the tests ask of the HTML: every tag with its attributes and the verdict table's rows."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.stack: list[tuple[str, dict[str, str | None]]] = []
        self.verdict_rows: list[list[str]] = []
        self._cell: list[str] | None = None
        self.feed(text)
        self.close()

    def _in_verdict_body(self) -> bool:
        tags = [(t, a.get("id")) for t, a in self.stack]
        return ("table", "verdicts") in tags and any(t == "tbody" for t, _ in tags)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag in ("img", "meta", "br", "hr", "link", "source"):
            return
        self.stack.append((tag, a))
        if tag == "tr" and self._in_verdict_body():
            self.verdict_rows.append([])
        if tag == "td" and self._in_verdict_body():
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            self.verdict_rows[-1].append("".join(self._cell).strip())
            self._cell = None
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def attrs(self, tag: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.tags if t == tag]


def page_of(out: Path) -> Page:
    return Page((out / "index.html").read_text(encoding="utf-8"))


# --------------------------------------------------------------------------------------------- tables
def test_markdown_table_has_one_row_per_claim_in_catalogue_order(tmp_path: Path) -> None:
    ids = list(CLAIM_IDS[:4])
    doc = make_doc({cid: record() for cid in reversed(ids)})
    md = (write(tmp_path, doc) / "claims.md").read_text(encoding="utf-8")
    rows = [line for line in md.splitlines() if line.startswith("| ") and not line.startswith(("| id ", "| ---"))]
    assert [r.split(" | ")[0].removeprefix("| ") for r in rows] == ids
    assert "11 hold" not in md and "4 hold · 0 errata" in md


def test_html_verdict_table_has_exactly_one_row_per_claim_linking_to_its_section(tmp_path: Path) -> None:
    claims = {"labeling-function": record(), "class-split": record("erratum"), "v-shape": record("fails")}
    page = page_of(write(tmp_path, make_doc(claims)))
    assert [row[0] for row in page.verdict_rows] == list(claims)
    assert [row[-1] for row in page.verdict_rows] == ["holds", "erratum", "fails"]
    links = [a["href"] for a in page.attrs("a") if (a.get("href") or "").startswith("#")]
    section_ids = {a["id"] for a in page.attrs("section") if a.get("id")}
    element_ids = {a["id"] for _, a in page.tags if a.get("id")}
    assert all(href[1:] in element_ids for href in links) and len(links) >= len(claims)
    assert {f"claim-{cid}" for cid in claims} <= section_ids


# --------------------------------------------------------------------------------------------- explanations
def test_errata_and_failures_are_explained(tmp_path: Path) -> None:
    claims = {
        "formula-as-written": record("erratum", erratum="the template must be doubled"),
        "one-way-neurons": record("fails", summary="21 of 78 negative", known_nonreproduction="seed-dependent"),
        "v-shape": record("fails", summary="R² 0.5"),
    }
    out = write(tmp_path, make_doc(claims))
    md = (out / "claims.md").read_text(encoding="utf-8")
    errata = md.split("## Errata", 1)[1].split("##", 1)[0]
    assert "formula-as-written" in errata and "the template must be doubled" in errata
    fails = md.split("## Does not hold", 1)[1].split("##", 1)[0]
    assert "one-way-neurons" in fails and "seed-dependent" in fails and "v-shape" in fails and "R² 0.5" in fails
    assert "## Provenance" in md and "ab" * 32 in md
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "the template must be doubled" in html and "seed-dependent" in html and "ab" * 32 in html


def test_no_errata_or_failure_sections_when_everything_holds(tmp_path: Path) -> None:
    md = (write(tmp_path, make_doc({"v-shape": record()})) / "claims.md").read_text(encoding="utf-8")
    assert "## Errata" not in md and "## Does not hold" not in md


# --------------------------------------------------------------------------------------------- offline page
def test_html_references_nothing_outside_the_file(tmp_path: Path) -> None:
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "a.png").write_bytes(tiny_png())
    hostile = 'see https://evil.example/x.png <img src="http://evil.example/y.png"> //cdn.example/z.js'
    claims = {"v-shape": record(quote=hostile, figures=["figures/a.png"], summary=hostile)}
    out = write(tmp_path, make_doc(claims, {"p": {"question": hostile, "verdict": "holds", "found": {"url": hostile}}}))
    html = (out / "index.html").read_text(encoding="utf-8")
    page = Page(html)
    refs = [v for _, a in page.tags for k, v in a.items() if k in ("src", "href", "action", "poster", "srcset") and v]
    assert refs, "the page should at least link claims and embed the figure"
    assert all(r.startswith(("#", "data:")) for r in refs), refs
    assert not page.attrs("script") and not page.attrs("link") and not page.attrs("iframe")
    assert "@import" not in html and not re.search(r"url\(\s*['\"]?(?!data:|#)", html)
    assert "evil.example" in html  # still shown, as escaped text only


def test_each_figure_is_embedded_once_beside_every_claim_that_uses_it(tmp_path: Path) -> None:
    (tmp_path / "figures").mkdir()
    png = tiny_png()
    (tmp_path / "figures" / "v-shape.png").write_bytes(png)
    claims = {
        "pca-variance": record(figures=["figures/v-shape.png"]),
        "v-shape": record(figures=["figures/v-shape.png", "figures/v-shape.png"]),
    }
    page = page_of(write(tmp_path, make_doc(claims)))
    imgs = page.attrs("img")
    assert [a["src"] for a in imgs] == ["data:image/png;base64," + base64.b64encode(png).decode()]  # once
    assert "v-shape.png" not in (imgs[0]["alt"] or "") and (imgs[0]["alt"] or "").startswith("The V: PCA")
    figure_id = next(a["id"] for t, a in page.tags if t == "figure")
    links = [a["href"] for a in page.attrs("a")]
    assert links.count(f"#{figure_id}") == 2  # each claim's section points at the figure
    html = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "Used by: " in html and html.index("<figure") < html.index('id="claim-pca-variance"')


def test_missing_figure_is_a_visible_note_not_a_broken_image(tmp_path: Path) -> None:
    claims = {"v-shape": record(figures=["figures/gone.png", "../outside.png"])}
    (tmp_path.parent / "outside.png").write_bytes(tiny_png())
    out = tmp_path / "report"
    page = page_of(write(out, make_doc(claims)))
    html = (out / "index.html").read_text(encoding="utf-8")
    assert page.attrs("img") == []
    assert "figures/gone.png" in html and "../outside.png" in html and html.count('class="note missing-figure"') == 2


# --------------------------------------------------------------------------------------------- escaping
def test_quotes_are_escaped_in_markdown_and_html(tmp_path: Path) -> None:
    quote = "a | b <script>alert(1)</script> and `x < y | z`"
    out = write(tmp_path, make_doc({"v-shape": record(quote=quote, summary="p < 0.05 | n=3")}))
    md = (out / "claims.md").read_text(encoding="utf-8")
    row = next(line for line in md.splitlines() if line.startswith("| v-shape "))
    assert row.count(" | ") == 4  # five cells: every | inside a cell is escaped
    assert r"a \| b &lt;script>" in row and r"`x < y \| z`" in row and r"p &lt; 0.05 \| n=3" in row
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "<script" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# --------------------------------------------------------------------------------------------- values
def test_measured_values_are_readable(tmp_path: Path) -> None:
    html = (write(tmp_path, make_doc({"v-shape": record()})) / "index.html").read_text(encoding="utf-8")
    assert "0.9625" in html and "0.96246666" not in html  # 4 significant digits
    assert "[-17305, -7762]" in html  # a compact list; whole numbers without exponent
    assert "0.0001235" in html and '<dl class="value">' in html  # nested dicts as definition lists


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.96246666, "0.9625"),
        (-17305.0, "-17305"),
        (12345.678, "12346"),
        (1.23456e-7, "1.235e-07"),
        (3, "3"),
        (True, "True"),
    ],
)
def test_format_number(value: float, text: str) -> None:
    assert render.format_number(value) == text


# --------------------------------------------------------------------------------------------- badge and endpoint
def svg_widths(svg: str) -> tuple[int, int, int]:
    """(badge width, colour split, value box width) from anybadge's default template."""
    total = int(re.search(r'<svg[^>]* width="(\d+)"', svg).group(1))
    split, value = map(int, re.search(r'd="M([1-9]\d*) 0h(\d+)v20H\1z"', svg).groups())
    return total, split, value


@pytest.mark.parametrize(
    ("verdicts", "text", "shields", "fill"),
    [
        (["holds"] * 3 + ["erratum"], "3 hold · 1 erratum", "brightgreen", "#4c1"),
        (["holds", "erratum", "erratum", "fails"], "1 hold · 2 errata · 1 fail", "red", "#e05d44"),
        (["holds"], "1 hold · 0 errata", "brightgreen", "#4c1"),
        (["holds"], "partial: 1 hold · 0 errata", "lightgrey", "#9f9f9f"),
    ],
    ids=["complete", "fails", "one-hold", "partial"],
)
def test_badge_and_shields_endpoint(tmp_path: Path, verdicts: list[str], text: str, shields: str, fill: str) -> None:
    claims = {cid: record(v) for cid, v in zip(CLAIM_IDS, verdicts)}
    doc = make_doc(claims)
    if not text.startswith("partial"):  # the counts of a complete report (the other claims left out for brevity)
        doc["summary"]["complete"] = True
    out = write(tmp_path, doc)
    assert json.loads((out / "shields.json").read_text(encoding="utf-8")) == {
        "schemaVersion": 1,
        "label": "claims",
        "message": text,
        "color": shields,
    }
    svg = (out / "badge.svg").read_text(encoding="utf-8")
    assert f">{text}</text>" in svg and ">claims</text>" in svg
    assert f'fill="{fill}"' in svg


def test_badge_boxes_are_wide_enough_for_their_text(tmp_path: Path) -> None:
    claims = {cid: record("fails") for cid in CLAIM_IDS}  # the longest message: "0 hold · 0 errata · 15 fail"
    svg = (write(tmp_path, make_doc(claims)) / "badge.svg").read_text(encoding="utf-8")
    total, split, value = svg_widths(svg)
    text = render.badge_text(run_report(CONTEXT, claims).summary)
    assert value >= render.measured_text_width(text, 11) + 6
    assert split >= render.measured_text_width("claims", 11) + 6
    assert total == split + value


def test_wide_text_gets_more_padding_than_anybadge_estimates() -> None:
    """anybadge's table estimates 'W' and 'm' at full font width; text of wide glyphs is still not clipped."""
    import anybadge

    text = "WWWWWWWWWW mmmmmmmm"
    badge = anybadge.Badge("claims", text)
    pad = render._padding_chars(badge, text, badge.get_text_width(text))
    assert pad > badge.num_value_padding_chars
    widened = anybadge.Badge("claims", text, num_value_padding_chars=pad)
    assert widened.value_width >= render.measured_text_width(text, 11) * 1.1


# --------------------------------------------------------------------------------------------- determinism
def test_same_document_gives_identical_bytes(tmp_path: Path) -> None:
    probes = {"band": {"question": "is it pure?", "verdict": "holds", "found": {"inside": 0.96, "xs": [1, 2.5]}}}
    claims = {
        "v-shape": record(figures=["figures/v.png"]),
        "class-split": record("erratum"),
        "dla-exclusive": record("fails"),
    }
    outs = []
    for name in ("one", "two"):
        out = tmp_path / name
        (out / "figures").mkdir(parents=True)
        (out / "figures" / "v.png").write_bytes(tiny_png())
        outs.append(out)
    write(outs[0], make_doc(claims, probes))
    first = {p.name: p.read_bytes() for p in outs[0].iterdir() if p.is_file()}
    write(outs[1], make_doc(claims, probes))
    write(outs[0], make_doc(claims, probes))  # the same folder again, in the same process
    assert set(first) == {"claims.md", "index.html", "badge.svg", "shields.json"}
    for out in outs:
        assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == first
    assert not [p for p in outs[0].iterdir() if p.name.endswith(".tmp")]


# --------------------------------------------------------------------------------------------- probes, extras
def test_probes_are_rendered_generically(tmp_path: Path) -> None:
    probes = {
        "robustness": {
            "question": "is there a cliff?",
            "verdict": "fails",
            "found": {"jump": 0.00545, "at": [1, 2]},
            "summary": "largest step 0.54 pp",
            "known_nonreproduction": "two moves per step",
        },
        "odd": {"question": "an erratum?", "verdict": "erratum", "found": {"nested": {"extra_field": "v"}}},
    }
    out = write(tmp_path, make_doc({"v-shape": record()}, probes))
    page = page_of(out)
    html = (out / "index.html").read_text(encoding="utf-8")
    ids = {a.get("id") for a in page.attrs("section")}
    assert {"probe-robustness", "probe-odd"} <= ids
    assert "is there a cliff?" in html and "0.00545" in html and "two moves per step" in html
    assert "erratum" in html and "extra_field" in html
    md = (out / "claims.md").read_text(encoding="utf-8")
    assert "## Probes" in md and "largest step 0.54 pp" in md and "two moves per step" in md
    assert len(page.verdict_rows) == 1  # probes are not claims


def test_no_probe_section_without_probes(tmp_path: Path) -> None:
    out = write(tmp_path, make_doc({"v-shape": record()}))
    assert "Probes" not in (out / "index.html").read_text(encoding="utf-8")
    assert "## Probes" not in (out / "claims.md").read_text(encoding="utf-8")


def test_the_matrix_section_comes_before_the_footer_and_every_class_has_a_rule(tmp_path: Path) -> None:
    matrix = {
        "schema_version": 1,
        "original": CONTEXT["checkpoint"],
        "models": ["original", "untrained"],
        "claims": {
            "v-shape": {
                "depends_on": "model",
                "verdicts": {"original": "holds", "untrained": "fails"},
                "broken_by": ["untrained"],
                "insensitive": False,
                "why_insensitive": None,
            }
        },
        "predictions": {},
        "sensitivity_judged": False,
        "insensitive": [],
    }
    out = write(tmp_path, make_doc({"v-shape": record()}), matrix=matrix, extra_markdown="## Matrix\n\nrow")
    html = (out / "index.html").read_text(encoding="utf-8")
    assert html.index("Claims × models") < html.index('<table id="matrix">') < html.index("<footer>")
    page = page_of(out)
    classes = {c for _, a in page.tags for c in (a.get("class") or "").split()}
    css = html[html.index("<style>") : html.index("</style>")]
    assert {"holds", "fails"} <= classes
    unstyled = {c for c in classes if f".{c}" not in css}
    assert not unstyled, f"classes without a CSS rule: {sorted(unstyled)}"
    md = (out / "claims.md").read_text(encoding="utf-8")
    assert md.index("## Matrix") < md.index("_Generated from")


def test_write_report_writes_every_file(tmp_path: Path) -> None:
    """The real entry point: claims.json first, then the rendered files from the same document."""
    out = write_report(tmp_path, run_report(CONTEXT, {"v-shape": record(), "dla-exclusive": record("fails")}, {}))
    names = {p.name for p in out.iterdir()}
    assert {"claims.json", "claims.md", "index.html", "badge.svg", "shields.json"} <= names
    doc = json.loads((out / "claims.json").read_text(encoding="utf-8"))
    assert len(page_of(out).verdict_rows) == doc["summary"]["total"] == 2


def test_long_flat_dicts_are_shown_on_one_line() -> None:
    many = {str(i): i / 7 for i in range(render.COMPACT_DICT_ABOVE + 1)}
    html = render.html_value(many)
    assert "<dl" not in html and "0: 0, 1: 0.1429" in html
    assert render.html_value({"a": 1.0}).startswith('<dl class="value">')


def test_a_damaged_cached_figure_is_drawn_again_not_copied(tmp_path):
    import numpy as np

    from report.figstore import FigureStore, _is_png

    image = np.linspace(0.0, 1.0, 28 * 28).reshape(28, 28)
    store = FigureStore(tmp_path / "report", tmp_path / "cache", "claims.figures", background=False)
    store.render("hint", "hint", image)
    (cached,) = (tmp_path / "cache" / "figures").glob("hint-*.png")
    data = bytearray(cached.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte in the image data: header and IEND still intact
    cached.write_bytes(bytes(data))
    assert not _is_png(cached)
    store.render("hint", "hint", image)
    assert _is_png(cached) and _is_png(tmp_path / "report" / "figures" / "hint.png")
    assert np.array_equal(
        np.frombuffer(cached.read_bytes(), np.uint8),
        np.frombuffer((tmp_path / "report" / "figures" / "hint.png").read_bytes(), np.uint8),
    )


def test_figure_inputs_that_differ_only_by_rounding_draw_the_same_figure():
    """Another CPU's BLAS kernels move a PCA's coordinates in the last bits; the figure's inputs are rounded to the
    digits a record keeps, so the same figure (and index.html) results. Integer and float32 inputs pass through."""
    import dataclasses

    import numpy as np

    from report.figstore import portable

    @dataclasses.dataclass(frozen=True)
    class Fit:
        corner: np.ndarray
        split: float

    x = np.array([[1.2345678912345, -3.3e-7], [0.0, 250.0]])
    noisy = x * (1 + 1e-15)
    assert np.array_equal(portable(x), portable(noisy))
    assert np.array_equal(portable(Fit(x, 0.1 + 0.2)).corner, portable(x))
    assert portable(Fit(x, 0.1 + 0.2)).split == 0.3
    assert portable({"a": [noisy, 2]})["a"][1] == 2
    ints, f32 = np.arange(4), np.array([0.1], dtype=np.float32)
    assert portable(ints) is ints and portable(f32) is f32
    assert not np.array_equal(portable(x), portable(x * 1.001))  # real differences survive


def test_a_store_draws_in_the_process_started_ahead_of_it_and_the_same_bytes(tmp_path):
    import numpy as np

    from report import figstore

    image = np.linspace(0.0, 1.0, 28 * 28).reshape(28, 28)
    figstore.start_drawing_process("claims.figures")
    started = figstore._STARTED["claims.figures"]
    ahead = figstore.FigureStore(tmp_path / "ahead", None, "claims.figures")
    ahead.render("hint", "hint", image)
    assert ahead._pool is started and "claims.figures" not in figstore._STARTED  # taken over, once
    ahead.finish()
    here = figstore.FigureStore(tmp_path / "here", None, "claims.figures", background=False)
    here.render("hint", "hint", image)
    assert (tmp_path / "ahead" / "figures" / "hint.png").read_bytes() == (
        tmp_path / "here" / "figures" / "hint.png"
    ).read_bytes()
