"""The build file (a Containerfile, Dockerfile syntax) an ImageSpec renders, and the build
context folder beside it that holds what the spec copies."""

from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path

from wingspan.core.images.spec import ImageSpec

__all__ = ["BUILD_FILE", "WORKDIR", "render", "write_context"]

BUILD_FILE = "Containerfile"
WORKDIR = "/root"
# a virtual environment of its own: Debian-based images refuse pip installs into the system
# Python (PEP 668), and the base's own packages stay as they are
VENV = "/opt/wingspan/venv"


def render(spec: ImageSpec) -> str:
    """The build file: base, environment, Debian packages, Python packages in a virtual
    environment, the copied files, then the commands, in that order."""
    lines = [f"FROM {spec.base}", f"WORKDIR {WORKDIR}"]
    if spec.env:
        lines.append("ENV " + " ".join(f"{k}={json.dumps(v)}" for k, v in sorted(spec.env.items())))
    if spec.apt_packages:
        packages = " ".join(shlex.quote(p) for p in spec.apt_packages)
        lines.append("RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y "
                     f"--no-install-recommends {packages} && rm -rf /var/lib/apt/lists/*")
    if spec.packages:
        python = f"python{spec.python_version}" if spec.python_version else "python3"
        packages = " ".join(shlex.quote(p) for p in spec.packages)
        lines.append(f"RUN {python} -m venv {VENV} && {VENV}/bin/pip install --no-cache-dir {packages}")
        lines.append(f"ENV PATH={VENV}/bin:$PATH")
    for item in sorted(Path(p).name for p in spec.copy):
        lines.append(f"COPY {json.dumps(item)} {json.dumps(f'{WORKDIR}/{item}')}")
    if spec.copy:
        lines.append(f"ENV PYTHONPATH={WORKDIR}")
    lines += [f"RUN {command}" for command in spec.commands]
    return "\n".join(lines) + "\n"


def write_context(spec: ImageSpec, folder: Path) -> Path:
    """Writes the build file and copies what the spec copies into ``folder``; returns the
    build file's path."""
    folder.mkdir(parents=True, exist_ok=True)
    for item in (Path(p) for p in spec.copy):
        target = folder / item.name
        if item.is_dir():
            shutil.copytree(item, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".git"))
        else:
            shutil.copy2(item, target)
    build_file = folder / BUILD_FILE
    build_file.write_text(render(spec))
    return build_file
