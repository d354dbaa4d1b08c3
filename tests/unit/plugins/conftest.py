"""The test plugin distributions (tests/plugins: a working one and a broken one), installed
by pip once per test session into a folder, put on sys.path and on PYTHONPATH for the modules
of this folder only.

They are real installed distributions, found through their entry points like any other,
but they stay out of the development virtualenv, where the broken one would be reported
by every command.
"""

from __future__ import annotations

import fcntl
import importlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def test_plugins_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder the test plugins are installed into, once per test run: pytest-xdist's workers
    share the first one's install (their temporary folders have a common parent)."""
    run_folder = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        run_folder = run_folder.parent
    target = run_folder / "plugin-site"
    with open(run_folder / "plugin-site.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / ".installed").exists():
            folders = (ROOT / "tests" / "plugins").iterdir()
            sources = sorted(str(p) for p in folders if (p / "pyproject.toml").exists())
            subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                            "--target", str(target), *sources], check=True, capture_output=True, timeout=300)
            (target / ".installed").touch()
    return target


@pytest.fixture(scope="module", autouse=True)
def test_plugins_installed(test_plugins_site: Path) -> Iterator[Path]:
    """The test plugins are visible to this folder's modules only: seen by the tests that ran
    later in the same session, the broken one failed every run that loads the plugins (a Ray
    job's ``wingspan execute``) and the echo notifier changed the server's list of kinds."""
    import wingspan._runner.parts as local_parts

    target = str(test_plugins_site)
    sys.path.insert(0, target)
    importlib.invalidate_caches()
    # a run in an earlier test may have discovered plugins before these were installed
    local_parts._plugins = None
    previous = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (target, previous) if p)
    try:
        yield test_plugins_site
    finally:
        sys.path.remove(target)
        importlib.invalidate_caches()
        local_parts._plugins = None
        if previous is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = previous
