"""Debian's chromium for the console's browser tests (Playwright drives it; it downloads no browser).

Not a daemon: ``ensure`` installs the package when the machine lacks it and exports the
executable's path as ``WINGSPAN_TEST_CHROMIUM``, which tests/browser passes to Playwright
as ``executable_path``.
"""

from __future__ import annotations

import shutil

from scripts.testenv.base import ServiceError, apt_install, one_at_a_time, run, save_env

SERVICE = "chromium"
_NAMES = ("chromium", "chromium-browser")


def _found() -> str | None:
    return next((path for path in map(shutil.which, _NAMES) if path), None)


@one_at_a_time(SERVICE)
def ensure() -> dict[str, str]:
    path = _found()
    if path is None:
        apt_install("chromium")
        path = _found()
    if path is None:
        raise ServiceError("installed Debian's chromium package but found no chromium on PATH")
    version = run([path, "--version"], timeout=60).stdout.strip()
    if "Chromium" not in version:
        raise ServiceError(f"{path} --version answered {version!r}, not a Chromium")
    return save_env(SERVICE, {"WINGSPAN_TEST_CHROMIUM": path})


def stop() -> None:
    """Nothing runs between tests: each browser test session starts and ends its own browser."""
