"""The built wheel holds every module of every mapped package and each one imports."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = {"sdk": "wingspan", "core": "wingspan/core", "server": "wingspan/server",
           "protos": "wingspan/protos", "cli": "wingspan/cli"}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # from a copy of the source files (tracked or new, not ignored), as a release is built: a
    # build/ folder left in a working tree by earlier builds would put modules that no longer
    # exist into the wheel
    source = tmp_path_factory.mktemp("source")
    tracked = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                             cwd=ROOT, check=True, capture_output=True).stdout
    for name in filter(None, tracked.decode().split("\0")):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(out), str(source)],
        check=True, capture_output=True,
    )
    (found,) = out.glob("wingspan-*.whl")
    return found


def _source_modules() -> set[str]:
    expected = set()
    for folder, prefix in FOLDERS.items():
        for path in (ROOT / folder).rglob("*.py"):
            rel = path.relative_to(ROOT / folder)
            # only folders that are packages ship; a .py beside no __init__.py is a forgotten package
            expected.add(f"{prefix}/{rel.as_posix()}")
    return expected


def test_wheel_holds_every_source_module(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = sorted(_source_modules() - names)
    assert not missing, f"modules missing from the wheel (a folder without __init__.py?): {missing}"


def test_wheel_ships_typing_marker_and_idl(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "wingspan/py.typed" in names
    assert "wingspan/protos/wingspan/v1/literals.proto" in names
    assert "wingspan/protos/gen/descriptors.py" in names  # generated beside the other generated code


def test_every_module_imports_from_the_wheel(wheel: Path, tmp_path: Path) -> None:
    zipfile.ZipFile(wheel).extractall(tmp_path)
    modules = sorted(
        p.relative_to(tmp_path).with_suffix("").as_posix().replace("/", ".").removesuffix(".__init__")
        for p in (tmp_path / "wingspan").rglob("*.py")
        if p.name != "__main__.py"  # importing one runs the program
    )
    script = (
        "import importlib, sys\n"
        f"sys.path.insert(0, {str(tmp_path)!r})\n"
        f"for name in {modules!r}:\n"
        "    module = importlib.import_module(name)\n"
        f"    assert module.__file__.startswith({str(tmp_path)!r}), (name, module.__file__)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_wheel_ships_the_console_pages_and_assets(wheel: Path) -> None:
    """`pip install` of the wheel gives a working console: its templates and assets are package data."""
    names = set(zipfile.ZipFile(wheel).namelist())
    console = Path(__file__).resolve().parents[2] / "server" / "console"
    assets = [f for f in console.iterdir() if f.suffix in (".html", ".js", ".css")]
    shipped = {f"wingspan/server/console/{f.name}" for f in assets}
    assert len(shipped) >= 8
    assert not shipped - names, sorted(shipped - names)
