"""The one Markdown escaper of the report: cells of GitHub tables and paragraph text (claims.md, the README's
tables, the OOD, matrix and replica-study sections)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.S)


def md_cell(text: Any) -> str:
    """Text safe in one cell of a GitHub table: ``|`` escaped everywhere (GFM needs it inside code spans too),
    line breaks flattened, and ``<`` made an entity outside code spans, so that no quote becomes an HTML tag."""
    s = re.sub(r"\s*\n\s*", " ", str(text)).replace("|", r"\|")
    pieces, last = [], 0
    for m in _CODE_SPAN.finditer(s):
        pieces.append(s[last : m.start()].replace("<", "&lt;"))
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


def md_row(cells: Iterable[Any]) -> str:
    """One row of a GitHub table, each cell escaped by :func:`md_cell`."""
    return "| " + " | ".join(md_cell(c) for c in cells) + " |"


def between_markers(readme_text: str, start: str, end: str) -> str:
    """The text between the ``start`` and ``end`` markers (raises ValueError if they are missing)."""
    try:
        begin = readme_text.index(start) + len(start)
        stop = readme_text.index(end, begin)
    except ValueError:
        raise ValueError(f"README.md lacks the {start} … {end} markers") from None
    return readme_text[begin:stop].strip("\n")


def replace_between_markers(readme_text: str, body: str, start: str, end: str) -> str:
    """``readme_text`` with the text between the markers replaced by ``body`` (the markers must exist)."""
    between_markers(readme_text, start, end)
    head, rest = readme_text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{body.rstrip()}\n{end}{tail}"
