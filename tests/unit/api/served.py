"""`wingspan serve` in a child process: started, its ports read from what it prints."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

READY = re.compile(r"wingspan serve: HTTP (http://\S+)\s+gRPC (\S+):(\d+)")


class Served:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []
        self.ready = asyncio.get_running_loop().create_future()
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process.stderr is not None
        async for raw in self.process.stderr:  # drained to the end, so the child never blocks on it
            line = raw.decode(errors="replace")
            self.lines.append(line)
            found = READY.search(line)
            if found and not self.ready.done():
                self.ready.set_result((found.group(1), found.group(2), int(found.group(3))))
        if not self.ready.done():
            self.ready.set_exception(AssertionError("wingspan serve exited:\n" + "".join(self.lines)))



@asynccontextmanager
async def wingspan_serve(*args: str, env: Mapping[str, str]) -> AsyncIterator[tuple[Served, str, str, int]]:
    """Runs ``wingspan serve --http-port 0 --grpc-port 0 ARGS``; yields it once both ports answer."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "wingspan.cli", "serve", "--http-port", "0", "--grpc-port", "0", *args,
        env={**os.environ, **env}, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE)
    server = Served(process)
    try:
        http_url, grpc_host, grpc_port = await asyncio.wait_for(server.ready, 60)
        yield server, http_url, grpc_host, grpc_port
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await server.reader
