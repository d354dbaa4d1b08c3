"""The task-plugin contract: how the engine runs one attempt on any target.

A task plugin serves one or more task types. The engine calls ``start`` once per
attempt and keeps the returned handle; it then ``watch``es the attempt (by default a
loop of ``poll`` calls) until the status is terminal, and calls ``abort`` when the
execution is aborted. The handle is plain JSON-able data stored with the task
execution, so another process (another engine replica) can resume polling it.

Inputs and outputs cross the plugin boundary as literals; the context carries the
blob store for files and data frames, and a folder for the attempt's logs.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import anyio

from wingspan.core.model.execution import ExecutionError, TaskPhase
from wingspan.core.model.literals import LiteralMap
from wingspan.core.model.tasks import TaskTemplate
from wingspan.core.types.transformer import TransferContext

if TYPE_CHECKING:
    from wingspan.core.engine.context import ExecutionContext
    from wingspan.core.engine.interfaces import TaskRunner, TemplateLauncher
    from wingspan.core.model.settings import ExecutionSettings

__all__ = ["TERMINAL", "Handle", "ReadsLogs", "RunsChunks", "TaskContext", "TaskEnvironment", "TaskLog",
           "TaskPlugin", "TaskStatus"]

#: what ``start`` returns: plain JSON-able data (str, int, float, bool, None, lists, dicts)
Handle = dict[str, Any]

TERMINAL = frozenset({TaskPhase.SUCCEEDED, TaskPhase.FAILED, TaskPhase.TIMED_OUT, TaskPhase.ABORTED})


@dataclass(frozen=True)
class TaskLog:
    """Where a part of an attempt's logs is: a name ("stdout+stderr") and a URI or path."""

    name: str
    uri: str


@dataclass
class TaskStatus:
    """An attempt as a plugin sees it: phase, outputs (when succeeded), logs, reason."""

    phase: TaskPhase
    outputs: LiteralMap | None = None
    logs: tuple[TaskLog, ...] = ()
    reason: str = ""
    error: ExecutionError | None = None
    # the exception raised by task code, when the plugin could bring it back
    exception: BaseException | None = None
    # a dynamic task's attempt: the graph its body made (a DynamicJobSpec in IDL bytes)
    dynamic_spec: bytes = b""

    @property
    def terminal(self) -> bool:
        return self.phase in TERMINAL


@dataclass
class TaskContext:
    """One attempt of one task, as a plugin receives it."""

    template: TaskTemplate
    inputs: LiteralMap
    execution_id: str
    node_id: str
    attempt: int
    # seconds the attempt may run; the plugin stops it then (TIMED_OUT)
    timeout: float | None = None
    # blob store and prefix for the outputs the attempt writes
    transfer: TransferContext = field(default_factory=TransferContext)
    # a folder for this execution's logs and scratch files
    work_dir: Path | None = None
    # the task as this process knows it (Python objects); None when resumed elsewhere
    runner: TaskRunner | None = None
    # the inputs as Python objects, when the engine has them (in-process targets)
    python_inputs: dict[str, Any] | None = None
    # an eager body's attempt: runs a task it awaits as a child node (its template, a label,
    # its inputs as literals) and returns that task's outputs (literals)
    eager_calls: TemplateLauncher | None = None
    # the execution's resolved settings (a server's; None in a local run): where a plugin that
    # places work on a cluster reads the labels, annotations, service account and namespace
    # template; resources and interruptible are already applied to ``template``
    settings: ExecutionSettings | None = None
    # the W3C traceparent of the attempt's span when the engine traces ("" when not): a plugin
    # hands it to what runs the body (the TRACEPARENT variable of a pod), so the body's spans
    # join the execution's trace
    traceparent: str = ""

    @property
    def task_name(self) -> str:
        return self.template.id.name if self.template.id else ""


class TaskPlugin(abc.ABC):
    """Runs attempts of the task types in ``task_types``; asynchronous by contract."""

    #: how configuration names this plugin (``task_targets = "python=local-process"``)
    name: ClassVar[str] = ""
    #: task types it can serve
    task_types: ClassVar[tuple[str, ...]] = ()
    #: seconds between polls when the plugin does not watch
    poll_interval: ClassVar[float] = 0.5

    @abc.abstractmethod
    async def start(self, ctx: TaskContext) -> Handle:
        """Starts the attempt; returns its handle (plain data) without waiting for its end."""

    @abc.abstractmethod
    async def poll(self, ctx: TaskContext, handle: Handle) -> TaskStatus:
        """The attempt's status now; may be called from a process other than the starter's."""

    @abc.abstractmethod
    async def abort(self, ctx: TaskContext, handle: Handle) -> None:
        """Stops the attempt; returns once it no longer runs (or cannot be reached)."""

    def log_links(self, handle: Handle) -> tuple[TaskLog, ...]:
        """Where a started attempt's logs are, known from its handle alone (a file, a pod's
        log page), shown while it runs; by default none until its status gives them."""
        return ()

    async def watch(self, ctx: TaskContext, handle: Handle) -> TaskStatus:
        """Waits for the attempt's terminal status. By default polls; a plugin that is told
        when the attempt ends (a pipe, a Kubernetes watch) overrides this."""
        delay = min(0.01, self.poll_interval)
        while True:
            status = await self.poll(ctx, handle)
            if status.terminal:
                return status
            await anyio.sleep(delay)
            delay = min(delay * 2, self.poll_interval)

    async def aclose(self) -> None:  # noqa: B027 (optional: most hold nothing)
        """Releases what the plugin holds (worker processes, clients)."""


class ReadsLogs(abc.ABC):
    """An optional ability of a task plugin, declared by inheriting it beside TaskPlugin
    (``class PodPlugin(TaskPlugin, ReadsLogs)``): it reads an attempt's log from its handle,
    while the attempt runs and after. The server then serves that log through its log API
    (``wingspan logs``); a plugin without it shows only its ``TaskStatus.logs`` links."""

    @abc.abstractmethod
    async def read_logs(self, handle: Handle, offset: int = 0) -> bytes:
        """The attempt's log so far from byte ``offset`` (b"" when there is none yet)."""


class RunsChunks(abc.ABC):
    """An optional ability of a task plugin, declared by inheriting it beside TaskPlugin
    (``class LocalProcessTarget(TaskPlugin, RunsChunks)``): it runs many attempts of one
    Python task (a map's items) in one round trip, one after another, each bound by its own
    ``timeout``. A map then sends its items in chunks instead of an attempt each; a plugin
    without it (a pod per attempt) keeps the attempt per item.

    A chunk has no handle: it is not followed from another process, and a chunk cut short by
    the engine's stop is run again by the engine that resumes the execution."""

    @abc.abstractmethod
    async def run_chunk(self, contexts: Sequence[TaskContext]) -> list[TaskStatus | None]:
        """Runs the attempts in order; a terminal status for each, in order, or None for each
        attempt the chunk did not reach (its worker died or timed out on an earlier one): the
        engine runs those again on their own."""


class TaskEnvironment(abc.ABC):
    """What a plugin sets up around a Python task body of its task types (a Spark session, a
    Dask client, an MPI rank), in whichever process runs the body: this one, a local-process
    worker or a pod. The values ``enter`` yields become attributes of ``current_context()``
    for the attempt (``current_context().spark_session``).

    One object lives as long as the process that runs bodies, so it may keep warm state (a
    JVM, a cluster) from one attempt to the next; ``close`` releases it when the process ends.
    ``enter`` may block (it runs in a worker thread); it spans the attempt's input and output
    conversions as well as the body, so the plugin's type transformers can use what it set up.
    """

    #: the task types whose bodies run inside this environment
    task_types: ClassVar[tuple[str, ...]] = ()
    #: the ``current_context()`` attributes it gives, named in the error a task gets when it
    #: asks for one outside these task types
    provides: ClassVar[tuple[str, ...]] = ()

    @abc.abstractmethod
    def enter(self, template: TaskTemplate,
              context: ExecutionContext) -> AbstractContextManager[Mapping[str, Any]]:
        """A context manager around one attempt; what it yields is added to ``context``."""

    def close(self) -> None:  # noqa: B027 (optional: most keep nothing between attempts)
        """Releases what the environment keeps between attempts (called once, at process end)."""
