"""An MPI job's processes, found and killed by their session.

``mpirun`` is started in a session of its own (its pid is the session's id). Open MPI puts each
rank in a process group of its own, so a process group kill misses them; they stay in
``mpirun``'s session, as does whatever a rank starts, so killing the session leaves no orphans.
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

__all__ = ["kill_session", "session_members"]


def session_members(session: int) -> list[int]:
    """The live (not zombie) processes of ``session``."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # ended meanwhile
        # pid (comm) state ppid pgrp session ...: comm may hold spaces and parentheses
        fields = stat.rpartition(")")[2].split()
        if len(fields) > 3 and fields[0] != "Z" and int(fields[3]) == session:
            members.append(int(entry.name))
    return members


def kill_session(session: int, marker: str = "") -> list[int]:
    """Sends SIGKILL to every process of ``session``; returns the pids it was sent to. With a
    ``marker`` (the job's folder, on its ``mpirun``'s and ranks' command lines), only when one
    of them has it: a session id known from a handle may since belong to another job."""
    killed = session_members(session)
    if marker and not any(marker.encode() in _command_line(pid) for pid in killed):
        return []
    for pid in killed:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return killed


def _command_line(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""
