"""Secrets a server makes for itself under its home (URL signing key, engine credential)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["create_once"]


def create_once(path: Path, content: str) -> None:
    """Writes ``content`` to ``path`` (mode 0600) unless the file exists. It is written aside and
    linked into place: of processes racing, one wins and every one then reads its content, and
    nobody ever reads a half-written file. Raises OSError when it cannot."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "w") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):  # another process won the race
            os.link(tmp, path)
    finally:
        os.unlink(tmp)
