"""Human-facing report files, all derived from the ``claims.json`` document alone: ``claims.md`` (for a
README or a pull request), ``index.html`` (one self-contained page a reviewer opens offline: figures inlined
as ``data:`` URIs, inline CSS, no script, no external URL), ``badge.svg`` and ``shields.json`` (a shields.io
endpoint).

Every file is a pure function of the document (and the figure files it names), so the same run gives the
same bytes: nothing here reads a clock, the environment or the order of a directory listing.
"""

from __future__ import annotations

import base64
import html
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from analysis.robustness import cell as robustness_cell
from fixtures.files import atomic_write_text
from report.records import format_value, ordered

#: Badge label, and the words for each verdict count (``verdict -> (singular, plural)``).
BADGE_LABEL = "claims"
COUNT_WORDS = {"holds": ("hold", "hold"), "erratum": ("erratum", "errata"), "fails": ("fail", "fail")}
#: Colours per verdict: (text/border, light background). Holds green, erratum amber, fails red.
VERDICT_COLOURS = {"holds": ("#1b6e20", "#e3f4e4"), "erratum": ("#8a5300", "#fff1d6"), "fails": ("#b3261e", "#fde4e2"),
                   "neutral": ("#444444", "#f0f0f0")}
SHIELDS_COLOURS = {True: "brightgreen", False: "red"}  # keyed by "no claim fails"
ANYBADGE_COLOURS = {True: "#4c1", False: "#e05d44"}  # the same two colours as shields.io draws them
#: A dict of more scalar entries than this is shown on one line, not as a tall definition list.
COMPACT_DICT_ABOVE = 8
#: Lists longer than this are shown truncated in the HTML (claims.json keeps every value).
MAX_LIST_ITEMS = 64
IMAGE_TYPES = {".png": "image/png", ".svg": "image/svg+xml", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
               ".gif": "image/gif", ".webp": "image/webp"}


# ----------------------------------------------------------------------------------------------- the entry point
def write_all(
    out: Path,
    doc: dict[str, Any],
    *,
    extra_sections: Sequence[tuple[str, str]] = (),
    extra_markdown: str = "",
) -> None:
    """Write ``claims.md``, ``index.html``, ``badge.svg`` and ``shields.json`` into ``out``, each atomically.

    ``extra_sections`` are ``(title, trusted html)`` pairs appended to the HTML page before its footer (e.g. a
    models × claims matrix); ``extra_markdown`` is appended to ``claims.md`` likewise.
    """
    out = Path(out)
    summary = doc.get("summary", {})
    atomic_write_text(out / "claims.md", render_markdown(doc, extra_markdown))
    atomic_write_text(out / "index.html", render_html(doc, out, extra_sections))
    atomic_write_text(out / "badge.svg", badge_svg(summary))
    atomic_write_text(out / "shields.json", json.dumps(shields_endpoint(summary), indent=2, ensure_ascii=False) + "\n")


# ----------------------------------------------------------------------------------------------- badge and shields
def badge_text(summary: Mapping[str, Any]) -> str:
    """``"11 hold · 4 errata"``, plus ``" · N fail"`` when any claim fails: what a README reader needs at a glance."""
    parts = [_count(summary, "holds"), _count(summary, "erratum")]
    if "robust_holds" in summary:  # a run that measured robustness: robust holds apart from fragile ones
        parts[0] += f" ({int(summary['robust_holds'])} robust)"
    if int(summary.get("fails", 0)) > 0:
        parts.append(_count(summary, "fails"))
    partial = "" if summary.get("complete", True) else "partial: "
    return partial + " · ".join(parts)


def _count(summary: Mapping[str, Any], verdict: str) -> str:
    return count_text(int(summary.get(verdict, 0)), verdict)


def count_text(n: int, verdict: str) -> str:
    """``"1 hold"``, ``"3 errata"``, ``"0 fail"``: a count of verdicts in plain words."""
    singular, plural = COUNT_WORDS[verdict]
    return f"{n} {singular if n == 1 else plural}"


def passing(summary: Mapping[str, Any]) -> bool:
    """Green means no claim fails; errata are expected findings, not failures."""
    return int(summary.get("fails", 0)) == 0


#: A partial run's badge is grey whatever it found: it says nothing about the claims it did not check.
PARTIAL_COLOURS = {"shields": "lightgrey", "anybadge": "#9f9f9f"}


def _colour(summary: Mapping[str, Any], kind: str) -> str:
    if not summary.get("complete", True):
        return PARTIAL_COLOURS[kind]
    return (SHIELDS_COLOURS if kind == "shields" else ANYBADGE_COLOURS)[passing(summary)]


def shields_endpoint(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The shields.io endpoint document (https://shields.io/badges/endpoint-badge) for the same badge."""
    return {"schemaVersion": 1, "label": BADGE_LABEL, "message": badge_text(summary),
            "color": _colour(summary, "shields")}


def badge_svg(summary: Mapping[str, Any]) -> str:
    """The badge drawn by anybadge, deterministic and wide enough for its text.

    anybadge estimates text width from a table of per-character percentages and numbers its SVG masks from a
    process-wide counter; we measure the text with the DejaVu Sans that matplotlib ships (the badge's first
    font) and widen the padding if the estimate is short, and we fix the mask id so equal inputs give equal bytes.
    """
    import anybadge

    text = badge_text(summary)
    badge = anybadge.Badge(BADGE_LABEL, text, default_color=_colour(summary, "anybadge"))
    label_pad = _padding_chars(badge, BADGE_LABEL, badge.get_text_width(BADGE_LABEL))
    value_pad = _padding_chars(badge, text, badge.get_text_width(text))
    if (label_pad, value_pad) != (badge.num_label_padding_chars, badge.num_value_padding_chars):
        badge = anybadge.Badge(BADGE_LABEL, text, default_color=_colour(summary, "anybadge"),
                               num_label_padding_chars=label_pad, num_value_padding_chars=value_pad)
    badge.mask_str = "claims_badge_mask"
    return badge.badge_svg_text


def _padding_chars(badge: Any, text: str, estimate: int, margin: float = 1.1) -> float:
    """anybadge's padding (in its font-width units) so that the box holds the measured text with ``margin``
    (Verdana, the usual fallback on machines without DejaVu, runs a few percent wider)."""
    default = float(badge.num_value_padding_chars)
    shortfall = measured_text_width(text, badge.font_size) * margin - estimate
    if shortfall <= 0:
        return default
    return round(default + shortfall / (2.0 * badge.font_width), 2)


def measured_text_width(text: str, size_px: int) -> float:
    """Width in pixels of ``text`` set in DejaVu Sans at ``size_px`` (the font file matplotlib ships, read with
    Pillow: importing matplotlib itself would cost a warm run ~0.5 s)."""
    from PIL import ImageFont

    return float(ImageFont.truetype(str(_dejavu_sans()), size_px).getlength(text))


def _dejavu_sans() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("matplotlib is not installed: its bundled DejaVu Sans is used to measure badge text")
    return Path(list(spec.submodule_search_locations)[0]) / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf"


# ----------------------------------------------------------------------------------------------- shared text helpers
def verdict_label(rec: Mapping[str, Any]) -> str:
    """The verdict, marked when a failure is a reviewed, known non-reproduction for this checkpoint."""
    verdict = str(rec.get("verdict", ""))
    return verdict + (" (known non-reproduction)" if rec.get("known_nonreproduction") else "")


def format_number(value: float | int) -> str:
    """Ints as they are; floats to 4 significant digits, except that whole or large numbers (thresholds such
    as -17305) are shown without exponent notation, which 4 significant digits would force."""
    if isinstance(value, int):  # bool included
        return str(value)
    if not math.isfinite(value):
        return str(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if abs(value) >= 1e4 and abs(value) < 1e15:
        return f"{value:.0f}"
    return f"{value:.4g}"


def format_scalar(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return format_number(value)
    return str(value)


def is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def compact_list(values: Sequence[Any]) -> str:
    """A list of scalars on one line, ``[0.6023, 0.2895]``; long ones cut (the JSON has them whole)."""
    shown = [format_scalar(v) for v in values[:MAX_LIST_ITEMS]]
    more = len(values) - len(shown)
    return "[" + ", ".join(shown) + (f", … {more} more" if more > 0 else "") + "]"


def anchor(prefix: str, ident: str) -> str:
    """A stable HTML id for a claim or probe: ids of the catalogue are slugs already, others are made so."""
    return f"{prefix}-" + re.sub(r"[^A-Za-z0-9_.-]+", "-", ident).strip("-")


# ----------------------------------------------------------------------------------------------- Markdown
_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.S)


def md_cell(text: Any) -> str:
    """Text safe in one cell of a GitHub table: ``|`` escaped everywhere (GFM needs it inside code spans too),
    line breaks flattened, and ``<`` made an entity outside code spans, so that no quote becomes an HTML tag."""
    s = re.sub(r"\s*\n\s*", " ", str(text)).replace("|", r"\|")
    pieces, last = [], 0
    for m in _CODE_SPAN.finditer(s):
        pieces.append(s[last:m.start()].replace("<", "&lt;"))
        pieces.append(m.group(0))
        last = m.end()
    pieces.append(s[last:].replace("<", "&lt;"))
    return "".join(pieces)


def md_text(text: Any) -> str:
    """Paragraph text: like a cell, without the need to escape ``|``."""
    return md_cell(text).replace(r"\|", "|")


def md_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in rows]
    return lines


def render_markdown(doc: Mapping[str, Any], extra: str = "") -> str:
    """``claims.md``: the verdict table in catalogue order, then what each erratum and failure means, then
    where the checkpoint and data came from. ``extra`` (Markdown) goes before the footer."""
    claims = ordered(doc.get("claims", {}))
    summary = doc.get("summary", {})
    lines = ["# EIS VII challenge 1: the write-up's claims, measured", "", md_summary_line(summary), ""]
    robust = has_robustness(claims)
    lines += md_table(("id", "quote", "claimed", "measured", *(("robustness",) if robust else ()), "verdict"),
                      ((cid, rec.get("quote", ""), format_value(rec.get("claimed")), rec.get("summary", ""),
                        *((robustness_cell(rec.get("robustness")),) if robust else ()), verdict_label(rec))
                       for cid, rec in claims))
    lines += md_errata(claims) + md_failures(claims) + md_robustness(claims)
    lines += md_probes(doc.get("probes", {})) + md_provenance(doc)
    if extra:
        lines += ["", extra.rstrip("\n")]
    lines += ["", f"_Generated from `claims.json` (schema {doc.get('schema_version', '?')}) by the claims suite._"]
    return "\n".join(lines) + "\n"


def md_summary_line(summary: Mapping[str, Any]) -> str:
    total = summary.get("total", 0)
    complete = "" if summary.get("complete", True) else " (incomplete run: not every catalogue claim was checked)"
    return f"**{badge_text(summary)}** of {total} claims{complete}."


def has_robustness(claims: Sequence[tuple[str, Mapping[str, Any]]]) -> bool:
    return any("robustness" in rec for _, rec in claims)


def interval_text(intervals: Mapping[str, Any]) -> str:
    """``agreement 0.9625 [0.9609, 0.964]; …``: each headline number with its 95% bootstrap interval."""
    return "; ".join(f"{k} {format_scalar(v.get('estimate'))} [{format_scalar(v.get('low'))}, "
                     f"{format_scalar(v.get('high'))}]" for k, v in intervals.items())


def md_robustness(claims: Sequence[tuple[str, Mapping[str, Any]]]) -> list[str]:
    """Per claim: bootstrap stability and intervals, the choices explored, the minimal flip; fragile ones marked."""
    recs = [(cid, rec["robustness"]) for cid, rec in claims if rec.get("robustness")]
    if not recs:
        return []
    lines = ["", "## Robustness", "",
             "Bootstrap: seeded resamples of the images each claim is computed on (95% intervals); choices: a "
             "derandomised hypothesis search over the analysis choices the write-up left open. **Fragile**: the "
             "verdict holds in fewer than 95% of resamples or of choices.", ""]
    for cid, rob in recs:
        if not rob.get("declared"):
            lines.append(f"- **{cid}**: not measured: {md_text(rob.get('why', ''))}")
            continue
        mark = "**fragile** " if rob.get("fragile") else ""
        lines.append(f"- **{cid}** {mark}({md_text(robustness_cell(rob))}): {md_text(interval_text(rob['intervals']))}; "
                     f"minimal flip: {md_text(rob.get('minimal_flip_text', ''))}.")
        if rob.get("not_explored"):
            lines.append(f"  Not explored: {md_text(rob['not_explored'])}")
    return lines


def md_errata(claims: Sequence[tuple[str, Mapping[str, Any]]]) -> list[str]:
    errata = [(cid, rec) for cid, rec in claims if rec.get("verdict") == "erratum"]
    if not errata:
        return []
    lines = ["", "## Errata", "",
             "The claim as literally written does not hold; the stated faithful correction does (both measured).", ""]
    for cid, rec in errata:
        lines.append(f"- **{cid}**: {md_text(rec.get('erratum') or 'no correction recorded')} "
                     f"(measured: {md_text(rec.get('summary', ''))})")
    return lines


def md_failures(claims: Sequence[tuple[str, Mapping[str, Any]]]) -> list[str]:
    fails = [(cid, rec) for cid, rec in claims if rec.get("verdict") == "fails"]
    if not fails:
        return []
    lines = ["", "## Does not hold", ""]
    for cid, rec in fails:
        lines.append(f"- **{cid}**: measured {md_text(rec.get('summary', ''))}; "
                     f"accepted only if {md_text(rec.get('accept', ''))}.")
        if rec.get("known_nonreproduction"):
            lines.append(f"  Known non-reproduction for this checkpoint: {md_text(rec['known_nonreproduction'])}")
    return lines


def md_probes(probes: Mapping[str, Any]) -> list[str]:
    """Probes in a table (question, what was found, status), then the reviewed reasons of failing ones."""
    if not probes:
        return []
    recs = [(pid, rec if isinstance(rec, Mapping) else {"found": rec}) for pid, rec in sorted(probes.items())]
    rows = ((pid, rec.get("question", ""), rec.get("summary") or _md_found(rec.get("found")), probe_status(rec))
            for pid, rec in recs)
    lines = ["", "## Probes", ""] + md_table(("probe", "question", "found", "status"), rows)
    known = [(pid, rec["known_nonreproduction"]) for pid, rec in recs if rec.get("known_nonreproduction")]
    if known:
        lines += [""] + [f"- **{pid}** (known non-reproduction): {md_text(why)}" for pid, why in known]
    return lines


def _md_found(found: Any) -> str:
    if isinstance(found, Mapping):
        return "; ".join(f"{k}: {_plain(v)}" for k, v in found.items())
    return _plain(found)


def _plain(value: Any) -> str:
    """Any JSON value on one line, numbers formatted as in the HTML."""
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_plain(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        if all(is_scalar(v) for v in value):
            return compact_list(value)
        return "[" + ", ".join(_plain(v) for v in value) + "]"
    return format_scalar(value)


def md_provenance(doc: Mapping[str, Any]) -> list[str]:
    return ["", "## Provenance", ""] + [f"- {md_text(k)}: {md_text(v)}" for k, v in provenance_items(doc)]


def provenance_items(doc: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What was tested on what: the checkpoint's digest and path, and the data's size and origin."""
    ckpt, data = doc.get("checkpoint", {}) or {}, doc.get("data", {}) or {}
    items = [
        ("checkpoint sha256", str(ckpt.get("sha256", "unknown"))),
        ("checkpoint path", str(ckpt.get("path", "unknown"))),
        ("challenge checkpoint", format_scalar(ckpt.get("challenge"))),
        ("training images", format_scalar(data.get("train"))),
        ("test images", format_scalar(data.get("test"))),
        ("data folder", str(data.get("dir", "unknown"))),
        ("canonical MNIST", format_scalar(data.get("canonical_mnist"))),
    ]
    known = {"sha256", "path", "challenge", "train", "test", "dir", "canonical_mnist"}
    items += [(f"checkpoint {k}", _plain(v)) for k, v in ckpt.items() if k not in known]
    items += [(f"data {k}", _plain(v)) for k, v in data.items() if k not in known]
    return items


# ----------------------------------------------------------------------------------------------- HTML
def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


CSS = """
:root { color-scheme: light; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #1d1d1f;
       margin: 0 auto; max-width: 1180px; padding: 1.2rem 1.5rem 3rem; background: #fff; }
h1 { font-size: 1.5rem; margin: 0 0 .4rem; }
h2 { font-size: 1.25rem; margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
h3 { font-size: 1.1rem; margin: 0 0 .5rem; }
code, .mono, dt { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: .88em; }
header { border-bottom: 2px solid #ddd; padding-bottom: .8rem; }
.badges { display: flex; gap: .5rem; flex-wrap: wrap; align-items: center; margin: .5rem 0; }
.badge { border-radius: 4px; padding: .15rem .6rem; font-weight: 600; border: 1px solid; }
.badge.zero { opacity: .45; }
.note { color: #8a5300; }
table { border-collapse: collapse; width: 100%; margin: .6rem 0; }
th, td { border: 1px solid #ddd; padding: .3rem .5rem; vertical-align: top; text-align: left; }
thead th { background: #f3f3f3; }
td.verdict { font-weight: 600; white-space: nowrap; border-color: #ddd; }
#verdicts td:first-child { white-space: nowrap; }
table.provenance { width: auto; } table.provenance th { background: #f8f8f8; font-weight: 600; }
section.claim { border: 1px solid #ddd; border-left-width: 6px; border-radius: 4px; padding: .8rem 1rem;
                margin: 1.2rem 0; }
blockquote { margin: .4rem 0 .8rem; padding: .3rem .9rem; border-left: 4px solid #bbb; background: #f7f7f7;
             font-style: italic; }
dl.fields { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; margin: .4rem 0; }
dl.fields > dt { font-weight: 600; font-family: inherit; font-size: 1em; }
dl.fields > dd { margin: 0; }
dl.value { display: grid; grid-template-columns: max-content 1fr; gap: .1rem .8rem; margin: 0;
           padding-left: .6rem; border-left: 2px solid #eee; }
dl.value > dd { margin: 0; }
.verdict-tag { display: inline-block; border-radius: 4px; padding: 0 .45rem; border: 1px solid; font-weight: 600; }
figure { margin: .8rem 0; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: .85em; color: #555; }
.fragile-mark { color: #8a5300; font-weight: 600; }
footer { margin-top: 2.5rem; font-size: .85em; color: #666; border-top: 1px solid #ddd; padding-top: .6rem; }
"""


def verdict_css() -> str:
    """Badge, tag, table cell and section-edge colours for each verdict, from :data:`VERDICT_COLOURS`."""
    return "".join(f".{v} {{ color: {fg}; background: {bg}; border-color: {fg}; }}\n"
                   f"section.is-{v} {{ border-left-color: {fg}; }}\n" for v, (fg, bg) in VERDICT_COLOURS.items())


def render_html(doc: Mapping[str, Any], out: Path, extra_sections: Sequence[tuple[str, str]] = ()) -> str:
    """``index.html``: header, verdict table, one section per claim with its figures inlined, probes, extras."""
    claims = ordered(doc.get("claims", {}))
    figures = FigureCache(Path(out))
    body = [html_header(doc), html_verdict_table(claims), "<h2>Claims</h2>"]
    body += [html_claim_section(cid, rec, figures) for cid, rec in claims]
    body.append(html_probes(doc.get("probes", {}), figures))
    body += [html_extra_section(title, content) for title, content in extra_sections]
    body.append(html_footer(doc))
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            "<title>EIS VII challenge 1: claims measured</title>\n"
            f"<style>{CSS}{verdict_css()}</style>\n</head>\n<body>\n"
            + "\n".join(b for b in body if b) + "\n</body>\n</html>\n")


def html_header(doc: Mapping[str, Any]) -> str:
    summary = doc.get("summary", {})
    badges = "".join(
        f'<span class="badge {v}{" zero" if int(summary.get(v, 0)) == 0 else ""}">{esc(_count(summary, v))}</span>'
        for v in ("holds", "erratum", "fails"))
    incomplete = ("" if summary.get("complete", True)
                  else '<p class="note">Incomplete run: not every claim of the catalogue was checked.</p>')
    rows = "".join(f"<tr><th>{esc(k)}</th><td class=\"mono\">{esc(v)}</td></tr>" for k, v in provenance_items(doc))
    return (f"<header>\n<h1>EIS VII challenge 1: the write-up's claims, measured</h1>\n"
            f'<div class="badges" id="summary">{badges}<span>of {esc(summary.get("total", 0))} claims</span></div>\n'
            f"{incomplete}<table class=\"provenance\" id=\"provenance\"><tbody>{rows}</tbody></table>\n</header>")


def html_verdict_tag(rec: Mapping[str, Any]) -> str:
    v = str(rec.get("verdict", ""))
    return f'<span class="verdict-tag {esc(v)}">{esc(verdict_label(rec))}</span>'


def html_verdict_table(claims: Sequence[tuple[str, Mapping[str, Any]]]) -> str:
    """One ``<tr>`` per claim in ``#verdicts tbody``; the id links to the claim's section."""
    robust = has_robustness(claims)
    rows = "\n".join(
        f'<tr><td><a href="#{esc(anchor("claim", cid))}">{esc(cid)}</a></td>'
        f"<td>{esc(format_value(rec.get('claimed')))}</td><td>{esc(rec.get('summary', ''))}</td>"
        + (html_robustness_cell(rec.get("robustness")) if robust else "")
        + f'<td class="verdict {esc(rec.get("verdict", ""))}">{esc(verdict_label(rec))}</td></tr>'
        for cid, rec in claims)
    return ("<h2>Verdicts</h2>\n<table id=\"verdicts\">\n<thead><tr><th>claim</th><th>claimed</th><th>measured</th>"
            + ("<th>robustness</th>" if robust else "")
            + f"<th>verdict</th></tr></thead>\n<tbody>\n{rows}\n</tbody>\n</table>")


def html_robustness_cell(rob: Mapping[str, Any] | None) -> str:
    cls = "robustness fragile-mark" if rob and rob.get("fragile") else "robustness"
    return f'<td class="{cls}">{esc(robustness_cell(rob))}</td>'


def html_robustness(rob: Mapping[str, Any]) -> str:
    """A claim's robustness: stability, 95% intervals, the declared choices (range and why), the minimal flip."""
    if not rob.get("declared"):
        return esc(f"not measured: {rob.get('why', '')}")
    parts = [f'<p class="{"fragile-mark" if rob.get("fragile") else ""}">{esc(robustness_cell(rob))}'
             + (f" (fragile: {esc(', '.join(rob.get('fragile_because', [])))})" if rob.get("fragile") else "") + "</p>"]
    parts.append(f"<p>95% bootstrap intervals ({esc(rob.get('resamples'))} resamples of {esc(rob.get('resampled', ''))}, "
                 f"seed {esc(rob.get('seed'))}): <span class=\"mono\">{esc(interval_text(rob.get('intervals', {})))}</span></p>")
    parts.append(f"<p class=\"minimal-flip\"><strong>minimal flip:</strong> {esc(rob.get('minimal_flip_text', ''))}</p>")
    choices = rob.get("choices") or []
    if choices:
        rows = "".join(
            f"<tr><td class=\"mono\">{esc(c['name'])}</td><td class=\"mono\">{esc(format_scalar(c['default']))}</td>"
            f"<td class=\"mono\">{esc(compact_list(c['range']) if 'range' in c else ' | '.join(format_scalar(o) for o in c['options']))}</td>"
            f"<td>{esc(c['why'])}</td></tr>" for c in choices)
        parts.append("<table class=\"choices\"><thead><tr><th>choice</th><th>default</th><th>accepted range</th>"
                     f"<th>why</th></tr></thead><tbody>{rows}</tbody></table>")
    else:
        parts.append(f"<p>No open choice: {esc(rob.get('no_open_choice', ''))}</p>")
    flips = rob.get("flips") or []
    if flips:
        parts.append("<p>Each choice alone: " + esc("; ".join("flips to " + f["text"] for f in flips)) + "</p>")
    if rob.get("not_explored"):
        parts.append(f"<p>Not explored: {esc(rob['not_explored'])}</p>")
    return "".join(parts)


def html_claim_section(cid: str, rec: Mapping[str, Any], figures: FigureCache) -> str:
    verdict = str(rec.get("verdict", ""))
    fields: list[tuple[str, str]] = [
        ("accepted if", esc(rec.get("accept", ""))),
        ("claimed", esc(format_value(rec.get("claimed")))),
        ("measured", esc(rec.get("summary", ""))),
        ("measurements", html_value(rec.get("measured", {}))),
        ("verdict", html_verdict_tag(rec)),
    ]
    if rec.get("erratum"):
        fields.append(("erratum", esc(rec["erratum"])))
    if rec.get("known_nonreproduction"):
        fields.append(("known non-reproduction", esc(rec["known_nonreproduction"])))
    if rec.get("depends_on"):
        fields.append(("depends on", esc(rec["depends_on"])))
    if rec.get("robustness"):
        fields.append(("robustness", html_robustness(rec["robustness"])))
    dl = "".join(f"<dt>{esc(k)}</dt><dd>{v}</dd>" for k, v in fields)
    figs = "".join(figures.html(str(rel)) for rel in dict.fromkeys(rec.get("figures", []) or []))
    return (f'<section class="claim is-{esc(verdict)}" id="{esc(anchor("claim", cid))}">\n<h3>{esc(cid)}</h3>\n'
            f"<blockquote>{esc(rec.get('quote', ''))}</blockquote>\n<dl class=\"fields\">{dl}</dl>\n{figs}</section>")


def html_value(value: Any) -> str:
    """A nested JSON value, readable: dicts as definition lists, lists of scalars on one line, floats to 4
    significant digits. Keys and strings are escaped."""
    if isinstance(value, Mapping):
        if not value:
            return "—"
        if len(value) > COMPACT_DICT_ABOVE and all(is_scalar(v) for v in value.values()):
            return f'<span class="mono">{esc(_plain(value))}</span>'  # e.g. 16 template ids → agreement
        items = "".join(f"<dt>{esc(k)}</dt><dd>{html_value(v)}</dd>" for k, v in value.items())
        return f'<dl class="value">{items}</dl>'
    if isinstance(value, (list, tuple)):
        if all(is_scalar(v) for v in value):
            return f'<span class="mono">{esc(compact_list(value))}</span>'
        return "<ol>" + "".join(f"<li>{html_value(v)}</li>" for v in value[:MAX_LIST_ITEMS]) + "</ol>"
    if isinstance(value, str):
        return esc(value)
    return f'<span class="mono">{esc(format_scalar(value))}</span>'


def probe_status(rec: Mapping[str, Any]) -> str:
    """A probe's outcome word: its ``status``, or its ``verdict`` when it records one instead."""
    return str(rec.get("status", rec.get("verdict", "")) or "")


#: Probe fields shown first and in this order (label, key); any other field follows under its own name.
PROBE_FIELDS = (("accepted if", "accept"), ("measured", "summary"), ("found", "found"),
                ("known non-reproduction", "known_nonreproduction"))
PROBE_SPECIAL = {"question", "status", "verdict", "figures", *(k for _, k in PROBE_FIELDS)}


def html_probes(probes: Mapping[str, Any], figures: FigureCache) -> str:
    """Probe records are free-form: the question as a quote, the status coloured when it reads like a verdict,
    the known fields first, any other field after them, generically, and their figures like a claim's."""
    if not probes:
        return ""
    return "\n".join(["<h2 id=\"probes\">Probes</h2>"]
                     + [html_probe_section(pid, rec, figures) for pid, rec in sorted(probes.items())])


def html_probe_section(pid: str, rec: Any, figures: FigureCache) -> str:
    rec = rec if isinstance(rec, Mapping) else {"found": rec}
    status = probe_status(rec)
    shown = (status or "no status") + (" (known non-reproduction)" if rec.get("known_nonreproduction") else "")
    tag = f'<span class="verdict-tag {esc(status_class(status))}">{esc(shown)}</span>'
    fields = [("status", tag)]
    fields += [(label, html_value(rec[key])) for label, key in PROBE_FIELDS if rec.get(key) not in (None, "", {})]
    fields += [(k, html_value(v)) for k, v in rec.items() if k not in PROBE_SPECIAL]
    dl = "".join(f"<dt>{esc(k)}</dt><dd>{v}</dd>" for k, v in fields)
    figs = rec.get("figures") if isinstance(rec.get("figures"), list) else []
    figs_html = "".join(figures.html(str(rel)) for rel in dict.fromkeys(figs))
    quote = f"<blockquote>{esc(rec['question'])}</blockquote>\n" if rec.get("question") else ""
    return (f'<section class="claim probe is-{esc(status_class(status))}" id="{esc(anchor("probe", pid))}">\n'
            f"<h3>{esc(pid)}</h3>\n{quote}<dl class=\"fields\">{dl}</dl>\n{figs_html}</section>")


def status_class(status: str) -> str:
    """Colour a probe's free-form status when it reads like a verdict; otherwise leave it neutral."""
    s = status.lower()
    if s in ("holds", "passed", "pass", "ok", "confirmed"):
        return "holds"
    if s in ("erratum", "partial", "inconclusive", "warning"):
        return "erratum"
    if s in ("fails", "failed", "fail", "counterexample", "falsified", "refuted"):
        return "fails"
    return "neutral"


def html_extra_section(title: str, content: str) -> str:
    return f'<section class="extra" id="{esc(anchor("extra", title))}">\n<h2>{esc(title)}</h2>\n{content}\n</section>'


def html_footer(doc: Mapping[str, Any]) -> str:
    return (f"<footer>Generated from <code>claims.json</code> (schema {esc(doc.get('schema_version', '?'))}) by the "
            "claims suite. Every value on this page is in that file; figures are embedded in the page.</footer>")


class FigureCache:
    """Figures of the report folder as ``<figure>`` elements with ``data:`` URIs, each file read and encoded
    once however many claims share it. A missing or unsafe path becomes a visible note, never a broken image."""

    def __init__(self, out: Path) -> None:
        self.out = out.resolve()
        self._uris: dict[str, str | None] = {}

    def data_uri(self, rel: str) -> str | None:
        if rel not in self._uris:
            self._uris[rel] = self._load(rel)
        return self._uris[rel]

    def _load(self, rel: str) -> str | None:
        path = (self.out / rel).resolve()
        mime = IMAGE_TYPES.get(path.suffix.lower())
        if mime is None or not path.is_relative_to(self.out) or not path.is_file():
            return None
        return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")

    def html(self, rel: str) -> str:
        uri = self.data_uri(rel)
        if uri is None:
            return (f'<p class="note missing-figure">Figure <code>{esc(rel)}</code> is missing from the report '
                    "folder.</p>\n")
        return (f'<figure><img src="{uri}" alt="{esc(rel)}" loading="eager">'
                f"<figcaption>{esc(rel)}</figcaption></figure>\n")
