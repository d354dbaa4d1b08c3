"""The local-process target: Python task attempts in warm worker processes.

Workers import the user's code (module + qualname from the task template; a script
run as __main__ by its path) and are pooled per code version, so a warm attempt costs
a round trip through two pipes, not an interpreter start. Inputs and outputs cross as
literals; each attempt's stdout and stderr go to its own log file; CPU requests bound
how many attempts run at once; a worker that crashes fails only its attempt (with the
signal that killed it) and the pool starts a fresh one on the next demand; a timeout
or an abort kills the worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import pickle
import signal
import sys
import time
import uuid
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import anyio
import anyio.to_thread

from wingspan.core import tracing
from wingspan.core.engine.failures import killed_by_signal, timed_out
from wingspan.core.model.execution import ExecutionError, TaskPhase
from wingspan.core.model.literals import ErrorKind, LiteralMap
from wingspan.core.model.tasks import TaskTemplate
from wingspan.core.plugins.contract import Handle, RunsChunks, TaskContext, TaskLog, TaskPlugin, TaskStatus
from wingspan.core.plugins.localproc.budget import CpuBudget, cpu_request
from wingspan.core.plugins.localproc.eager_calls import is_call, serve_call
from wingspan.core.plugins.localproc.pool import WORKER_MODULE, WorkerPool, WorkerProcess, WorkerSpec
from wingspan.core.plugins.localproc.worker import read_journal

if TYPE_CHECKING:
    from wingspan.core.bundles import BundleLimits

__all__ = ["LocalProcessTarget"]


@dataclass
class _Running:
    worker: WorkerProcess
    pool: WorkerPool
    cpus: float


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in text)


class LocalProcessTarget(TaskPlugin, RunsChunks):
    """Runs Python tasks in warm worker processes on this machine; a map's items in chunks,
    many to a worker round trip."""

    name: ClassVar[str] = "local-process"
    task_types: ClassVar[tuple[str, ...]] = ("python", "dynamic", "eager")
    poll_interval: ClassVar[float] = 0.2

    def __init__(self, cpus: float | None = None, home: Path | None = None, storage_root: str = "",
                 idle_per_pool: int | None = None, fork_workers: bool = True, max_pools: int = 8,
                 pool_idle_seconds: float = 600.0) -> None:
        self.budget = CpuBudget(float(cpus or os.cpu_count() or 1))
        self._home = home
        self._storage_root = storage_root
        self._idle_per_pool = idle_per_pool or max(2, int(self.budget.total))
        self._pools: dict[str, WorkerPool] = {}
        self._fork_workers = fork_workers
        # the pools of code versions not used for a while, or beyond the cap, are retired
        # (their idle workers stopped): a server registering version after version would
        # otherwise keep idle workers of every version it ever ran
        self._max_pools = max(1, max_pools)
        self._pool_idle_seconds = pool_idle_seconds
        self._retiring: asyncio.AbstractEventLoop | None = None  # the loop whose timer will retire pools
        self._bundle_limits: BundleLimits | None = None
        self._running: dict[str, _Running] = {}
        # workers whose attempt was left running when its watch was cancelled (the engine
        # stopping): they run on, their reply goes to their journal, and the engine that
        # resumes the execution follows them through their handles
        self._left: dict[str, WorkerProcess] = {}
        # workers end with their target, or at exit at the latest; left ones are not stopped
        # at exit, only by an abort or an explicit close
        weakref.finalize(self, _stop, self._pools, self._running)

    # ---- configuration --------------------------------------------------------------------

    def cpus_of(self, template: TaskTemplate) -> float:
        """The CPUs an attempt holds from the budget while it runs: its request (1 when it
        makes none). A subclass whose bodies use more than they request (a local Spark
        session's threads) says so, so that attempts do not start more workers than the
        machine has room for."""
        return cpu_request(template)

    def worker_key(self, template: TaskTemplate) -> str:
        """What, beside the code version, keeps a task's attempts on workers of their own: a
        subclass serving a plugin's task type returns the part of the task's configuration
        its warm state depends on (a Spark session's settings), so the next attempt with the
        same settings finds a worker that has it."""
        return ""

    def _settings_home(self) -> Path:
        if self._home is None:
            from wingspan.core.config import Settings

            settings = Settings.load()
            self._home = settings.home
            self._storage_root = self._storage_root or settings.storage_root
        return self._home

    def _spec(self, template: TaskTemplate, storage_root: str, bundle_dir: Path | None = None,
              env: dict[str, str] | None = None) -> tuple[str, WorkerSpec]:
        """The code version (pool key) and worker spec for a task's code: its unpacked bundle
        when it has one (registered code), else the code this process imports."""
        code = template.code
        warm = self.worker_key(template)
        if bundle_dir is not None:
            text = f"{code.bundle_uri if code else ''}\0{storage_root}\0{warm}"
            key = hashlib.sha256(text.encode()).hexdigest()[:24]
            preload = (code.module,) if code and code.module else ()
            return key, WorkerSpec((str(bundle_dir), *sys.path), str(bundle_dir), "", storage_root, preload,
                                   env or {})
        module = code.module if code else ""
        main_path = ""
        if module == "__main__":
            main_path = str(getattr(sys.modules.get("__main__"), "__file__", "") or "")
        stamp = ""
        source = main_path or getattr(sys.modules.get(module), "__file__", "") or ""
        if source:
            with contextlib.suppress(OSError):
                info = os.stat(source)
                stamp = f"{source}:{info.st_mtime_ns}:{info.st_size}"
        bundle = code.bundle_uri if code else ""
        # the store too: a worker opened on one store cannot write where another run's are
        text = "\0".join([bundle, stamp, storage_root, warm, os.getcwd(), *sys.path])
        key = hashlib.sha256(text.encode()).hexdigest()[:24]
        preload = (module,) if module and module != "__main__" else ()
        return key, WorkerSpec(tuple(sys.path), os.getcwd(), main_path, storage_root, preload)

    def _pool(self, template: TaskTemplate, storage_root: str, bundle: Path | None = None,
              env: dict[str, str] | None = None) -> WorkerPool:
        key, spec = self._spec(template, storage_root, bundle, env)
        self._retire_pools(keep=key)
        pool = self._pools.get(key)
        if pool is None:
            pool = self._pools[key] = WorkerPool(key, spec, self._settings_home() / "logs" / "workers",
                                                 fork=self._fork_workers)
        return pool

    def _retire_later(self, ended: _Running | None = None) -> None:
        """Retires idle pools when their time comes even if no attempt starts then: one timer,
        on the loop of an attempt that ended (a loop that stopped loses it: the next attempt
        to end sets it again)."""
        if self._retiring is not None and self._retiring.is_running():
            return
        busy = {running.pool.key for running in self._running.values() if running is not ended}
        idle = [pool.last_used for pool in self._pools.values() if pool.key not in busy]
        if not idle:
            return  # the next attempt to end sets it
        loop = asyncio.get_running_loop()
        delay = max(0.0, min(idle) + self._pool_idle_seconds - time.monotonic())
        loop.call_later(delay, _retire_idle, weakref.ref(self))
        self._retiring = loop

    def _retire_pools(self, keep: str) -> None:
        """Retires the pools no attempt runs on that were idle ``pool_idle_seconds``, and the
        least recently used beyond ``max_pools`` (counting one for ``keep``'s, about to be used)."""
        busy = {running.pool.key for running in self._running.values()}
        now = time.monotonic()
        excess = len(self._pools) + (keep not in self._pools) - self._max_pools
        for pool in sorted(self._pools.values(), key=lambda p: p.last_used):
            if pool.key == keep or pool.key in busy:
                continue
            if excess > 0 or now - pool.last_used >= self._pool_idle_seconds:
                excess -= 1
                del self._pools[pool.key]
                pool.close()

    # ---- the contract ---------------------------------------------------------------------

    async def _bundle(self, ctx: TaskContext) -> Path | None:
        """The task's unpacked code bundle, fetched on first use (None: code this process imports)."""
        if ctx.template.code is None or not ctx.template.code.bundle_uri:
            return None
        if ctx.transfer.store is None:
            raise RuntimeError(f"task {ctx.task_name}: its code bundle {ctx.template.code.bundle_uri} "
                               "cannot be fetched without a blob store")
        from wingspan.core.bundles import BundleLimits, fetch_bundle
        from wingspan.core.config import Settings

        if self._bundle_limits is None:  # this process's settings (environment, config file)
            self._bundle_limits = BundleLimits.from_settings(Settings.load())
        return await fetch_bundle(ctx.transfer.store, ctx.template.code.bundle_uri,
                                  self._settings_home() / "bundles", self._bundle_limits)

    def _pool_for(self, ctx: TaskContext, bundle: Path | None) -> WorkerPool:
        storage_root = ctx.transfer.store.root if ctx.transfer.store is not None else self._storage_root
        # the worker opens the store the engine uses, whatever this process's settings say
        env = ctx.transfer.store.environment() if ctx.transfer.store is not None else {}
        return self._pool(ctx.template, storage_root, bundle, env)

    async def run_chunk(self, contexts: Sequence[TaskContext]) -> list[TaskStatus | None]:
        """The attempts go to one worker in one request; it answers each as it ends, so an
        attempt over its timeout (or one that kills the worker) ends that attempt alone and
        leaves the rest (None) for the engine to run again."""
        statuses: list[TaskStatus | None] = [None] * len(contexts)
        if not contexts:
            return statuses
        first = contexts[0]
        self._settings_home()
        bundle = await self._bundle(first)
        cpus = self.budget.clip(self.cpus_of(first.template))
        await self.budget.acquire(cpus)
        worker: WorkerProcess | None = None
        try:
            pool = self._pool_for(first, bundle)
            worker = await pool.acquire()
            chunk_id = uuid.uuid4().hex
            self._running[chunk_id] = _Running(worker, pool, 0.0)  # its pool is busy; close() stops it
            folder = first.work_dir or self._settings_home() / "logs" / _safe(first.execution_id)
            log = folder / f"{_safe(first.node_id)}-chunk-{first.attempt}.log"
            handle = {"log": str(log)}
            code = first.template.code
            request = {
                "id": chunk_id, "module": code.module if code else "", "task": first.task_name,
                "qualname": code.qualname if code else "", "execution_id": first.execution_id,
                "log": str(log), "offload": first.transfer.offload_threshold, "traceparent": "",
                "chunk": [{"node_id": c.node_id, "attempt": c.attempt, "inputs": _encode(c.inputs),
                           "prefix": c.transfer.prefix} for c in contexts],
            }
            worker = self._running[chunk_id].worker = await _sent(pool, worker, request)
            for index, ctx in enumerate(contexts):
                reply = None
                with anyio.move_on_after(ctx.timeout) as scope:
                    reply = await worker.receive()
                if scope.cancelled_caught or reply is None:
                    statuses[index] = await _cut_short(worker, handle, ctx, timed=scope.cancelled_caught)
                    return statuses
                # each item's log is its chunk's (each item's part starts with a line naming it)
                statuses[index] = _status(reply, handle, ctx.node_id)
            pool.release(worker)
            pool.trim(self._idle_per_pool)
            return statuses
        except BaseException:
            if worker is not None:
                worker.kill()  # cut short (cancelled, or the pipe broke): its later replies are unread
            raise
        finally:
            if worker is not None:
                self._running.pop(chunk_id, None)
            self.budget.release(cpus)

    async def start(self, ctx: TaskContext) -> Handle:
        home = self._settings_home()
        bundle = await self._bundle(ctx)
        # an eager body waits on its children most of its life: were it to hold CPUs, nested
        # eager bodies could hold them all while the tasks they wait for wait for a CPU
        cpus = 0.0 if ctx.template.type == "eager" else self.budget.clip(self.cpus_of(ctx.template))
        await self.budget.acquire(cpus)
        try:
            pool = self._pool_for(ctx, bundle)
            worker = await pool.acquire()
            attempt_id = uuid.uuid4().hex
            folder = ctx.work_dir or home / "logs" / _safe(ctx.execution_id)
            stem = f"{_safe(ctx.node_id)}-{ctx.attempt}"
            log = folder / f"{stem}.log"
            code = ctx.template.code
            request = {
                "id": attempt_id, "module": code.module if code else "", "task": ctx.task_name,
                "qualname": code.qualname if code else "", "inputs": _encode(ctx.inputs),
                "execution_id": ctx.execution_id, "node_id": ctx.node_id, "attempt": ctx.attempt,
                "log": str(log), "prefix": ctx.transfer.prefix,
                "offload": ctx.transfer.offload_threshold, "dynamic": ctx.template.type == "dynamic",
                "eager": ctx.template.type == "eager", "traceparent": ctx.traceparent,
            }
            worker = await _sent(pool, worker, request)
        except BaseException:
            self.budget.release(cpus)
            raise
        self._running[attempt_id] = _Running(worker, pool, cpus)
        return {"attempt_id": attempt_id, "pid": worker.pid, "log": str(log), "journal": worker.journal,
                "code_version": pool.key, "traceparent": ctx.traceparent, "task": ctx.task_name}

    async def watch(self, ctx: TaskContext, handle: Handle) -> TaskStatus:
        running = self._running.get(handle["attempt_id"])
        if running is None:  # started by another process (or instance): poll its handle
            return await super().watch(ctx, handle)
        worker, pool = running.worker, running.pool
        try:
            reply = None
            with anyio.move_on_after(ctx.timeout) as scope:
                reply = await _reply(worker, ctx)
            if scope.cancelled_caught or reply is None:
                return await _cut_short(worker, handle, ctx, timed=scope.cancelled_caught)
            pool.release(worker)
            pool.trim(self._idle_per_pool)
            self._retire_later(ended=running)
            return _status(reply, handle, ctx.node_id)
        except Exception:
            worker.kill()
            raise
        except BaseException:
            # cancelled: either an abort, after which the engine calls ``abort``, or the engine
            # stopping (SIGTERM), which leaves the attempt to the engine that resumes it
            self._left[handle["attempt_id"]] = worker
            raise
        finally:
            self._running.pop(handle["attempt_id"], None)
            self.budget.release(running.cpus)

    async def poll(self, ctx: TaskContext, handle: Handle) -> TaskStatus:
        # alive first, then the journal: a worker left by a stopped engine writes its reply and
        # exits at once (nobody reads its pipe); read the other way round, a reply written
        # between the two looked like a worker that ended without one
        alive = _is_worker(int(handle["pid"]))
        reply = await anyio.to_thread.run_sync(read_journal, handle["journal"], handle["attempt_id"])
        if reply is not None:
            return _status(reply, handle, ctx.node_id)
        if alive:
            return TaskStatus(TaskPhase.RUNNING, logs=_logs(handle))
        return TaskStatus(TaskPhase.FAILED, logs=_logs(handle), reason="the worker ended without a result",
                          error=ExecutionError(code="WORKER_LOST", kind=ErrorKind.SYSTEM, retryable=True,
                                               node_id=ctx.node_id, occurred_at=datetime.now(UTC),
                                               message=f"worker {handle['pid']} ended without a result"))

    def log_links(self, handle: Handle) -> tuple[TaskLog, ...]:
        return _logs(handle)

    async def abort(self, ctx: TaskContext, handle: Handle) -> None:
        running = self._running.pop(handle["attempt_id"], None)
        left = self._left.pop(handle["attempt_id"], None)
        if running is not None:
            running.worker.kill()
            self.budget.release(running.cpus)
        elif left is not None:
            left.kill()
        elif _is_worker(int(handle["pid"])) and not await anyio.to_thread.run_sync(
                read_journal, handle["journal"], handle["attempt_id"]):
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(handle["pid"]), signal.SIGKILL)

    async def aclose(self) -> None:
        self.close()

    def close(self) -> None:
        """Stops every worker (idle, or running an attempt nobody watches here)."""
        _stop(self._pools, self._running)
        for worker in self._left.values():
            worker.kill()
        self._left.clear()


def _retire_idle(target: weakref.ref[LocalProcessTarget]) -> None:
    alive = target()
    if alive is not None:
        alive._retiring = None
        alive._retire_pools(keep="")
        if alive._pools:
            alive._retire_later()


def _stop(pools: dict[str, WorkerPool], running: dict[str, _Running]) -> None:
    for pool in pools.values():
        pool.close()
    pools.clear()
    for attempt in running.values():
        attempt.worker.kill()
    running.clear()


async def _sent(pool: WorkerPool, worker: WorkerProcess, request: dict[str, Any]) -> WorkerProcess:
    """Sends ``request`` to ``worker``, or to a fresh one of ``pool`` if that one died while idle
    (between the pool's check and the write); returns the worker that has it."""
    try:
        await worker.send(request)
    except OSError:
        worker.kill()
        worker = await pool.acquire()
        await worker.send(request)
    return worker


async def _cut_short(worker: WorkerProcess, handle: Handle, ctx: TaskContext, *, timed: bool) -> TaskStatus:
    """The status of an attempt whose worker gave no reply: past its timeout (the worker is
    stopped) or dead."""
    if timed:
        worker.kill()
        return TaskStatus(TaskPhase.TIMED_OUT, logs=_logs(handle), reason="timed out",
                          error=timed_out(ctx.timeout or 0, ctx.node_id))
    code = await worker.exit_code()
    worker.kill()
    return TaskStatus(TaskPhase.FAILED, logs=_logs(handle), reason="the worker died",
                      error=_exit_error(code, ctx.node_id, worker.pid))


async def _reply(worker: WorkerProcess, ctx: TaskContext) -> dict[str, Any] | None:
    """The attempt's reply; an eager body's calls that come first are served meanwhile."""
    sending = anyio.Lock()  # a long answer is written from a thread: one at a time
    async with anyio.create_task_group() as calls:
        while True:
            message = await worker.receive()
            if message is None or not is_call(message):
                calls.cancel_scope.cancel()  # the body ended: nothing waits for an answer
                return message
            calls.start_soon(_answer, worker, message, ctx, sending)
    return None  # not reached: the loop returns


async def _answer(worker: WorkerProcess, message: dict[str, Any], ctx: TaskContext,
                  sending: anyio.Lock) -> None:
    answer = await serve_call(message, ctx.eager_calls)
    async with sending:
        await worker.send(answer)


def _encode(literals: LiteralMap) -> bytes:
    from wingspan.core.model import codec

    return codec.encode(literals)


def _logs(handle: Handle, reply: dict[str, Any] | None = None) -> tuple[TaskLog, ...]:
    """The attempt's log file, and what else the worker reported among its logs (its report)."""
    more = tuple(TaskLog(name, uri) for name, uri in (reply or {}).get("logs", ()))
    return (TaskLog("stdout+stderr", handle["log"]), *more)


def _status(reply: dict[str, Any], handle: Handle, node_id: str) -> TaskStatus:
    body = reply.get("body_span")
    if body and handle.get("traceparent"):  # the worker timed the body: its span, under the attempt's
        tracing.record_span(f"task {handle.get('task', '')}".rstrip(), body["traceparent"],
                            handle["traceparent"], body["start_ns"], body["end_ns"],
                            {"wingspan.node_id": node_id}, failed=not reply.get("ok"))
    if reply.get("ok"):
        from wingspan.core.model import codec

        return TaskStatus(TaskPhase.SUCCEEDED, codec.decode(LiteralMap, reply["outputs"]),
                          _logs(handle, reply), dynamic_spec=reply.get("dynamic") or b"")
    data = reply.get("error") or {}
    error = ExecutionError(code=data.get("code", "USER:Error"), message=data.get("message", ""),
                           kind=ErrorKind(data.get("kind", int(ErrorKind.USER))),
                           retryable=bool(data.get("retryable", True)), node_id=node_id,
                           occurred_at=datetime.now(UTC))
    exception = None
    if reply.get("exception"):
        with contextlib.suppress(Exception):
            exception = pickle.loads(reply["exception"])
    return TaskStatus(TaskPhase.FAILED, logs=_logs(handle, reply), reason=error.code, error=error,
                      exception=exception)


def _exit_error(code: int | None, node_id: str, pid: int) -> ExecutionError:
    if code is not None and code < 0:
        return killed_by_signal(-code, node_id)
    return ExecutionError(code="WORKER_EXITED", kind=ErrorKind.SYSTEM, retryable=True, node_id=node_id,
                          occurred_at=datetime.now(UTC),
                          message=f"the task's worker process {pid} exited with code {code}")


def _is_worker(pid: int) -> bool:
    """Whether ``pid`` is a live local-process worker (not a reused pid)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return WORKER_MODULE.encode() in cmdline
