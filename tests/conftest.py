"""How the suite is spread over pytest-xdist's worker processes (``scripts/test`` runs
``pytest -n 2 --dist loadfile``).

Each test file is one unit of work, run by one worker: its module-scoped fixtures (a served
``wingspan serve``, a Ray head, a browser) then start once, as in a run without workers. Files
whose tests would disturb each other when run at the same time are one unit together
(``SHARED``): one worker runs them one after the other.

(xdist's own ``--dist loadgroup`` and ``xdist_group`` marks would say the same, but xdist 3.8
marks the group in ``item._nodeid``, which pytest 9.2 no longer reads: the marks do nothing.)

Each process of the run has a ``WINGSPAN_HOME`` of its own, a temporary folder removed at its
end: a test that sets none would otherwise write the local cache, code bundles and logs to
``~/.wingspan``, shared by the workers and by the user's own runs. A test that sets its own
(``monkeypatch.setenv``, a child's ``env``) keeps it.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest
from xdist.remote import Producer
from xdist.scheduler import LoadScopeScheduling
from xdist.workermanage import WorkerController

# unit name -> the test files (from the repository root) that must not run at the same time
SHARED: dict[str, tuple[str, ...]] = {
    # test_ray_tasks checks that a timed-out task leaves no local Ray cluster alive by looking at
    # every process on the machine: the Ray head of test_ray_jobs, started meanwhile on another
    # worker, would count as one left behind
    "local Ray clusters": ("tests/unit/ray/test_ray_jobs.py", "tests/unit/ray/test_ray_tasks.py"),
}

_UNIT_OF_FILE = {path: unit for unit, paths in SHARED.items() for path in paths}

_HOME = pytest.StashKey[str]()


@pytest.hookimpl(tryfirst=True)  # before any plugin or test module reads the home
def pytest_configure(config: pytest.Config) -> None:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    home = config.stash[_HOME] = tempfile.mkdtemp(prefix=f"wingspan-home-{worker}-")
    os.environ["WINGSPAN_HOME"] = home


def pytest_unconfigure(config: pytest.Config) -> None:
    home = config.stash.get(_HOME, None)
    if home is not None:
        shutil.rmtree(home, ignore_errors=True)


# their tests take seconds each (services, subprocesses, servers): started first, so that the
# run does not end with one worker on a long file while the other is idle
SLOW_FOLDERS = ("tests/real/", "tests/browser/", "tests/integration/")


class FilesAndSharedGroups(LoadScopeScheduling):  # type: ignore[misc]  # xdist is untyped
    """``--dist loadfile``, with the files of each ``SHARED`` entry as one unit, and the units of
    ``SLOW_FOLDERS`` handed out first (each part, as xdist does, the units with most tests first)."""

    _ordered = False

    def _split_scope(self, nodeid: str) -> str:
        path = nodeid.split("::", 1)[0]
        return _UNIT_OF_FILE.get(path, path)

    def _assign_work_unit(self, node: WorkerController) -> None:
        if not self._ordered:
            slow_first = sorted(self.workqueue.items(), key=lambda unit: not unit[0].startswith(SLOW_FOLDERS))
            self.workqueue.clear()
            self.workqueue.update(slow_first)  # a stable sort keeps xdist's order within each part
            self._ordered = True
        super()._assign_work_unit(node)


@pytest.hookimpl(optionalhook=True)  # an xdist hook: pytest -p no:xdist runs without it
def pytest_xdist_make_scheduler(config: pytest.Config, log: Producer) -> LoadScopeScheduling | None:
    if config.getvalue("dist") != "loadfile":
        return None  # another --dist: xdist's own
    return FilesAndSharedGroups(config, log)
