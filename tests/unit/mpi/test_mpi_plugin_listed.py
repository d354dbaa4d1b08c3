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
    assert "mpi-k8s (mpi)" in line  # an MPIJob per attempt (wingspan-k8s is installed here)


def test_the_hooks_load_no_mpi() -> None:
    # importing mpi4py.MPI initialises MPI: only a rank may do that, never the engine's process
    code = ("import sys, wingspan_mpi.hooks as h; from wingspan.core.config import Settings; "
            "h.wingspan_task_plugins(h.MPIConfig(), Settings.load(env={})); print('mpi4py' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
