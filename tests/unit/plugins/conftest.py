"""The test plugin distributions (tests/plugins: a working one and a broken one), installed
by pip for this test session only, into a folder put on sys.path and on PYTHONPATH.

They are real installed distributions, found through their entry points like any other,
but they stay out of the development virtualenv, where the broken one would be reported
by every command.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session", autouse=True)
def test_plugins_installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    target = tmp_path_factory.mktemp("plugin-site")
    folders = (ROOT / "tests" / "plugins").iterdir()
    sources = sorted(str(p) for p in folders if (p / "pyproject.toml").exists())
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--target", str(target), *sources], check=True, capture_output=True, timeout=300)
    sys.path.insert(0, str(target))
    importlib.invalidate_caches()
    # a run in an earlier test may have discovered plugins before these were installed
    import wingspan._runner.parts as local_parts

    local_parts._plugins = None
    previous = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(target), previous) if p)
    try:
        yield target
    finally:
        sys.path.remove(str(target))
        if previous is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = previous
