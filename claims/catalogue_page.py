"""The catalogue page, ``docs/catalogue.md``: every claim and probe as its markers state it, so that a clone of
the repository alone says what each test checks and why.

    python -m claims.catalogue_page          # rewrite docs/catalogue.md

Per claim (in catalogue order) and probe: the write-up's words (a probe's question), the value claimed, the
acceptance rule, how the test measures it (its docstring), whether it needs the network, and the open choices
its robustness declaration names, each with the reason it is open. Everything comes from the ``@claim`` /
``@probe`` markers (:mod:`report.catalogue`), the tests' docstrings and the declarations beside them; nothing is
measured, so the page does not depend on a run. ``tests/claims/test_catalogue_page.py`` fails when it is stale.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import os
import re
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from report.catalogue import catalogue, specs_in
from report.markdown import md_text
from report.records import ClaimSpec, format_value

CLAIMS_PACKAGE = Path(__file__).resolve().parent
PROJECT_ROOT = CLAIMS_PACKAGE.parent
PAGE = PROJECT_ROOT / "docs" / "catalogue.md"
WRITE_UP_TITLE = "Solving the Mechanistic Interpretability challenges: EIS VII Challenge 1"
WRITE_UP_URL = (
    "https://www.lesswrong.com/posts/sTe78dNJDGywu9Dz6/solving-the-mechanistic-interpretability-challenges-eis-vii"
)
CHALLENGE_URL = "https://github.com/thestephencasper/mechanistic_interpretability_challenge"
STALE = "docs/catalogue.md is stale: run `python -m claims.catalogue_page` and commit the result"


@dataclass(frozen=True)
class Entry:
    """One claim or probe: its marker, the test that checks it, and its declaration (None when it has none)."""

    spec: ClaimSpec
    test: str  # claims/<module>.py::<function>
    doc: str
    declaration: Any


def _modules(package: Path) -> list[ModuleType]:
    """Every module of the claims package but its conftest, test modules first (imported as pytest names them)."""
    paths = sorted(package.glob("test_*.py")) + sorted(
        p for p in package.glob("*.py") if not p.name.startswith("test_") and p.name != "conftest.py"
    )
    return [importlib.import_module(f"{package.name}.{p.stem}") for p in paths]


def _is_declaration(obj: Any) -> bool:
    """A robustness declaration (``@declare``), recognised by what it holds rather than by importing its class."""
    return (
        type(obj).__name__ == "Declaration" and isinstance(getattr(obj, "claim", None), str) and hasattr(obj, "choices")
    )


def entries(package: Path = CLAIMS_PACKAGE) -> list[Entry]:
    """The claims in catalogue order, then the probes, each with its test, docstring and declaration (the one
    beside its test first, else one elsewhere in the package)."""
    tests: dict[str, tuple[str, str]] = {}
    declarations: dict[str, Any] = {}
    for module in _modules(package):
        rel = Path(module.__file__).resolve().relative_to(PROJECT_ROOT).as_posix()
        for name, obj in vars(module).items():
            if _is_declaration(obj):
                declarations.setdefault(obj.claim, obj)
            for spec in specs_in(obj):
                tests.setdefault(spec.id, (f"{rel}::{name}", inspect.getdoc(obj) or ""))
    cat = catalogue(package)
    return [
        Entry(spec, *tests[spec.id], declarations.get(spec.id)) for spec in [*cat.claims.values(), *cat.probes.values()]
    ]


#: The markers cite the catalogue by its file name outside the repository; on this page it is the catalogue itself.
_CATALOGUE_NAMES = (("CLAIMS.md's", "the catalogue's"), ("CLAIMS.md", "the catalogue"))


def _paragraph(text: str) -> str:
    text = " ".join(text.split())
    text = re.sub(r":(?:mod|func|class|meth|attr|data):`~?([^`]+)`", r"`\1`", text)  # docstrings' roles, as code
    for name, here in _CATALOGUE_NAMES:
        text = text.replace(name, here)
    return md_text(text)


def _choice_range(choice: Any) -> str:
    if getattr(choice, "low", None) is not None:
        return f"from {format_value(choice.low)} to {format_value(choice.high)}"
    return "one of " + ", ".join(f"`{format_value(v)}`" for v in choice.options)


def _choices(declaration: Any, probe: bool) -> list[str]:
    if declaration is None:  # the robustness run declares claims, not probes
        return [] if probe else ["- **Open choices:** none declared (no robustness declaration yet)."]
    lines = []
    if not declaration.choices:
        lines.append(f"- **Open choices:** none. {_paragraph(declaration.no_open_choice or '')}".rstrip())
    else:
        lines.append("- **Open choices** (the default first; the robustness run explores the rest):")
        for c in declaration.choices:
            lines.append(f"  - `{c.name}` = `{format_value(c.default)}` ({_choice_range(c)}): {_paragraph(c.why)}")
            if any(c.words):  # each declared value with the words that allow it
                lines += [f"    - `{format_value(v)}`: {_paragraph(c.words_for(v))}" for v in c.options]
    if getattr(declaration, "not_explored", None):
        lines.append(f"- **Not explored:** {_paragraph(declaration.not_explored)}")
    if getattr(declaration, "resampled", None):
        lines.append(f"- **Resampled** (bootstrap): {_paragraph(declaration.resampled)}")
    return lines


def _entry(e: Entry) -> list[str]:
    probe = e.spec.kind == "probe"
    lines = [f"### `{e.spec.id}`", ""]
    lines.append(f"{'Question' if probe else 'The write-up'}: “{_paragraph(e.spec.quote)}”")
    lines.append("")
    if not probe:
        lines.append(f"- **Claimed:** {_paragraph(format_value(e.spec.claimed))}")
    lines.append(f"- **Accepted when:** {_paragraph(e.spec.accept)}")
    if e.doc:
        lines.append(f"- **How it is measured:** {_paragraph(e.doc)}")
    needs = "no: the data alone" if e.spec.depends_on == "data" else "yes"
    lines.append(f"- **Needs the network:** {needs}. **Test:** `{e.test}`")
    lines += _choices(e.declaration, probe)
    lines.append("")
    return lines


def render(items: Iterable[Entry]) -> str:
    """The page's Markdown."""
    items = list(items)
    claims = [e for e in items if e.spec.kind == "claim"]
    probes = [e for e in items if e.spec.kind == "probe"]
    lines = [
        "# Catalogue of claims and probes",
        "",
        "<!-- Generated by `python -m claims.catalogue_page` from the claims' markers; do not edit by hand. -->",
        "",
        (
            f"The claims are the checkable statements of the write-up “[{WRITE_UP_TITLE}]({WRITE_UP_URL})” (LessWrong) "
            f"about the MNIST CNN of the [EIS VII challenge]({CHALLENGE_URL}). Each is one test of `claims/`: the "
            "write-up's words, what it claims, the rule that accepts it (from the words, fixed before measuring), how "
            "the test measures it, and the choices a careful reader could make differently, with the reason each is "
            "open. The probes are questions a reader asks of the write-up's labelling function. The verdicts of the "
            "last run are in the README's table."
        ),
        "",
        f"{len(claims)} claims, {len(probes)} probes.",
        "",
        "## Claims",
        "",
    ]
    for e in claims:
        lines += _entry(e)
    lines += ["## Probes", ""]
    for e in probes:
        lines += _entry(e)
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write docs/catalogue.md from the claims' markers.")
    parser.add_argument("--out", type=Path, default=PAGE)
    args = parser.parse_args(argv)
    text = render(entries())
    fd, tmp = tempfile.mkstemp(dir=args.out.parent, prefix=f".{args.out.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:  # a reader sees the old page or the new one, never half
        fh.write(text)
    os.replace(tmp, args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
