"""Keep the README true: rewrite its verdict table (between the ``verdicts`` markers), its beyond-the-data
results (between the ``ood`` markers, report/ood.py) and ``docs/badge.svg`` from a report folder.

    python -m report.readme                 # from report/out (after `pytest claims/`)
    python -m report.readme --report-dir DIR

``tests/report/test_readme.py`` fails when the README's table no longer matches what the suite measures (and
``tests/report/test_ood_readme.py`` when its beyond-the-data results do not).

It copies only a complete report of the challenge checkpoint: a partial report (``summary.complete`` false), a
report of another checkpoint, or no report at all stop it with one message (exit status 1); a file that is not what
it should be (a ``claims.json`` this suite did not write, a README without its markers) stops it with one message and
exit status 4. Everything is checked before anything is written: the README and badge stay untouched.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from report.files import PROJECT_ROOT, atomic_write, atomic_write_text, resolve_report_dir
from report.markdown import between_markers, md_row, replace_between_markers
from report.records import RunReport, format_value, robustness_cell, verdict_text

README = PROJECT_ROOT / "README.md"
BADGE = PROJECT_ROOT / "docs" / "badge.svg"
#: Robustness per claim from the last `pytest claims/ --robustness` (the README's robustness column; a normal
#: run, which does not measure it, is compared against this file's cells).
ROBUSTNESS = PROJECT_ROOT / "docs" / "robustness.json"
START, END = "<!-- verdicts:start -->", "<!-- verdicts:end -->"


def robustness_cells(report: RunReport, committed: Path = ROBUSTNESS) -> dict[str, str]:
    """The robustness column: from the report when it measured robustness, else from ``docs/robustness.json``;
    a committed cell whose verdict is no longer the claim's says it is stale."""
    if report.robustness_measured:
        return {cid: robustness_cell(rec.robustness) for cid, rec in report.claims.items()}
    if not committed.exists():
        return {}
    saved = json.loads(committed.read_text())
    return {
        cid: (
            robustness_cell(rob)
            if rob.get("verdict", rec.verdict) == rec.verdict and "cell" in rob
            else "stale: re-run `pytest claims/ --robustness`"
        )
        for cid, rec in report.claims.items()
        if (rob := saved.get(cid)) is not None
    }


def verdict_table(report: RunReport, committed: Path = ROBUSTNESS) -> str:
    """The README's table: claim, claimed, measured, robustness, verdict (known non-reproductions marked)."""
    robust = robustness_cells(report, committed)
    lines = [
        "| claim | claimed | measured | robustness | verdict |"
        if robust
        else "| claim | claimed | measured | verdict |",
        "|---|---|---|---|---|" if robust else "|---|---|---|---|",
    ]
    for cid, rec in report.claims.items():  # in catalogue order
        verdict = verdict_text(rec.verdict, known=bool(rec.known_nonreproduction), mark=True)
        cells = [
            f"`{cid}`",
            format_value(rec.spec.claimed),
            rec.summary,
            *([robust.get(cid, "not measured")] if robust else []),
            verdict,
        ]
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

    exit_status = 1


class BadDocument(NotPublishable):
    """A file the publisher reads is not what this suite writes (bad input; the message says which and what to do)."""

    exit_status = 4


def document_problem(doc: Any) -> str | None:
    """What :func:`update` needs of a ``claims.json`` and ``doc`` lacks (None if nothing): a mapping with a
    ``summary`` saying whether it is ``complete``, a ``checkpoint`` and ``claims`` records with a verdict and
    the claimed value."""
    if not isinstance(doc, dict):
        return f"a JSON {type(doc).__name__}, not an object"
    for key, kind in (("summary", dict), ("checkpoint", dict), ("claims", dict)):
        if not isinstance(doc.get(key), kind):
            return f"no {key!r} object"
    if not isinstance(doc["summary"].get("complete"), bool):
        return "no summary.complete"
    for cid, rec in doc["claims"].items():
        if not (isinstance(rec, dict) and "verdict" in rec and "claimed" in rec):
            return f"claims/{cid} lacks its verdict or claimed value"
    return None


def spliced(readme: Path, body: str, start: str, end: str) -> str:
    """``readme``'s text with ``body`` between the markers; :class:`BadDocument` if it cannot be read or lacks them."""
    try:
        text = Path(readme).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadDocument(f"cannot read {readme} ({exc}).") from None
    try:
        return replace_between_markers(text, body, start, end)
    except ValueError:
        raise BadDocument(
            f"{readme} lacks the {start} … {end} markers; restore them (e.g. `git checkout "
            f"{Path(readme).name}`) and run again."
        ) from None


def publishable_report(report_dir: Path) -> RunReport:
    """The typed records of the report's ``claims.json`` if it is a complete report of the challenge checkpoint;
    else :class:`NotPublishable` saying what to run."""
    path = Path(report_dir) / "claims.json"
    if not path.is_file():
        raise NotPublishable(f"no report in {report_dir}: run `pytest claims/` first (it writes {path}).")
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BadDocument(f"{path} cannot be read ({exc}); run `pytest claims/` again.") from None
    problem = document_problem(doc)
    if problem:
        raise BadDocument(f"{path} is not a claims.json of this suite ({problem}); run `pytest claims/` to write one.")
    try:
        report = RunReport.from_document(doc)
    except (KeyError, TypeError, ValueError) as exc:
        raise BadDocument(
            f"{path} is not a claims.json of this suite (a record lacks {exc}); run `pytest claims/` to write one."
        ) from None
    summary = report.summary
    if not summary.complete:
        missing = summary.missing or {}
        what = "; ".join(f"{k}: {', '.join(v)}" for k, v in missing.items() if v) or "unknown"
        raise NotPublishable(
            f"{path} is a partial report (missing {what}); the README shows only a complete run: "
            "run `pytest claims/` first."
        )
    ckpt = report.context.checkpoint
    if ckpt.get("challenge") is not True:
        raise NotPublishable(
            f"{path} is a report of another checkpoint (sha256 {str(ckpt.get('sha256', ''))[:12]}…, "
            "not the challenge's); the README shows the challenge checkpoint: run `pytest claims/` "
            "without --weights."
        )
    if not (Path(report_dir) / "badge.svg").is_file():
        raise NotPublishable(f"{report_dir} has no badge.svg; run `pytest claims/` again.") from None
    return report


def project_presentation(root: Path = PROJECT_ROOT) -> Any:
    """The project's words (:class:`report.render.Presentation`) its ``pytest.ini`` names (``eis_presentation``),
    as a pytest run loads them."""
    import iniconfig

    from report.render import load_presentation

    ini = Path(root) / "pytest.ini"
    name = iniconfig.IniConfig(ini).get("pytest", "eis_presentation", "") if ini.is_file() else ""
    return load_presentation(name)


def update(
    report_dir: Path,
    readme: Path = README,
    badge: Path = BADGE,
    committed: Path = ROBUSTNESS,
    presentation: Any = None,
) -> None:
    """Publish the report in ``report_dir``: every file is made, and every input checked, before any is written.
    ``presentation``: the project's words (default: those its ``pytest.ini`` names)."""
    report = publishable_report(report_dir)
    readme_text = spliced(readme, verdict_table(report, committed), START, END)
    if report.sections.get("ood"):  # the beyond-the-data results, between their own markers
        from report.ood import README_END, README_START, with_readme_block

        try:
            words = (presentation or project_presentation()).ood
            readme_text = with_readme_block(readme_text, report.sections["ood"], words)
        except ValueError:
            raise BadDocument(
                f"{readme} lacks the {README_START} … {README_END} markers; restore them (e.g. "
                f"`git checkout {Path(readme).name}`) and run again."
            ) from None
    robustness = {cid: rec.robustness for cid, rec in report.claims.items() if rec.robustness is not None}
    if robustness:  # a --robustness report: keep its records for the README; the badge stays a plain run's
        from report.render import badge_svg

        badge_bytes = badge_svg(report.summary.without_robustness()).encode("utf-8")
    else:
        try:
            badge_bytes = (Path(report_dir) / "badge.svg").read_bytes()
        except OSError as exc:
            raise NotPublishable(
                f"cannot read {Path(report_dir) / 'badge.svg'} ({exc}); run `pytest claims/` again."
            ) from None
    atomic_write_text(readme, readme_text)
    if robustness:
        atomic_write_text(committed, json.dumps(robustness, indent=1, ensure_ascii=False, sort_keys=True) + "\n")
    atomic_write(badge, lambda fh: fh.write(badge_bytes))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    try:
        update(resolve_report_dir(args.report_dir, PROJECT_ROOT))
    except NotPublishable as exc:
        print(f"report.readme: {exc}", file=sys.stderr)
        return exc.exit_status
    return 0


if __name__ == "__main__":
    sys.exit(main())
