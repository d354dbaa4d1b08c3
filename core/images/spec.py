"""``ImageSpec``: an image declared in code, named by a digest of what it holds.

Its tag is a digest of every field (env in key order) and of the contents of the local
files and folders it copies, so the same spec names the same image in every run and
process, and any change names a new one. ``@task(container_image=spec)`` puts the spec's
full reference in the task's template; ``wingspan build`` builds and pushes it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wingspan.core.errors import UserError

__all__ = ["ImageSpec", "known_specs", "remember"]

# bumped when the rendered build file changes: the same spec then builds another image
RENDERING = "1"

_NAME = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")
_SKIPPED = {"__pycache__", ".git", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".venv"}


@dataclass(frozen=True)
class ImageSpec:
    """An image: a base, Python packages (pip requirement strings), Debian packages, environment
    variables, shell commands run last, local files or folders copied in (``copy``, placed
    under the image's working folder ``/root`` by name, which is on ``PYTHONPATH``), and where it
    is pushed (``registry``, e.g. ``ghcr.io/acme`` or ``localhost:5000``) under ``name``."""

    name: str = "wingspan-task"
    base_image: str = ""
    packages: Sequence[str] = ()
    apt_packages: Sequence[str] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    commands: Sequence[str] = ()
    python_version: str = ""
    registry: str = ""
    copy: Sequence[str | Path] = ()
    # a pip requirements file (flytekit's ``requirements=``): its packages join ``packages``
    requirements: str | Path = ""

    def __post_init__(self) -> None:
        for name in ("packages", "apt_packages", "commands", "copy"):
            value = getattr(self, name)
            if isinstance(value, str | Path):  # one given bare: a list of one
                object.__setattr__(self, name, (value,))
            else:
                object.__setattr__(self, name, tuple(value))
        object.__setattr__(self, "env", dict(self.env))
        unread: list[str] = []
        if self.requirements:
            listed, unread = _requirements(Path(self.requirements))
            # dataclasses.replace(spec, ...) hands back the joined packages: not joined twice
            added = [p for p in listed if p not in self.packages]
            object.__setattr__(self, "packages", (*self.packages, *added))
        problems = unread + self.problems()
        if problems:
            raise UserError(f"ImageSpec {self.name!r}: " + "; ".join(problems))

    def problems(self) -> list[str]:
        found = []
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            found.append(f"name {self.name!r} must be lower-case letters, digits and . _ - "
                         "(an image repository name), e.g. 'my-task'")
        for label in ("packages", "apt_packages", "commands"):
            bad = [v for v in getattr(self, label) if not isinstance(v, str) or not v.strip()]
            if bad:
                found.append(f"{label} takes non-empty strings, not {bad!r}")
        bad_env = [k for k, v in self.env.items() if not isinstance(k, str) or not isinstance(v, str)
                   or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", k)]
        if bad_env:
            found.append(f"env maps variable names to str values; check {bad_env!r}")
        if self.python_version and not re.match(r"^3\.\d+$", self.python_version):
            found.append(f"python_version {self.python_version!r} must look like '3.11'")
        for item in self.copy:
            if not Path(item).exists():
                found.append(f"copy: {str(item)!r} does not exist (paths are relative to the "
                             "folder the command runs in, or absolute)")
        names = [Path(p).name for p in self.copy]
        if len(set(names)) != len(names):
            found.append(f"copy: two items share a name ({names!r}); each is placed under "
                         "/root by its name")
        if "://" in self.registry or self.registry.endswith("/"):
            found.append(f"registry {self.registry!r} is a host and path, e.g. 'ghcr.io/acme' "
                         "or 'localhost:5000', without a scheme or a trailing slash")
        return found

    @property
    def base(self) -> str:
        """The image it starts from: ``base_image``, else the official Python image of
        ``python_version`` (default 3.11, the lowest Wingspan supports)."""
        return self.base_image or f"python:{self.python_version or '3.11'}-slim"

    @property
    def tag(self) -> str:
        """A digest of the spec and of the contents it copies."""
        digest = hashlib.sha256(json.dumps(self._described(), sort_keys=True).encode())
        for item in sorted(Path(p).resolve() for p in self.copy):
            digest.update(b"\0copy\0" + item.name.encode())
            _hash_tree(digest, item)
        return digest.hexdigest()[:20]

    @property
    def repository(self) -> str:
        return f"{self.registry}/{self.name}" if self.registry else self.name

    @property
    def reference(self) -> str:
        """The image's full name: ``<registry>/<name>:<tag>``."""
        return f"{self.repository}:{self.tag}"

    def _described(self) -> dict[str, Any]:
        return {"rendering": RENDERING, "name": self.name, "base": self.base,
                "packages": list(self.packages), "apt_packages": list(self.apt_packages),
                "env": dict(sorted(self.env.items())), "commands": list(self.commands),
                "python_version": self.python_version, "registry": self.registry,
                "copy": sorted(Path(p).name for p in self.copy)}

    def __hash__(self) -> int:
        return hash(json.dumps(self._described(), sort_keys=True))


#: an option after a requirement (``pandas==2.2 --hash=sha256:...``)
_REQUIREMENT_OPTION = re.compile(r"\s--?[A-Za-z]")
#: a comment, the whole line or after a space (``pandas  # frames``), as pip reads one
_COMMENT = re.compile(r"(^|\s)#")


def _requirements(path: Path) -> tuple[list[str], list[str]]:
    """The packages a requirements file lists, and what in it cannot be read as one."""
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        return [], [f"requirements {str(path)!r} cannot be read ({exc.strerror}); paths are relative to "
                    "the folder the command runs in, or absolute"]
    listed, problems = [], []
    number, joined = 0, ""
    for at, line in enumerate(lines, 1):
        number = number or at  # a requirement continued over lines is named by its first
        # pip joins a line ending in a backslash with the next, unless a comment ends there
        if line.endswith("\\") and not _COMMENT.search(line):
            joined += line[:-1]
            continue
        text, joined = _COMMENT.split(joined + line, 1)[0].strip(), ""
        first, number = number, 0
        if not text or text.startswith("#"):
            continue
        if text.startswith("-"):
            problems.append(f"requirements {str(path)!r}, line {first}: {text!r} is a pip option; list "
                            "packages only (an index or other file: commands=['pip install ...'])")
            continue
        if _REQUIREMENT_OPTION.search(text):  # pip takes --hash= and the like only from a file
            problems.append(f"requirements {str(path)!r}, line {first}: {text!r} carries a pip option, "
                            "which pip install takes only in a file; give the package alone")
            continue
        listed.append(text)
    return listed, problems


def _hash_tree(digest: Any, item: Path) -> None:
    """The relative paths and bytes of a file or every file of a folder, in a stable order."""
    files = [item] if item.is_file() else sorted(
        p for p in item.rglob("*") if p.is_file() and not _SKIPPED.intersection(p.relative_to(item).parts)
        and p.suffix != ".pyc")
    for path in files:
        relative = path.name if path == item else path.relative_to(item).as_posix()
        digest.update(b"\0file\0" + relative.encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())


_KNOWN: dict[str, ImageSpec] = {}


def remember(spec: ImageSpec) -> str:
    """Records a spec a task uses (for ``wingspan build`` and registration) and returns its
    reference, the task template's image."""
    reference = spec.reference
    _KNOWN[reference] = spec
    return reference


def known_specs() -> dict[str, ImageSpec]:
    """The specs the tasks defined in this process use, by reference."""
    return dict(_KNOWN)
