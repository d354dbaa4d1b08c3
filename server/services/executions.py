"""Executions: create (from a launch plan, a workflow or one task), get, list, data,
terminate, delete, and the per-project retention that prunes old finished ones.

Inputs are checked against the interface when an execution is created: unknown or
missing inputs and values of the wrong type are rejected, all at once; defaults
and a launch plan's fixed inputs are applied. An execution's inputs, outputs and
the data of its nodes live in the row while small and below one blob prefix when
large; deleting an execution deletes both.
"""

from __future__ import annotations

import enum
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Select, func, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from wingspan.core import tracing
from wingspan.core.compiler import literal_fits
from wingspan.core.compiler.one_node import task_closure
from wingspan.core.errors import (
    AlreadyExistsError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
)
from wingspan.core.model import codec
from wingspan.core.model.execution import ExecutionError, WorkflowPhase
from wingspan.core.model.execution_spec import ExecutionMetadata, ExecutionMode, ExecutionSpec
from wingspan.core.model.interface import (
    ExecutionId,
    Identifier,
    NamedEntityIdentifier,
    Parameter,
    ResourceType,
    Variable,
)
from wingspan.core.model.launch_plans import ConcurrencyPolicy, Notification, launch_plan_settings
from wingspan.core.model.literals import Literal, LiteralMap
from wingspan.core.model.record import replace
from wingspan.core.model.settings import ExecutionSettings, SettingSource, check_settings
from wingspan.core.model.workflows import CompiledWorkflowClosure
from wingspan.server.auth.principal import caller
from wingspan.server.db.engine import Database, is_unique_violation, now, utc
from wingspan.server.db.models import ExecutionRow, ScheduleTickRow, SignalRow, key
from wingspan.server.db.queries import execution_key, execution_parameters, execution_row, named_execution
from wingspan.server.db.wakeups import CREATED, STOPPING, announce
from wingspan.server.services.concurrency import admit, on_phase_change
from wingspan.server.services.entities import EntityService
from wingspan.server.services.identifiers import check_execution_id, check_name
from wingspan.server.services.notifications import NotificationKinds
from wingspan.server.services.pagination import (
    STARTS_WITH,
    Field,
    Listing,
    ListQuery,
    Page,
    page,
    prefix_range,
)
from wingspan.server.services.payloads import Payloads
from wingspan.server.services.phases import TERMINAL_WORKFLOW
from wingspan.server.services.projects import ProjectService
from wingspan.server.services.retention import Retention, RetentionRun
from wingspan.server.services.settings import SettingsService
from wingspan.server.services.signals import gate_signals

__all__ = ["Execution", "ExecutionData", "ExecutionKey", "ExecutionService", "ExecutionState"]


class ExecutionState(enum.IntEnum):
    """As the IDL's: an archived execution is left out of lists that do not filter on state."""

    ACTIVE = 0
    ARCHIVED = 1


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
    "state": Field(ExecutionRow.state, ExecutionState),
}
_DATA_COLUMNS = frozenset({"inputs_bytes", "outputs_bytes"})
#: what an Execution is made of: every column but its inputs and outputs
_EXECUTION_COLUMNS = tuple(c for c in ExecutionRow.__table__.columns if c.name not in _DATA_COLUMNS)  # type: ignore[attr-defined]
# one indexed row, built once (its parameters change, not it): a single statement on the
# database's statement engine, no session opened, no ORM object built
_GET_EXECUTION = sa_select(*_EXECUTION_COLUMNS).where(*named_execution)
_NAME_ALPHABET = string.ascii_lowercase + string.digits


@dataclass(frozen=True, slots=True)
class Execution:
    """An execution as stored: what it runs (``spec``, without its inputs) and where it stands."""

    id: ExecutionId
    spec: ExecutionSpec
    phase: WorkflowPhase
    created_at: datetime | None
    started_at: datetime | None
    updated_at: datetime | None
    finished_at: datetime | None
    error: ExecutionError | None
    reason: str
    # the workflow it runs (None for a task run on its own)
    workflow_id: Identifier | None
    state: ExecutionState = ExecutionState.ACTIVE

    @property
    def duration(self) -> timedelta | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at


@dataclass(frozen=True, slots=True)
class ExecutionKey:
    """An execution's id and its row's key: what a read of its nodes and attempts needs."""

    row_id: int
    id: ExecutionId


@dataclass(frozen=True, slots=True)
class ExecutionData:
    """An execution's inputs, and its outputs once it succeeded."""

    inputs: LiteralMap | None
    outputs: LiteralMap | None


@dataclass(frozen=True, slots=True)
class _Launch:
    """What a new execution runs, resolved from what it names (a launch plan, a workflow or a
    task, perhaps without version): the version, the closure, and how its inputs are made."""

    entity: Identifier
    closure: CompiledWorkflowClosure
    # the inputs it takes, and those a launch plan fixes
    expected: tuple[Parameter, ...]
    fixed: dict[str, Literal]
    # the registered workflow it runs (None for a task run on its own)
    workflow_id: Identifier | None = None
    launch_plan_name: str = ""
    concurrency: ConcurrencyPolicy | None = None
    # what a launch plan gives an execution that does not set it
    notifications: tuple[Notification, ...] = ()
    settings: ExecutionSettings | None = None
    # the input a launch plan's schedule fills with the tick's time ("" when none)
    kickoff_input: str = ""


def _generated_name() -> str:
    # starts with a letter: the name also serves as a Kubernetes object name
    return secrets.choice(string.ascii_lowercase) + "".join(secrets.choice(_NAME_ALPHABET) for _ in range(19))


def _execution(row: Any) -> Execution:
    """The Execution of a row (or of a row of its columns)."""
    return Execution(
        id=ExecutionId(row.project, row.domain, row.name),
        spec=codec.decode(ExecutionSpec, row.spec_bytes),
        phase=WorkflowPhase(row.phase),
        created_at=utc(row.created_at),
        started_at=utc(row.started_at),
        updated_at=utc(row.updated_at),
        finished_at=utc(row.finished_at),
        error=codec.decode(ExecutionError, row.error_bytes) if row.error_bytes else None,
        reason=row.reason,
        workflow_id=Identifier(
            ResourceType.WORKFLOW, row.project, row.domain, row.workflow_name, row.workflow_version
        )
        if row.workflow_name
        else None,
        state=ExecutionState(row.state),
    )


class ExecutionService:
    def __init__(
        self, db: Database, payloads: Payloads, projects: ProjectService, entities: EntityService,
        settings: SettingsService | None = None, *, logs_folder: Path | None = None,
    ) -> None:
        self.db = db
        self.payloads = payloads
        self.projects = projects
        self.entities = entities
        self.settings = settings or SettingsService(db, projects)
        #: deletes an execution with what it owns (its data, logs and unshared cache entries)
        self.retention = Retention(db, payloads, logs_folder)
        # called after an execution is created (an engine in this process looks for work then)
        self.on_created: list[Callable[[], None]] = []
        #: on SQLite, a name prefix of fewer executions is read through the names' index (its
        #: rows then sorted), one of more along the list's order
        self.few_named = 2000
        # the notifier kinds an execution's notifications may name (serve sets the installed ones)
        self.notification_kinds = NotificationKinds.builtin()

    # ---- create --------------------------------------------------------------------------

    async def create_execution(
        self,
        spec: ExecutionSpec | None,
        *,
        project: str = "",
        domain: str = "",
        name: str = "",
        tick: ScheduleTickRow | None = None,
        resolved: tuple[ExecutionSettings | None, tuple[SettingSource, ...]] | None = None,
    ) -> Execution:
        """A QUEUED execution of what ``spec.entity_id`` names with ``spec.inputs`` (checked, and
        completed with defaults and a launch plan's fixed inputs), in ``project`` and ``domain``
        (the entity's unless given), named ``name`` (generated unless given), with its settings
        resolved over the levels (or ``resolved``, an earlier execution's, for a relaunch)."""
        if spec is None or spec.entity_id is None:
            raise InvalidArgumentError("create execution: the spec (and its entity_id) is missing")
        target = spec.entity_id
        project, domain = project or target.project, domain or target.domain
        await self.projects.check_scope(project, domain)
        name = name or _generated_name()
        check_name(name, "execution name", limit=255)
        if not target.name:
            raise InvalidArgumentError("create execution: entity_id names nothing")
        self.notification_kinds.check(spec.notifications, f"create execution {name!r}")
        launch = await self._resolve(
            Identifier(target.resource_type, target.project or project, target.domain or domain, target.name,
                       target.version)
        )
        given = dict(spec.inputs.literals) if spec.inputs else {}
        kickoff = launch.kickoff_input
        defaulted = {p.variable.name for p in launch.expected if p.variable and p.default is not None}
        if kickoff and kickoff not in given and kickoff not in launch.fixed and kickoff not in defaulted:
            # only a tick of the schedule fills it: started otherwise, the run would fail at the
            # first node that reads it
            raise InvalidArgumentError(
                f"inputs of {launch.entity}: {kickoff!r} is the schedule's kickoff time, filled in "
                f"only when the schedule starts the launch plan; give it (a datetime) to start it "
                f"by hand")
        inputs = _resolve_inputs(launch.entity, launch.expected, launch.fixed, given)
        if resolved is None:
            asked = spec.settings or ExecutionSettings()
            requested = replace(asked, max_parallelism=spec.max_parallelism or asked.max_parallelism,
                                python_target=spec.python_target or asked.python_target)
            check_settings(requested, "create execution: settings")
            resolved = await self.settings.resolve(project, domain, requested=requested,
                                                   launch_plan=launch.settings)
        settings, sources = resolved
        spec = replace(
            spec,
            entity_id=launch.entity,
            inputs=None,
            notifications=spec.notifications or launch.notifications,
            # the engine reads these two from the spec itself
            max_parallelism=settings.max_parallelism if settings else 0,
            python_target=settings.python_target if settings else "",
            settings=settings,
            setting_sources=sources,
        )
        return await self._insert(project, domain, name, spec, launch, inputs, tick)

    async def _resolve(self, entity: Identifier) -> _Launch:
        """The version, closure and expected inputs of what an execution names."""
        if entity.resource_type == ResourceType.LAUNCH_PLAN:
            if entity.version:
                plan = await self.entities.get_launch_plan(entity)
            else:
                plan = await self.entities.get_active_launch_plan(
                    NamedEntityIdentifier(entity.project, entity.domain, entity.name)
                )
            assert plan.id is not None and plan.spec is not None and plan.closure is not None
            plan_spec, expected_inputs = plan.spec, plan.closure.expected_inputs
            assert plan_spec.workflow_id is not None
            return _Launch(
                entity=replace(entity, version=plan.id.version),
                closure=await self.entities.workflow_closure(plan_spec.workflow_id),
                expected=expected_inputs.parameters if expected_inputs else (),
                fixed=dict(plan_spec.fixed_inputs.literals) if plan_spec.fixed_inputs else {},
                workflow_id=plan_spec.workflow_id,
                launch_plan_name=entity.name,
                concurrency=plan_spec.concurrency,
                notifications=plan_spec.notifications,
                settings=launch_plan_settings(plan_spec),
                kickoff_input=plan_spec.schedule.kickoff_time_input_arg if plan_spec.schedule else "",
            )
        if entity.resource_type not in (ResourceType.WORKFLOW, ResourceType.TASK):
            raise InvalidArgumentError(
                "create execution: entity_id.resource_type must be a launch plan, a workflow or a task"
            )
        if not entity.version:
            entity = replace(entity, version=await self.entities.latest_version(
                entity.resource_type, entity.project, entity.domain, entity.name))
        if entity.resource_type == ResourceType.TASK:
            task = await self.entities.task_template(entity)
            inputs = task.interface.inputs if task.interface else ()
            expected = tuple(Parameter(v, None, not _optional(v)) for v in inputs)
            return _Launch(entity, task_closure(task), expected, {})
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
        return _Launch(entity, closure, expected, {}, workflow_id=entity)

    async def _insert(
        self,
        project: str,
        domain: str,
        name: str,
        spec: ExecutionSpec,
        launch: _Launch,
        inputs: dict[str, Literal],
        tick: ScheduleTickRow | None,
    ) -> Execution:
        """Stores the execution's row, its inputs and the signals its gates wait for."""
        metadata = spec.metadata or ExecutionMetadata()
        metadata = replace(metadata, principal=_recorded_principal(metadata.principal),
                           trace_parent=tracing.traceparent() or "")
        spec = replace(spec, metadata=metadata)
        at = now()
        row = ExecutionRow(
            project=project,
            domain=domain,
            name=name,
            entity_type=int(launch.entity.resource_type),
            entity_name=launch.entity.name,
            entity_version=launch.entity.version,
            launch_plan_name=launch.launch_plan_name,
            workflow_name=launch.workflow_id.name if launch.workflow_id else "",
            workflow_version=launch.workflow_id.version if launch.workflow_id else "",
            phase=int(WorkflowPhase.QUEUED),
            mode=int(metadata.mode),
            principal=metadata.principal,
            created_at=at,
            updated_at=at,
            spec_bytes=codec.encode(spec),
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
                # the launch plan's concurrency policy, and the queue of its settings
                queue = spec.settings.queue if spec.settings else None
                await admit(session, row, launch.concurrency, tick, queue)
                session.add(row)
                await session.flush()
                for signal_id, node_id, literal_type in gate_signals(launch.closure):
                    session.add(
                        SignalRow(
                            execution_id=key(row),
                            signal_id=signal_id,
                            node_id=node_id,
                            type_bytes=codec.encode(literal_type) if literal_type else None,
                            created_at=at,
                        )
                    )
                await announce(session, CREATED, key(row))
        except BaseException as exc:
            if row.inputs_uri:
                await self.payloads.store.delete(row.inputs_uri, missing_ok=True)
            if isinstance(exc, IntegrityError) and is_unique_violation(exc):
                raise AlreadyExistsError(f"execution {project}/{domain}/{name} already exists") from exc
            raise
        for listener in self.on_created:
            listener()
        return _execution(row)

    # ---- read ----------------------------------------------------------------------------

    async def row(self, execution_id: ExecutionId | None) -> ExecutionRow:
        execution_id = check_execution_id(execution_id)
        async with self.db.read() as session:
            row = await execution_row(session, execution_id)
        if row is None:
            raise _missing(execution_id)
        return row

    async def get_execution(self, execution_id: ExecutionId | None) -> Execution:
        execution_id = check_execution_id(execution_id)
        rows = await self.db.query(_GET_EXECUTION, execution_parameters(execution_id))
        if not rows:
            raise _missing(execution_id)
        return _execution(rows[0])

    async def key(self, execution_id: ExecutionId | None) -> ExecutionKey:
        """The execution's row key (NotFoundError if there is none), in one indexed statement."""
        execution_id = check_execution_id(execution_id)
        found = await execution_key(self.db, execution_id)
        if found is None:
            raise _missing(execution_id)
        return ExecutionKey(found, execution_id)

    async def get_execution_data(self, execution_id: ExecutionId | None) -> ExecutionData:
        row = await self.row(execution_id)
        inputs = await self.payloads.get(row.inputs_bytes, row.inputs_uri)
        outputs = await self.payloads.get(row.outputs_bytes, row.outputs_uri)
        return ExecutionData(
            inputs=codec.decode(LiteralMap, inputs) if inputs is not None else None,
            outputs=codec.decode(LiteralMap, outputs) if outputs is not None else None,
        )

    async def list_executions(self, listing: Listing) -> Page[Execution]:
        """Newest first unless sorted otherwise; ``name`` restricts to executions of one launch
        plan, workflow or task; filters on phase, times, launch_plan, workflow, entity, ..."""
        if not listing.project or not listing.domain:
            raise InvalidArgumentError("list executions: project and domain are required")
        # an unknown project or domain is a mistake to name, not an empty list
        await self.projects.check_scope(listing.project, listing.domain, writing=False)
        # plain rows of the columns, not ORM objects: building SQLModel instances cost 2/3 of a page
        # (only what the messages need: the inputs and outputs stay behind)
        statement: Select[Any] = sa_select(*_EXECUTION_COLUMNS).where(
            col(ExecutionRow.project) == listing.project, col(ExecutionRow.domain) == listing.domain
        )
        if listing.name:
            statement = statement.where(col(ExecutionRow.entity_name) == listing.name)
        if not any(f.field == "state" for f in listing.filters):  # archived ones only when asked for
            statement = statement.where(col(ExecutionRow.state) == int(ExecutionState.ACTIVE))
        async with self.db.read() as session:
            reading = await self._prefix_reading(session, listing)
            statement, finish = page(statement, ListQuery.of(listing, _FIELDS, ExecutionRow.id,
                                                             prefix_reading=reading))
            rows = list((await session.execute(statement)).all())
        rows, token = finish(rows)
        return Page([_execution(r) for r in rows], token)

    async def _prefix_reading(self, session: Any, listing: Listing) -> str:
        """On SQLite, how a name prefix is read (see ``ListQuery.prefix_reading``): through the
        names' index when the prefix names few executions (one that names none costs one seek,
        not a read of the project's every row), else along the list's order, where the first
        page is soon found."""
        if self.db.dialect != "sqlite":
            return ""
        prefixes = [f.values[0] for f in listing.filters
                    if f.field == "name" and int(f.operator) == STARTS_WITH and len(f.values) == 1]
        sort = listing.sort
        if not prefixes or (sort is not None and sort.key == "name"):
            return "range"
        scope = (col(ExecutionRow.project) == listing.project, col(ExecutionRow.domain) == listing.domain)
        named = (sa_select(col(ExecutionRow.id))
                 .where(*scope, *prefix_range(col(ExecutionRow.name), prefixes[0]))
                 .limit(self.few_named).subquery())
        count = (await session.execute(sa_select(func.count()).select_from(named))).scalar_one()
        return "range" if count < self.few_named else "scan"

    async def phase_counts(self, project: str, domain: str) -> dict[WorkflowPhase, int]:
        """How many executions of a project and domain are in each phase (the console's dashboard);
        one grouped count over the (project, domain, phase, created_at) index."""
        statement = (sa_select(col(ExecutionRow.phase), func.count())
                     .where(col(ExecutionRow.project) == project, col(ExecutionRow.domain) == domain)
                     .group_by(col(ExecutionRow.phase)))
        async with self.db.read() as session:
            rows = (await session.execute(statement)).all()
        return {WorkflowPhase(phase): count for phase, count in rows}

    async def relaunch_execution(self, execution_id: ExecutionId | None, name: str = "") -> Execution:
        """A new execution of the same entity version with the same inputs (mode RELAUNCH)."""
        return await self._repeat(await self.row(execution_id), name, ExecutionMode.RELAUNCH)

    async def recover_execution(self, execution_id: ExecutionId | None, name: str = "") -> Execution:
        """Like relaunch (mode RECOVER), but the engine reuses the outputs of every node that
        succeeded in the original and runs only the rest."""
        original = await self.row(execution_id)
        if WorkflowPhase(original.phase) not in TERMINAL_WORKFLOW:
            raise FailedPreconditionError(
                f"execution {original.project}/{original.domain}/{original.name} is "
                f"{WorkflowPhase(original.phase).name.lower()}: recover it once it has ended"
            )
        return await self._repeat(original, name, ExecutionMode.RECOVER)

    async def _repeat(self, row: ExecutionRow, name: str, mode: ExecutionMode) -> Execution:
        spec = codec.decode(ExecutionSpec, row.spec_bytes)
        stored = await self.payloads.get(row.inputs_bytes, row.inputs_uri)
        inputs = dict(codec.decode(LiteralMap, stored).literals) if stored is not None else {}
        if row.entity_type == int(ResourceType.LAUNCH_PLAN):
            # the launch plan's fixed inputs were applied to the original: not inputs one may set
            plan = await self.entities.get_launch_plan(spec.entity_id)
            fixed = plan.spec.fixed_inputs if plan.spec is not None else None
            for fixed_name in fixed.literals if fixed else {}:
                inputs.pop(fixed_name, None)
        metadata = ExecutionMetadata(
            mode=mode,
            principal=spec.metadata.principal if spec.metadata else "",
            reference_execution=ExecutionId(row.project, row.domain, row.name),
        )
        again = replace(spec, inputs=LiteralMap(inputs) if stored is not None else None, metadata=metadata)
        # with the settings the original ran with, as they were resolved for it
        return await self.create_execution(again, project=row.project, domain=row.domain, name=name,
                                           resolved=(spec.settings, spec.setting_sources))

    # ---- terminate, delete, retention ---------------------------------------------------

    async def terminate_execution(
        self, execution_id: ExecutionId | None, reason: str = "", *, force: bool = False
    ) -> Execution:
        """Asks the engine to abort (ABORTING); ``force`` ends it now (ABORTED)."""
        row = await self.row(execution_id)
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
            current.phase = int(WorkflowPhase.ABORTED if force else WorkflowPhase.ABORTING)
            current.reason = reason or "terminated"
            current.updated_at = at
            if force:
                current.finished_at = at
            await on_phase_change(session, current, old_phase, current.phase, at=at)
            await announce(session, STOPPING, key(current))
            row = current
        return _execution(row)

    async def delete_execution(self, execution_id: ExecutionId | None) -> None:
        """Deletes a finished execution, its nodes, attempts, events, signals and data."""
        row = await self.row(execution_id)
        if WorkflowPhase(row.phase) not in TERMINAL_WORKFLOW:
            raise FailedPreconditionError(
                f"execution {row.project}/{row.domain}/{row.name} is "
                f"{WorkflowPhase(row.phase).name.lower()}: terminate it before deleting it"
            )
        await self._delete(row)

    async def update_execution(self, execution_id: ExecutionId | None, state: int) -> Execution:
        """Archives an ended execution (or brings an archived one back)."""
        row = await self.row(execution_id)
        if state not in tuple(ExecutionState):
            raise InvalidArgumentError(f"unknown execution state {state}; states: active, archived")
        if state == ExecutionState.ARCHIVED and WorkflowPhase(row.phase) not in TERMINAL_WORKFLOW:
            raise FailedPreconditionError(
                f"execution {row.project}/{row.domain}/{row.name} is "
                f"{WorkflowPhase(row.phase).name.lower()}: only an ended execution can be archived"
            )
        async with self.db.write() as session:
            await session.execute(update(ExecutionRow).where(col(ExecutionRow.id) == row.id)
                                  .values(state=state, updated_at=now()))
        return await self.get_execution(execution_id)

    async def _delete(self, row: ExecutionRow) -> None:
        await self.retention.delete(row)

    async def prune_executions(self, *, at: datetime | None = None, batch: int = 500,
                               dry_run: bool = False) -> RetentionRun:
        """Deletes the finished executions older than their project's retention (see
        services/retention.py); ``dry_run`` only says which would go."""
        return await self.retention.run(at=at, batch=batch, dry_run=dry_run)


def _missing(execution_id: ExecutionId) -> NotFoundError:
    return NotFoundError(
        f"execution {execution_id.project}/{execution_id.domain}/{execution_id.name} does not exist")


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
    expected: tuple[Parameter, ...],
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


def _recorded_principal(requested: str) -> str:
    """Who an execution is recorded as started by: the authenticated caller of the API call,
    never what its request says; the request's ``principal`` only when no one authenticated
    (authentication off, or work of the server's own, like the scheduler's "scheduler")."""
    who = caller()
    return who.subject if who is not None and who.authenticated else requested
