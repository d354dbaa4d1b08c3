"""`wingspan serve` in a child process: started, its ports read from what it prints."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import anyio

from wingspan._remote.tokens import ClientCredentials
from wingspan.server.auth.accounts import ENGINE_CLIENT_ID
from wingspan.server.serve import ApiServer

READY = re.compile(r"wingspan serve: HTTP (https?://\S+)\s+gRPC (\S+):(\d+)")


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



class ServeProcess:
    """``wingspan serve --http-port 0 --grpc-port 0 ARGS`` in a child process, for tests that are not
    async: its stderr is read on a thread (to the end, so the child never blocks on it), and the
    constructor returns once it has printed its ports (``http_url``, ``endpoint``)."""

    def __init__(self, *args: str, env: Mapping[str, str], cwd: Path | None = None,
                 start_seconds: float = 60) -> None:
        self.lines: list[str] = []
        self.http_url = ""
        self.endpoint = ""
        self._ready = threading.Event()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "wingspan.cli", "serve", "--http-port", "0", "--grpc-port", "0", *args],
            env={**os.environ, **env}, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._ready.wait(start_seconds) or not self.endpoint:
            self.stop()
            raise AssertionError("wingspan serve did not start:\n" + "".join(self.lines))

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)
            found = READY.search(line)
            if found and not self._ready.is_set():
                self.http_url, self.endpoint = found.group(1), f"{found.group(2)}:{found.group(3)}"
                self._ready.set()
        self._ready.set()

    def kill(self) -> None:
        """SIGKILL: the server gets no chance to tidy up, as in a crash."""
        self.process.kill()
        self.process.wait(30)
        self._reader.join(10)

    def stop(self) -> None:
        """SIGTERM, and SIGKILL if it has not stopped within 30 s."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(10)
        assert self.process.stderr is not None
        self.process.stderr.close()


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


async def run_remote(endpoint: str, path: Path, *args: str) -> tuple[int, str, str]:
    """``wingspan run --remote PATH ARGS`` against a served endpoint: exit code, stdout, stderr."""
    done = await anyio.run_process(
        [sys.executable, "-m", "wingspan.cli", "run", "--remote", str(path), *args, "--endpoint", endpoint],
        check=False)
    return done.returncode, done.stdout.decode().strip(), done.stderr.decode()


@asynccontextmanager
async def served_at_home(home: Path) -> AsyncIterator[tuple[str, str]]:
    """`wingspan serve` with its home in ``home``: its HTTP URL and its gRPC endpoint."""
    async with wingspan_serve(env={"WINGSPAN_HOME": str(home)}) as (_, http_url, host, port):
        yield http_url, f"{host}:{port}"


CONFIG = os.path.join(os.path.dirname(__file__), "schemathesis.toml")


async def run_schemathesis(
        http_url: str, cwd: str, *, examples: int = 10, limit_seconds: int = 600, token: str = "",
) -> tuple[int, str]:
    """schemathesis with every check (its default; schemathesis.toml says where one is off and
    why) against the live server's OpenAPI document: examples and fuzzing phases, seeded and
    bounded by the number of examples, not by time, so that a slow machine runs the same cases.
    Returns its exit code and report."""
    st = os.path.join(os.path.dirname(sys.executable), "st")
    process = await asyncio.create_subprocess_exec(
        # no --checks: on the command line it would override the per-operation settings
        st, "--config-file", CONFIG, "run", f"{http_url}/schema/openapi.json",
        "--phases", "examples,fuzzing", "--max-examples", str(examples),
        "--generation-database", "none", "--suppress-health-check", "all", "--workers", "2",
        "--no-color", "--seed", "20261129",
        *(["--header", f"Authorization: Bearer {token}"] if token else []),
        cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output, _ = await asyncio.wait_for(process.communicate(), limit_seconds)
    assert process.returncode is not None
    return process.returncode, output.decode(errors="replace")


def engine_tokens(server: ApiServer) -> ClientCredentials:
    """The engines' service account's tokens (client credentials from the engine secret)."""
    assert server.engine_credential is not None
    return ClientCredentials(ENGINE_CLIENT_ID, server.engine_credential.secret, http_url=server.http_url)
