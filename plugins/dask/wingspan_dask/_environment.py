"""The backend half where bodies run: ``DaskEnvironment`` gives a ``dask`` task's body a client.

It is entered around each attempt of a ``dask`` task in the process that runs the body (the
in-process executor, a local-process worker, a pod). With no scheduler address it starts a
``distributed.LocalCluster`` of worker processes in the shape the task asks for, and keeps it
warm for the next attempt of that shape: starting one costs seconds, reusing it milliseconds.

What goes wrong on the cluster comes out named: a task that raised on a worker is a
``DaskTaskError`` naming the Dask task, the worker and the worker's exception (a user error,
retried as any); a worker that died under a task is a ``DaskWorkerLostError`` (the platform's
fault, retryable). A forked child (the in-process executor runs a task with a timeout in one)
starts its own cluster: the parent's client cannot be used across a fork, and the child's
workers stop with it when it is killed at its timeout.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from wingspan.core.types.naturals import to_natural
from wingspan.plugin import TaskEnvironment, UserError, WingspanError
from wingspan_dask._config import DaskConfig
from wingspan_dask._task_config import TASK_TYPE, Dask

if TYPE_CHECKING:
    from distributed import Client, LocalCluster

    from wingspan.core.engine.context import ExecutionContext
    from wingspan.plugin import TaskTemplate

__all__ = ["DaskEnvironment", "DaskTaskError", "DaskWorkerLostError"]

_log = logging.getLogger("wingspan.dask")


class DaskTaskError(UserError):
    """A Dask task of the body raised on a worker; the worker's exception is its cause."""

    retryable = True


class DaskWorkerLostError(WingspanError):
    """A Dask worker process died while it ran the body's tasks (killed, out of memory)."""

    retryable = True


def task_config(template: TaskTemplate) -> Dask:
    """The task's ``Dask(...)`` from its template (the defaults when it has none)."""
    custom = template.custom
    if custom is None:
        return Dask()
    return Dask.from_custom({name: to_natural(literal) for name, literal in custom.literals.items()})


@dataclass
class _Warm:
    """A cluster this process started (or a scheduler it connected to), and its client."""

    client: Client
    cluster: LocalCluster | None
    workers: int
    users: int = 0
    last_used: float = field(default_factory=time.monotonic)

    def close(self) -> None:
        with contextlib.suppress(Exception):  # a dead cluster closes with errors; it is gone anyway
            self.client.close()
        if self.cluster is not None:
            with contextlib.suppress(Exception):
                self.cluster.close()


class DaskEnvironment(TaskEnvironment):
    """A Dask client for every ``dask`` task body, its local clusters kept warm by shape."""

    task_types = (TASK_TYPE,)
    provides = ("dask_client",)

    def __init__(self, config: DaskConfig | None = None) -> None:
        self.config = config or DaskConfig()
        self._lock = threading.Lock()
        self._warm: dict[tuple[Any, ...], _Warm] = {}
        self._pid = os.getpid()
        #: clusters started (or schedulers connected to) by this process: what warm reuse saves
        self.cold_starts = 0

    @contextlib.contextmanager
    def enter(self, template: TaskTemplate, context: ExecutionContext) -> Iterator[Mapping[str, Any]]:
        dask = task_config(template)
        # a DaskJob's runner pod is given its cluster's scheduler by the operator
        address = dask.scheduler or self.config.scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS", "")
        warm = self._acquire(dask, address)
        started = time.time()
        try:
            yield {"dask_client": warm.client}
        except Exception as exc:
            named = _named(exc, warm.client, started, context)
            if named is exc:
                raise
            raise named from exc
        finally:
            with self._lock:
                warm.users -= 1
                warm.last_used = time.monotonic()

    def _acquire(self, dask: Dask, address: str) -> _Warm:
        key: tuple[Any, ...] = ((address,) if address else
                                (dask.workers, dask.threads_per_worker, dask.memory_limit))
        with self._lock:
            if os.getpid() != self._pid:
                # a forked child: the parent's clients and clusters are not ours to use or close
                self._warm, self._pid = {}, os.getpid()
            warm = self._warm.get(key)
            if warm is not None and not _alive(warm):
                _log.warning("the warm Dask cluster %s is gone; starting another", key)
                del self._warm[key]
                warm.close()
                warm = None
            if warm is None:
                self._close_idle(keep=self.config.warm_clusters - 1)
                warm = self._warm[key] = self._start(dask, address)
            warm.users += 1
        if warm.cluster is not None:  # a worker the nanny restarts after a crash comes back
            warm.client.wait_for_workers(warm.workers, timeout=self.config.start_timeout)
        return warm

    def _start(self, dask: Dask, address: str) -> _Warm:
        from distributed import Client, LocalCluster

        self.cold_starts += 1
        if address:
            return _Warm(Client(address, timeout=self.config.start_timeout), None, 0)
        cluster = LocalCluster(
            n_workers=dask.workers, threads_per_worker=dask.threads_per_worker,
            memory_limit=dask.memory_limit, processes=True,
            # no dashboard; its HTTP server (health checks) on a free port, not 8787: one
            # process's cluster would keep another's from starting
            dashboard_address=":0", scheduler_kwargs={"dashboard": False},
            silence_logs=logging.ERROR, timeout=self.config.start_timeout,
        )
        try:
            client = Client(cluster)  # Dask's default client: ``ddf.compute()`` in the body uses it
            client.get_task_stream(start=time.time())  # records the tasks' workers and failures from now
        except BaseException:
            cluster.close()
            raise
        return _Warm(client, cluster, dask.workers)

    def _close_idle(self, keep: int) -> None:
        idle = sorted((w.last_used, key) for key, w in self._warm.items() if w.users == 0)
        for _, key in idle[:max(0, len(idle) - max(keep, 0))]:
            self._warm.pop(key).close()

    def close(self) -> None:
        with self._lock:
            warm, self._warm = list(self._warm.values()), {}
            ours = os.getpid() == self._pid
        if ours:
            for item in warm:
                item.close()


def _alive(warm: _Warm) -> bool:
    if warm.client.status != "running":
        return False
    return warm.cluster is None or warm.cluster.status.name == "running"


def _named(exc: Exception, client: Client, since: float, context: ExecutionContext) -> Exception:
    """``exc`` as a named error when the cluster raised it; else ``exc`` itself."""
    from distributed import KilledWorker

    task = f"task {context.task_name!r}" if context.task_name else f"node {context.node_id!r}"
    if isinstance(exc, KilledWorker):
        return DaskWorkerLostError(
            f"{task}: a Dask worker died while running {exc.task!r} ({exc}); the cluster restarts "
            "its workers, and the attempt is retried if the task has retries left")
    failed = _failed_on_worker(client, since, exc)
    if failed is None:
        return exc
    key, worker = failed
    return DaskTaskError(f"{task}: the Dask task {key!r} failed on worker {worker}: "
                         f"{type(exc).__name__}: {exc}")


def _failed_on_worker(client: Client, since: float, exc: Exception) -> tuple[str, str] | None:
    """The key and worker of the task that failed on the cluster with ``exc``, if one did: one
    that ran and failed since ``since``, else one the scheduler still holds as failed with this
    very exception (a retried attempt resubmitting the same task gets its remembered error
    without a new run; an older failure with another exception is not this one)."""
    try:
        # with this very exception too: the records carry the workers' times as the scheduler
        # corrects them, and under load an earlier task's failure was found after ``since``
        for record in client.get_task_stream(start=since):
            if record.get("status") == "error" and record.get("exception_text") == repr(exc):
                return str(record.get("key")), str(record.get("worker"))
        held: list[tuple[str, str, str]] = client.run_on_scheduler(_erred_tasks)
    except Exception:  # the cluster is unreachable: nothing to name
        return None
    return next(((key, worker) for key, worker, text in held if text == repr(exc)), None)


def _erred_tasks(dask_scheduler: Any) -> list[tuple[str, str, str]]:
    """Runs on the scheduler: the failed tasks it holds, the worker each failed on, and the
    repr of its exception."""
    return [(str(key), ", ".join(sorted(task.erred_on)) or "?", str(task.exception_text or ""))
            for key, task in dask_scheduler.tasks.items() if task.state == "erred"]
