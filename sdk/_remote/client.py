"""The asynchronous client of a Wingspan server: register code, run it there, follow and
steer executions (``Remote(...).aio``; the synchronous ``Remote`` wraps it).

gRPC errors come back as Wingspan's own (NotFoundError, ...).
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeAlias

import anyio

from wingspan._remote import admin
from wingspan._remote.access import EVERY, audit_events, grant_role, revoke_role, role_bindings
from wingspan._remote.data import ProxyDownloads, input_literals, output_values
from wingspan._remote.endpoint import resolve_endpoint
from wingspan._remote.listing import parse_filters, parse_sort
from wingspan._remote.nodes import LogChunk, list_nodes, list_reports, read_logs
from wingspan._remote.register import Registered, register
from wingspan._remote.tokens import TokenProvider
from wingspan._remote.transport import RemoteError, Transport
from wingspan.core.errors import (
    FailedPreconditionError,
    NotFoundError,
    UnavailableError,
    UserError,
)
from wingspan.core.model import codec
from wingspan.core.model.execution import ENDED_WORKFLOW_PHASES, WorkflowPhase
from wingspan.core.model.interface import ExecutionId, Identifier, ResourceType, SignalId, TypedInterface
from wingspan.core.model.literals import LiteralMap
from wingspan.core.model.settings import with_items
from wingspan.core.types.naturals import from_natural, to_natural
from wingspan.protos import v1

__all__ = ["AsyncRemote", "Execution", "ExecutionRef", "LogChunk", "Registered", "RemoteError"]

log = logging.getLogger("wingspan.remote")
DEFAULT_PROJECT, DEFAULT_DOMAIN = "default", "development"


#: an execution: its id, the Execution, or its name in the client's project and domain
ExecutionRef: TypeAlias = "ExecutionId | Execution | str"


@dataclass
class Execution:
    """An execution on the server: ``phase`` and ``error`` as last read (``refresh()``,
    ``wait()``), ``outputs()`` once it has succeeded."""

    id: ExecutionId
    phase: WorkflowPhase
    remote: AsyncRemote = field(repr=False)
    error: str = ""
    # Python output types when the caller gave the entity object; plain values otherwise
    output_types: dict[str, Any] | None = field(default=None, repr=False)
    # what it runs ("name:version"), when it was created, and why it is in its phase
    entity: str = ""
    created_at: datetime | None = None
    reason: str = ""
    # what it runs with: each resolved setting, its value, and the level it came from
    settings: list[dict[str, str]] = field(default_factory=list)
    # left out of lists that do not ask for archived executions
    archived: bool = False
    _outputs: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def done(self) -> bool:
        return self.phase in ENDED_WORKFLOW_PHASES

    @property
    def name(self) -> str:
        return self.id.name

    async def refresh(self) -> Execution:
        fresh = await self.remote.execution(self.id)
        self.phase, self.error, self.reason = fresh.phase, fresh.error, fresh.reason
        return self

    async def wait(self, timeout: float | None = None) -> Execution:  # noqa: ASYNC109 - DESIGN.md's name
        """Until the execution ends (it follows the server's event stream); TimeoutError after
        ``timeout`` seconds, naming the execution and the phase it is in."""
        seen = 0
        with anyio.move_on_after(timeout) as scope:
            while not (await self.refresh()).done:
                try:
                    async for event in self.remote.watch(self.id, after_sequence=seen):
                        # the stream ends once the execution has ended; a new one resumes here
                        seen = max(seen, _sequence(event))
                except (RemoteError, UnavailableError):
                    await anyio.sleep(1.0)  # the server went away or is overloaded: ask again
        if scope.cancelled_caught:
            with anyio.move_on_after(5):
                await self.refresh()
            raise TimeoutError(f"execution {self.name} did not end within {timeout:g} s; "
                               f"it is {self.phase.name}")
        return self

    async def outputs(self) -> dict[str, Any]:
        """The outputs as Python values: of the entity's own types when it was given as an
        object, else as the registered interface's types read plainly (records as dicts)."""
        if self._outputs is None:
            if self.phase != WorkflowPhase.SUCCEEDED:
                await self.refresh()
            if self.phase != WorkflowPhase.SUCCEEDED:
                because = f": {self.error}" if self.error else ""
                raise FailedPreconditionError(f"execution {self.name} has no outputs: it is "
                                              f"{self.phase.name}{because}")
            self._outputs = await self.remote.outputs(self.id, self.output_types)
        return self._outputs


class AsyncRemote:
    """The client of the server at ``endpoint`` (``host:port``, ``https://`` or ``http://``; see
    wingspan._remote.endpoint), trusting the CA file ``ca`` beside the system store when TLS is used."""

    def __init__(self, endpoint: str | None = None, *, project: str = DEFAULT_PROJECT,
                 domain: str = DEFAULT_DOMAIN, ca: str | None = None,
                 tokens: TokenProvider | None = None) -> None:
        self.transport = Transport(resolve_endpoint(endpoint, ca=ca), tokens)
        self.endpoint = self.transport.address
        self.host, self.port = self.transport.endpoint.host, self.transport.endpoint.port
        self.project, self.domain = project, domain

    @property
    def http_address(self) -> str:
        """The server's HTTP address, as it reported it (known after the first call)."""
        return self.transport.http_address

    async def aclose(self) -> None:
        await self.transport.aclose()

    # ---- registration ---------------------------------------------------------------------

    async def register(self, target: str | os.PathLike[str] | Iterable[Any], *, project: str | None = None,
                       domain: str | None = None, version: str | None = None,
                       build_images: bool = False) -> Registered:
        """Registers every task, workflow and launch plan in a folder or file (with its code
        bundle), or the given entities; returns {name: created} (False: identical, no-op),
        whose ``version`` is the version registered (default: a digest of the code). Each
        ImageSpec image the tasks use must be in its registry (``build_images``: built and
        pushed first), else nothing is registered."""

        return await register(self.transport, target, project or self.project, domain or self.domain, version,
                              build_images=build_images)

    # ---- executions -------------------------------------------------------------------------

    async def execute(self, entity: Any, inputs: dict[str, Any] | None = None, *,
                      project: str | None = None, domain: str | None = None, version: str | None = None,
                      name: str = "", wait: bool = False, timeout: float | None = None,  # noqa: ASYNC109
                      max_parallelism: int = 0, target: str = "",
                      signals: Mapping[str, Any] | None = None,
                      settings: Mapping[str, Any] | None = None) -> Execution:
        """Starts ``entity`` (a workflow, task or launch plan object, or its registered name);
        ``target`` names where its Python tasks run (``local-process``, ``k8s``: the server's
        default when empty); ``settings`` are execution settings by name, above its launch
        plan's and its project's (``{"labels.team": "ml", "queue": "gpu:2"}``; see ``wingspan
        project settings --help``); ``signals`` gives its gates their values up front (``{signal name:
        value}``; an execution given a signal it has not is ended again). With ``wait``, returns
        once it has ended (see Execution.wait)."""

        if signals is not None and not isinstance(signals, Mapping):
            raise TypeError("signals= of a server's execution takes a dict {signal name: value}, given "
                            f"when it starts, not {type(signals).__name__}; to answer gates later, call "
                            "set_signal(execution, name, value)")
        project, domain = project or self.project, domain or self.domain
        entity_id, interface, py_inputs, py_outputs = await self._target(entity, project, domain, version)
        literals = await self._inputs(inputs or {}, interface, py_inputs)
        asked = codec.to_proto(with_items(None, settings)) if settings else None
        spec = v1.ExecutionSpec(entity_id=codec.to_proto(entity_id), inputs=codec.to_proto(literals),
                                max_parallelism=max_parallelism, python_target=target, settings=asked)
        answer = await self.transport.call("create_execution", v1.CreateExecutionRequest(
            project=project, domain=domain, name=name, spec=spec), f"start {entity_id}")
        # the answer carries the execution as created; a server that sends only its id is asked
        execution = (self._execution(answer.execution) if answer.execution is not None
                     else await self.execution(codec.from_proto(answer.id)))
        execution.output_types = py_outputs
        if signals:
            await self._give_signals(execution, signals)
        if wait:
            await execution.wait(timeout)
        return execution

    async def _give_signals(self, execution: Execution, signals: Mapping[str, Any]) -> None:
        try:
            for name, value in signals.items():
                await self.set_signal(execution.id, name, value)
        except Exception as exc:
            # refused: the execution must not wait for signals that will never come
            await self.terminate(execution.id, f"signals= was refused: {exc}", force=True)
            raise

    async def _target(self, entity: Any, project: str, domain: str, version: str | None
                      ) -> tuple[Identifier, TypedInterface, dict[str, Any] | None, dict[str, Any] | None]:
        if isinstance(entity, str):
            kinds = [(ResourceType.LAUNCH_PLAN, "get_launch_plan"), (ResourceType.WORKFLOW, "get_workflow"),
                     (ResourceType.TASK, "get_task")]
            for kind, method in kinds:
                try:
                    found = await self._get(kind, method, project, domain, entity, version)
                except NotFoundError:
                    continue
                return found[0], found[1], None, None
            raise NotFoundError(f"nothing named {entity!r} is registered in {project}/{domain}"
                                + (f" at version {version}" if version else ""))
        kind = entity.id.resource_type
        method = {ResourceType.LAUNCH_PLAN: "get_launch_plan", ResourceType.WORKFLOW: "get_workflow",
                  ResourceType.TASK: "get_task"}[kind]
        entity_id, interface = await self._get(kind, method, project, domain, entity.name, version)
        return entity_id, interface, dict(entity.interface.inputs), dict(entity.interface.outputs)

    async def _get(self, kind: ResourceType, method: str, project: str, domain: str, name: str,
                   version: str | None) -> tuple[Identifier, TypedInterface]:

        if not version:
            # the latest version, whole: a listing carries each entity as a get would
            listing = await self.transport.call(f"list_{method.removeprefix('get_')}s", v1.ListRequest(
                project=project, domain=domain, name=name, limit=1), f"find {name}")
            items = (getattr(listing, "launch_plans", None) or getattr(listing, "workflows", None)
                     or getattr(listing, "tasks", None) or [])
            if not items:
                raise NotFoundError(f"{name} is not registered in {project}/{domain}")
            found = items[0]
            entity_id = Identifier(kind, project, domain, name, found.id.version)
        else:
            entity_id = Identifier(kind, project, domain, name, version)
            request = v1.GetEntityRequest(id=codec.to_proto(entity_id))
            found = await self.transport.call(method, request, f"get {entity_id}")
        # the admin messages themselves have no model records: only their IDL parts do
        if kind == ResourceType.TASK:
            return entity_id, codec.from_proto(found.template).interface
        if kind == ResourceType.WORKFLOW:
            return entity_id, codec.from_proto(found.closure).primary.template.interface
        closure = codec.from_proto(found.closure) if found.closure else None
        return entity_id, closure.interface if closure and closure.interface else TypedInterface()

    async def _inputs(self, values: dict[str, Any], interface: TypedInterface,
                      py_types: dict[str, Any] | None) -> LiteralMap:

        return await input_literals(self.transport, values, interface, py_types, self.project, self.domain)

    async def execution(self, execution_ref: ExecutionRef) -> Execution:
        execution_id = self.execution_id(execution_ref)
        found = await self.transport.call("get_execution", v1.GetExecutionRequest(
            id=codec.to_proto(execution_id)), f"get execution {execution_id.name}")
        return self._execution(found)

    def _execution(self, message: Any) -> Execution:
        closure = message.closure
        error = closure.error.message if closure and closure.error else ""
        phase = WorkflowPhase(int(closure.phase)) if closure else WorkflowPhase.UNDEFINED
        entity = message.spec.entity_id if message.spec else None
        return Execution(codec.from_proto(message.id), phase, self, error,
                         entity=f"{entity.name}:{entity.version}" if entity else "",
                         created_at=closure.created_at if closure else None,
                         reason=closure.reason if closure else "",
                         settings=admin.execution_settings(message.spec),
                         archived=bool(closure and int(closure.state)))

    async def outputs(self, execution_id: ExecutionId, py_types: dict[str, Any] | None) -> dict[str, Any]:
        """The outputs of an execution: of ``py_types`` when given, else plain values."""

        data = await self.transport.call("get_execution_data", v1.GetExecutionRequest(
            id=codec.to_proto(execution_id)), f"get outputs of {execution_id.name}")
        literals = codec.from_proto(data.outputs).literals if data.outputs else {}
        return await output_values(self.transport.endpoint, literals, py_types)

    async def list_projects(self, *, include_archived: bool = False, filters: Sequence[str] = (),
                            sort: str = "", limit: int = 100) -> list[dict[str, Any]]:
        """Projects by id (``filters``, ``sort``: see wingspan._remote.listing)."""
        found = await admin.list_projects(self.transport, include_archived=include_archived,
                                          filters=filters, sort=sort, limit=limit)
        return [admin.project_row(p) for p in found]

    async def create_project(self, project_id: str, *, name: str = "", description: str = "",
                             labels: Mapping[str, str] | None = None) -> dict[str, Any]:
        """A new project (admins only), named ``project_id`` unless ``name`` is given."""
        return admin.project_row(await admin.create_project(
            self.transport, project_id, name=name, description=description, labels=labels))

    async def update_project(self, project_id: str, *, name: str | None = None,
                             description: str | None = None, labels: Mapping[str, str] | None = None,
                             archived: bool | None = None) -> dict[str, Any]:
        """Changes what is given of a project and keeps the rest; ``archived`` archives it
        (nothing new can be registered or run in it) or brings it back."""
        return admin.project_row(await admin.update_project(
            self.transport, project_id, name=name, description=description, labels=labels,
            archived=archived))

    async def list_domains(self) -> list[dict[str, str]]:
        return await admin.list_domains(self.transport)

    async def project_settings(self, project: str, domain: str = "") -> dict[str, str]:
        """The execution settings ``project`` gives (``domain``: that domain of it; project
        ``*``: the deployment's), by name; what is not set is left to the level below."""
        return await admin.project_settings(self.transport, project, domain)

    async def update_project_settings(self, project: str, domain: str = "", **changes: object
                                      ) -> dict[str, str]:
        """Sets the named settings of that level (None unsets one), keeping its others; names
        with dots go through a dict: ``update_project_settings("ml", **{"labels.team": "cv"})``.
        Admins of the project only (of the deployment for ``*``)."""
        return await admin.update_project_settings(self.transport, project, domain, changes)

    async def activate_launch_plan(self, name: str, version: str | None = None, *,
                                   project: str | None = None, domain: str | None = None) -> dict[str, Any]:
        """Makes a version of launch plan ``name`` (its latest by default) the active one: its
        schedule runs, and the version active before is switched off."""
        found = await admin.set_launch_plan_state(self.transport, project or self.project,
                                                  domain or self.domain, name, version, active=True)
        return _launch_plan_row(found)

    async def deactivate_launch_plan(self, name: str, version: str | None = None, *,
                                     project: str | None = None, domain: str | None = None
                                     ) -> dict[str, Any]:
        """Switches launch plan ``name`` off (its active version by default): its schedule stops."""
        found = await admin.set_launch_plan_state(self.transport, project or self.project,
                                                  domain or self.domain, name, version, active=False)
        return _launch_plan_row(found)

    async def archive_execution(self, execution_id: ExecutionRef, *, archived: bool = True) -> Execution:
        """Archives an ended execution: kept, but listed only when asked for (``archived=False``
        brings it back)."""
        eid = self.execution_id(execution_id)
        found = await admin.archive_execution(self.transport, eid, archived=archived)
        return self._execution(found)

    async def delete_execution(self, execution_id: ExecutionRef) -> None:
        """Deletes an ended execution with its nodes, events and data (admins only)."""
        await admin.delete_execution(self.transport, self.execution_id(execution_id))

    async def list_entities(self, kind: str, name: str = "", *, project: str | None = None,
                            domain: str | None = None, limit: int = 100, filters: Sequence[str] = (),
                            sort: str = "") -> list[dict[str, Any]]:
        """Registered tasks, workflows or launch plans (``kind``), newest first: every version
        of ``name``, or the latest version of each name (``filters``, ``sort``: see
        wingspan._remote.listing)."""

        if kind not in _LISTS:
            raise UserError(f"cannot list {kind!r}; choose one of {', '.join(_LISTS)}")
        project, domain = project or self.project, domain or self.domain
        parsed, order = parse_filters(filters), parse_sort(sort)
        if not name:
            resource = {"tasks": ResourceType.TASK, "workflows": ResourceType.WORKFLOW,
                        "launchplans": ResourceType.LAUNCH_PLAN}[kind]
            scope = v1.ListRequest(project=project, domain=domain, limit=limit, filters=parsed, sort=order)
            request = v1.ListNamesRequest(resource_type=v1.ResourceType(int(resource)), list=scope)
            answer = await self.transport.call("list_names", request, f"list {kind}")
            return [{"name": e.id.name, "latest_version": e.latest_version,
                     "updated": e.latest_at.isoformat() if e.latest_at else ""} for e in answer.entities]
        method, attribute = _LISTS[kind]
        answer = await self.transport.call(method, v1.ListRequest(
            project=project, domain=domain, name=name, limit=limit, filters=parsed, sort=order),
            f"list {kind}")
        if kind == "launchplans":
            return [_launch_plan_row(item) for item in answer.launch_plans]
        return [{"name": item.id.name, "version": item.id.version,
                 "created": item.created_at.isoformat() if getattr(item, "created_at", None) else ""}
                for item in getattr(answer, attribute)]

    async def signals(self, execution_ref: ExecutionRef) -> list[dict[str, Any]]:
        """The execution's gates and what they wait for (``value`` is None until given)."""

        execution_id = self.execution_id(execution_ref)
        answer = await self.transport.call("list_signals", v1.ListSignalsRequest(
            execution_id=codec.to_proto(execution_id), limit=500), f"list signals of {execution_id.name}")
        found = []
        for message in answer.signals:
            lt = codec.from_proto(message.type) if message.type else None
            value = codec.from_proto(message.value) if message.value else None
            found.append({"name": message.id.signal_id, "type": str(lt) if lt else "",
                          "node": message.node_id, "value": to_natural(value) if value else None,
                          "set": value is not None, "literal_type": lt})
        return found

    async def set_signal(self, execution_ref: ExecutionRef, name: str, value: Any) -> None:
        """Gives a gate its value (True/False approves or rejects), checked against its type."""

        execution_id = self.execution_id(execution_ref)
        known = {s["name"]: s for s in await self.signals(execution_id)}
        if name not in known:
            raise NotFoundError(f"execution {execution_id.name} has no signal {name!r}; "
                                f"its signals: {sorted(known) or 'none'}")
        literal = from_natural(value, known[name]["literal_type"], name)
        await self.transport.call("set_signal", v1.SetSignalRequest(
            id=codec.to_proto(SignalId(execution_id, name)), value=codec.to_proto(literal)),
            f"set signal {name!r} of {execution_id.name}")

    async def terminate(self, execution_id: ExecutionRef, reason: str = "", *, force: bool = False) -> None:
        """Asks the execution to stop; ``force`` ends it now even if attempts do not confirm."""

        eid = self.execution_id(execution_id)
        await self.transport.call("terminate_execution", v1.TerminateExecutionRequest(
            id=codec.to_proto(eid), reason=reason, force=force), f"terminate {eid.name}")

    async def relaunch(self, execution_id: ExecutionRef, *, name: str = "") -> Execution:
        """A new execution of the same entity with the same inputs."""

        eid = self.execution_id(execution_id)
        answer = await self.transport.call("relaunch_execution", v1.RelaunchExecutionRequest(
            id=codec.to_proto(eid), name=name), f"relaunch {eid.name}")
        return await self.execution(codec.from_proto(answer.id))

    async def recover(self, execution_id: ExecutionRef, *, name: str = "") -> Execution:
        """A new execution of an ended one that reuses the outputs of the nodes that succeeded."""

        eid = self.execution_id(execution_id)
        answer = await self.transport.call("recover_execution", v1.RecoverExecutionRequest(
            id=codec.to_proto(eid), name=name), f"recover {eid.name}")
        return await self.execution(codec.from_proto(answer.id))

    def watch(self, execution_id: ExecutionRef, after_sequence: int = 0) -> AsyncIterator[Any]:
        """The execution's events (IDL ``Event`` messages) as they are recorded, from the
        first (or after ``after_sequence``); the stream ends once the execution has ended."""

        eid = self.execution_id(execution_id)
        return self.transport.stream("watch_execution", v1.WatchExecutionRequest(
            id=codec.to_proto(eid), after_sequence=after_sequence), f"watch {eid.name}")

    def logs(self, execution_id: ExecutionRef, node_id: str | None = None, attempt: int | None = None,
             follow: bool = False) -> AsyncIterator[LogChunk]:
        """What task attempts wrote: of ``node_id`` (its latest attempt, or ``attempt``), or of
        every task node in turn. ``follow`` keeps reading as they write, through retries,
        until they end (for every node: until the execution ends)."""

        return read_logs(self.transport, self.execution_id(execution_id), node_id, attempt, follow)

    async def nodes(self, execution_id: ExecutionRef) -> list[dict[str, Any]]:
        """The execution's nodes, parents before their children: ``node``, ``name``, ``phase``,
        ``attempts``, ``cache``, ``seconds``, the first line of the ``error`` and the ``report``
        (the URI of the page of its task's decks, "" without one)."""

        return await list_nodes(self.transport, self.execution_id(execution_id))

    async def reports(self, execution_id: ExecutionRef, node_id: str | None = None,
                      attempt: int | None = None) -> list[dict[str, Any]]:
        """The reports (pages of decks) the execution's task nodes made, or ``node_id``'s: for
        each node that made one, ``node``, ``attempt`` (its latest that did, or ``attempt``),
        ``uri``, and ``html``, the page itself (read through the data proxy)."""

        found = await list_reports(self.transport, self.execution_id(execution_id), node_id, attempt)
        downloads = ProxyDownloads(self.transport.endpoint)
        for report in found:
            report["html"] = (await downloads.get(report["uri"])).decode()
        return found

    def execution_id(self, ref: ExecutionRef) -> ExecutionId:
        """An execution id from an id, an Execution, or a name in this client's project and domain."""
        if isinstance(ref, str):
            return ExecutionId(self.project, self.domain, ref)
        if isinstance(ref, Execution):
            return ref.id
        return ref

    # ---- who may do what (role bindings) ---------------------------------------------------

    async def grant_role(self, subject: str, role: str, project: str = EVERY, domain: str = EVERY) -> None:
        """Gives ``subject`` (a user, a service account, ``group:NAME``) ``role`` (admin,
        contributor, viewer) in ``project``/``domain`` (``*``: everywhere)."""
        await grant_role(self.transport, subject, role, project, domain)

    async def revoke_role(self, subject: str, role: str, project: str = EVERY, domain: str = EVERY) -> None:
        await revoke_role(self.transport, subject, role, project, domain)

    async def role_bindings(self, *, project: str = "", subject: str = "") -> list[dict[str, str]]:
        return await role_bindings(self.transport, project=project, subject=subject)

    async def audit_events(self, *, principal: str = "", method: str = "", project: str = "",
                           since: datetime | None = None, limit: int = 100) -> list[dict[str, str]]:
        """The calls that changed something, newest first (admins: of the projects they administer)."""
        return await audit_events(self.transport, principal=principal, method=method, project=project,
                                  since=since, limit=limit)

    async def list_executions(self, *, project: str | None = None, domain: str | None = None,
                              name: str = "", limit: int = 50, filters: Sequence[str] = (),
                              sort: str = "", include_archived: bool = False) -> list[Execution]:
        """Executions, newest first (of the entity ``name`` when given; ``filters``, ``sort``:
        see wingspan._remote.listing, e.g. ``phase=failed``, ``created_at>=2026-12-01``; the
        archived ones with ``include_archived`` or a filter on ``state``)."""
        if include_archived and not any(f.strip().startswith("state") for f in filters):
            filters = [*filters, "state=active,archived"]
        answer = await self.transport.call("list_executions", v1.ListRequest(
            project=project or self.project, domain=domain or self.domain, name=name, limit=limit,
            filters=parse_filters(filters), sort=parse_sort(sort)), "list executions")
        return [self._execution(message) for message in answer.executions]


def _launch_plan_row(item: Any) -> dict[str, Any]:
    closure = item.closure
    created = closure.created_at if closure and closure.created_at else None
    schedule = item.spec.schedule if item.spec else None
    return {"name": item.id.name, "version": item.id.version,
            "state": "active" if closure and int(closure.state) else "inactive",
            "schedule": bool(schedule), "created": created.isoformat() if created else ""}


def _sequence(event: Any) -> int:
    import betterproto2

    _, body = betterproto2.which_one_of(event, "event")
    return int(body.sequence) if body is not None else 0


_LISTS = {"tasks": ("list_tasks", "tasks"), "workflows": ("list_workflows", "workflows"),
          "launchplans": ("list_launch_plans", "launch_plans")}
