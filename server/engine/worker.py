"""The engine in the server: claims runnable executions and runs each to its end.

An execution is claimed with a lease (owner, expiry) that a heartbeat extends; a
replica that stops heartbeating loses its executions to others, and a restarted
server takes its own back at once. A claimed execution runs through the same engine
as a local run, resumed from whatever the database recorded of it (a Journal):
nothing that succeeded runs again, attempts still running are followed through
their stored handles. Terminating an execution (phase ABORTING) aborts its run.

Fencing: every batch of events is written only while this replica holds the lease
(checked with the execution's row locked). A replica that finds its lease lost (a
write refused, or a heartbeat that could not extend it) detaches that run at once:
no more events, its attempts left running for the replica that took over.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import uuid
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
from sqlalchemy import or_, update
from sqlmodel import col, select

from wingspan.core.compiler import compile_workflow
from wingspan.core.engine import WorkflowRun
from wingspan.core.engine.caching import TaskCache
from wingspan.core.engine.interfaces import AttemptRequest
from wingspan.core.model import codec
from wingspan.core.model.execution import WorkflowPhase
from wingspan.core.model.interface import Identifier, ResourceType
from wingspan.core.model.launch_plans import LaunchPlanSpec
from wingspan.core.model.literals import LiteralMap
from wingspan.core.model.workflows import (
    START_NODE,
    Binding,
    BindingData,
    CompiledWorkflowClosure,
    Node,
    OutputReference,
    TaskNode,
    WorkflowMetadata,
    WorkflowTemplate,
)
from wingspan.core.plugins.contract import Handle, TaskContext
from wingspan.core.plugins.executor import PluginExecutor
from wingspan.server.db.engine import now
from wingspan.server.db.models import ExecutionRow, LaunchPlanRow, key
from wingspan.server.engine.catalog import ServerCatalog
from wingspan.server.engine.journal import load_journal, recovered_journal
from wingspan.server.engine.resolver import RegisteredResolver, launch_plan_ids, plan_target
from wingspan.server.engine.signals import DatabaseSignals
from wingspan.server.engine.sink import DatabaseSink
from wingspan.server.services.idl import v1

if TYPE_CHECKING:
    from wingspan.core.plugins.registry import TaskPluginRegistry
    from wingspan.server.services.admin import AdminService

__all__ = ["EngineWorker", "default_replica_id"]

log = logging.getLogger("wingspan.engine")

_RUNNABLE = (int(WorkflowPhase.QUEUED), int(WorkflowPhase.RUNNING), int(WorkflowPhase.ABORTING))
_STOPPING = (int(WorkflowPhase.ABORTING), int(WorkflowPhase.ABORTED))


def server_registry(settings: Any) -> TaskPluginRegistry:
    """The task plugins of this server: Python tasks (and dynamic tasks' bodies) run in local
    worker processes unless ``task_targets`` says otherwise."""
    from wingspan.core.plugins.manager import load_plugins
    from wingspan.core.plugins.registry import parse_targets

    plugins = load_plugins(settings=settings)
    for failure in plugins.failed:
        log.warning("plugin %r did not load (%s): %s", failure.name, failure.stage, failure.error)
    plugins.install_transformers()
    choices = {"python": "local-process", "dynamic": "local-process", **parse_targets(settings.task_targets)}
    return plugins.registry(choices)


def default_replica_id(home: Path) -> str:
    """A stable id for a server on one machine and home: restarted, it knows its executions."""
    return f"{socket.gethostname()}:{abs(hash(str(home.resolve()))) % 10**8:08d}"


class _AttemptRecorder:
    """Stores an attempt's start before it happens and its handle right after."""

    def __init__(self, sink: DatabaseSink) -> None:
        self.sink = sink

    async def before_start(self, request: AttemptRequest) -> None:
        await self.sink.flush()

    async def started(self, request: AttemptRequest, plugin: str, handle: Handle) -> None:
        self.sink.record_attempt_handle(
            request.node_id, request.attempt, request.runner.template.id, plugin, handle
        )
        await self.sink.flush()


class EngineWorker:
    """Claims and runs executions until cancelled."""

    def __init__(
        self,
        admin: AdminService,
        registry: TaskPluginRegistry,
        work_dir: Path,
        *,
        replica_id: str = "",
        lease_seconds: float = 30.0,
        poll_interval: float = 0.2,
        max_executions: int = 64,
        claim_batch: int = 8,
    ) -> None:
        self.admin = admin
        self.registry = registry
        self.work_dir = work_dir
        self.replica_id = replica_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.lease = lease_seconds
        self.poll_interval = poll_interval
        self.max_executions = max_executions
        # executions claimed at most per look: a burst of new ones is spread across replicas
        self.claim_batch = claim_batch
        self.running: dict[int, WorkflowRun | None] = {}
        self._wake = anyio.Event()
        self.detached = False
        self._sinks: set[DatabaseSink] = set()
        self._executors: set[PluginExecutor] = set()
        # per execution being run: what detaches it when its lease is lost
        self._scopes: dict[int, anyio.CancelScope] = {}
        self._run_sinks: dict[int, DatabaseSink] = {}
        self._run_executors: dict[int, PluginExecutor] = {}
        self.lost: set[int] = set()  # executions whose lease this replica lost (and detached)
        self._catalog = TaskCache(
            ServerCatalog(admin.catalog), store=lambda: admin.store, root=admin.store.root
        )

    def detach(self) -> None:
        """Stops recording and leaves attempts running (the server stops; another takes over):
        what the runs would record as they are cancelled is not the executions' fate."""
        self.detached = True
        for sink in self._sinks:
            sink.detach()
        for executor in self._executors:
            executor.detached = True

    def lose(self, execution_key: int) -> None:
        """Stops acting on an execution whose lease this replica no longer holds: records
        nothing more, leaves its attempts running, ends its run."""
        if execution_key in self.lost or execution_key not in self.running:
            return
        log.warning("execution %s: lease lost; detaching its run", execution_key)
        self.lost.add(execution_key)
        sink = self._run_sinks.get(execution_key)
        if sink is not None:
            sink.detach()
        executor = self._run_executors.get(execution_key)
        if executor is not None:
            executor.detached = True
        scope = self._scopes.get(execution_key)
        if scope is not None:
            scope.cancel()

    def wake(self) -> None:
        """Looks for new executions now rather than at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(self._heartbeat)
            group.start_soon(self._watch_aborts)
            while True:
                claimed = await self._claim()
                for execution_key in claimed:
                    self.running[execution_key] = None
                    group.start_soon(self._run_one, execution_key)
                # a full batch: more may wait, looked for again soon (other replicas claim too)
                full = len(claimed) >= self.claim_batch
                with anyio.move_on_after(self.poll_interval / 4 if full else self.poll_interval):
                    await self._wake.wait()
                self._wake = anyio.Event()

    # ---- claims -------------------------------------------------------------------------

    async def _claim(self) -> list[int]:
        room = min(self.max_executions - len(self.running), self.claim_batch)
        if room <= 0:
            return []
        at = now()
        db = self.admin.db
        statement = select(ExecutionRow.id).where(
            col(ExecutionRow.phase).in_(_RUNNABLE),
            col(ExecutionRow.held).is_(False),
            or_(
                col(ExecutionRow.owner) == "",
                col(ExecutionRow.owner) == self.replica_id,
                col(ExecutionRow.lease_expires_at) < at,
            ),
        )
        if self.running:
            statement = statement.where(col(ExecutionRow.id).not_in(list(self.running)))
        statement = statement.order_by(col(ExecutionRow.id)).limit(room)
        if db.dialect == "postgresql":
            statement = statement.with_for_update(skip_locked=True)
        async with db.write() as session:
            keys = list((await session.execute(statement)).scalars())
            if keys:
                await session.execute(
                    update(ExecutionRow)
                    .where(col(ExecutionRow.id).in_(keys))
                    .values(owner=self.replica_id, lease_expires_at=at + timedelta(seconds=self.lease))
                )
        return keys

    async def _heartbeat(self) -> None:
        while True:
            await anyio.sleep(self.lease / 3)
            try:
                await self.heartbeat()
            except Exception:  # the database is away: the leases run out, others take over
                log.exception("heartbeat failed")

    async def heartbeat(self) -> None:
        """Extends the leases of the executions running here; detaches those it could not
        extend (another replica owns them now)."""
        keys = [k for k in self.running if k not in self.lost]
        if not keys:
            return
        async with self.admin.db.write() as session:
            extended = set(
                (
                    await session.execute(
                        update(ExecutionRow)
                        .where(
                            col(ExecutionRow.id).in_(keys),
                            col(ExecutionRow.owner) == self.replica_id,
                        )
                        .values(lease_expires_at=now() + timedelta(seconds=self.lease))
                        .returning(col(ExecutionRow.id))
                    )
                ).scalars()
            )
        for execution_key in keys:
            if execution_key not in extended:
                self.lose(execution_key)

    async def _release(self, execution_key: int) -> None:
        with contextlib.suppress(Exception):
            async with self.admin.db.write() as session:
                await session.execute(
                    update(ExecutionRow)
                    .where(
                        col(ExecutionRow.id) == execution_key,
                        col(ExecutionRow.owner) == self.replica_id,
                    )
                    .values(owner="", lease_expires_at=None)
                )

    # ---- one execution ------------------------------------------------------------------

    async def _run_one(self, execution_key: int) -> None:
        scope = self._scopes[execution_key] = anyio.CancelScope()
        try:
            with scope:
                await self._execute(execution_key)
        except Exception as exc:
            if execution_key not in self.lost:
                log.exception("execution %s: the engine failed", execution_key)
                await self._fail(execution_key, exc)
        finally:
            self.running.pop(execution_key, None)
            self._scopes.pop(execution_key, None)
            self._run_sinks.pop(execution_key, None)
            executor = self._run_executors.pop(execution_key, None)
            if executor is not None:
                self._executors.discard(executor)
            self.lost.discard(execution_key)
            await self._release(execution_key)

    async def _execute(self, execution_key: int) -> None:
        admin = self.admin
        async with admin.db.read() as session:
            row = await session.get(ExecutionRow, execution_key)
        if row is None or row.phase not in _RUNNABLE:
            return
        first_sequence = await self._last_sequence(execution_key)
        sink = DatabaseSink(
            admin.events,
            row.project,
            row.domain,
            row.name,
            producer=self.replica_id,
            first_sequence=first_sequence,
            owner=self.replica_id,
            on_lease_lost=lambda: self.lose(execution_key),
        )
        self._sinks.add(sink)
        self._run_sinks[execution_key] = sink
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(sink.run)
                try:
                    await self._drive(row, sink)
                finally:
                    await sink.aclose()
        finally:
            self._sinks.discard(sink)

    async def _drive(self, row: ExecutionRow, sink: DatabaseSink) -> None:
        admin = self.admin
        spec = v1.ExecutionSpec.parse(row.spec_bytes)
        execution_id = f"{row.project}/{row.domain}/{row.name}"
        if row.phase == int(WorkflowPhase.ABORTING):
            # terminated while nobody ran it: end it, stopping what an earlier run left running
            journal = await load_journal(admin.db, admin.payloads, key(row))
            await self._abort_recorded(journal)
            run = WorkflowRun(
                CompiledWorkflowClosure(),
                {},
                RegisteredResolver(CompiledWorkflowClosure(), {}),
                execution_id=execution_id,
                sink=sink,
            )
            run.state.workflow(WorkflowPhase.ABORTED, reason=row.reason or "terminated")
            await sink.flush()
            return
        closure = await self._closure(row)
        inputs_data = await admin.payloads.get(row.inputs_bytes, row.inputs_uri)
        inputs = dict(codec.decode(LiteralMap, inputs_data).literals) if inputs_data else {}
        journal = await load_journal(admin.db, admin.payloads, key(row))
        metadata = spec.metadata
        if (
            metadata is not None
            and int(metadata.mode) == int(v1.ExecutionMode.RECOVER)
            and metadata.reference_execution is not None
        ):
            original = await admin.executions.row(metadata.reference_execution)
            recovered = await recovered_journal(admin.db, admin.payloads, key(original))
            for path, outputs in recovered.outputs.items():
                if path not in journal.outputs:
                    journal.outputs[path] = outputs
                    journal.recovered.add(path)
            for path, graph in recovered.dynamic.items():
                journal.dynamic.setdefault(path, graph)
        registry = self.registry
        if spec.python_target:  # the execution chose where its Python tasks run
            registry = registry.choosing("python", spec.python_target)
        executor = PluginExecutor(
            registry, store=lambda: admin.store, work_dir=self.work_dir, hooks=_AttemptRecorder(sink)
        )
        self._executors.add(executor)
        self._run_executors[key(row)] = executor
        resolver = RegisteredResolver(closure, {}, run_attempt=executor.run)
        resolver.add_launch_plans(await self._launch_plans(closure, executor))
        run = WorkflowRun(
            closure,
            inputs,
            resolver,
            execution_id=execution_id,
            sink=sink,
            executor=executor,
            signals=DatabaseSignals(admin.db, key(row)),
            max_parallelism=spec.max_parallelism,
            cache=self._catalog,
            journal=journal,
        )
        self.running[key(row)] = run
        await run.run()
        await sink.flush()

    async def _fail(self, execution_key: int, exc: Exception) -> None:
        """Ends an execution the engine could not run (a bad target, a closure it cannot
        load): FAILED with what went wrong, rather than claimed again and again."""
        from wingspan.core.engine.failures import error_from_exception
        from wingspan.core.model.literals import ErrorKind
        from wingspan.core.model.record import replace

        if self.detached:
            return
        with contextlib.suppress(Exception):
            async with self.admin.db.read() as session:
                row = await session.get(ExecutionRow, execution_key)
            if row is None or row.phase not in _RUNNABLE:
                return
            error = replace(error_from_exception(exc, ""), kind=ErrorKind.SYSTEM)
            sink = DatabaseSink(
                self.admin.events,
                row.project,
                row.domain,
                row.name,
                producer=self.replica_id,
                first_sequence=await self._last_sequence(execution_key),
                owner=self.replica_id,
            )
            from wingspan.core.engine.events import Event

            sink.record(
                Event(
                    "workflow",
                    "",
                    WorkflowPhase.FAILED,
                    error=error,
                    reason=f"the engine could not run it: {exc}"[:300],
                )
            )
            async with anyio.create_task_group() as group:
                group.start_soon(sink.run)
                await sink.flush()
                await sink.aclose()

    async def _watch_aborts(self) -> None:
        """Aborts the runs of executions terminated (ABORTING, or ABORTED by force): one query
        for every run here, four times a second."""
        aborted: set[int] = set()
        while True:
            await anyio.sleep(0.25)
            runs = {k: r for k, r in self.running.items() if r is not None and k not in self.lost}
            aborted &= set(runs)
            if not runs:
                continue
            try:
                async with self.admin.db.read() as session:
                    found = {
                        row[0]: (row[1], row[2])
                        for row in (
                            await session.execute(
                                select(ExecutionRow.id, ExecutionRow.phase, ExecutionRow.reason).where(
                                    col(ExecutionRow.id).in_(list(runs))
                                )
                            )
                        ).all()
                    }
            except Exception:
                log.exception("looking for terminated executions failed")
                continue
            for execution_key, run in runs.items():
                phase, reason = found.get(execution_key, (None, ""))
                if execution_key not in aborted and (phase is None or phase in _STOPPING):
                    aborted.add(execution_key)
                    run.abort(reason or "terminated")

    async def _abort_recorded(self, journal: Any) -> None:
        for running in journal.running.values():
            plugin = next((p for p in self.registry.plugins if p.name == running.plugin), None)
            if plugin is None or running.handle is None:
                continue
            from wingspan.core.model.tasks import TaskTemplate

            with contextlib.suppress(Exception):
                await plugin.abort(
                    TaskContext(TaskTemplate(), LiteralMap({}), "", "", running.attempt), running.handle
                )

    async def _last_sequence(self, execution_key: int) -> int:
        from sqlalchemy import func

        from wingspan.server.db.models import EventRow

        async with self.admin.db.read() as session:
            found = (
                await session.execute(
                    select(func.max(EventRow.sequence)).where(EventRow.execution_id == execution_key)
                )
            ).scalar_one_or_none()
        return int(found or 0)

    async def _closure(self, row: ExecutionRow) -> CompiledWorkflowClosure:
        entities = self.admin.entities
        if row.entity_type == int(ResourceType.TASK):
            task_id = Identifier(
                ResourceType.TASK, row.project, row.domain, row.entity_name, row.entity_version
            )
            message = await entities.get_task(v1.GetEntityRequest(id=codec.to_proto(task_id)))
            template = codec.from_proto(message.template)
            return single_task_closure(template)
        wf_id = Identifier(
            ResourceType.WORKFLOW, row.project, row.domain, row.workflow_name, row.workflow_version
        )
        return await entities.workflow_closure(wf_id)

    async def _launch_plans(
        self, closure: CompiledWorkflowClosure, executor: PluginExecutor
    ) -> dict[Any, Any]:
        """Every launch plan the closure calls (and those their workflows call), loaded now."""
        entities = self.admin.entities
        found: dict[Any, Any] = {}
        pending = launch_plan_ids(closure)
        while pending:
            plan_id = pending.pop()
            if (plan_id.name, plan_id.version) in found:
                continue
            async with self.admin.db.read() as session:
                plan_row = (
                    await session.execute(
                        select(LaunchPlanRow).where(
                            LaunchPlanRow.project == plan_id.project,
                            LaunchPlanRow.domain == plan_id.domain,
                            LaunchPlanRow.name == plan_id.name,
                            LaunchPlanRow.version == plan_id.version,
                        )
                    )
                ).scalar_one()
            plan_spec = codec.decode(LaunchPlanSpec, await entities.content(plan_row))
            assert plan_spec.workflow_id is not None
            plan_closure = await entities.workflow_closure(plan_spec.workflow_id)
            inner = RegisteredResolver(plan_closure, found, run_attempt=executor.run)
            found[(plan_id.name, plan_id.version)] = plan_target(plan_spec, plan_closure, inner)
            pending.extend(launch_plan_ids(plan_closure))
        return found


def single_task_closure(template: Any) -> CompiledWorkflowClosure:
    """A one-node workflow running ``template``: how an execution of a task runs."""
    interface = template.interface
    node = Node(
        id="n0",
        inputs=tuple(
            Binding(v.name, BindingData("promise", OutputReference(START_NODE, v.name)))
            for v in (interface.inputs if interface else ())
        ),
        kind="task_node",
        value=TaskNode(template.id),
    )
    outputs = tuple(
        Binding(v.name, BindingData("promise", OutputReference("n0", v.name)))
        for v in (interface.outputs if interface else ())
    )
    workflow = WorkflowTemplate(
        id=Identifier(
            ResourceType.WORKFLOW,
            template.id.project,
            template.id.domain,
            f"{template.id.name}[task]",
            template.id.version,
        ),
        metadata=WorkflowMetadata(),
        interface=interface,
        nodes=(node,),
        outputs=outputs,
    )
    return compile_workflow(workflow, {template.id: template})
