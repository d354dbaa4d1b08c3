"""What each core package offers is its ``__all__``, and the server imports core through it.

A package's ``__all__`` is its public surface (loaded lazily where the package must stay cheap
to import, as wingspan.core.engine does); the modules behind it can then move and split
without every importer changing. Core's own modules import each other freely.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "core"


def _core_packages() -> list[str]:
    return [".".join(("wingspan", "core", *init.parent.relative_to(CORE).parts))
            for init in sorted(CORE.rglob("__init__.py"))]


@pytest.mark.parametrize("package", _core_packages())
def test_each_core_package_says_what_it_offers_and_offers_it(package: str) -> None:
    module = importlib.import_module(package)
    offered = getattr(module, "__all__", None)
    assert offered, f"{package} has no __all__"
    for name in offered:
        # a name, or a module of the package (wingspan.core.model offers its modules)
        found = getattr(module, name, None)
        if found is None:
            found = importlib.import_module(f"{package}.{name}")
        assert found is not None, f"{package}.{name}"


def _past_the_surface(source: str, where: str, surfaces: dict[str, set[str]]) -> list[str]:
    """Imports of names from a core package's module that the package itself offers."""
    found = []
    for node in ast.walk(ast.parse(source, where)):
        if not isinstance(node, ast.ImportFrom) or not node.module:
            continue
        package = node.module.rpartition(".")[0]
        offered = surfaces.get(package)
        if offered and node.module not in surfaces and all(a.name in offered for a in node.names):
            found.append(f"{where}:{node.lineno}: from {node.module} import "
                         f"{', '.join(a.name for a in node.names)}; import it from {package}")
    return found


def test_the_server_imports_core_through_the_packages_surfaces() -> None:
    surfaces = {p: set(importlib.import_module(p).__all__) for p in _core_packages()}
    crossings = []
    for path in sorted((ROOT / "server").rglob("*.py")):
        crossings += _past_the_surface(path.read_text(), path.relative_to(ROOT).as_posix(), surfaces)
    assert crossings == []


def test_the_scan_sees_an_import_past_a_surface() -> None:
    source = ("from wingspan.core.storage.interface import BlobStore\n"
              "from wingspan.core.storage import BlobStore as Again\n"
              "from wingspan.core.storage.interface import BlobInfo\n")
    found = _past_the_surface(source, "probe.py", {"wingspan.core.storage": {"BlobStore"}})
    assert found == ["probe.py:1: from wingspan.core.storage.interface import BlobStore; "
                     "import it from wingspan.core.storage"]
