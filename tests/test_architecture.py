"""The shape of the code, checked like behaviour: short functions, and the import layers
(import-linter, `make test`) with no cycle between modules."""

from __future__ import annotations

import ast
from pathlib import Path

import grimp

from tests.conftest import ROOT

PACKAGE = ROOT / "assistant"
LONGEST_FUNCTION = 60


def functions(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        (f"{path.relative_to(ROOT)}:{node.lineno} {node.name}", node.end_lineno - node.lineno + 1)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno
    ]


def test_no_function_is_longer_than_a_screen() -> None:
    found = [f for path in sorted(PACKAGE.rglob("*.py")) for f in functions(path)]
    too_long = [f"{name} ({lines} lines)" for name, lines in found if lines > LONGEST_FUNCTION]
    assert len(found) > 300
    assert too_long == []


def test_the_length_check_sees_a_long_function(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(LONGEST_FUNCTION))
    path = ROOT / "tests" / "artifacts" / "long_function.py"
    path.parent.mkdir(exist_ok=True)
    path.write_text(f"def long():\n{body}\n", encoding="utf-8")
    assert functions(path)[0][1] == LONGEST_FUNCTION + 1


def cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Groups of modules that import each other, directly or through others (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while (member := stack.pop()) != module:
                group.append(member)
            if group:
                found.append(sorted([module, *group]))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def test_no_modules_import_each_other() -> None:
    graph = grimp.build_graph("assistant")
    assert len(graph.modules) > 40
    assert cycles(graph) == []


def test_the_cycle_check_sees_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for module in ("a", "a.b", "a.c"):
        graph.add_module(module)
    graph.add_import(importer="a.b", imported="a.c")
    graph.add_import(importer="a.c", imported="a.b")
    assert cycles(graph) == [["a.b", "a.c"]]
