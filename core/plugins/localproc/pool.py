"""Warm worker processes, pooled per code version: a worker imports the user's code
once and then serves attempt after attempt; one that dies is replaced by a new one
on the next demand. A new worker is forked by this process's zygote (``forkserver``),
or spawned as a new interpreter where fork is unavailable. Pools do not belong to an
event loop: a worker's reply pipe is awaited on whichever loop runs the attempt."""

from __future__ import annotations

import contextlib
import os
import pickle
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Protocol

import anyio
import anyio.to_thread

from wingspan.core.errors import SystemError_
from wingspan.core.plugins.localproc.forkserver import fork_server
from wingspan.core.plugins.localproc.zygote import WORKER_MODULE

__all__ = ["WORKER_MODULE", "ChildProcess", "SpawnedProcess", "WorkerPool", "WorkerProcess", "WorkerSpec"]

# a message bigger than a pipe's buffer is written from a thread: the loop must not block
_PIPE_BUFFER = 60_000


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker needs to import the user's code like this process does."""

    sys_path: tuple[str, ...]
    cwd: str
    main_path: str = ""
    storage_root: str = ""
    preload: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    def hello(self, journal_dir: Path) -> dict[str, Any]:
        return {"sys_path": list(self.sys_path), "cwd": self.cwd, "main": self.main_path,
                "storage": self.storage_root, "preload": list(self.preload), "journal_dir": str(journal_dir)}


class ChildProcess(Protocol):
    """A worker's process, forked by the zygote or spawned."""

    pid: int

    @property
    def alive(self) -> bool: ...

    def wait(self, timeout: float) -> int | None:
        """Its exit code (negative: the signal that ended it); None if not known by ``timeout``."""

    def kill(self) -> None: ...


class SpawnedProcess:
    """A worker started as a new interpreter (where the zygote is unavailable)."""

    def __init__(self, popen: subprocess.Popen[bytes]) -> None:
        self.popen = popen
        self.pid = popen.pid

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def wait(self, timeout: float) -> int | None:
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.popen.kill()


class WorkerProcess:
    """One worker: its process, the pipe requests go down and the pipe replies come up."""

    def __init__(self, process: ChildProcess, requests: Connection, replies: Connection, log: Path) -> None:
        self.process = process
        self.pid = process.pid
        self._requests = requests
        self._replies = replies
        self.log = log
        # where the worker appends its replies (known once it is ready)
        self.journal = ""

    @property
    def alive(self) -> bool:
        return self.process.alive

    async def send(self, message: dict[str, Any]) -> None:
        payload = pickle.dumps(message)
        if len(payload) < _PIPE_BUFFER:
            self._requests.send_bytes(payload)
        else:
            await anyio.to_thread.run_sync(self._requests.send_bytes, payload)

    async def receive(self) -> dict[str, Any] | None:
        """The next reply, or None when the worker died (its pipe closed)."""
        try:
            while not self._replies.poll():
                await anyio.wait_readable(self._replies.fileno())
            reply: dict[str, Any] = pickle.loads(self._replies.recv_bytes())
        except (EOFError, OSError):
            return None
        return reply

    async def exit_code(self) -> int | None:
        return await anyio.to_thread.run_sync(self.process.wait, 10)

    def kill(self) -> None:
        self.process.kill()
        for connection in (self._requests, self._replies):
            with contextlib.suppress(OSError):
                connection.close()
        self.process.wait(1)  # reaped (here, or by the zygote): a killed process ends at once


def _start_process(spec: WorkerSpec, log: Path, fork: bool) -> WorkerProcess:
    log.parent.mkdir(parents=True, exist_ok=True)
    process: ChildProcess | None = None
    for _ in range(2 if fork else 0):  # a zygote that ended is replaced once
        zygote = fork_server()
        if zygote is None:
            break
        with contextlib.suppress(OSError):
            # the store's settings are the worker's environment: the zygote's is this
            # process's when the zygote started, which may have changed since
            process, request_write, reply_read = zygote.fork({**os.environ, **spec.env}, log)
            break
    if process is None:
        process, request_write, reply_read = _spawn(spec, log)
    worker = WorkerProcess(process, Connection(request_write, readable=False),
                           Connection(reply_read, writable=False), log)
    worker._requests.send_bytes(pickle.dumps(spec.hello(log.parent)))
    return worker


def _spawn(spec: WorkerSpec, log: Path) -> tuple[SpawnedProcess, int, int]:
    request_read, request_write = os.pipe()
    reply_read, reply_write = os.pipe()
    with open(log, "ab") as out:
        popen = subprocess.Popen(
            [sys.executable, "-m", WORKER_MODULE, str(request_read), str(reply_write)],
            pass_fds=(request_read, reply_write), stdin=subprocess.DEVNULL, stdout=out,
            stderr=subprocess.STDOUT, env={**os.environ, **spec.env} if spec.env else None)
    os.close(request_read)
    os.close(reply_write)
    return SpawnedProcess(popen), request_write, reply_read


class WorkerPool:
    """Idle warm workers of one code version; ``acquire`` hands one out or starts one."""

    def __init__(self, key: str, spec: WorkerSpec, log_dir: Path, start_timeout: float = 120.0,
                 fork: bool = True) -> None:
        self.key = key
        self.fork = fork  # from this process's zygote when it can; else a new interpreter
        self.spec = spec
        self.log_dir = log_dir
        self.start_timeout = start_timeout
        self._idle: list[WorkerProcess] = []
        self._lock = threading.Lock()
        self.started = 0
        self.closed = False
        self.last_used = time.monotonic()

    @property
    def idle(self) -> int:
        return len(self._idle)

    async def acquire(self) -> WorkerProcess:
        self.last_used = time.monotonic()
        while True:
            with self._lock:
                worker = self._idle.pop() if self._idle else None
            if worker is None:
                return await self._start()
            if worker.alive:
                return worker
            worker.kill()  # died while idle: replace it

    async def _start(self) -> WorkerProcess:
        self.started += 1
        log = self.log_dir / f"worker-{self.key[:12]}-{os.getpid()}-{self.started}.log"
        worker = await anyio.to_thread.run_sync(_start_process, self.spec, log, self.fork)
        ready = None
        try:
            with anyio.move_on_after(self.start_timeout):
                ready = await worker.receive()
        except BaseException:
            # cancelled while it started (the engine stopping): nobody holds this worker yet,
            # so nobody else would ever stop it
            worker.kill()
            raise
        if ready is None:
            worker.kill()
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise SystemError_(f"a local-process worker did not start (log {log}):\n{tail}")
        worker.journal = ready["journal"]
        return worker

    def release(self, worker: WorkerProcess) -> None:
        with self._lock:
            self.last_used = time.monotonic()
            if not self.closed:
                self._idle.append(worker)
                return
        worker.kill()  # its pool was retired while it ran

    def trim(self, keep: int) -> None:
        """Stops idle workers beyond ``keep`` (the oldest first)."""
        with self._lock:
            surplus = self._idle[:-keep] if keep else list(self._idle)
            self._idle = self._idle[len(surplus):]
        for worker in surplus:
            worker.kill()

    def close(self) -> None:
        with self._lock:
            self.closed = True
        self.trim(0)
