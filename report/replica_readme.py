"""Keep the README's replica-study section true: regenerate it from a replica study's ``matrix.json``.

    pytest claims/ --models replicas:20 -n 2             # writes report/out/matrix.json (replica_study)
    python -m report.replica_readme                      # from report/out/matrix.json
    python -m report.replica_readme --matrix PATH        # from another run's matrix.json

Writes ``docs/replica-study.json`` (the ``replica_study`` section, the measurement of record) and
``docs/replica-study.md`` (the text generated from it; the run itself writes the same text to
``<report-dir>/replica-study.md``), and copies that text into README.md between the ``replicas`` markers. ``tests/report/test_replica_study.py`` checks, without any training, that the README's section
and ``docs/replica-study.md`` are exactly what :func:`readme_section` makes of ``docs/replica-study.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from report.files import PROJECT_ROOT, atomic_write_text, resolve_report_dir
from report.markdown import between_markers, md_row, replace_between_markers
from report.replica_view import labelled

README = PROJECT_ROOT / "README.md"
STUDY_JSON = PROJECT_ROOT / "docs" / "replica-study.json"
STUDY_MD = PROJECT_ROOT / "docs" / "replica-study.md"
START, END = "<!-- replicas:start -->", "<!-- replicas:end -->"


def readme_section(study: dict[str, Any]) -> str:
    """The README's section: the paragraph, then one row per claim and probe (recurrence, category, and where
    the challenge network's first headline number sits among the replicas)."""
    lines = [study["paragraph"], "", "| record | challenge network | recurs on replicas (95% CI) | category | "
             "challenge vs replicas |", "|---|---|---|---|---|"]
    for name, v in labelled(study):
        head = next(iter(v["words"]["headlines"].values()), None)
        cells = [f"`{name}`", v["challenge_verdict"] or "–", v["words"]["recurs"], v["words"]["category"], head or "–"]
        lines.append(md_row(cells))
    return "\n".join(lines) + "\n"


def block(readme_text: str) -> str:
    """The replica-study section's text between its markers (ValueError if they are missing)."""
    return between_markers(readme_text, START, END)


def with_block(readme_text: str, text: str) -> str:
    return replace_between_markers(readme_text, text, START, END)


def update(matrix_json: Path, readme: Path = README, study_json: Path = STUDY_JSON, study_md: Path = STUDY_MD) -> None:
    matrix = json.loads(Path(matrix_json).read_text())
    study = matrix.get("replica_study")
    if not study:
        raise ValueError(f"{matrix_json} has no replica_study: run `pytest claims/ --models replicas:N` first")
    study = {k: v for k, v in study.items() if k != "figures"}  # figures live in that run's report folder
    text = readme_section(study)
    study_json.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(study_json, json.dumps(study, indent=1, ensure_ascii=False) + "\n")
    atomic_write_text(study_md, text)
    atomic_write_text(readme, with_block(readme.read_text(), text))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--matrix", type=Path, default=None,
                        help="matrix.json of a replica study, or the report folder holding it [report/out]")
    args = parser.parse_args(argv)
    path = args.matrix or resolve_report_dir(None, PROJECT_ROOT)
    if path.is_dir():
        path = path / "matrix.json"
    try:
        update(path)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
