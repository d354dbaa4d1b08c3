"""An engine replica in a child process: ``wingspan serve --role engine``, ready once it says so."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys

READY = re.compile(r"wingspan serve: .*replica (\S+)")


class Replica:
    """One ``wingspan serve --role engine --replica-id NAME ARGS`` process."""

    def __init__(self, name: str, args: list[str], env: dict[str, str]) -> None:
        self.name, self.args, self.env = name, args, env
        self.process: asyncio.subprocess.Process | None = None
        self.lines: list[str] = []
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "wingspan.cli", "serve", "--role", "engine", "--replica-id", self.name,
            *self.args, env={**os.environ, **self.env}, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._reader = asyncio.create_task(self._read(ready))
        await asyncio.wait_for(ready, 60)

    async def _read(self, ready: asyncio.Future[None]) -> None:
        assert self.process is not None and self.process.stderr is not None
        async for raw in self.process.stderr:
            line = raw.decode(errors="replace")
            self.lines.append(line)
            if READY.search(line) and not ready.done():
                ready.set_result(None)
        if not ready.done():
            ready.set_exception(AssertionError(f"replica {self.name} exited:\n" + "".join(self.lines)))

    async def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            os.kill(self.process.pid, signal.SIGKILL)
            await self.process.wait()
        if self._reader is not None:
            await self._reader

    def warnings(self) -> list[str]:
        return [line for line in self.lines if "Warning" in line or "Traceback" in line]
