"""Keep the README's replica-study section true: regenerate it from a replica study's ``matrix.json``.

    pytest claims/ --models replicas:20 -n 2             # writes report/out/matrix.json (replica_study)
    python -m report.replica_readme                      # from report/out/matrix.json
    python -m report.replica_readme --matrix PATH        # from another run's matrix.json

Writes ``docs/replica-study.json`` (the ``replica_study`` section, the measurement of record) and
``docs/replica-study.md`` (the text generated from it; the run itself writes the same text to
``<report-dir>/replica-study.md``), and copies that text into README.md between the ``replicas`` markers.
``tests/report/test_replica_study.py`` checks, without any training, that the README's section and
``docs/replica-study.md`` are exactly what :func:`readme_section` makes of ``docs/replica-study.json``.

It publishes only a study of every replica it lists: a degraded study (a replica whose run produced no records, or
none at all) or no study stops it with one message and exit status 1; a file this suite did not write, or a README
without the markers, with exit status 4. Nothing is written until everything has been checked.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from report.files import PROJECT_ROOT, atomic_write_text, resolve_report_dir
from report.markdown import between_markers, md_row, replace_between_markers
from report.readme import BadDocument, NotPublishable, spliced
from report.replica_view import header, table_rows

README = PROJECT_ROOT / "README.md"
STUDY_JSON = PROJECT_ROOT / "docs" / "replica-study.json"
STUDY_MD = PROJECT_ROOT / "docs" / "replica-study.md"
START, END = "<!-- replicas:start -->", "<!-- replicas:end -->"


def readme_section(study: dict[str, Any]) -> str:
    """The README's section: the paragraph, then one row per claim and probe (the table of
    :func:`report.replica_view.table_rows`, with the first headline number only)."""
    columns = header(study)
    lines = [study["paragraph"], "", md_row(columns), "|" + "---|" * len(columns)]
    for row in table_rows(study):
        first_headline = row[-1].split("; ")[0]
        lines.append(md_row([f"`{row[0]}`", *row[1:-1], first_headline]))
    return "\n".join(lines) + "\n"


def block(readme_text: str) -> str:
    """The replica-study section's text between its markers (ValueError if they are missing)."""
    return between_markers(readme_text, START, END)


def with_block(readme_text: str, text: str) -> str:
    return replace_between_markers(readme_text, text, START, END)


def publishable_study(matrix_json: Path) -> dict[str, Any]:
    """The ``replica_study`` of ``matrix_json`` (its figures left out: they live in that run's report folder) if it
    is a study of every replica it names; else :class:`NotPublishable` (a degraded or absent study, exit status 1)
    or :class:`BadDocument` (a file this suite did not write, exit status 4), saying what to run."""
    path = Path(matrix_json)
    rerun = "run `pytest claims/ --models replicas:N` (replicas already trained are reused from the cache)"
    if not path.is_file():
        raise NotPublishable(f"no matrix.json at {path}: {rerun} first.")
    try:
        matrix = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BadDocument(f"{path} cannot be read ({exc}); {rerun} again.") from None
    if not isinstance(matrix, dict):
        raise BadDocument(
            f"{path} is not a matrix.json of this suite (a JSON {type(matrix).__name__}, not an "
            f"object); {rerun} to write one."
        )
    study = matrix.get("replica_study")
    if not study:
        raise NotPublishable(f"{path} has no replica_study: {rerun} first.")
    try:
        degraded = _degraded(study)
    except (KeyError, TypeError, AttributeError) as exc:
        raise BadDocument(
            f"{path}: its replica_study is not one this suite writes ({type(exc).__name__}: {exc}); {rerun}."
        ) from None
    if degraded:
        raise NotPublishable(
            f"{path} holds a degraded replica study ({degraded}); the README shows only a study of "
            f"every replica: {rerun}, then publish again."
        )
    return {k: v for k, v in study.items() if k != "figures"}


def _degraded(study: dict[str, Any]) -> str:
    """What makes ``study`` less than a study of every replica it lists ("" if nothing)."""
    if study["missing"]:
        return (
            f"the runs of {', '.join(study['missing'])} produced no records, so it covers {study['n']} of "
            f"{study['n'] + len(study['missing'])} replicas"
        )
    if not study["n"] or not study["replicas"]:
        return "no replica run produced records"
    short = [
        f"{s}/{r} ({v['n']} of {study['n']})"
        for s, recs in study["records"].items()
        for r, v in recs.items()
        if v["n"] != study["n"]
    ]
    if short:
        return f"some records were measured on fewer replicas than the study lists: {', '.join(short[:5])}"
    return ""


def update(matrix_json: Path, readme: Path = README, study_json: Path = STUDY_JSON, study_md: Path = STUDY_MD) -> None:
    """Publish the study of ``matrix_json``: every file is made, and every input checked, before any is written."""
    study = publishable_study(matrix_json)
    try:
        text = readme_section(study)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise BadDocument(
            f"{matrix_json}: its replica_study is not one this suite writes ({type(exc).__name__}: "
            f"{exc}); run `pytest claims/ --models replicas:N` again."
        ) from None
    readme_text = spliced(readme, text, START, END)
    study_json.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(study_json, json.dumps(study, indent=1, ensure_ascii=False) + "\n")
    atomic_write_text(study_md, text)
    atomic_write_text(readme, readme_text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--matrix",
        type=Path,
        default=None,
        help="matrix.json of a replica study, or the report folder holding it [report/out]",
    )
    args = parser.parse_args(argv)
    path = args.matrix or resolve_report_dir(None, PROJECT_ROOT)
    if path.is_dir():
        path = path / "matrix.json"
    try:
        update(path)
    except NotPublishable as exc:
        print(f"report.replica_readme: {exc}", file=sys.stderr)
        return exc.exit_status
    return 0


if __name__ == "__main__":
    sys.exit(main())
