"""One container run as a local process: started, logged, waited for, killed.

The process gets its own session (process group), so killing it also kills whatever
its shell started. Volume mounts use a private mount namespace (``unshare``) with bind
mounts, so two pods can mount different Secrets at the same path, as in a cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import os
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.k8s_agent.logs import ContainerLog

# Exit code for "the agent could not set the container up" (as a shell's 'cannot execute').
SETUP_FAILED = 125

# Runs in the new mount namespace: bind each SOURCE over TARGET, then exec the command.
_MOUNT_SCRIPT = """
while [ "$1" != "--" ]; do
  mkdir -p "$2" && mount --bind "$1" "$2" || { echo "cannot mount $1 at $2" >&2; exit 125; }
  shift 2
done
shift
exec "$@"
"""


@dataclass(frozen=True)
class Mount:
    source: Path
    target: str


@dataclass(frozen=True)
class Exit:
    code: int
    reason: str
    message: str
    started_at: datetime.datetime
    finished_at: datetime.datetime


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0)


class ContainerProcess:
    def __init__(self, argv: Sequence[str], *, env: dict[str, str], cwd: Path,
                 log: ContainerLog, mounts: Sequence[Mount] = ()) -> None:
        self.argv = list(argv)
        self.env = env
        self.cwd = cwd
        self.log = log
        self.mounts = list(mounts)
        self.started_at = _now()
        self._proc: asyncio.subprocess.Process | None = None
        self._pumps: list[asyncio.Task[None]] = []

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def _command(self) -> list[str]:
        if not self.mounts:
            return self.argv
        pairs = [part for mount in self.mounts for part in (str(mount.source), mount.target)]
        return ["unshare", "--mount", "--propagation", "private", "--",
                "/bin/sh", "-c", _MOUNT_SCRIPT, "mounts", *pairs, "--", *self.argv]

    async def start(self) -> None:
        """Raises OSError when the program cannot be started (not found, not executable)."""
        self.started_at = _now()
        self._proc = await asyncio.create_subprocess_exec(
            *self._command(), env=self.env, cwd=self.cwd, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        assert self._proc.stdout is not None and self._proc.stderr is not None
        self._pumps = [
            asyncio.create_task(self._pump(self._proc.stdout, "stdout")),
            asyncio.create_task(self._pump(self._proc.stderr, "stderr")),
        ]

    async def _pump(self, reader: asyncio.StreamReader, stream: str) -> None:
        while line := await reader.readline():
            self.log.write(stream, line)

    async def wait(self) -> Exit:
        assert self._proc is not None, "start() first"
        code = await self._proc.wait()
        await asyncio.gather(*self._pumps)
        self.log.close()
        if code < 0:
            # Killed by a signal: a container runtime reports 128 + the signal number.
            name = signal.Signals(-code).name
            return Exit(128 - code, "Error", f"killed by {name}", self.started_at, _now())
        reason = "Completed" if code == 0 else "Error"
        return Exit(code, reason, "", self.started_at, _now())

    async def kill(self, grace_seconds: float) -> None:
        """SIGTERM to the process group, then SIGKILL once the grace period is over.

        With no grace period SIGKILL goes first, as a runtime's StopContainer(timeout=0).
        """
        if self._proc is None or self._proc.returncode is not None:
            return
        if grace_seconds <= 0:
            self._signal(signal.SIGKILL)
            await self._proc.wait()
            return
        self._signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.shield(self._proc.wait()), timeout=grace_seconds)
        except TimeoutError:
            self._signal(signal.SIGKILL)
            await self._proc.wait()

    def _signal(self, sig: signal.Signals) -> None:
        assert self._proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, sig)
