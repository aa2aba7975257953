"""Human-facing report files, all written from the run's typed records (a :class:`report.records.RunReport`, the
same records ``claims.json`` is written from): ``claims.md`` (for a
README or a pull request; Markdown is written here, in Python), ``index.html`` (one self-contained page a reviewer
opens offline, rendered from the Jinja2 template ``report/templates/index.html.j2`` with autoescape and the
stylesheet ``report/templates/report.css`` inlined: figures as ``data:`` URIs, no script, no external URL),
``badge.svg`` and ``shields.json`` (a shields.io endpoint).

Every file is a pure function of the records (and the figure files they name), so the same run gives the
same bytes: nothing here reads a clock, the environment or the order of a directory listing.
"""

from __future__ import annotations

import base64
import functools
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from report.files import atomic_write_text
from report.markdown import md_cell, md_table, md_text  # noqa: F401  (md_cell: the one Markdown escaper)
from report.ood import PLAIN_WORDS, FamilyWords
from report.records import (
    VERDICT_COUNTS,
    ClaimRecord,
    RunContext,
    RunReport,
    Summary,
    format_value,
    robustness_cell,
    verdict_text,
)

#: Badge label, and the words for each verdict count (``verdict -> (singular, plural)``).
BADGE_LABEL = "claims"
COUNT_WORDS = {"holds": ("hold", "hold"), "erratum": ("erratum", "errata"), "fails": ("fail", "fail")}
#: Colours per verdict: (text/border, light background). Holds green, erratum amber, fails red.
VERDICT_COLOURS = {
    "holds": ("#1b6e20", "#e3f4e4"),
    "erratum": ("#8a5300", "#fff1d6"),
    "fails": ("#b3261e", "#fde4e2"),
    "neutral": ("#444444", "#f0f0f0"),
}
SHIELDS_COLOURS = {True: "brightgreen", False: "red"}  # keyed by "no claim fails"
ANYBADGE_COLOURS = {True: "#4c1", False: "#e05d44"}  # the same two colours as shields.io draws them
#: A dict of more scalar entries than this is shown on one line, not as a tall definition list.
COMPACT_DICT_ABOVE = 8
#: Lists longer than this are shown truncated in the HTML (claims.json keeps every value).
MAX_LIST_ITEMS = 64
IMAGE_TYPES = {
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}


@dataclass(frozen=True)
class Presentation:
    """The project's words on every page: titles, what each figure shows (``figure name -> (title, description)``,
    the caption and alt text; a figure not listed falls back to its file name), the section title of each
    figure family (the ``family=`` of the claims' markers), the words of its generated-input families (``ood``)
    and the labels of the run context's entries (``provenance``: ``(part, key, label)``, part ``checkpoint`` or
    ``data``; entries not listed are shown under their own names). Named by the ini option ``eis_presentation``
    (``module:attribute``)."""

    title: str = "Claims, measured"  # claims.md's and the page's heading
    short_title: str = "claims measured"  # the page's <title>
    terminal: str = "claims: what was claimed, what we measured"  # the terminal's section above the verdict table
    figures: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    families: Mapping[str, str] = field(default_factory=dict)
    ood: FamilyWords = PLAIN_WORDS
    provenance: Sequence[tuple[str, str, str]] = ()

    def figure_text(self, rel: str) -> tuple[str, str]:
        """(title, description) of a figure of the report folder."""
        name = Path(rel).name
        return tuple(self.figures.get(name, (name, f"Figure {name}")))  # type: ignore[return-value]


PLAIN = Presentation()


def load_presentation(name: str) -> Presentation:
    """The presentation the ini option ``eis_presentation`` names (``module:attribute``; empty: :data:`PLAIN`)."""
    if not name:
        return PLAIN
    import importlib

    module, _, attribute = name.partition(":")
    return getattr(importlib.import_module(module), attribute or "PRESENTATION")


# ----------------------------------------------------------------------------------------------- the entry point
def write_all(
    out: Path,
    report: RunReport,
    *,
    matrix: Mapping[str, Any] | None = None,
    extra_markdown: str = "",
    presentation: Presentation | None = None,
) -> None:
    """Write ``claims.md``, ``index.html``, ``badge.svg`` and ``shields.json`` into ``out``, each atomically.

    ``matrix`` (``matrix.json``, with ``--models``) adds its section to the page; ``extra_markdown`` (the OOD and
    matrix sections' Markdown) is appended to ``claims.md`` before its footer.
    """
    out = Path(out)
    summary = report.summary
    words = presentation or PLAIN
    atomic_write_text(out / "claims.md", render_markdown(report, extra_markdown, words))
    atomic_write_text(out / "index.html", render_html(report, out, matrix, words))
    atomic_write_text(out / "badge.svg", badge_svg(summary))
    atomic_write_text(out / "shields.json", json.dumps(shields_endpoint(summary), indent=2, ensure_ascii=False) + "\n")


# ----------------------------------------------------------------------------------------------- badge and shields
def badge_text(summary: Summary) -> str:
    """``"11 hold · 4 errata"``, plus ``" · N fail"`` when any claim fails: what a README reader needs at a glance."""
    parts = [_count(summary, "holds"), _count(summary, "erratum")]
    if summary.robust_holds is not None:  # a run that measured robustness: robust holds apart from fragile ones
        parts[0] += f" ({summary.robust_holds} robust)"
    if summary.fails > 0:
        parts.append(_count(summary, "fails"))
    partial = "" if summary.complete else "partial: "
    return partial + " · ".join(parts)


def _count(summary: Summary, verdict: str) -> str:
    return count_text(summary.count(verdict), verdict)


def count_text(n: int, verdict: str) -> str:
    """``"1 hold"``, ``"3 errata"``, ``"0 fail"``: a count of verdicts in plain words."""
    singular, plural = COUNT_WORDS[verdict]
    return f"{n} {singular if n == 1 else plural}"


def passing(summary: Summary) -> bool:
    """Green means no claim fails; errata are expected findings, not failures."""
    return summary.fails == 0


#: A partial run's badge is grey whatever it found: it says nothing about the claims it did not check.
PARTIAL_COLOURS = {"shields": "lightgrey", "anybadge": "#9f9f9f"}


def _colour(summary: Summary, kind: str) -> str:
    if not summary.complete:
        return PARTIAL_COLOURS[kind]
    return (SHIELDS_COLOURS if kind == "shields" else ANYBADGE_COLOURS)[passing(summary)]


def shields_endpoint(summary: Summary) -> dict[str, Any]:
    """The shields.io endpoint document (https://shields.io/badges/endpoint-badge) for the same badge."""
    return {
        "schemaVersion": 1,
        "label": BADGE_LABEL,
        "message": badge_text(summary),
        "color": _colour(summary, "shields"),
    }


def badge_svg(summary: Summary) -> str:
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
        badge = anybadge.Badge(
            BADGE_LABEL,
            text,
            default_color=_colour(summary, "anybadge"),
            num_label_padding_chars=label_pad,
            num_value_padding_chars=value_pad,
        )
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
def verdict_label(rec: ClaimRecord) -> str:
    """The verdict, marked when a failure is a reviewed, known non-reproduction for this checkpoint."""
    return verdict_text(rec.verdict, known=bool(rec.known_nonreproduction))


def format_number(value: float | int) -> str:
    """Ints as they are; floats to 4 significant digits, except that whole or large numbers (values such
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
def render_markdown(report: RunReport, extra: str = "", presentation: Presentation = PLAIN) -> str:
    """``claims.md``: the verdict table in catalogue order, then what each erratum and failure means, then
    where the checkpoint and data came from. ``extra`` (Markdown) goes before the footer."""
    claims = list(report.claims.values())  # in catalogue order
    robust = report.robustness_measured
    lines = [f"# {presentation.title}", "", md_summary_line(report.summary), ""]
    lines += md_table(
        ("id", "quote", "claimed", "measured", *(("robustness",) if robust else ()), "verdict"),
        (
            (
                rec.id,
                rec.spec.quote,
                format_value(rec.spec.claimed),
                rec.summary,
                *((robustness_cell(rec.robustness),) if robust else ()),
                verdict_label(rec),
            )
            for rec in claims
        ),
    )
    lines += md_errata(claims) + md_failures(claims) + md_robustness(claims) + md_reruns(claims)
    lines += md_probes(report.probes) + md_provenance(report.context, presentation)
    if extra:
        lines += ["", extra.rstrip("\n")]
    lines += ["", f"_Generated from `claims.json` (schema {report.schema_version}) by the claims suite._"]
    return "\n".join(lines) + "\n"


def md_summary_line(summary: Summary) -> str:
    complete = "" if summary.complete else " (incomplete run: not every catalogue claim was checked)"
    return f"**{badge_text(summary)}** of {summary.total} claims{complete}."


def interval_text(intervals: Mapping[str, Any]) -> str:
    """``agreement 0.9625 [0.9609, 0.964]; …``: each headline number with its 95% bootstrap interval."""
    return "; ".join(
        f"{k} {format_scalar(v.get('estimate'))} [{format_scalar(v.get('low'))}, {format_scalar(v.get('high'))}]"
        for k, v in intervals.items()
    )


def md_robustness(claims: Sequence[ClaimRecord]) -> list[str]:
    """Per claim: bootstrap stability and intervals, the choices explored, the minimal flip; fragile ones marked."""
    recs = [(rec.id, rec.robustness) for rec in claims if rec.robustness]
    if not recs:
        return []
    lines = [
        "",
        "## Robustness",
        "",
        "Bootstrap: seeded resamples of the images each claim is computed on (95% intervals); choices: a "
        "derandomised hypothesis search over the analysis choices the write-up left open. **Fragile**: the "
        "verdict holds in fewer than 95% of resamples or of choices.",
        "",
    ]
    for cid, rob in recs:
        if not rob.get("declared"):
            lines.append(f"- **{cid}**: not measured: {md_text(rob.get('why', ''))}")
            continue
        mark = "**fragile** " if rob.get("fragile") else ""
        lines.append(
            f"- **{cid}** {mark}({md_text(robustness_cell(rob))}): {md_text(interval_text(rob['intervals']))}; "
            f"minimal flip: {md_text(rob.get('minimal_flip_text', ''))}."
        )
        if rob.get("not_explored"):
            lines.append(f"  Not explored: {md_text(rob['not_explored'])}")
    return lines


def md_reruns(claims: Sequence[ClaimRecord]) -> list[str]:
    """Each claim's test, as the command that re-runs it alone (``pytest -k <claim-id>`` selects it too)."""
    runs = [(rec.id, rec.rerun()) for rec in claims if rec.rerun()]
    if not runs:
        return []
    return [
        "",
        "## Re-running one claim",
        "",
        "From the project folder (`pytest claims/ -k <claim-id>` selects the same test):",
        "",
    ] + [f"- `{cid}`: `{cmd}`" for cid, cmd in runs]


def md_errata(claims: Sequence[ClaimRecord]) -> list[str]:
    errata = [rec for rec in claims if rec.verdict == "erratum"]
    if not errata:
        return []
    lines = [
        "",
        "## Errata",
        "",
        "The claim as literally written does not hold; the stated faithful correction does (both measured).",
        "",
    ]
    for rec in errata:
        lines.append(
            f"- **{rec.id}**: {md_text(rec.erratum or 'no correction recorded')} (measured: {md_text(rec.summary)})"
        )
    return lines


def md_failures(claims: Sequence[ClaimRecord]) -> list[str]:
    fails = [rec for rec in claims if rec.verdict == "fails"]
    if not fails:
        return []
    lines = ["", "## Does not hold", ""]
    for rec in fails:
        lines.append(f"- **{rec.id}**: measured {md_text(rec.summary)}; accepted only if {md_text(rec.spec.accept)}.")
        if rec.known_nonreproduction:
            lines.append(f"  Known non-reproduction for this checkpoint: {md_text(rec.known_nonreproduction)}")
    return lines


def md_probes(probes: Mapping[str, ClaimRecord]) -> list[str]:
    """Probes in a table (question, what was found, verdict), then the reviewed reasons of failing ones."""
    if not probes:
        return []
    rows = ((pid, rec.spec.quote, rec.summary or _md_found(rec.measured), rec.verdict) for pid, rec in probes.items())
    lines = ["", "## Probes", ""] + md_table(("probe", "question", "found", "status"), rows)
    known = [(pid, rec.known_nonreproduction) for pid, rec in probes.items() if rec.known_nonreproduction]
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


def md_provenance(context: RunContext, presentation: Presentation = PLAIN) -> list[str]:
    items = provenance_items(context, presentation)
    return ["", "## Provenance", ""] + [f"- {md_text(k)}: {md_text(v)}" for k, v in items]


def provenance_items(context: RunContext, presentation: Presentation = PLAIN) -> list[tuple[str, str]]:
    """What was tested on what: the run context's entries the presentation labels, in its order (a missing string
    entry shown as ``unknown``), then every other entry under its own name."""
    parts = context.to_json()
    items = []
    for part, key, label in presentation.provenance:
        value = parts[part].get(key)
        items.append((label, value if isinstance(value, str) else format_scalar(value) if value is not None else "—"))
    labelled = {(part, key) for part, key, _ in presentation.provenance}
    for part in ("checkpoint", "data"):
        items += [(f"{part} {k}", _plain(v)) for k, v in parts[part].items() if (part, k) not in labelled]
    return items


# ----------------------------------------------------------------------------------------------- HTML
TEMPLATES = Path(__file__).with_name("templates")


def _bytecode_cache() -> Any:
    """Jinja2's compiled templates, kept per user in the temporary folder (keyed by each template's source, so an
    edited template is compiled again); none when that folder is unusable: the page is the same either way."""
    import jinja2

    try:
        return jinja2.FileSystemBytecodeCache()
    except (OSError, RuntimeError):
        return None


@functools.cache
def _environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.ChainableUndefined,
        keep_trailing_newline=True,
        trim_blocks=False,
        lstrip_blocks=False,
        bytecode_cache=_bytecode_cache(),
    )
    env.tests["scalar"] = is_scalar
    env.globals.update(compact_dict_above=COMPACT_DICT_ABOVE, max_list_items=MAX_LIST_ITEMS)
    env.filters["inline_markdown"] = inline_markdown
    env.filters.update(
        plain=_plain,
        compact_list=compact_list,
        scalar_text=format_scalar,
        robustness_cell=robustness_cell,
        interval_text=interval_text,
        anchor=lambda ident, prefix: anchor(prefix, ident),
        choice_range=lambda c: (
            compact_list(c["range"]) if "range" in c else " | ".join(format_scalar(o) for o in c.get("options", []))
        ),
    )
    return env


def inline_markdown(text: str) -> Any:
    """A paragraph written in Markdown (``**strong**``, ``*em*``, ```code```) as HTML: escaped first, so only
    these three become tags."""
    from markupsafe import Markup, escape

    out = str(escape(text))
    out = re.sub(r"`(.+?)`", r"<code>\1</code>", out)
    out = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", out)
    out = re.sub(r"\*(.+?)\*", r"<em>\1</em>", out)
    return Markup(out)


def css() -> str:
    """The page's stylesheet (``report/templates/report.css``) and the colours of each verdict."""
    return (TEMPLATES / "report.css").read_text(encoding="utf-8") + verdict_css()


def verdict_css() -> str:
    """Badge, tag, table cell and section-edge colours for each verdict, from :data:`VERDICT_COLOURS`."""
    return "".join(
        f".{v} {{ color: {fg}; background: {bg}; border-color: {fg}; }}\n"
        f"section.is-{v} {{ border-left-color: {fg}; }}\n"
        for v, (fg, bg) in VERDICT_COLOURS.items()
    )


def render_html(
    report: RunReport, out: Path, matrix: Mapping[str, Any] | None = None, presentation: Presentation = PLAIN
) -> str:
    """``index.html`` from ``report/templates/index.html.j2``: header with provenance, a table of contents with each
    verdict, the verdict table, one section per figure family (its figures inlined once, with the claims that use
    them; then its claims), the probes, the sections beyond the claims and the claims × models ``matrix``."""
    return _environment().get_template("index.html.j2").render(**page_context(report, out, matrix, presentation))


def record_view(rec: ClaimRecord, prefix: str) -> dict[str, Any]:
    """What the page shows of one claim or probe record."""
    return {
        "id": rec.id,
        "anchor": anchor(prefix, rec.id),
        "quote": rec.spec.quote,
        "accept": rec.spec.accept,
        "claimed": format_value(rec.spec.claimed),
        "summary": rec.summary,
        "measured": rec.measured,
        "erratum": rec.erratum,
        "known_nonreproduction": rec.known_nonreproduction,
        "depends_on": rec.spec.depends_on,
        "robustness": rec.robustness,
        "test": rec.test,
        "rerun": rec.rerun(),
        "verdict_class": rec.verdict,
        "verdict_text": verdict_label(rec),
        "figures": [],
    }


def page_context(
    report: RunReport, out: Path, matrix: Mapping[str, Any] | None = None, presentation: Presentation = PLAIN
) -> dict[str, Any]:
    """Everything the page template shows, from the run's records (and the matrix) alone, and the figure files they
    name."""
    cache = FigureCache(Path(out), presentation)
    figures: dict[str, dict[str, Any]] = {}  # each figure once, in the family of the first claim that uses it
    families: dict[str, dict[str, Any]] = {}
    views = []
    for rec in report.claims.values():  # in catalogue order
        fam_id = rec.spec.family or "other"
        fam = families.setdefault(
            fam_id,
            {
                "id": fam_id,
                "anchor": anchor("family", fam_id),
                "title": presentation.families.get(fam_id, fam_id),
                "claims": [],
                "figures": [],
            },
        )
        view = record_view(rec, "claim")
        for rel in dict.fromkeys(rec.figures):
            if rel not in figures:
                figures[rel] = _figure_view(rel, cache)
                fam["figures"].append(figures[rel])
            figures[rel]["used_by"].append(rec.id)
            view["figures"].append(figures[rel])
        fam["claims"].append(view)
        views.append(view)
    probes = []
    for rec in report.probes.values():
        view = record_view(rec, "probe")
        view["fields"] = [
            (label, value)
            for label, value in (
                ("accepted if", rec.spec.accept),
                ("measured", rec.summary),
                ("found", rec.measured),
                ("known non-reproduction", rec.known_nonreproduction),
            )
            if value not in (None, "", {})
        ] + [("test", rec.test), ("rerun", rec.rerun())]
        view["figures"] = [_figure_view(rel, cache) for rel in dict.fromkeys(rec.figures) if rel not in figures]
        view["verdict_text"] = rec.verdict + (" (known non-reproduction)" if rec.known_nonreproduction else "")
        probes.append(view)
    ood_view = matrix_view = None
    if report.sections.get("ood"):
        from report.ood import page_view as ood_page_view

        ood_view = ood_page_view(report.sections["ood"], presentation.ood)
        ood_view["figures"] = [_figure_view(rel, cache) for rel in ood_view["figures"]]
    if matrix:
        from report.matrix_view import page_view as matrix_page_view

        matrix_view = matrix_page_view(dict(matrix), presentation.ood)
        if matrix_view["replica_study"]:
            study = matrix_view["replica_study"]
            study["figures"] = [_figure_view(rel, cache) for rel in study["figures"]]
    summary = report.summary
    return {
        "ood": ood_view,
        "matrix": matrix_view,
        "title": _text(presentation.title),
        "short_title": _text(presentation.short_title),
        "css": css(),
        "total": summary.total,
        "complete": summary.complete,
        "badges": [{"verdict": v, "text": _count(summary, v), "zero": summary.count(v) == 0} for v in VERDICT_COUNTS],
        "provenance": provenance_items(report.context, presentation),
        "claims": views,
        "families": list(families.values()),
        "probes": probes,
        "robust": report.robustness_measured,
        "schema_version": report.schema_version,
    }


def _text(text: str) -> Any:
    """Text content escaped as an element's text needs it (``&``, ``<``, ``>``; quotes stay as written)."""
    import html

    from markupsafe import Markup

    return Markup(html.escape(text, quote=False))


def _figure_view(rel: str, cache: FigureCache) -> dict[str, Any]:
    title, description = cache.presentation.figure_text(rel)
    return {
        "path": rel,
        "anchor": anchor("figure", Path(rel).stem),
        "uri": cache.data_uri(rel),
        "title": title,
        "alt": f"{title}: {description}",
        "caption": f"{title}. {description}",
        "used_by": [],
    }


def html_value(value: Any) -> str:
    """A nested JSON value as the page shows it (the template's ``value`` macro): dicts as definition lists, lists
    of scalars on one line, floats to 4 significant digits; everything escaped."""
    env = _environment()
    macro = env.get_template("index.html.j2").module.value
    return str(macro(value))


class FigureCache:
    """Figures of the report folder as ``data:`` URIs, each file read and encoded once. A missing or unsafe path
    gives None (the page shows a visible note, never a broken image)."""

    def __init__(self, out: Path, presentation: Presentation = PLAIN) -> None:
        self.out = out.resolve()
        self.presentation = presentation  # the figures' captions
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
