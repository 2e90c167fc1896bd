"""The code's layout keeps its promises: dependencies point one way (views -> feature packages ->
foundation), no module is part of an import cycle, and no import hides inside a function to dodge
one. These are what let a reader change one part without reading the rest."""

import ast
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "metrics_ui"

# Imports that must run inside a function, and why.
LOCAL_IMPORTS_ALLOWED = {
    # ready() is where an app may import modules that use the models: the app registry is loaded.
    ("metrics_ui/apps.py", "ready"),
}


def test_the_import_contracts_in_pyproject_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), over every import grimp finds:
    module level, in functions, and under TYPE_CHECKING."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def test_no_module_is_part_of_an_import_cycle_counting_imports_inside_functions():
    assert _cycles(grimp.build_graph("metrics_ui")) == []


def _local_imports(path: Path) -> list[tuple[str, str, int]]:
    found = []
    tree = ast.parse(path.read_text())
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(function):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    found.append((str(path.relative_to(ROOT)), function.name, node.lineno))
    return found


def test_no_import_hides_inside_a_function():
    local = [
        found
        for path in sorted(PACKAGE.rglob("*.py"))
        if "migrations" not in path.parts
        for found in _local_imports(path)
        if found[:2] not in LOCAL_IMPORTS_ALLOWED
    ]
    assert local == []
