"""Keep the README true: rewrite its verdict table (between the ``verdicts`` markers) and ``docs/badge.svg``
from a report folder.

    python -m report.readme                 # from report/out (after `pytest claims/`)
    python -m report.readme --report-dir DIR

``tests/test_readme.py`` fails when the README's table no longer matches what the suite measures.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from fixtures.locate import PROJECT_ROOT
from report.records import format_value, ordered

README = PROJECT_ROOT / "README.md"
BADGE = PROJECT_ROOT / "docs" / "badge.svg"
START, END = "<!-- verdicts:start -->", "<!-- verdicts:end -->"
_SYMBOL = {"holds": "✅ holds", "erratum": "🟡 erratum", "fails": "❌ fails"}


def verdict_table(doc: dict[str, Any]) -> str:
    """The README's table: claim, claimed, measured, verdict (known non-reproductions marked)."""
    lines = ["| claim | claimed | measured | verdict |", "|---|---|---|---|"]
    for cid, rec in ordered(doc["claims"]):
        verdict = _SYMBOL[rec["verdict"]] + (" (known)" if rec.get("known_nonreproduction") else "")
        cells = [f"`{cid}`", format_value(rec["claimed"]), rec.get("summary", ""), verdict]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def table_block(readme_text: str) -> str:
    """The text between the markers (raises ValueError if they are missing)."""
    try:
        start = readme_text.index(START) + len(START)
        end = readme_text.index(END, start)
    except ValueError:
        raise ValueError(f"README.md lacks the {START} … {END} markers") from None
    return readme_text[start:end].strip("\n")


def with_table(readme_text: str, table: str) -> str:
    """``readme_text`` with the text between the markers replaced by ``table``."""
    table_block(readme_text)  # the markers must exist
    head, rest = readme_text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table}\n{END}{tail}"


def update(report_dir: Path, readme: Path = README, badge: Path = BADGE) -> None:
    doc = json.loads((report_dir / "claims.json").read_text())
    readme.write_text(with_table(readme.read_text(), verdict_table(doc)))
    badge.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(report_dir / "badge.svg", badge)


def main(argv: list[str] | None = None) -> int:
    from fixtures.locate import resolve_report_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    update(resolve_report_dir(args.report_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
