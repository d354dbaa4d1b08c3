"""``python -m wingspan_ray._reaper PID MARKER``: ends a local Ray cluster with the process that
started it.

``ray.init`` starts the cluster's processes as children of the body's process; most end with it,
but some of Ray's agents outlive a process that is killed (a timeout or an abort kills the
worker that runs the body). Every process of the cluster inherits ``WINGSPAN_RAY_CLUSTER=MARKER``
from its environment; this small process, in a session of its own, waits for ``PID`` to end and
then kills every process that carries the marker.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
from pathlib import Path

__all__ = ["MARKER_VARIABLE", "cluster_processes", "kill_cluster"]

MARKER_VARIABLE = "WINGSPAN_RAY_CLUSTER"


def cluster_processes(marker: str) -> list[int]:
    """The live processes whose environment carries ``marker``."""
    needle = f"{MARKER_VARIABLE}={marker}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def kill_cluster(marker: str) -> None:
    for pid in cluster_processes(marker):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def main(argv: list[str]) -> int:
    pid, marker = int(argv[0]), argv[1]
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        watched = os.pidfd_open(pid)
    except ProcessLookupError:
        kill_cluster(marker)
        return 0
    select.select([watched], [], [])  # readable once the process has ended
    kill_cluster(marker)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
