"""`wingspan plugins list` shows the Dask plugin with its task type, targets, environment and
frame transformer."""

from __future__ import annotations

import subprocess
import sys


def test_plugins_list_shows_the_dask_plugin() -> None:
    done = subprocess.run([sys.executable, "-m", "wingspan.cli", "plugins", "list"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stdout.splitlines() if line.startswith("dask "))
    assert "wingspan-dask" in line
    assert "dask-k8s (dask)" in line and "dask-in-process (dask)" in line and "dask-local (dask)" in line
    assert "DaskEnvironment (dask)" in line and "dask-dataframe" in line
