"""Debian's Open MPI for the MPI plugin's tests (``mpirun`` starts each job's ranks; mpi4py's
wheel from PyPI loads its library).

Not a daemon: ``ensure`` installs the packages when the machine lacks ``mpirun`` and exports its
path as ``WINGSPAN_TEST_MPIRUN``; tests/unit/mpi calls it before its first job.
"""

from __future__ import annotations

import shutil

from scripts.testenv.base import ServiceError, apt_install, one_at_a_time, run, save_env

SERVICE = "openmpi"


@one_at_a_time(SERVICE)
def ensure() -> dict[str, str]:
    path = shutil.which("mpirun")
    if path is None:
        apt_install("openmpi-bin", "libopenmpi-dev")
        path = shutil.which("mpirun")
    if path is None:
        raise ServiceError("installed Debian's openmpi-bin but found no mpirun on PATH")
    version = run([path, "--version"], timeout=60).stdout
    if "Open MPI" not in version:
        raise ServiceError(f"{path} --version answered {version.strip()!r}, not Open MPI")
    return save_env(SERVICE, {"WINGSPAN_TEST_MPIRUN": path})


def stop() -> None:
    """Nothing runs between tests: each MPI job's mpirun ends with its attempt."""
