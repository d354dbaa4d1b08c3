"""``mpi-local``: each attempt of an ``mpi`` task is one ``mpirun`` job on this machine.

``start`` writes the job folder (``_job``) and starts ``mpirun`` in a session of its own, its
output (every rank's, tagged with the rank) going to the attempt's log; ``watch`` waits for it to
end, at most until the attempt's timeout, and reads the outcome from the job folder: rank 0's
outputs, the lowest failed rank's error, or, when ``mpirun`` ended with neither, the rank it
reports lost. A timeout or an abort kills the job's whole session (``mpirun`` and every rank),
so nothing of it outlives the attempt.

Open MPI is told to use only what a machine without a network has: shared memory between the
ranks (``btl self,vader``, no single-copy mechanism, which containers often forbid), its own
out-of-band channel on loopback, no remote launcher, and no binding of ranks to cores (the
machine is shared). ``OMPI_MCA_*`` variables of the engine's environment override these.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import anyio
import anyio.abc
import anyio.to_thread

from wingspan.core.engine.failures import error_from_exception, timed_out
from wingspan.core.model.codec import decode, encode
from wingspan.core.types.naturals import to_natural
from wingspan.plugin import (
    ErrorKind,
    ExecutionError,
    Handle,
    LiteralMap,
    TaskContext,
    TaskLog,
    TaskPhase,
    TaskPlugin,
    TaskStatus,
    TaskTemplate,
)
from wingspan_mpi._config import MPIConfig
from wingspan_mpi._errors import MPILaunchError, MPIRankLostError
from wingspan_mpi._job import JobFolder
from wingspan_mpi._sessions import kill_session, session_members
from wingspan_mpi._task_config import MPI, TASK_TYPE

__all__ = ["MPILocal", "mpi_environment", "task_config"]

#: Open MPI's settings for one machine with no network but loopback (see the module's doc)
MCA_DEFAULTS = {
    "OMPI_MCA_plm": "isolated",
    "OMPI_MCA_btl": "self,vader",
    "OMPI_MCA_btl_vader_single_copy_mechanism": "none",
    "OMPI_MCA_oob_tcp_if_include": "lo",
    "OMPI_MCA_hwloc_base_binding_policy": "none",
    "OMPI_MCA_rmaps_base_oversubscribe": "1",
}

# mpirun's report of a rank that died: "process rank 1 with PID 0 on node vm exited on signal 9 (Killed)"
_LOST = re.compile(r"process rank (\d+) with PID (\d+) on node \S+ exited on signal (\d+)(?: \(([^)]*)\))?")


def task_config(template: TaskTemplate) -> MPI:
    """The task's ``MPI(...)`` from its template (the defaults when it has none)."""
    custom = template.custom
    if custom is None:
        return MPI()
    return MPI.from_custom({name: to_natural(literal) for name, literal in custom.literals.items()})


def mpi_environment(base: Mapping[str, str], store_env: Mapping[str, str]) -> dict[str, str]:
    """The job's environment: the engine's, the store's variables, and Open MPI's defaults
    where the engine's environment sets none."""
    env = {**base, **store_env}
    for name, value in MCA_DEFAULTS.items():
        env.setdefault(name, value)
    return env


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in text)


class MPILocal(TaskPlugin):
    """Runs each attempt of an ``mpi`` task as an ``mpirun`` job on this machine."""

    name: ClassVar[str] = "mpi-local"
    task_types: ClassVar[tuple[str, ...]] = (TASK_TYPE,)
    poll_interval: ClassVar[float] = 0.2

    def __init__(self, config: MPIConfig | None = None, home: Path | None = None) -> None:
        self.config = config or MPIConfig()
        self._home = home
        self._running: dict[str, anyio.abc.Process] = {}

    def _settings_home(self) -> Path:
        if self._home is None:
            from wingspan.plugin import Settings

            self._home = Settings.load().home
        return self._home

    def command(self, ranks: int, folder: JobFolder) -> list[str]:
        mpirun = shutil.which(self.config.mpirun)
        if mpirun is None:
            raise MPILaunchError(
                f"mpirun {self.config.mpirun!r} is not on PATH: install Open MPI (on Debian: apt-get "
                "install openmpi-bin libopenmpi-dev) or set [plugins.mpi] mpirun to its path")
        root = ["--allow-run-as-root"] if os.geteuid() == 0 else []
        return [mpirun, *root, "-np", str(ranks), "--tag-output", *shlex.split(self.config.mpirun_args),
                sys.executable, "-m", "wingspan_mpi._rank", str(folder.path)]

    # ---- the contract ---------------------------------------------------------------------

    async def start(self, ctx: TaskContext) -> Handle:
        mpi = task_config(ctx.template)
        attempt_id = uuid.uuid4().hex
        logs = ctx.work_dir or self._settings_home() / "logs" / _safe(ctx.execution_id)
        folder = JobFolder(logs / "mpi" / attempt_id)
        log = logs / f"{_safe(ctx.node_id)}-{ctx.attempt}.log"
        store = ctx.transfer.store
        sys_path, cwd, main_path = await self._code(ctx)
        code = ctx.template.code
        request = {
            "module": code.module if code else "", "qualname": code.qualname if code else "",
            "main_path": main_path, "sys_path": sys_path, "cwd": cwd, "task": ctx.task_name,
            "storage": store.root if store is not None else "", "prefix": ctx.transfer.prefix,
            "offload": ctx.transfer.offload_threshold, "execution_id": ctx.execution_id,
            "node_id": ctx.node_id, "attempt": ctx.attempt,
        }
        await anyio.to_thread.run_sync(folder.write_request, request, encode(ctx.inputs))
        argv = self.command(mpi.ranks, folder)
        env = mpi_environment(os.environ, store.environment() if store is not None else {})
        output = await anyio.to_thread.run_sync(_open_log, log)
        try:
            process = await anyio.open_process(argv, stdin=subprocess.DEVNULL, stdout=output,
                                               stderr=subprocess.STDOUT, env=env, start_new_session=True)
        except OSError as exc:
            raise MPILaunchError(f"{argv[0]} could not be started: {exc}") from exc
        finally:
            os.close(output)  # the child has its own descriptor
        self._running[attempt_id] = process
        return {"attempt_id": attempt_id, "pid": process.pid, "folder": str(folder.path), "log": str(log),
                "ranks": mpi.ranks}

    async def _code(self, ctx: TaskContext) -> tuple[list[str], str, str]:
        """Where the ranks find the task's code: its unpacked bundle (registered code), else
        what this process imports (a local run), as the local-process target's workers do."""
        code = ctx.template.code
        if code is not None and code.bundle_uri:
            if ctx.transfer.store is None:
                raise MPILaunchError(f"task {ctx.task_name}: its code bundle {code.bundle_uri} cannot be "
                                     "fetched without a blob store")
            from wingspan.core.bundles import BundleLimits, fetch_bundle
            from wingspan.plugin import Settings

            limits = BundleLimits.from_settings(Settings.load())
            folder = self._settings_home() / "bundles"
            bundle = await fetch_bundle(ctx.transfer.store, code.bundle_uri, folder, limits)
            return [str(bundle), *sys.path], str(bundle), ""
        main_path = ""
        if code is not None and code.module == "__main__":
            main_path = str(getattr(sys.modules.get("__main__"), "__file__", "") or "")
        return list(sys.path), os.getcwd(), main_path

    async def watch(self, ctx: TaskContext, handle: Handle) -> TaskStatus:
        process = self._running.get(handle["attempt_id"])
        if process is None:  # started by another process (or instance): poll its handle
            return await super().watch(ctx, handle)
        try:
            with anyio.move_on_after(ctx.timeout) as scope:
                await process.wait()
            if scope.cancelled_caught:
                await self._stop(process)
                stopped = timed_out(ctx.timeout or 0, ctx.node_id)
                error = ExecutionError(
                    code=stopped.code, kind=stopped.kind, retryable=stopped.retryable, node_id=ctx.node_id,
                    occurred_at=stopped.occurred_at,
                    message=f"{stopped.message} (mpirun and all {handle['ranks']} ranks were killed)")
                return TaskStatus(TaskPhase.TIMED_OUT, logs=_logs(handle), reason="timed out", error=error)
            # a lost rank: mpirun ends the job itself; what is left of it must not linger
            await self._stop(process)
            return await anyio.to_thread.run_sync(_outcome, handle, ctx.node_id, process.returncode)
        except BaseException:
            with anyio.CancelScope(shield=True):  # aborted: the job must not outlive its execution
                await self._stop(process)
            raise
        finally:
            self._running.pop(handle["attempt_id"], None)

    async def _stop(self, process: anyio.abc.Process) -> None:
        kill_session(process.pid)
        await process.wait()
        # the ranks are mpirun's children, reaped by it or, once it is gone, by init
        with anyio.move_on_after(self.config.stop_grace):
            while session_members(process.pid):
                kill_session(process.pid)
                await anyio.sleep(0.02)

    async def poll(self, ctx: TaskContext, handle: Handle) -> TaskStatus:
        if await anyio.to_thread.run_sync(_job_runs, handle):
            return TaskStatus(TaskPhase.RUNNING, logs=_logs(handle))
        return await anyio.to_thread.run_sync(_outcome, handle, ctx.node_id, None)

    async def abort(self, ctx: TaskContext, handle: Handle) -> None:
        process = self._running.pop(handle["attempt_id"], None)
        if process is not None:
            await self._stop(process)
        else:
            await anyio.to_thread.run_sync(kill_session, int(handle["pid"]), handle["folder"])

    async def aclose(self) -> None:
        for process in list(self._running.values()):
            await self._stop(process)
        self._running.clear()


def _open_log(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)


def _logs(handle: Handle) -> tuple[TaskLog, ...]:
    return (TaskLog("stdout+stderr (all ranks, tagged)", handle["log"]),)


def _job_runs(handle: Handle) -> bool:
    pid = int(handle["pid"])
    with contextlib.suppress(OSError):
        if handle["folder"].encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
            return pid in session_members(pid)
    return False


def _outcome(handle: Handle, node_id: str, returncode: int | None) -> TaskStatus:
    """The ended job's status, from its folder (and mpirun's exit code and log when known)."""
    folder = JobFolder(Path(handle["folder"]))
    logs = _logs(handle)
    failures = folder.failures()
    if failures:
        failed = failures[0]
        exception = None
        if failed.exception is not None:
            with contextlib.suppress(Exception):
                exception = _unpickle(failed.exception)
        error = ExecutionError(code=failed.code, message=failed.message,
                               kind=ErrorKind.USER if failed.user_error else ErrorKind.SYSTEM,
                               retryable=failed.retryable, node_id=node_id, occurred_at=datetime.now(UTC))
        return TaskStatus(TaskPhase.FAILED, logs=logs, reason=failed.code, error=error, exception=exception)
    lost = _lost_rank(Path(handle["log"]))
    if folder.outputs.exists() and lost is None and returncode in (0, None):
        return TaskStatus(TaskPhase.SUCCEEDED, decode(LiteralMap, folder.outputs.read_bytes()), logs)
    if lost is not None:
        rank, signal_number, name = lost
        exc = MPIRankLostError(f"rank {rank} of {handle['ranks']} died of signal {signal_number} ({name}); "
                               "mpirun stopped the other ranks, and the attempt is retried if the task has "
                               "retries left")
    else:
        exc = MPIRankLostError(f"mpirun ended (exit code {returncode}) with no outputs from rank 0 and no "
                               f"rank's error; see its log {handle['log']}")
    return TaskStatus(TaskPhase.FAILED, logs=logs, reason="rank lost",
                      error=error_from_exception(exc, node_id), exception=exc)


def _lost_rank(log: Path) -> tuple[int, int, str] | None:
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return None
    found = _LOST.search(text)
    if found is None:
        return None
    return int(found.group(1)), int(found.group(3)), found.group(4) or "?"


def _unpickle(data: bytes) -> BaseException:
    import pickle

    exception: BaseException = pickle.loads(data)
    return exception
