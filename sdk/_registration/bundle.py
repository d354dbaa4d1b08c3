"""Code bundles: the user's source, packed the same way every time.

``wingspan register`` uploads a bundle so workers can import the tasks' code. The
archive is deterministic (sorted names, fixed times and owners, gzip without a
timestamp), so unchanged code gives the same bytes, the same digest and therefore
the same default version: registering it again is a no-op.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

from wingspan.core.config import default_home
from wingspan.core.errors import UserError

__all__ = ["Bundle", "build_bundle", "bundle_files"]

# never shipped, whatever .gitignore says
ALWAYS_IGNORED = [".git/", "__pycache__/", "*.pyc", "*.pyo", ".venv/", "venv/", ".mypy_cache/",
                  ".pytest_cache/", ".ruff_cache/", ".hypothesis/", "*.egg-info/", ".DS_Store"]


@dataclass(frozen=True)
class Bundle:
    data: bytes
    digest: str
    files: tuple[str, ...]

    @property
    def version(self) -> str:
        """The default version of what the bundle registers: a digest of the code."""
        return self.digest[:16]


def _ignore_spec(root: Path) -> object:
    import pathspec

    lines = list(ALWAYS_IGNORED)
    for ignore_file in sorted(root.rglob(".gitignore")):
        base = ignore_file.parent.relative_to(root).as_posix()
        for line in ignore_file.read_text(errors="replace").splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            negated = line.startswith("!")
            pattern = line[1:] if negated else line
            if base != ".":
                # a pattern in a sub-folder's .gitignore applies below that folder only
                pattern = f"{base}/{pattern.lstrip('/')}" if "/" in pattern.rstrip("/") \
                    else f"{base}/**/{pattern}"
            lines.append(("!" if negated else "") + pattern)
    return pathspec.GitIgnoreSpec.from_lines(lines)


def bundle_files(root: str | os.PathLike[str]) -> list[str]:
    """The files under ``root`` that a bundle holds, as sorted POSIX paths relative to it."""
    folder = Path(root).resolve()
    if not folder.is_dir():
        raise UserError(f"cannot bundle {root}: it is not a folder")
    spec = _ignore_spec(folder)
    # Wingspan's own state (local cache, a local server's database and blobs) when its home
    # lies inside the project: never code, and it can be far larger than an upload may be
    home = default_home().resolve()
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        here = Path(dirpath).relative_to(folder)
        # prune ignored folders early (.venv can hold tens of thousands of files)
        dirnames[:] = sorted(d for d in dirnames
                             if not spec.match_file((here / d).as_posix() + "/")  # type: ignore[attr-defined]
                             and (Path(dirpath) / d).resolve() != home)
        for name in filenames:
            rel = (here / name).as_posix()
            if not spec.match_file(rel) and not (Path(dirpath) / name).is_symlink():  # type: ignore[attr-defined]
                found.append(rel)
    return sorted(found)


def build_bundle(root: str | os.PathLike[str]) -> Bundle:
    """Packs the source under ``root`` (respecting .gitignore) into a deterministic tar.gz."""
    folder = Path(root).resolve()
    files = bundle_files(folder)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for rel in files:
            path = folder / rel
            info = tarfile.TarInfo(rel)
            info.size = path.stat().st_size
            info.mode = 0o755 if os.access(path, os.X_OK) else 0o644
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            with open(path, "rb") as handle:
                archive.addfile(info, handle)
    data = gzip.compress(raw.getvalue(), compresslevel=6, mtime=0)
    return Bundle(data, hashlib.sha256(data).hexdigest(), tuple(files))
