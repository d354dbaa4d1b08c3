"""Executions: create (from a launch plan, a workflow or one task), get, list, data,
terminate, delete, and the per-project retention that prunes old finished ones.

Inputs are checked against the interface when an execution is created: unknown or
missing inputs and values of the wrong type are rejected, all at once; defaults
and a launch plan's fixed inputs are applied. An execution's inputs, outputs and
the data of its nodes live in the row while small and below one blob prefix when
large; deleting an execution deletes both.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, delete
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from wingspan.core.compiler import literal_fits
from wingspan.core.errors import (
    AlreadyExistsError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
)
from wingspan.core.model import codec
from wingspan.core.model.execution import WorkflowPhase
from wingspan.core.model.interface import Identifier, Parameter, ResourceType, Variable
from wingspan.core.model.launch_plans import LaunchPlanSpec
from wingspan.core.model.literals import Literal, LiteralMap
from wingspan.server.db.engine import Database, is_unique_violation, now, utc
from wingspan.server.db.models import ExecutionRow, ProjectRow, ScheduleTickRow, SignalRow, key
from wingspan.server.db.queries import execution_row
from wingspan.server.services.concurrency import admit, on_phase_change
from wingspan.server.services.entities import EntityService
from wingspan.server.services.identifiers import check_execution_id, check_name
from wingspan.server.services.idl import v1
from wingspan.server.services.pagination import Field, ListQuery, page
from wingspan.server.services.payloads import Payloads
from wingspan.server.services.phases import TERMINAL_WORKFLOW
from wingspan.server.services.projects import ProjectService
from wingspan.server.services.signals import gate_signals

__all__ = ["ExecutionService", "execution_message"]

_FIELDS = {
    "name": Field(ExecutionRow.name, sortable=True),
    "phase": Field(ExecutionRow.phase, WorkflowPhase),
    "created_at": Field(ExecutionRow.created_at, "time", sortable=True),
    "started_at": Field(ExecutionRow.started_at, "time"),
    "updated_at": Field(ExecutionRow.updated_at, "time", sortable=True),
    "finished_at": Field(ExecutionRow.finished_at, "time"),
    "launch_plan": Field(ExecutionRow.launch_plan_name),
    "workflow": Field(ExecutionRow.workflow_name),
    "entity": Field(ExecutionRow.entity_name),
    "mode": Field(ExecutionRow.mode, "int"),
    "principal": Field(ExecutionRow.principal),
}
_DATA_COLUMNS = frozenset({"inputs_bytes", "outputs_bytes"})
_NAME_ALPHABET = string.ascii_lowercase + string.digits


def _generated_name() -> str:
    # starts with a letter: the name also serves as a Kubernetes object name
    return secrets.choice(string.ascii_lowercase) + "".join(secrets.choice(_NAME_ALPHABET) for _ in range(19))


def execution_message(row: Any) -> Any:
    """The Execution message of a row (inputs and outputs aside: GetExecutionData has them)."""
    spec = v1.ExecutionSpec.parse(row.spec_bytes)
    started, finished = utc(row.started_at), utc(row.finished_at)
    closure = v1.ExecutionClosure(
        phase=v1.WorkflowPhase(row.phase),
        created_at=utc(row.created_at),
        started_at=started,
        updated_at=utc(row.updated_at),
        duration=(finished - started) if started is not None and finished is not None else None,
        error=v1.ExecutionError.parse(row.error_bytes) if row.error_bytes else None,
        reason=row.reason,
        workflow_id=v1.Identifier(
            resource_type=v1.ResourceType.WORKFLOW,
            project=row.project,
            domain=row.domain,
            name=row.workflow_name,
            version=row.workflow_version,
        )
        if row.workflow_name
        else None,
    )
    return v1.Execution(
        id=v1.ExecutionId(project=row.project, domain=row.domain, name=row.name), spec=spec, closure=closure
    )


class ExecutionService:
    def __init__(
        self, db: Database, payloads: Payloads, projects: ProjectService, entities: EntityService
    ) -> None:
        self.db = db
        self.payloads = payloads
        self.projects = projects
        self.entities = entities
        # called after an execution is created (an engine in this process looks for work then)
        self.on_created: list[Callable[[], None]] = []

    # ---- create --------------------------------------------------------------------------

    async def create_execution(self, request: Any, *, tick: ScheduleTickRow | None = None) -> Any:
        spec = request.spec
        if spec is None or spec.entity_id is None:
            raise InvalidArgumentError("create execution: the spec (and its entity_id) is missing")
        project, domain = request.project or spec.entity_id.project, request.domain or spec.entity_id.domain
        await self.projects.check_scope(project, domain)
        name = request.name or _generated_name()
        check_name(name, "execution name", limit=255)
        target = spec.entity_id
        resource_type = ResourceType(int(target.resource_type))
        if not target.name:
            raise InvalidArgumentError("create execution: entity_id names nothing")
        entity = Identifier(
            resource_type, target.project or project, target.domain or domain, target.name, target.version
        )
        given: dict[str, Literal] = dict(codec.from_proto(spec.inputs).literals) if spec.inputs else {}
        launch_plan_name, closure, concurrency = "", None, None
        if resource_type == ResourceType.LAUNCH_PLAN:
            if not entity.version:
                active = await self.entities.get_active_launch_plan(
                    v1.GetActiveLaunchPlanRequest(
                        id=v1.NamedEntityIdentifier(
                            project=entity.project, domain=entity.domain, name=entity.name
                        )
                    )
                )
                entity = Identifier(
                    resource_type, entity.project, entity.domain, entity.name, active.id.version
                )
            plan = await self.entities.get_launch_plan(v1.GetEntityRequest(id=codec.to_proto(entity)))
            lp_spec: LaunchPlanSpec = codec.from_proto(plan.spec)
            expected = codec.from_proto(plan.closure.expected_inputs).parameters
            fixed = dict(lp_spec.fixed_inputs.literals) if lp_spec.fixed_inputs else {}
            wf_id = lp_spec.workflow_id
            assert wf_id is not None
            closure = await self.entities.workflow_closure(wf_id)
            inputs = _resolve_inputs(entity, expected, fixed, given)
            launch_plan_name, concurrency = entity.name, lp_spec.concurrency
            if not spec.max_parallelism and lp_spec.max_parallelism:
                spec.max_parallelism = lp_spec.max_parallelism
            if not spec.notifications and plan.spec.notifications:
                spec.notifications = plan.spec.notifications
        elif resource_type == ResourceType.WORKFLOW:
            if not entity.version:
                entity = Identifier(
                    resource_type,
                    entity.project,
                    entity.domain,
                    entity.name,
                    await self.entities.latest_version(resource_type, *_named(entity)),
                )
            wf_id = entity
            closure = await self.entities.workflow_closure(entity)
            template = closure.primary.template if closure.primary else None
            if template is None:
                raise FailedPreconditionError(f"workflow {entity} has no template in its closure")
            parameters = {
                p.variable.name: p
                for p in (template.parameters.parameters if template.parameters else ())
                if p.variable is not None
            }
            expected = tuple(
                parameters.get(v.name) or Parameter(v, None, True)
                for v in (template.interface.inputs if template.interface else ())
            )
            inputs = _resolve_inputs(entity, expected, {}, given)
        elif resource_type == ResourceType.TASK:
            if not entity.version:
                entity = Identifier(
                    resource_type,
                    entity.project,
                    entity.domain,
                    entity.name,
                    await self.entities.latest_version(resource_type, *_named(entity)),
                )
            wf_id = None
            task = await self.entities.task_template(entity)
            expected = tuple(
                Parameter(v, None, not _optional(v))
                for v in (task.interface.inputs if task.interface else ())
            )
            inputs = _resolve_inputs(entity, expected, {}, given)
        else:
            raise InvalidArgumentError(
                "create execution: entity_id.resource_type must be a launch plan, a workflow or a task"
            )
        spec.entity_id = codec.to_proto(entity)
        spec.inputs = None
        metadata = spec.metadata or v1.ExecutionMetadata()
        at = now()
        row = ExecutionRow(
            project=project,
            domain=domain,
            name=name,
            entity_type=int(resource_type),
            entity_name=entity.name,
            entity_version=entity.version,
            launch_plan_name=launch_plan_name,
            workflow_name=wf_id.name if wf_id else "",
            workflow_version=wf_id.version if wf_id else "",
            phase=int(WorkflowPhase.QUEUED),
            mode=int(metadata.mode),
            principal=metadata.principal,
            created_at=at,
            updated_at=at,
            spec_bytes=bytes(spec),
        )
        # a name of its own: a create that loses to an existing name must not touch that one's inputs
        row.inputs_bytes, row.inputs_uri = await self.payloads.put(
            codec.encode(LiteralMap(inputs)),
            "executions",
            project,
            domain,
            name,
            f"inputs-{secrets.token_hex(6)}.pb",
        )
        try:
            async with self.db.write() as session:
                await admit(session, row, concurrency, tick)  # the launch plan's concurrency policy
                session.add(row)
                await session.flush()
                if closure is not None:
                    for signal_id, node_id, literal_type in gate_signals(closure):
                        session.add(
                            SignalRow(
                                execution_id=key(row),
                                signal_id=signal_id,
                                node_id=node_id,
                                type_bytes=codec.encode(literal_type) if literal_type else None,
                                created_at=at,
                            )
                        )
        except BaseException as exc:
            if row.inputs_uri:
                await self.payloads.store.delete(row.inputs_uri, missing_ok=True)
            if isinstance(exc, IntegrityError) and is_unique_violation(exc):
                raise AlreadyExistsError(f"execution {project}/{domain}/{name} already exists") from exc
            raise
        for listener in self.on_created:
            listener()
        execution = execution_message(row)
        return v1.CreateExecutionResponse(id=execution.id, execution=execution)

    # ---- read ----------------------------------------------------------------------------

    async def row(self, execution_id: Any) -> ExecutionRow:
        check_execution_id(execution_id)
        async with self.db.read() as session:
            row = await execution_row(session, execution_id)
        if row is None:
            raise NotFoundError(
                f"execution {execution_id.project}/{execution_id.domain}/{execution_id.name} does not exist"
            )
        return row

    async def get_execution(self, request: Any) -> Any:
        return execution_message(await self.row(request.id))

    async def get_execution_data(self, request: Any) -> Any:
        row = await self.row(request.id)
        inputs = await self.payloads.get(row.inputs_bytes, row.inputs_uri)
        outputs = await self.payloads.get(row.outputs_bytes, row.outputs_uri)
        return v1.ExecutionData(
            inputs=v1.LiteralMap.parse(inputs) if inputs is not None else None,
            outputs=v1.LiteralMap.parse(outputs) if outputs is not None else None,
        )

    async def list_executions(self, request: Any) -> Any:
        """Newest first unless sorted otherwise; ``name`` restricts to executions of one launch
        plan, workflow or task; filters on phase, times, launch_plan, workflow, entity, ..."""
        if not request.project or not request.domain:
            raise InvalidArgumentError("list executions: project and domain are required")
        # plain rows of the columns, not ORM objects: building SQLModel instances cost 2/3 of a page
        # (only what the messages need: the inputs and outputs stay behind)
        columns = [c for c in ExecutionRow.__table__.columns if c.name not in _DATA_COLUMNS]  # type: ignore[attr-defined]
        statement: Select[Any] = sa_select(*columns).where(
            col(ExecutionRow.project) == request.project, col(ExecutionRow.domain) == request.domain
        )
        if request.name:
            statement = statement.where(col(ExecutionRow.entity_name) == request.name)
        statement, finish = page(statement, ListQuery.of(request, _FIELDS, ExecutionRow.id))
        async with self.db.read() as session:
            rows = list((await session.execute(statement)).all())
        rows, token = finish(rows)
        return v1.ListExecutionsResponse(executions=[execution_message(r) for r in rows], next_token=token)

    async def relaunch_execution(self, request: Any) -> Any:
        """A new execution of the same entity version with the same inputs (mode RELAUNCH)."""
        return await self._repeat(request, v1.ExecutionMode.RELAUNCH)

    async def recover_execution(self, request: Any) -> Any:
        """Like relaunch (mode RECOVER), but the engine reuses the outputs of every node that
        succeeded in the original and runs only the rest."""
        original = await self.row(request.id)
        if WorkflowPhase(original.phase) not in TERMINAL_WORKFLOW:
            raise FailedPreconditionError(
                f"execution {original.project}/{original.domain}/{original.name} is "
                f"{WorkflowPhase(original.phase).name.lower()}: recover it once it has ended"
            )
        return await self._repeat(request, v1.ExecutionMode.RECOVER)

    async def _repeat(self, request: Any, mode: Any) -> Any:
        row = await self.row(request.id)
        spec = v1.ExecutionSpec.parse(row.spec_bytes)
        inputs = await self.payloads.get(row.inputs_bytes, row.inputs_uri)
        spec.inputs = v1.LiteralMap.parse(inputs) if inputs is not None else None
        spec.metadata = v1.ExecutionMetadata(
            mode=mode,
            principal=spec.metadata.principal if spec.metadata else "",
            reference_execution=v1.ExecutionId(project=row.project, domain=row.domain, name=row.name),
        )
        if row.entity_type == int(ResourceType.LAUNCH_PLAN):
            # the launch plan's fixed inputs were applied to the original: not inputs one may set
            plan = await self.entities.get_launch_plan(v1.GetEntityRequest(id=spec.entity_id))
            for name in plan.spec.fixed_inputs.literals if plan.spec.fixed_inputs else {}:
                if spec.inputs is not None:
                    spec.inputs.literals.pop(name, None)
        return await self.create_execution(
            v1.CreateExecutionRequest(project=row.project, domain=row.domain, name=request.name, spec=spec)
        )

    # ---- terminate, delete, retention ---------------------------------------------------

    async def terminate_execution(self, request: Any) -> Any:
        """Asks the engine to abort (ABORTING); ``force`` ends it now (ABORTED)."""
        row = await self.row(request.id)
        if WorkflowPhase(row.phase) in TERMINAL_WORKFLOW:
            raise FailedPreconditionError(
                f"execution {row.project}/{row.domain}/{row.name} already ended "
                f"({WorkflowPhase(row.phase).name.lower()})"
            )
        at = now()
        async with self.db.write() as session:
            current = await session.get(ExecutionRow, row.id, with_for_update=True)
            if current is None or WorkflowPhase(current.phase) in TERMINAL_WORKFLOW:
                raise FailedPreconditionError(
                    f"execution {row.project}/{row.domain}/{row.name} already ended"
                )
            old_phase = current.phase
            current.phase = int(WorkflowPhase.ABORTED if request.force else WorkflowPhase.ABORTING)
            current.reason = request.reason or "terminated"
            current.updated_at = at
            if request.force:
                current.finished_at = at
            await on_phase_change(session, current, old_phase, current.phase, at=at)
            row = current
        return v1.TerminateExecutionResponse(execution=execution_message(row))

    async def delete_execution(self, request: Any) -> Any:
        """Deletes a finished execution, its nodes, attempts, events, signals and data."""
        row = await self.row(request.id)
        if WorkflowPhase(row.phase) not in TERMINAL_WORKFLOW:
            raise FailedPreconditionError(
                f"execution {row.project}/{row.domain}/{row.name} is "
                f"{WorkflowPhase(row.phase).name.lower()}: terminate it before deleting it"
            )
        await self._delete(row)
        return v1.DeleteExecutionResponse()

    async def _delete(self, row: ExecutionRow) -> None:
        # data first: a crash in between leaves a row without data, never data without a row
        await self.payloads.delete_execution(row.project, row.domain, row.name)
        async with self.db.write() as session:
            await session.execute(delete(ExecutionRow).where(col(ExecutionRow.id) == row.id))

    async def prune_executions(self, *, at: datetime | None = None, batch: int = 500) -> int:
        """Deletes the finished executions older than their project's retention; returns how many."""
        at = at or now()
        async with self.db.read() as session:
            projects = list(
                (
                    await session.execute(
                        select(ProjectRow.id, ProjectRow.retention_seconds).where(
                            col(ProjectRow.retention_seconds).is_not(None)
                        )
                    )
                ).all()
            )
        pruned = 0
        for project_id, seconds in projects:
            cutoff = at - timedelta(seconds=seconds)
            while True:
                async with self.db.read() as session:
                    rows = list(
                        (
                            await session.execute(
                                select(ExecutionRow)
                                .where(
                                    ExecutionRow.project == project_id,
                                    col(ExecutionRow.finished_at).is_not(None),
                                    col(ExecutionRow.finished_at) < cutoff,
                                )
                                .order_by(col(ExecutionRow.id))
                                .limit(batch)
                            )
                        ).scalars()
                    )
                for row in rows:
                    await self._delete(row)
                pruned += len(rows)
                if len(rows) < batch:
                    break
        return pruned


def _named(entity: Identifier) -> tuple[str, str, str]:
    return entity.project, entity.domain, entity.name


def _optional(variable: Variable) -> bool:
    """An Optional[...] input may be left out (it is None)."""
    lt = variable.type
    return (
        lt is not None
        and lt.kind == "union_type"
        and any(v.kind == "simple" and int(v.value) == 0 for v in lt.value.variants)
    )


def _resolve_inputs(
    entity: Identifier,
    expected: tuple[Parameter, ...] | Any,
    fixed: dict[str, Literal],
    given: dict[str, Literal],
) -> dict[str, Literal]:
    """The inputs of a run: given values checked, defaults and fixed values added."""
    params = {p.variable.name: p for p in expected if p.variable is not None}
    problems = []
    where = f"inputs of {entity}"
    for name, literal in given.items():
        if name in fixed:
            problems.append(f"{where}: {name!r} is fixed by the launch plan and cannot be set")
            continue
        parameter = params.get(name)
        if parameter is None:
            valid = ", ".join(params) or "none"
            problems.append(f"{where}: unknown input {name!r}; inputs: {valid}")
            continue
        assert parameter.variable is not None
        lt = parameter.variable.type
        if lt is not None and not literal_fits(literal, lt):
            problems.append(
                f"{where}: {name!r} expects {lt.annotation or lt.kind}, got a {literal.kind} value"
            )
    resolved = dict(fixed)
    for name, parameter in params.items():
        if name in given:
            resolved[name] = given[name]
        elif parameter.default is not None:
            resolved[name] = parameter.default
        elif parameter.required:
            lt = parameter.variable.type if parameter.variable else None
            problems.append(f"{where}: required input {name!r} ({lt.annotation if lt else '?'}) is missing")
    if problems:
        raise InvalidArgumentError("\n".join(problems))
    return resolved
