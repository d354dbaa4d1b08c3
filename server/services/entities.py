"""Tasks, workflows and launch plans: register, get, list; launch plan activation.

Versions are immutable. Registering the same content again under a version is a
no-op (``created=False``); other content under an existing version is a conflict
(:class:`AlreadyExistsError`), also when two registrations race: the database's
unique key decides, and the loser compares digests. A workflow is compiled on
registration (against the registered tasks, launch plans and workflows it calls)
and its closure stored with the closure's digest; an invalid one is rejected with
the compiler's message and nothing is stored.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, tuple_, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select

from wingspan.core.bundles import BundleLimits
from wingspan.core.compiler import assignable, compile_workflow, literal_fits
from wingspan.core.compiler.closure import LaunchPlanInterface
from wingspan.core.errors import (
    AlreadyExistsError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
)
from wingspan.core.model import codec
from wingspan.core.model.interface import (
    Identifier,
    NamedEntityIdentifier,
    Parameter,
    ParameterMap,
    ResourceType,
    TypedInterface,
)
from wingspan.core.model.launch_plans import LaunchPlan, LaunchPlanClosure, LaunchPlanSpec, LaunchPlanState
from wingspan.core.model.literals import SimpleType
from wingspan.core.model.record import replace
from wingspan.core.model.settings import check_settings
from wingspan.core.model.tasks import TaskTemplate
from wingspan.core.model.workflows import CompiledWorkflowClosure, WorkflowTemplate
from wingspan.server.db.engine import Database, now, utc
from wingspan.server.db.models import LaunchPlanRow, TaskRow, WorkflowRow
from wingspan.server.services.code_bundles import BundleCheck
from wingspan.server.services.identifiers import check_identifier, digest
from wingspan.server.services.notifications import NotificationKinds
from wingspan.server.services.pagination import Field, Listing, ListQuery, Page, page
from wingspan.server.services.payloads import Payloads
from wingspan.server.services.projects import ProjectService
from wingspan.server.services.references import complete_ids, referenced_ids

__all__ = ["EntityRow", "EntityService", "NamedEntity", "Registration", "StoredVersion"]

EntityRow = TaskRow | WorkflowRow | LaunchPlanRow
#: how many decoded workflow closures an entity service keeps (each at most the payloads' inline
#: limit when stored)
KNOWN_CLOSURES = 64
_TABLES: dict[ResourceType, type[TaskRow] | type[WorkflowRow] | type[LaunchPlanRow]] = {
    ResourceType.TASK: TaskRow,
    ResourceType.WORKFLOW: WorkflowRow,
    ResourceType.LAUNCH_PLAN: LaunchPlanRow,
}
_KINDS = {
    ResourceType.TASK: "task",
    ResourceType.WORKFLOW: "workflow",
    ResourceType.LAUNCH_PLAN: "launch plan",
}


def _fields(table: Any) -> dict[str, Field]:
    fields = {
        "name": Field(table.name, sortable=True),
        "version": Field(table.version, sortable=True),
        "created_at": Field(table.created_at, "time", sortable=True),
        "digest": Field(table.digest),
    }
    if table is LaunchPlanRow:
        fields["state"] = Field(table.state, LaunchPlanState)
        fields["workflow"] = Field(table.workflow_name)
        fields["updated_at"] = Field(table.updated_at, "time", sortable=True)
    return fields


@dataclass(frozen=True, slots=True)
class Registration:
    """What registering a version did: ``created`` is False when that very content was there."""

    created: bool
    digest: str


@dataclass(frozen=True, slots=True)
class StoredVersion:
    """A registered task or workflow version. ``content`` is what is stored, encoded (its
    TaskTemplate, or its CompiledWorkflowClosure): a reader that only hands it on reads the
    bytes as they are, since a large closure costs seconds to rebuild object by object."""

    id: Identifier
    created_at: datetime | None
    digest: str
    content: bytes


@dataclass(frozen=True, slots=True)
class NamedEntity:
    """A registered name, with its newest version."""

    resource_type: ResourceType
    id: NamedEntityIdentifier
    latest_at: datetime | None
    latest_version: str


def _model_id(identifier: Identifier, resource_type: ResourceType) -> Identifier:
    return replace(identifier, resource_type=resource_type)


def _row_id(row: Any, resource_type: ResourceType) -> Identifier:
    return Identifier(resource_type, row.project, row.domain, row.name, row.version)


class EntityService:
    def __init__(self, db: Database, payloads: Payloads, projects: ProjectService,
                 bundles: BundleCheck | None = None) -> None:
        self.db = db
        self.payloads = payloads
        self.projects = projects
        # a task's code bundle is checked before its version is accepted
        self.bundles = bundles or BundleCheck(payloads.store, BundleLimits())
        # the notifier kinds a launch plan's notifications may name (serve sets the installed ones)
        self.notification_kinds = NotificationKinds.builtin()
        # decoded closures of workflow versions, the most recently used last (see workflow_closure)
        self._known_closures: OrderedDict[tuple[str, str, str, str], CompiledWorkflowClosure] = OrderedDict()

    # ---- registration --------------------------------------------------------------------

    async def _check_request(
        self, identifier: Identifier | None, resource_type: ResourceType, content: object, what: str
    ) -> Identifier:
        kind = _KINDS[resource_type]
        identifier = check_identifier(identifier, f"register {kind}")
        if content is None:
            raise InvalidArgumentError(f"register {kind} {identifier.name!r}: the {what} is missing")
        await self.projects.check_scope(identifier.project, identifier.domain)
        return _model_id(identifier, resource_type)

    async def _insert(self, row: Any, resource_type: ResourceType, data: bytes) -> Registration:
        """Stores a new version (one statement: INSERT ... ON CONFLICT DO NOTHING); when the
        version exists, whether it was just now by a concurrent registration or long ago, the
        digests decide: equal is a no-op, different a conflict."""
        kind = _KINDS[resource_type]
        label = f"{kind} {row.project}/{row.domain}/{row.name} version {row.version!r}"
        # the blob's name holds the digest: a racing registration of other content cannot overwrite it
        row.content_bytes, row.content_uri = await self.payloads.put(
            data,
            "entities",
            kind.replace(" ", "_"),
            row.project,
            row.domain,
            row.name,
            f"{row.version}-{row.digest[:16]}.pb",
        )
        table = type(row)
        values = {c.name: getattr(row, c.name) for c in table.__table__.columns if c.name != "id"}
        dialect_insert = postgresql_insert if self.db.dialect == "postgresql" else sqlite_insert
        statement = (
            dialect_insert(table)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["project", "domain", "name", "version"])
            .returning(table.id)
        )
        async with self.db.write() as session:
            inserted = (await session.execute(statement)).scalar_one_or_none()
        if inserted is not None:
            return Registration(created=True, digest=row.digest)
        existing = await self._find_digest(table, row)
        if existing is None:  # deleted between the two statements (entities are never deleted)
            raise FailedPreconditionError(f"{label}: could not be stored, try again")
        if existing != row.digest:
            raise AlreadyExistsError(
                f"{label} is already registered with other content (digest {existing[:12]}, this one "
                f"{row.digest[:12]}): versions are immutable, register the change under a new version"
            )
        return Registration(created=False, digest=existing)

    async def _find_digest(self, table: Any, row: Any) -> str | None:
        async with self.db.read() as session:
            found: str | None = (
                await session.execute(
                    select(table.digest).where(
                        table.project == row.project,
                        table.domain == row.domain,
                        table.name == row.name,
                        table.version == row.version,
                    )
                )
            ).scalar_one_or_none()
        return found

    async def register_task(self, task_id: Identifier | None, template: TaskTemplate | None) -> Registration:
        task_id = await self._check_request(task_id, ResourceType.TASK, template, "template")
        assert template is not None
        template = complete_ids(
            replace(template, id=task_id), task_id.project, task_id.domain, task_id.version
        )
        data = codec.encode(template)
        row = TaskRow(
            project=task_id.project,
            domain=task_id.domain,
            name=task_id.name,
            version=task_id.version,
            digest=digest(data),
            created_at=now(),
        )
        # every version that is not this very one registered already runs only checked code
        bundle = template.code.bundle_uri if template.code is not None else ""
        if bundle and await self._find_digest(TaskRow, row) != row.digest:
            await self.bundles.check(bundle, f"register task {task_id}")
        return await self._insert(row, ResourceType.TASK, data)

    async def register_workflow(
        self, wf_id: Identifier | None, template: WorkflowTemplate | None,
        sub_workflows: Sequence[WorkflowTemplate] = (),
    ) -> Registration:
        """Compiles the workflow (with the subworkflows it calls) and stores its closure."""
        wf_id = await self._check_request(wf_id, ResourceType.WORKFLOW, template, "template")
        assert template is not None
        scope = (wf_id.project, wf_id.domain, wf_id.version)
        template = complete_ids(replace(template, id=wf_id), *scope)
        subs: dict[Identifier, WorkflowTemplate] = {}
        for given in sub_workflows:
            sub = complete_ids(given, *scope)
            if sub.id is None or not sub.id.name:
                raise InvalidArgumentError(f"register workflow {wf_id}: a subworkflow has no id")
            subs[replace(sub.id, resource_type=ResourceType.WORKFLOW)] = sub
        closure = await self._compile(template, subs)
        data = codec.encode(closure)
        row = WorkflowRow(
            project=wf_id.project,
            domain=wf_id.domain,
            name=wf_id.name,
            version=wf_id.version,
            digest=digest(data),
            created_at=now(),
        )
        return await self._insert(row, ResourceType.WORKFLOW, data)

    async def _compile(
        self, template: WorkflowTemplate, subs: dict[Identifier, WorkflowTemplate]
    ) -> CompiledWorkflowClosure:
        refs = referenced_ids((template, tuple(subs.values())))
        workflows = dict(subs)
        tasks: dict[Identifier, TaskTemplate] = {}
        # workflows called by reference that were registered before: their closures bring their tasks
        wanted = {i for i in refs[ResourceType.WORKFLOW] if i not in subs and i != template.id}
        for closure in await self._closures(wanted):
            for compiled in (closure.primary, *closure.sub_workflows):
                if compiled is not None and compiled.template is not None and compiled.template.id:
                    workflows.setdefault(
                        replace(compiled.template.id, resource_type=ResourceType.WORKFLOW), compiled.template
                    )
            for task in closure.tasks:
                if task.template is not None and task.template.id is not None:
                    tasks[task.template.id] = task.template
        for task_template in await self._templates(refs[ResourceType.TASK] - tasks.keys()):
            if task_template.id is not None:
                tasks[task_template.id] = task_template
        plans = await self._launch_plan_interfaces(refs[ResourceType.LAUNCH_PLAN])
        return compile_workflow(template, tasks, workflows, plans)

    async def _rows(self, table: Any, ids: Iterable[Identifier]) -> list[Any]:
        keys = [(i.project, i.domain, i.name, i.version) for i in ids]
        if not keys:
            return []
        statement = select(table).where(
            tuple_(table.project, table.domain, table.name, table.version).in_(keys)
        )
        # rows of the table's columns by its unique key: one indexed statement, no session opened
        return await self.db.query(statement)

    async def content(self, row: Any) -> bytes:
        data = await self.payloads.get(row.content_bytes, row.content_uri)
        assert data is not None
        return data

    async def _templates(self, ids: Iterable[Identifier]) -> list[TaskTemplate]:
        # tasks not found are left out: the compiler names each missing one where it is used
        return [codec.decode(TaskTemplate, await self.content(r)) for r in await self._rows(TaskRow, ids)]

    async def _closures(self, ids: Iterable[Identifier]) -> list[CompiledWorkflowClosure]:
        return [
            codec.decode(CompiledWorkflowClosure, await self.content(r))
            for r in await self._rows(WorkflowRow, ids)
        ]

    async def _launch_plan_interfaces(
        self, ids: Iterable[Identifier]
    ) -> dict[Identifier, LaunchPlanInterface]:
        found = {}
        for row in await self._rows(LaunchPlanRow, ids):
            closure = codec.decode(LaunchPlanClosure, row.closure_bytes or b"")
            spec = codec.decode(LaunchPlanSpec, await self.content(row))
            optional = frozenset(
                p.variable.name
                for p in (closure.expected_inputs or ParameterMap()).parameters
                if p.variable is not None and not p.required
            )
            fixed = frozenset((spec.fixed_inputs.literals if spec.fixed_inputs else {}).keys())
            found[Identifier(ResourceType.LAUNCH_PLAN, row.project, row.domain, row.name, row.version)] = (
                LaunchPlanInterface(closure.interface or TypedInterface(), optional, fixed)
            )
        return found

    async def register_launch_plan(
        self, lp_id: Identifier | None, spec: LaunchPlanSpec | None
    ) -> Registration:
        lp_id = await self._check_request(lp_id, ResourceType.LAUNCH_PLAN, spec, "spec")
        assert spec is not None
        spec = complete_ids(spec, lp_id.project, lp_id.domain, lp_id.version)
        if spec.workflow_id is None or not spec.workflow_id.name:
            raise InvalidArgumentError(f"register launch plan {lp_id}: the spec names no workflow")
        check_settings(spec.settings, f"register launch plan {lp_id}: settings")
        wf_id = replace(spec.workflow_id, resource_type=ResourceType.WORKFLOW)
        spec = replace(spec, workflow_id=wf_id)
        self.notification_kinds.check(spec.notifications, f"register launch plan {lp_id}")
        closures = await self._closures([wf_id])
        if not closures:
            raise FailedPreconditionError(
                f"register launch plan {lp_id}: workflow {wf_id} is not registered; register it first"
            )
        workflow = closures[0].primary.template if closures[0].primary else None
        if workflow is None:
            raise FailedPreconditionError(f"workflow {wf_id} has no template in its closure")
        expected = _expected_inputs(lp_id, workflow, spec)
        closure = LaunchPlanClosure(LaunchPlanState.INACTIVE, expected, workflow.interface)
        data = codec.encode(spec)
        at = now()
        row = LaunchPlanRow(
            project=lp_id.project,
            domain=lp_id.domain,
            name=lp_id.name,
            version=lp_id.version,
            digest=digest(data),
            created_at=at,
            updated_at=at,
            state=0,
            workflow_name=wf_id.name,
            workflow_version=wf_id.version,
            scheduled=spec.schedule is not None and bool(spec.schedule.kind),
            closure_bytes=codec.encode(closure),
        )
        return await self._insert(row, ResourceType.LAUNCH_PLAN, data)

    # ---- reading -------------------------------------------------------------------------

    async def _get_row(self, identifier: Identifier | None, resource_type: ResourceType) -> Any:
        kind = _KINDS[resource_type]
        identifier = check_identifier(identifier, f"get {kind}")
        rows = await self._rows(_TABLES[resource_type], [_model_id(identifier, resource_type)])
        if not rows:
            raise NotFoundError(f"{kind} {_model_id(identifier, resource_type)} is not registered")
        return rows[0]

    async def latest_version(self, resource_type: ResourceType, project: str, domain: str, name: str) -> str:
        table = _TABLES[resource_type]
        async with self.db.read() as session:
            version: str | None = (
                await session.execute(
                    select(table.version)
                    .where(table.project == project, table.domain == domain, table.name == name)
                    .order_by(col(table.created_at).desc(), col(table.id).desc())
                    .limit(1)
                )
            ).scalar_one_or_none()
        if version is None:
            raise NotFoundError(f"{_KINDS[resource_type]} {project}/{domain}/{name} is not registered")
        return version

    async def get_task(self, task_id: Identifier | None) -> StoredVersion:
        """A task version; its content is the TaskTemplate."""
        return await self._stored(await self._get_row(task_id, ResourceType.TASK), ResourceType.TASK)

    async def get_workflow(self, wf_id: Identifier | None) -> StoredVersion:
        """A workflow version; its content is the CompiledWorkflowClosure."""
        return await self._stored(await self._get_row(wf_id, ResourceType.WORKFLOW), ResourceType.WORKFLOW)

    async def _stored(self, row: TaskRow | WorkflowRow, resource_type: ResourceType) -> StoredVersion:
        content = await self.content(row)
        return StoredVersion(_row_id(row, resource_type), utc(row.created_at), row.digest, content)

    async def workflow_closure(self, wf_id: Identifier) -> CompiledWorkflowClosure:
        """The compiled closure of a workflow version. Versions are immutable and never deleted,
        so a decoded closure is kept (up to :data:`KNOWN_CLOSURES`, those stored inline only:
        large ones stay out of memory): each execution created, and each one an engine claims,
        needed one parsed again."""
        known = (wf_id.project, wf_id.domain, wf_id.name, wf_id.version)
        closure = self._known_closures.get(known)
        if closure is not None:
            self._known_closures.move_to_end(known)
            return closure
        rows = await self._rows(WorkflowRow, [wf_id])
        if not rows:
            raise NotFoundError(f"workflow {wf_id} is not registered")
        closure = codec.decode(CompiledWorkflowClosure, await self.content(rows[0]))
        if rows[0].content_bytes is not None:
            self._known_closures[known] = closure
            if len(self._known_closures) > KNOWN_CLOSURES:
                self._known_closures.popitem(last=False)
        return closure

    async def task_template(self, task_id: Identifier) -> TaskTemplate:
        found = await self._templates([task_id])
        if not found:
            raise NotFoundError(f"task {task_id} is not registered")
        return found[0]

    async def get_launch_plan(self, lp_id: Identifier | None) -> LaunchPlan:
        return await self._launch_plan(await self._get_row(lp_id, ResourceType.LAUNCH_PLAN))

    async def _launch_plan(self, row: LaunchPlanRow) -> LaunchPlan:
        closure = replace(
            codec.decode(LaunchPlanClosure, row.closure_bytes or b""),
            state=LaunchPlanState(row.state),
            created_at=utc(row.created_at),
            updated_at=utc(row.updated_at),
        )
        spec = codec.decode(LaunchPlanSpec, await self.content(row))
        return LaunchPlan(_row_id(row, ResourceType.LAUNCH_PLAN), spec, closure)

    async def get_active_launch_plan(self, named: NamedEntityIdentifier | None) -> LaunchPlan:
        named = check_identifier(named, "get active launch plan", version=False)
        async with self.db.read() as session:
            row = (
                await session.execute(
                    select(LaunchPlanRow).where(
                        LaunchPlanRow.project == named.project,
                        LaunchPlanRow.domain == named.domain,
                        LaunchPlanRow.name == named.name,
                        LaunchPlanRow.state == 1,
                    )
                )
            ).scalar_one_or_none()
        if row is None:
            raise NotFoundError(
                f"launch plan {named.project}/{named.domain}/{named.name} has no active version"
            )
        return await self._launch_plan(row)

    async def update_launch_plan_state(self, lp_id: Identifier | None, state: int) -> LaunchPlan:
        """Activates a version (deactivating the active one of its name, in the same
        transaction) or deactivates it."""
        row = await self._get_row(lp_id, ResourceType.LAUNCH_PLAN)
        if state not in (0, 1):
            raise InvalidArgumentError(f"unknown launch plan state {state}")
        at = now()
        async with self.db.write() as session:
            if state == 1:
                await session.execute(
                    update(LaunchPlanRow)
                    .where(
                        col(LaunchPlanRow.project) == row.project,
                        col(LaunchPlanRow.domain) == row.domain,
                        col(LaunchPlanRow.name) == row.name,
                        col(LaunchPlanRow.state) == 1,
                        col(LaunchPlanRow.id) != row.id,
                    )
                    .values(state=0, updated_at=at)
                )
            await session.execute(
                update(LaunchPlanRow)
                .where(col(LaunchPlanRow.id) == row.id)
                .values(state=state, updated_at=at)
            )
        return await self.get_launch_plan(lp_id)

    # ---- lists ---------------------------------------------------------------------------

    async def _list(self, listing: Listing, resource_type: ResourceType) -> tuple[list[Any], str]:
        table = _TABLES[resource_type]
        if not listing.project or not listing.domain:
            raise InvalidArgumentError("list: project and domain are required")
        await self.projects.check_scope(listing.project, listing.domain, writing=False)
        statement: Select[Any] = select(table).where(
            col(table.project) == listing.project, col(table.domain) == listing.domain
        )
        if listing.name:
            statement = statement.where(col(table.name) == listing.name)
        statement, finish = page(statement, ListQuery.of(listing, _fields(table), table.id))
        if listing.name:
            # one name's versions, through the (project, domain, name, created_at) index: a
            # single statement, no session opened (a client starting an execution by name asks)
            return finish(await self.db.query(statement))
        async with self.db.read() as session:
            rows = list((await session.execute(statement)).scalars())
        return finish(rows)

    async def list_tasks(self, listing: Listing) -> Page[StoredVersion]:
        rows, token = await self._list(listing, ResourceType.TASK)
        return Page([await self._stored(r, ResourceType.TASK) for r in rows], token)

    async def list_workflows(self, listing: Listing) -> Page[StoredVersion]:
        rows, token = await self._list(listing, ResourceType.WORKFLOW)
        return Page([await self._stored(r, ResourceType.WORKFLOW) for r in rows], token)

    async def list_launch_plans(self, listing: Listing) -> Page[LaunchPlan]:
        rows, token = await self._list(listing, ResourceType.LAUNCH_PLAN)
        return Page([await self._launch_plan(r) for r in rows], token)

    async def list_names(self, resource_type: int, listing: Listing) -> Page[NamedEntity]:
        """Each name once, with its newest version, in name order (``Listing.name``
        and ``contains`` filters on "name" narrow it)."""
        if resource_type not in _TABLES:
            raise InvalidArgumentError("list names: resource_type must be task, workflow or launch plan")
        kind = ResourceType(resource_type)
        table = _TABLES[kind]
        if not listing.project or not listing.domain:
            raise InvalidArgumentError("list names: project and domain are required")
        await self.projects.check_scope(listing.project, listing.domain, writing=False)
        latest = select(
            table.name, func.max(table.created_at).label("created_at"), func.max(table.id).label("id")
        ).where(table.project == listing.project, table.domain == listing.domain)
        if listing.name:
            latest = latest.where(table.name == listing.name)
        for f in listing.filters:
            if f.field != "name":
                raise InvalidArgumentError(f"list names: cannot filter on {f.field!r}; valid fields: name")
        grouped = latest.group_by(table.name).subquery()
        statement: Select[Any] = select(grouped.c.name, grouped.c.created_at, grouped.c.id)
        fields = {"name": Field(grouped.c.name, sortable=True)}
        query = ListQuery(
            fields,
            grouped.c.id,
            "name",
            listing.limit,
            listing.token,
            list(listing.filters),
            ascending=True,
        )
        statement, finish = page(statement, query)
        async with self.db.read() as session:
            rows = list((await session.execute(statement)).all())
            rows, token = finish(rows)
            ids = [r.id for r in rows]
            found = await session.execute(select(table.id, table.version).where(col(table.id).in_(ids)))
            versions: dict[int, str] = {row_id: version for row_id, version in found.all()}
        entities = [
            NamedEntity(
                kind,
                NamedEntityIdentifier(listing.project, listing.domain, r.name),
                utc(r.created_at),
                versions.get(r.id, ""),
            )
            for r in rows
        ]
        return Page(entities, token)


def _expected_inputs(lp_id: Identifier, workflow: WorkflowTemplate, spec: LaunchPlanSpec) -> ParameterMap:
    """The inputs a run of the launch plan takes: the workflow's, less the fixed ones, with
    the launch plan's defaults over the workflow's; every problem reported at once."""
    interface = workflow.interface
    inputs = {v.name: v for v in (interface.inputs if interface else ())}
    workflow_defaults = {
        p.variable.name: p
        for p in (workflow.parameters or ParameterMap()).parameters
        if p.variable is not None
    }
    defaults = {
        p.variable.name: p
        for p in (spec.default_inputs or ParameterMap()).parameters
        if p.variable is not None
    }
    fixed = dict(spec.fixed_inputs.literals) if spec.fixed_inputs else {}
    problems = []
    where = f"launch plan {lp_id}"
    for name, parameter in defaults.items():
        variable = inputs.get(name)
        if variable is None:
            problems.append(f"{where}: default input {name!r} is not an input of workflow {workflow.id}")
        elif (
            parameter.default is not None
            and variable.type is not None
            and not literal_fits(parameter.default, variable.type)
        ):
            problems.append(
                f"{where}: the default of {name!r} does not fit its type "
                f"{variable.type.annotation or variable.type.kind}"
            )
        elif (
            parameter.variable is not None
            and parameter.variable.type is not None
            and variable.type is not None
            and not assignable(parameter.variable.type, variable.type)[0]
        ):
            problems.append(f"{where}: input {name!r} is declared with another type than the workflow's")
    for name, literal in fixed.items():
        variable = inputs.get(name)
        if variable is None:
            problems.append(f"{where}: fixed input {name!r} is not an input of workflow {workflow.id}")
        elif variable.type is not None and not literal_fits(literal, variable.type):
            problems.append(
                f"{where}: the fixed value of {name!r} does not fit its type "
                f"{variable.type.annotation or variable.type.kind}"
            )
        elif name in defaults:
            problems.append(f"{where}: input {name!r} is both fixed and given a default")
    schedule = spec.schedule
    if schedule is not None and schedule.kickoff_time_input_arg:
        variable = inputs.get(schedule.kickoff_time_input_arg)
        if variable is None or variable.type is None or variable.type.value != SimpleType.DATETIME:
            problems.append(
                f"{where}: the schedule's kickoff input {schedule.kickoff_time_input_arg!r} must be "
                "a datetime input of the workflow"
            )
    if problems:
        raise InvalidArgumentError("\n".join(problems))
    parameters = []
    for name, variable in inputs.items():
        if name in fixed:
            continue
        source = defaults.get(name) or workflow_defaults.get(name)
        default = source.default if source is not None else None
        required = default is None and not (source is not None and not source.required)
        if schedule is not None and name == schedule.kickoff_time_input_arg:
            required = False
        parameters.append(Parameter(variable, default, required))
    return ParameterMap(tuple(parameters))
