"""The backend half where bodies run: ``RayEnvironment`` connects a ``ray`` task's body to a
local Ray cluster.

It is entered around each attempt of a ``ray`` task in the process that runs the body (a
``ray-local`` worker by default). The first attempt starts a one-node cluster with the task's
CPUs and object store (no dashboard) through ``ray.init``; later attempts of the same shape
find it warm, which saves the seconds a start costs. Ray allows one cluster per process: a task
of another shape replaces it (the ``ray-local`` target keeps shapes on workers of their own, so
that is rare). A reaper process (``_reaper``) ends what is left of the cluster when the process
that started it is killed.

What goes wrong on the cluster comes out named: a remote function that raised is a
``RayRemoteTaskError`` naming it and its exception (a user error, retried as any); a worker,
actor or node that died under the work is a ``RayWorkerLostError`` (the platform's fault,
retryable).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import os
import re
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from wingspan.core.types.naturals import to_natural
from wingspan.plugin import TaskEnvironment
from wingspan_ray._config import RayConfig
from wingspan_ray._errors import RayRemoteTaskError, RayWorkerLostError
from wingspan_ray._reaper import MARKER_VARIABLE
from wingspan_ray._task_config import TASK_TYPE, Ray

if TYPE_CHECKING:
    from wingspan.core.engine.context import ExecutionContext
    from wingspan.plugin import TaskTemplate

__all__ = ["RayEnvironment", "task_config"]

_log = logging.getLogger("wingspan.ray")


def task_config(template: TaskTemplate) -> Ray:
    """The task's ``Ray(...)`` from its template (the defaults when it has none)."""
    custom = template.custom
    if custom is None:
        return Ray()
    return Ray.from_custom({name: to_natural(literal) for name, literal in custom.literals.items()})


class RayEnvironment(TaskEnvironment):
    """A local Ray cluster for every ``ray`` task body, kept warm by shape."""

    task_types = (TASK_TYPE,)
    provides = ("ray_address",)

    def __init__(self, config: RayConfig | None = None) -> None:
        self.config = config or RayConfig()
        self._lock = threading.Lock()
        self._shape = ""
        self._address = ""
        self._pid = os.getpid()
        self._reaper: subprocess.Popen[bytes] | None = None
        self._starter: concurrent.futures.ThreadPoolExecutor | None = None
        #: clusters this process started: what warm reuse saves
        self.cold_starts = 0

    @contextlib.contextmanager
    def enter(self, template: TaskTemplate, context: ExecutionContext) -> Iterator[Mapping[str, Any]]:
        ray = task_config(template)
        with self._lock:  # one cluster per process: attempts of one worker run one at a time
            address = self._acquire(ray)
            try:
                yield {"ray_address": address}
            except Exception as exc:
                named = _named(exc, context)
                if named is exc:
                    raise
                raise named from exc

    def _acquire(self, ray_config: Ray) -> str:
        import ray

        if os.getpid() != self._pid:  # a forked child: the parent's connection is not ours
            self._shape, self._address, self._pid, self._starter = "", "", os.getpid(), None
        if os.environ.get("RAY_ADDRESS"):
            return self._join(os.environ["RAY_ADDRESS"])
        shape = ray_config.shape()
        if self._shape == shape and ray.is_initialized():
            return self._address
        if ray.is_initialized():
            _log.info("replacing this process's Ray cluster (shape %s) for one of shape %s",
                      self._shape, shape)
            ray.shutdown()
        # Ray's processes die with the thread that started them (their parent-death signal is
        # per thread): start them from a thread that lives as long as the process, not from the
        # attempt's worker thread, which ends when idle
        if self._starter is None:
            self._starter = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="wingspan-ray-start")
        self._starter.submit(self._start, ray_config).result()
        self._shape = shape
        return self._address

    def _join(self, address: str) -> str:
        """In a Ray job's driver (``RAY_ADDRESS`` set by its head): the job's own cluster."""
        import ray

        if not ray.is_initialized():
            context = ray.init(address=address, logging_level=logging.WARNING)
            info: dict[str, Any] = getattr(context, "address_info", {})
            self._address = str(info.get("address", "") or address)
        return self._address

    def _start(self, ray_config: Ray) -> None:
        import ray

        self.cold_starts += 1
        marker = uuid.uuid4().hex
        if self._reaper is None or self._reaper.poll() is not None:
            self._reaper = None
        # every process of the cluster inherits the marker; the reaper kills them by it
        reaper = subprocess.Popen([sys.executable, "-m", "wingspan_ray._reaper", str(os.getpid()), marker],
                                  stdin=subprocess.DEVNULL, start_new_session=True,
                                  env={k: v for k, v in os.environ.items() if k != MARKER_VARIABLE})
        os.environ[MARKER_VARIABLE] = marker
        try:
            context = ray.init(
                # always a new local cluster: with no address, Ray would join the last one that
                # `ray start` left on this machine (/tmp/ray/ray_current_cluster), if any
                address="local", num_cpus=ray_config.num_cpus,
                object_store_memory=ray_config.head.object_store_mb * 1024 * 1024,
                include_dashboard=False, runtime_env=ray_config.runtime_env,
                _temp_dir=self.config.temp_dir or None, logging_level=logging.WARNING, log_to_driver=True,
            )
        except BaseException:
            reaper.kill()
            raise
        finally:
            os.environ.pop(MARKER_VARIABLE, None)
        if self._reaper is not None:
            self._reaper.kill()  # the cluster it watched was shut down
        self._reaper = reaper
        info: dict[str, Any] = getattr(context, "address_info", {})  # a local cluster's RayContext
        self._address = str(info.get("address", ""))

    def close(self) -> None:
        if os.getpid() != self._pid:
            return
        with contextlib.suppress(Exception):
            import ray

            if ray.is_initialized():
                ray.shutdown()


_REMOTE_TITLE = re.compile(r"ray::([\w.<>]+)\(")


def _named(exc: Exception, context: ExecutionContext) -> Exception:
    """``exc`` as a named error when the cluster raised it; else ``exc`` itself."""
    from ray import exceptions

    task = f"task {context.task_name!r}" if context.task_name else f"node {context.node_id!r}"
    if isinstance(exc, exceptions.RayTaskError):
        # the exception ray.get raises is RayTaskError(<the cause's class>), carrying the cause;
        # its text starts with the remote process's title, "ray::<function>()"
        cause = getattr(exc, "cause", None)
        titled = _REMOTE_TITLE.search(str(exc))
        function = getattr(exc, "function_name", None) or (titled.group(1) if titled else "?")
        raised = f"{type(cause).__name__}: {cause}" if isinstance(cause, BaseException) else str(exc)
        return RayRemoteTaskError(f"{task}: the Ray task {function!r} raised {raised}\n\n{exc}")
    lost = (exceptions.WorkerCrashedError, exceptions.ActorDiedError, exceptions.NodeDiedError,
            exceptions.OutOfMemoryError, exceptions.ObjectLostError)
    if isinstance(exc, lost):
        return RayWorkerLostError(f"{task}: a Ray worker died under the body's work ({type(exc).__name__}: "
                                  f"{exc}); the attempt is retried if the task has retries left")
    return exc
