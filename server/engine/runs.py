"""Driving one claimed execution: the same engine as a local run (a WorkflowRun), resumed
from what the database recorded of it, its events written under this replica's lease.

Nothing that succeeded runs again; attempts still running are followed through their
stored handles. An execution terminated while nobody ran it ends ABORTED here, after the
attempts an earlier run left running are aborted.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import anyio

from wingspan.core import tracing
from wingspan.core.engine import AttemptRequest, EventSink, RetryPolicy, WorkflowRun
from wingspan.core.engine.caching import TaskCache
from wingspan.core.engine.journal import Journal, RecordedAttempt
from wingspan.core.errors import ConfigError
from wingspan.core.model import codec
from wingspan.core.model.execution import WorkflowPhase
from wingspan.core.model.execution_spec import ExecutionMode, ExecutionSpec
from wingspan.core.model.literals import LiteralMap
from wingspan.core.model.settings import apply_to_tasks
from wingspan.core.model.workflows import CompiledWorkflowClosure
from wingspan.core.plugins import Handle, PluginExecutor
from wingspan.server.db.engine import utc
from wingspan.server.db.models import ExecutionRow, key
from wingspan.server.db.wakeups import Doorbell
from wingspan.server.engine.aborts import abort_left_running
from wingspan.server.engine.catalog import ServerCatalog
from wingspan.server.engine.closures import called_launch_plans, execution_closure
from wingspan.server.engine.journal import StoredRun, journal_of, read_stored_run, recovered_journal
from wingspan.server.engine.leases import RUNNABLE
from wingspan.server.engine.resolver import RegisteredResolver
from wingspan.server.engine.signals import DatabaseSignals
from wingspan.server.engine.sink import DatabaseSink, EventWriter
from wingspan.server.metrics import EngineMetrics, MeteredSink

if TYPE_CHECKING:
    from wingspan.core.plugins import TaskPluginRegistry
    from wingspan.server.services.admin import AdminService

__all__ = ["ClaimedExecution", "ExecutionDriver"]


class ClaimedExecution:
    """An execution this replica holds the lease of, and what acts on it once its run is
    made: detached, it records nothing more and leaves its attempts running."""

    __slots__ = ("executor", "key", "lost", "metered", "run", "scope", "sink")

    def __init__(self, execution_key: int) -> None:
        self.key = execution_key
        self.scope = anyio.CancelScope()
        self.sink: DatabaseSink | None = None
        #: what the metrics see of the run (its attempts running), when the server keeps metrics
        self.metered: MeteredSink | None = None
        self.executor: PluginExecutor | None = None
        self.run: WorkflowRun | None = None
        self.lost = False  # its lease went to another replica

    def detach(self) -> None:
        if self.sink is not None:
            self.sink.detach()
        if self.executor is not None:
            self.executor.detached = True


class StartsInFlight:
    """How many attempts are starting (their start recorded, their handle not yet): a graceful
    stop waits for none before it stores what was recorded."""

    def __init__(self) -> None:
        self.count = 0
        self._none = anyio.Event()
        self._none.set()

    @contextlib.contextmanager
    def open(self) -> Iterator[None]:
        if self.count == 0:
            self._none = anyio.Event()
        self.count += 1
        try:
            yield
        finally:
            self.count -= 1
            if self.count == 0:
                self._none.set()

    async def none(self) -> None:
        """Returns once no attempt is starting."""
        await self._none.wait()


class _AttemptRecorder:
    """Stores an attempt's start before it happens (waited for: a crash then leaves a trace) and
    its handle right after (not waited for: it goes with the next write; an attempt whose
    handle could not be stored is aborted, see :mod:`~wingspan.server.engine.sink`).

    Once the engine is ``stopping`` no attempt starts: one about to is held until the stop
    cancels its run, and the successor starts it (an attempt started now would have a handle
    the stop may not store, and be aborted or run twice)."""

    def __init__(self, sink: DatabaseSink, metered: MeteredSink | None, registry: TaskPluginRegistry,
                 retry: RetryPolicy, stopping: Callable[[], bool], starts: StartsInFlight) -> None:
        self.sink = sink
        self.starts = starts
        self.metered = metered
        self.registry = registry
        self.retry = retry
        self.stopping = stopping

    async def before_start(self, request: AttemptRequest) -> None:
        await self._held_while_stopping()
        await self.sink.flush()
        await self._held_while_stopping()  # the stop began while the start was being stored

    def starting(self) -> contextlib.AbstractContextManager[object]:
        return self.starts.open()

    async def _held_while_stopping(self) -> None:
        if self.stopping():
            await anyio.sleep_forever()  # until the stop cancels the run

    async def started(self, request: AttemptRequest, plugin: str, handle: Handle) -> None:
        self.sink.record_attempt_handle(
            request.node_id, request.attempt, request.runner.template.id, plugin, handle,
            map_item=request.map_item, abort=functools.partial(self._abort, request, plugin, handle),
        )
        if self.metered is not None:
            self.metered.attempt_started(request.node_id, request.attempt, plugin)

    async def _abort(self, request: AttemptRequest, plugin: str, handle: Handle) -> None:
        journal = Journal(running={request.node_id: RecordedAttempt(request.attempt, plugin, handle, None)})
        await abort_left_running(self.registry, journal, request.execution_id, retry=self.retry)


class ExecutionDriver:
    """Runs claimed executions of replica ``replica_id`` to their end, one call each."""

    def __init__(
        self,
        admin: AdminService,
        registry: TaskPluginRegistry,
        work_dir: Path,
        *,
        replica_id: str,
        retry: RetryPolicy,
        poll_interval: float = 0.2,
        metrics: EngineMetrics | None = None,
    ) -> None:
        self.admin = admin
        self.metrics = metrics
        self.registry = registry
        self.work_dir = work_dir
        self.replica_id = replica_id
        self.retry = retry
        self.poll_interval = poll_interval
        #: a graceful stop began: no attempt starts any more (see ``EngineWorker.drain``)
        self.stopping = False
        #: the attempts of every run here whose start is recorded and handle not yet
        self.starts = StartsInFlight()
        #: rung by execution key when a signal of it is set (gates waiting on it read again)
        self.signals_set = Doorbell()
        # writes the events of every execution run here, together (run by the worker)
        self.writer = EventWriter(admin.events)
        self._cache = TaskCache(
            ServerCatalog(admin.catalog), store=lambda: admin.store, root=admin.store.root
        )

    async def drive(self, claimed: ClaimedExecution, *, on_lease_lost: Callable[[], None]) -> None:
        """Runs the execution to its end (returns at once when it has nothing left to run)."""
        admin = self.admin
        async with admin.db.read() as session:  # one read: the row and what earlier runs stored
            row = await session.get(ExecutionRow, claimed.key)
            if row is None or row.phase not in RUNNABLE:
                return
            stored = await read_stored_run(session, claimed.key)
        if self.metrics is not None and row.phase == int(WorkflowPhase.QUEUED):
            self.metrics.claimed(utc(row.created_at))
        sink = claimed.sink = DatabaseSink(
            self.writer,
            row.project,
            row.domain,
            row.name,
            producer=self.replica_id,
            first_sequence=stored.last_sequence,
            owner=self.replica_id,
            on_lease_lost=on_lease_lost,
        )
        execution_id = f"{row.project}/{row.domain}/{row.name}"
        async with anyio.create_task_group() as group:
            group.start_soon(sink.run)
            try:
                with tracing.log_fields(execution_id=execution_id):
                    if row.phase == int(WorkflowPhase.ABORTING):
                        await self._end_aborted(row, stored, sink)
                    else:
                        await self._run(row, stored, sink, claimed)
            finally:
                await sink.aclose()

    async def _end_aborted(self, row: ExecutionRow, stored: StoredRun, sink: DatabaseSink) -> None:
        """Terminated while nobody ran it: stops what an earlier run left running, ends it."""
        execution_id = f"{row.project}/{row.domain}/{row.name}"
        journal = await journal_of(self.admin.payloads, stored)
        await abort_left_running(self.registry, journal, execution_id, retry=self.retry)
        empty = CompiledWorkflowClosure()
        run = WorkflowRun(empty, {}, RegisteredResolver(empty, {}), execution_id=execution_id, sink=sink)
        run.state.workflow(WorkflowPhase.ABORTED, reason=row.reason or "terminated")
        await sink.flush()

    async def _run(self, row: ExecutionRow, stored: StoredRun, sink: DatabaseSink,
                   claimed: ClaimedExecution) -> None:
        admin = self.admin
        spec = codec.decode(ExecutionSpec, row.spec_bytes)
        # the resolved settings give each task the defaults and caps it does not set itself
        closure = apply_to_tasks(await execution_closure(admin.entities, row), spec.settings)
        inputs_data = await admin.payloads.get(row.inputs_bytes, row.inputs_uri)
        inputs = dict(codec.decode(LiteralMap, inputs_data).literals) if inputs_data else {}
        journal = await self._journal(stored, spec)
        run_sink: EventSink = sink
        if self.metrics is not None:
            run_sink = claimed.metered = MeteredSink(sink, self.metrics)
        registry = self.registry
        if spec.python_target:  # the execution chose where its Python tasks run
            registry = _choosing_python(registry, spec)
        executor = claimed.executor = PluginExecutor(
            registry, store=lambda: admin.store, work_dir=self.work_dir,
            hooks=_AttemptRecorder(sink, claimed.metered, registry, self.retry, lambda: self.stopping,
                                   self.starts),
            settings=spec.settings
        )
        plans, load_plans = await called_launch_plans(admin.entities, closure, executor.run)
        resolver = RegisteredResolver(closure, {}, run_attempt=executor.run, load_plans=load_plans)
        resolver.add_launch_plans(plans)
        claimed.run = WorkflowRun(
            closure,
            inputs,
            resolver,
            execution_id=f"{row.project}/{row.domain}/{row.name}",
            sink=run_sink,
            executor=executor,
            signals=DatabaseSignals(admin.db, key(row), self.poll_interval, self.signals_set),
            max_parallelism=spec.max_parallelism,
            cache=self._cache,
            journal=journal,
        )
        # the trace of the call that created it, on whichever replica runs it, however often resumed
        parent = spec.metadata.trace_parent if spec.metadata is not None else ""
        attributes = {"wingspan.execution_id": claimed.run.execution_id, "wingspan.replica": self.replica_id}
        with tracing.span("execution run", attributes, parent=parent):
            await claimed.run.run()
            await sink.flush()

    async def _journal(self, stored: StoredRun, spec: ExecutionSpec) -> Journal:
        """What the database recorded of the execution; for a recovery, with the outputs of
        the original execution's nodes that succeeded."""
        admin = self.admin
        journal = await journal_of(admin.payloads, stored)
        metadata = spec.metadata
        if (
            metadata is None
            or metadata.mode != ExecutionMode.RECOVER
            or metadata.reference_execution is None
        ):
            return journal
        original = await admin.executions.row(metadata.reference_execution)
        recovered = await recovered_journal(admin.db, admin.payloads, key(original))
        for path, outputs in recovered.outputs.items():
            if path not in journal.outputs:
                journal.outputs[path] = outputs
                journal.recovered.add(path)
        for path, graph in recovered.dynamic.items():
            journal.dynamic.setdefault(path, graph)
        return journal


def _choosing_python(registry: TaskPluginRegistry, spec: ExecutionSpec) -> TaskPluginRegistry:
    """The registry with the execution's python_target chosen; an unknown one names the level of
    the settings that gave it."""
    try:
        return registry.choosing("python", spec.python_target)
    except ConfigError as exc:
        level = next((s.level for s in spec.setting_sources if s.name == "python_target"), "execution")
        raise ConfigError(f"the python_target {spec.python_target!r} of this execution (from its {level} "
                          f"settings) cannot run Python tasks: {exc}") from exc
