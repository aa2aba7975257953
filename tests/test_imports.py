"""Imports run one way: model -> fixtures -> analysis -> claims, and report/ (the claims engine) imports none of
them. Every import of every module is read with ``ast`` (those inside functions too), so a lazy import cannot
hide an edge. ``verdicts`` (the verdict vocabulary) imports nothing of the project and may be imported by all."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Each package and the project packages it may import (itself included).
LAYERS = ("model", "fixtures", "analysis", "claims")
ALLOWED = {
    "verdicts": {"verdicts"},
    **{pkg: {"verdicts", *LAYERS[: i + 1]} for i, pkg in enumerate(LAYERS)},
    "report": {"verdicts", "report"},
}
ALLOWED["claims"].add("report")  # the claims use the engine (@claim, verdict); the engine never uses them

#: Known upward edges, each with the reason it is allowed: none. The list only ever shrinks.
KNOWN_UPWARD: set[tuple[str, str]] = set()  # (importing module, imported package)


def modules() -> dict[str, Path]:
    """Every module of the packages (and the ``verdicts`` module), by dotted name."""
    out = {"verdicts": ROOT / "verdicts.py"}
    for pkg in ALLOWED:
        folder = ROOT / pkg
        if folder.is_dir():
            for path in sorted(folder.rglob("*.py")):
                parts = path.relative_to(ROOT).with_suffix("").parts
                out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def imported(name: str, path: Path) -> set[str]:
    """The top-level project packages a module imports (relative imports resolved)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                found.add(name.split(".")[0])
            elif node.module:
                found.add(node.module.split(".")[0])
    return found & set(ALLOWED)


def edges() -> dict[tuple[str, str], str]:
    """(importing package, imported package) -> one module making that import, for every cross-package import
    (the known upward ones left out: they are counted, and tolerated, apart)."""
    out = {}
    for name, path in modules().items():
        pkg = name.split(".")[0]
        for target in imported(name, path) - {pkg}:
            if (name, target) not in KNOWN_UPWARD:
                out.setdefault((pkg, target), name)
    return out


def test_no_module_imports_a_package_above_it_or_the_engine_the_project():
    wrong = []
    for name, path in modules().items():
        pkg = name.split(".")[0]
        for target in sorted(imported(name, path) - ALLOWED[pkg]):
            if (name, target) not in KNOWN_UPWARD:
                wrong.append(f"{name} imports {target}")
    assert not wrong, "imports that run against model -> fixtures -> analysis -> claims (report imports none):\n" + (
        "\n".join(wrong)
    )


def test_the_known_upward_imports_still_exist():
    """An entry of the allow-list that no longer happens is removed from it (the list only shrinks)."""
    mods = modules()
    stale = [
        f"{name} -> {target}"
        for name, target in sorted(KNOWN_UPWARD)
        if name not in mods or target not in imported(name, mods[name])
    ]
    assert not stale, "remove from KNOWN_UPWARD: " + ", ".join(stale)


def test_there_is_no_cycle_between_packages():
    graph = defaultdict(set)
    for src, dst in edges():
        graph[src].add(dst)

    def cycle_from(start: str) -> list[str] | None:
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nxt in sorted(graph[node]):
                if nxt == start:
                    return path + [start]
                if nxt not in path:
                    stack.append((nxt, path + [nxt]))
        return None

    cycles = {" -> ".join(c) for pkg in sorted(graph) if (c := cycle_from(pkg))}
    assert not cycles, "import cycles between packages:\n" + "\n".join(sorted(cycles))


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import model.network\n", {"model"}),
        ("def f():\n    from analysis.labelling import x\n", {"analysis"}),
        ("from . import sibling\n", {"report"}),
        ("import numpy, pytest\n", set()),
    ],
)
def test_the_reader_sees_every_kind_of_import(tmp_path, source, expected):
    path = tmp_path / "m.py"
    path.write_text(source)
    assert imported("report.m", path) == expected


def module_imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules a module imports when it is imported (module scope only: a function's import runs later)."""
    found = set()
    for node in ast.parse(path.read_text(encoding="utf-8"), str(path)).body:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return {m for m in found if m in known and m != name}


def test_there_is_no_cycle_between_modules_at_import_time():
    mods = modules()
    graph = {name: module_imports(name, path, set(mods)) for name, path in mods.items()}
    seen: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        seen[node] = 1
        for nxt in sorted(graph[node]):
            if seen.get(nxt) == 1:
                cycles.append(" -> ".join(path[path.index(nxt) :] + [node, nxt]) if nxt in path else f"{node} -> {nxt}")
            elif nxt not in seen:
                visit(nxt, path + [node])
        seen[node] = 2

    for name in sorted(graph):
        if name not in seen:
            visit(name, [])
    assert not cycles, "modules that import each other when imported:\n" + "\n".join(cycles)
