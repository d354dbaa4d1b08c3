"""No module reaches into another module's private names (``obj._name``): what one module
needs from another is a public name or method, so either can change its insides alone."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "server", "sdk", "cli", "plugins")

# the conventions of Python and its libraries: namedtuple's API, betterproto's message metadata,
# Enum's value map, sys._getframe, os._exit
LIBRARY_CONVENTIONS = {"_fields", "_asdict", "_betterproto", "_value2member_map_", "_getframe", "_exit"}
# crossings that remain in the SDK, for its owners: the launch plans made at module level
# (discovery reads LaunchPlan._registry) and a call's node (conditional reads NodeOutput._node,
# which cannot become a public attribute: a promise's attributes are its record's fields)
KNOWN = {("sdk/_registration/discovery.py", "_registry"), ("sdk/_authoring/conditional.py", "_node")}


def _own_names(tree: ast.AST) -> set[str]:
    """The names a module defines (functions, classes, its objects' attributes, its variables):
    a private name of its own it may use on any object of its classes. (A name that is also
    another module's cannot be told apart without types: the scan misses that case.)"""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                names.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def _crossings(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), str(path))
    own = _own_names(tree)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        name = node.attr
        if not name.startswith("_") or name.startswith("__") or name in own or name in LIBRARY_CONVENTIONS:
            continue
        if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
            continue
        found.append((node.lineno, name))
    return found


def test_no_module_uses_another_modules_private_names() -> None:
    crossings = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if "/gen/" in relative or "/build/" in relative:
                continue
            crossings += [f"{relative}:{line}: .{name}" for line, name in _crossings(path)
                          if (relative, name) not in KNOWN]
    assert crossings == []


def test_the_scan_sees_a_crossing_and_not_a_module_of_its_own(tmp_path: Path) -> None:
    path = tmp_path / "probe.py"
    path.write_text("def wake(events):\n    return events._waiters\n")
    assert _crossings(path) == [(2, "_waiters")]
    path.write_text("class Events:\n    def __init__(self):\n        self._waiters = {}\n\n"
                    "def wake(events):\n    return events._waiters\n")
    assert _crossings(path) == []
    path.write_text("def reset(context):\n    context._scratch = None\n")
    assert _crossings(path) == [(2, "_scratch")]
