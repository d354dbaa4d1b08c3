"""`wingspan plugins list` shows the MPI plugin with its task type, target and environment."""

from __future__ import annotations

import subprocess
import sys


def test_plugins_list_shows_the_mpi_plugin() -> None:
    done = subprocess.run([sys.executable, "-m", "wingspan.cli", "plugins", "list"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stdout.splitlines() if line.startswith("mpi "))
    assert "wingspan-mpi" in line
    assert "mpi-local (mpi)" in line and "MPIEnvironment (mpi)" in line
