"""`wingspan plugins list` shows the Ray plugin with its task type, target, environment and
Dataset transformer."""

from __future__ import annotations

import subprocess
import sys


def test_plugins_list_shows_the_ray_plugin() -> None:
    done = subprocess.run([sys.executable, "-m", "wingspan.cli", "plugins", "list"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stdout.splitlines() if line.startswith("ray "))
    assert "wingspan-ray" in line
    assert "ray-local (ray)" in line and "RayEnvironment (ray)" in line and "ray-dataset" in line
    assert "ray-k8s (ray)" in line  # a RayJob per attempt (wingspan-k8s is installed here)
