"""Keep the README true: rewrite its verdict table (between the ``verdicts`` markers) and ``docs/badge.svg``
from a report folder.

    python -m report.readme                 # from report/out (after `pytest claims/`)
    python -m report.readme --report-dir DIR

``tests/report/test_readme.py`` fails when the README's table no longer matches what the suite measures.

It copies only a complete report of the challenge checkpoint: a partial report (``summary.complete`` false), a
report of another checkpoint, or no report at all stop it with one message (exit status 1), the README and badge
untouched.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from report.files import PROJECT_ROOT, atomic_write_text, resolve_report_dir
from report.markdown import between_markers, md_row, replace_between_markers
from report.records import format_value, robustness_cell, verdict_text

README = PROJECT_ROOT / "README.md"
BADGE = PROJECT_ROOT / "docs" / "badge.svg"
#: Robustness per claim from the last `pytest claims/ --robustness` (the README's robustness column; a normal
#: run, which does not measure it, is compared against this file's cells).
ROBUSTNESS = PROJECT_ROOT / "docs" / "robustness.json"
START, END = "<!-- verdicts:start -->", "<!-- verdicts:end -->"


def robustness_cells(doc: dict[str, Any], committed: Path = ROBUSTNESS) -> dict[str, str]:
    """The robustness column: from the report when it measured robustness, else from ``docs/robustness.json``;
    a committed cell whose verdict is no longer the claim's says it is stale."""
    if any("robustness" in rec for rec in doc["claims"].values()):
        return {cid: robustness_cell(rec.get("robustness")) for cid, rec in doc["claims"].items()}
    if not committed.exists():
        return {}
    saved = json.loads(committed.read_text())
    return {cid: (robustness_cell(rob) if rob.get("verdict", rec["verdict"]) == rec["verdict"] and "cell" in rob
                  else "stale: re-run `pytest claims/ --robustness`")
            for cid, rec in doc["claims"].items() if (rob := saved.get(cid)) is not None}


def verdict_table(doc: dict[str, Any], committed: Path = ROBUSTNESS) -> str:
    """The README's table: claim, claimed, measured, robustness, verdict (known non-reproductions marked)."""
    robust = robustness_cells(doc, committed)
    lines = ["| claim | claimed | measured | robustness | verdict |" if robust else "| claim | claimed | measured | verdict |",
             "|---|---|---|---|---|" if robust else "|---|---|---|---|"]
    for cid, rec in doc["claims"].items():  # in catalogue order
        verdict = verdict_text(rec["verdict"], known=bool(rec.get("known_nonreproduction")), mark=True)
        cells = [f"`{cid}`", format_value(rec["claimed"]), rec.get("summary", ""),
                 *([robust.get(cid, "not measured")] if robust else []), verdict]
        lines.append(md_row(cells))
    return "\n".join(lines)


def table_block(readme_text: str) -> str:
    """The verdict table's text between its markers."""
    return between_markers(readme_text, START, END)


def with_table(readme_text: str, table: str) -> str:
    """``readme_text`` with the verdict table replaced by ``table``."""
    return replace_between_markers(readme_text, table, START, END)


class NotPublishable(Exception):
    """The report folder holds nothing the README may show (the message says why and what to do)."""


def publishable_document(report_dir: Path) -> dict[str, Any]:
    """The report's ``claims.json`` if it is a complete report of the challenge checkpoint; else
    :class:`NotPublishable` saying what to run."""
    path = Path(report_dir) / "claims.json"
    if not path.is_file():
        raise NotPublishable(f"no report in {report_dir}: run `pytest claims/` first (it writes {path}).")
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise NotPublishable(f"{path} cannot be read ({exc}); run `pytest claims/` again.") from None
    summary = doc.get("summary", {})
    if not summary.get("complete", False):
        missing = summary.get("missing", {})
        what = "; ".join(f"{k}: {', '.join(v)}" for k, v in missing.items() if v) or "unknown"
        raise NotPublishable(f"{path} is a partial report (missing {what}); the README shows only a complete run: "
                             "run `pytest claims/` first.")
    ckpt = doc.get("checkpoint", {})
    if ckpt.get("challenge") is not True:
        raise NotPublishable(f"{path} is a report of another checkpoint (sha256 {str(ckpt.get('sha256', ''))[:12]}…, "
                             "not the challenge's); the README shows the challenge checkpoint: run `pytest claims/` "
                             "without --weights.")
    if not (Path(report_dir) / "badge.svg").is_file():
        raise NotPublishable(f"{report_dir} has no badge.svg; run `pytest claims/` again.")
    return doc


def update(report_dir: Path, readme: Path = README, badge: Path = BADGE, committed: Path = ROBUSTNESS) -> None:
    doc = publishable_document(report_dir)
    atomic_write_text(readme, with_table(readme.read_text(), verdict_table(doc, committed)))
    badge.parent.mkdir(parents=True, exist_ok=True)
    robustness = {cid: rec["robustness"] for cid, rec in doc["claims"].items() if "robustness" in rec}
    if robustness:  # a --robustness report: keep its records for the README; the badge stays a plain run's
        from report.render import badge_svg

        atomic_write_text(committed, json.dumps(robustness, indent=1, ensure_ascii=False, sort_keys=True) + "\n")
        plain = {k: v for k, v in doc["summary"].items() if k not in ("robust_holds", "fragile", "robustness_measured")}
        atomic_write_text(badge, badge_svg(plain))
    else:
        shutil.copyfile(report_dir / "badge.svg", badge)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    try:
        update(resolve_report_dir(args.report_dir, PROJECT_ROOT))
    except NotPublishable as exc:
        print(f"report.readme: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
