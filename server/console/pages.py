"""The console's pages under ``/console``: server-rendered HTML (Jinja templates shipped in the
wheel) with a little of our own JavaScript for actions, the DAG's zoom and live updates.

Every read goes through the admin methods' handlers (:meth:`ApiBackend.handler`), so a page
shows only what its caller may read and answers the same errors as the API; the actions are
the API's own POST methods, called from the page's script. Deep links follow the execution
link of the notifications: ``/console/projects/{p}/domains/{d}/executions/{name}``.
"""

from __future__ import annotations

import asyncio
import codecs
import dataclasses
import datetime as dt
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Mapping
from itertools import chain
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import anyio
import jinja2
from litestar import Request, Response, get, post
from litestar.handlers import HTTPRouteHandler
from litestar.response import Redirect, ServerSentEvent, ServerSentEventMessage

from wingspan.core.engine.reports import REPORT_LOG
from wingspan.core.errors import InvalidArgumentError, NotFoundError, WingspanError
from wingspan.core.model import codec
from wingspan.core.model.interface import Parameter
from wingspan.core.model.literals import LiteralMap
from wingspan.core.types.naturals import from_natural, to_natural
from wingspan.protos import v1
from wingspan.server.api.encoded import plain
from wingspan.server.api.http_errors import status_of
from wingspan.server.api.methods import methods
from wingspan.server.console.folds import Folds
from wingspan.server.console.forms import files_in, form_fields, read_form
from wingspan.server.console.graph import NODE_HEIGHT, NODE_WIDTH, layout
from wingspan.server.console.snapshots import Changes, Snapshot, changes, table_rows
from wingspan.server.console.timeline import WIDTH as TIMELINE_WIDTH
from wingspan.server.console.timeline import Timeline, timeline
from wingspan.server.services.phases import is_terminal

__all__ = ["console_routes"]

_log = logging.getLogger(__name__)
_HERE = Path(__file__).parent
_STATIC = {"console.js": "text/javascript", "console.css": "text/css"}
_KINDS = {"tasks": (v1.ResourceType.TASK, "Task"), "workflows": (v1.ResourceType.WORKFLOW, "Workflow"),
          "launch_plans": (v1.ResourceType.LAUNCH_PLAN, "LaunchPlan")}
#: the page-level Content-Security-Policy: nothing from outside the server, reports sandboxed
_CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'self'")
#: a report is a page of the user's: its own origin (sandbox without allow-same-origin), inline
#: scripts and styles allowed, nothing from outside the server
_REPORT_CSP = ("sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline'; "
               "style-src 'unsafe-inline'; img-src data:; font-src data:")
#: the start of the latest attempt's log shown on a node's page (the page follows the rest live)
_LOG_BYTES = 64 * 1024
_ATTEMPT_ENDED = {"succeeded", "failed", "timed_out", "aborted", "retryable_failure"}
#: the items of a long list shown as an input or output
_LIST_SHOWN = 100
#: the children of an unfolded parent shown on the execution page (all of them: the parent's page)
_CHILDREN_SHOWN = 100
_EVENTS_PAGE = 1000
#: the children per page of a node's page (a map of 10,000 items: 20 pages, each quick to draw)
_CHILDREN_PAGE = 500
#: how often an execution's live stream reads its page again: while it changes, and at most
#: while nothing does
_LIVE_QUICKEST, _LIVE_SLOWEST = 1.0, 4.0
_EXECUTION_FILTERS = ("phase", "name_prefix", "launch_plan", "principal", "created_after", "created_before")


@dataclasses.dataclass(frozen=True, slots=True)
class _Shown:
    """The nodes an execution's page shows, as read (see :meth:`ConsolePages._shown`)."""

    nodes: list[Any]
    counts: dict[str, int]
    folds: Folds
    children: dict[str, list[Any]]
    attempts: Timeline | None


def _phase_name(value: Any) -> str:
    try:
        return str(value.name).lower()
    except AttributeError:
        return str(value)


def _duration(value: Any) -> str:
    if value is None:
        return ""
    seconds = value.total_seconds() if isinstance(value, dt.timedelta) else float(value)
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{seconds:02d}s" if hours else f"{minutes}m{seconds:02d}s"


def _when(value: Any) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, dt.datetime) else ""


def _values(literals: Any) -> dict[str, str]:
    """A LiteralMap (IDL or model) as name -> JSON text of its plain value; a list longer than
    ``_LIST_SHOWN`` shows its first items and how many more there are (a map of 10,000 inputs
    would otherwise cost the page most of its time, to show numbers nobody reads)."""
    if literals is None:
        return {}
    if not isinstance(literals, LiteralMap):
        literals = codec.from_proto(literals)
    found = {}
    for name, literal in literals.literals.items():
        try:
            if literal.kind == "collection" and len(literal.value.literals) > _LIST_SHOWN:
                items = literal.value.literals
                shown = [to_natural(item) for item in items[:_LIST_SHOWN]]
                text = json.dumps(shown, default=str, indent=1)
                found[name] = f"{text[:-2]},\n … {len(items) - _LIST_SHOWN:,} more of {len(items):,}\n]"
            else:
                found[name] = json.dumps(to_natural(literal), default=str, indent=1)
        except Exception as exc:  # a value only its own classes can read: say so, keep the page
            found[name] = f"({literal.kind}: {type(exc).__name__})"
    return found


def _attempt_events(attempt: v1.TaskExecution) -> list[v1.Event]:
    """An attempt read from its row as the timeline reads attempts: a task event at its start,
    and one at its last change with its phase and error."""
    closure = attempt.closure
    if closure is None or closure.started_at is None:
        return []
    first = v1.TaskExecutionEvent(id=attempt.id, phase=closure.phase, occurred_at=closure.started_at)
    last = v1.TaskExecutionEvent(id=attempt.id, phase=closure.phase, error=closure.error,
                                 occurred_at=closure.updated_at or closure.started_at)
    return [v1.Event(task=first), v1.Event(task=last)]


def _sequence(event: Any) -> int:
    found = event.workflow or event.node or event.task
    return int(found.sequence) if found is not None else 0


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:16]


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(_HERE)), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    env.filters.update(phase=_phase_name, duration=_duration, when=_when)
    # the static files' URLs with their content's digest (see the static route)
    env.globals["static"] = {file: f"/console/static/{file}?v={_digest((_HERE / file).read_bytes())}"
                             for file in _STATIC}
    env.globals.update(NODE_WIDTH=NODE_WIDTH, NODE_HEIGHT=NODE_HEIGHT)
    return env


class ConsolePages:
    """The reads of the pages, through the backend's handlers (``state``: the HTTP app's state)."""

    def __init__(self, state: Any) -> None:
        self.state = state
        self.env = _environment()
        self.by_name = {m.name: m for m in methods()}

    async def call(self, method: str, message: Any) -> Any:
        handler = self.state.backend.handler(self.by_name[method])
        if handler is None:
            raise InvalidArgumentError(f"{method} is not offered by this server")
        return plain(await handler(message))  # a page reads messages, not wire bytes

    def render(self, template: str, status: int = 200, **context: Any) -> Response[bytes]:
        html = self.env.get_template(template).render(**context)
        return Response(html.encode(), status_code=status, media_type="text/html; charset=utf-8",
                        headers={"Content-Security-Policy": _CSP})

    def failure(self, exc: Exception, where: str) -> Response[bytes]:
        status, code = status_of(exc)
        if status == 500:
            _log.error("console %s failed", where, exc_info=exc)
        text = str(exc) if isinstance(exc, WingspanError) and status != 500 else f"{where}: internal error"
        return self.render("error.html", status, title=code, message=text, project="", domain="")

    # ---- pages ------------------------------------------------------------------------------

    async def dashboard(self) -> Response[bytes]:
        projects = (await self.call("ListProjects", v1.ListProjectsRequest())).projects
        domains = [d.id for d in (await self.call("ListDomains", v1.ListDomainsRequest())).domains]
        rows = []
        for project in projects:
            for domain in domains:
                # read through ListExecutions first: whoever may not list them gets no counts either
                recent = (await self.call("ListExecutions", v1.ListRequest(
                    project=project.id, domain=domain, limit=5))).executions
                counts = await self.state.backend.admin.executions.phase_counts(project.id, domain)
                rows.append({"project": project.id, "domain": domain, "recent": recent,
                             "counts": {p.name.lower(): n for p, n in sorted(counts.items())}})
        return self.render("dashboard.html", rows=rows, project="", domain="")

    async def _executions_page(self, project: str, domain: str,
                               query: Mapping[str, list[str]]) -> dict[str, Any]:
        """The list page's context: its filters, sort and page read from the query."""
        filters: list[v1.Filter] = []
        chosen = {k: (query.get(k) or [""])[0] for k in _EXECUTION_FILTERS}
        if chosen["phase"]:
            filters.append(v1.Filter(field="phase", values=[chosen["phase"]]))
        if chosen["name_prefix"]:
            filters.append(v1.Filter(field="name", operator=v1.FilterOperator.STARTS_WITH,
                                     values=[chosen["name_prefix"]]))
        for key in ("launch_plan", "principal"):
            if chosen[key]:
                filters.append(v1.Filter(field=key, values=[chosen[key]]))
        if chosen["created_after"]:
            filters.append(v1.Filter(field="created_at", operator=v1.FilterOperator.GTE,
                                     values=[chosen["created_after"]]))
        if chosen["created_before"]:
            filters.append(v1.Filter(field="created_at", operator=v1.FilterOperator.LT,
                                     values=[chosen["created_before"]]))
        sort_by = (query.get("sort_by") or ["created_at"])[0]
        order = (query.get("order") or ["desc"])[0]
        token = (query.get("token") or [""])[0]
        limit = (query.get("limit") or ["50"])[0]
        if not limit.isdigit():
            raise InvalidArgumentError(f"limit {limit!r} is not a whole number")
        page = await self.call("ListExecutions", v1.ListRequest(
            project=project, domain=domain, limit=int(limit), token=token, filters=filters,
            sort=v1.Sort(key=sort_by, ascending=order == "asc")))
        kept = {k: v for k, v in {**chosen, "sort_by": sort_by, "order": order, "limit": limit}.items() if v}
        next_link = f"?{urlencode({**kept, 'token': page.next_token})}" if page.next_token else ""
        # only the first page follows changes: rows arriving on top would shift a later page under the reader
        live = f"/console/projects/{project}/domains/{domain}/live/executions?{urlencode(kept)}"
        return dict(project=project, domain=domain, executions=page.executions, chosen=chosen,
                    sort_by=sort_by, order=order, next_link=next_link, limit=limit,
                    live_link="" if token else live,
                    phases=[p.name.lower() for p in v1.WorkflowPhase if p.value])

    async def executions(self, project: str, domain: str, query: Mapping[str, list[str]]) -> Response[bytes]:
        return self.render("executions.html", **await self._executions_page(project, domain, query))

    async def live_executions(self, project: str, domain: str, query: Mapping[str, list[str]],
                              interval: float = 2.0) -> AsyncIterator[ServerSentEventMessage]:
        """The list page's rows again whenever they change (new executions, phases): the server reads
        the page every ``interval`` seconds and sends the rows only when they differ, so a browser
        holds one quiet connection instead of polling."""
        template = self.env.get_template("execution_rows.html")
        last = ""
        try:
            while True:
                rows = template.render(**await self._executions_page(project, domain, query))
                if rows != last:
                    last = rows
                    yield ServerSentEventMessage(rows, event="rows")
                await anyio.sleep(interval)
        except Exception as exc:
            status, code = status_of(exc)
            text = str(exc) if status != 500 else "the live list failed; reload the page"
            yield ServerSentEventMessage(json.dumps({"reason": text, "code": code}), event="end")

    async def execution(self, project: str, domain: str, name: str,
                        query: Mapping[str, list[str]] | None = None) -> Response[bytes]:
        """An execution: its top-level nodes, each parent's children folded or unfolded (a parent of
        more than ``_FOLD_PAST`` starts folded; ``?open=`` and ``?closed=`` hold the reader's choice,
        so a link keeps it), the graph with the unfolded children, and with ``?timeline=1`` its
        attempts over time. The live link carries the digest of what the page drew."""
        query = query or {}
        ident = v1.ExecutionId(project=project, domain=domain, name=name)
        execution = await self.call("GetExecution", v1.GetExecutionRequest(id=ident))
        # GetExecutionData asks the same viewer role as GetExecution, whose handler just allowed
        # this caller: read the data as the service holds it, not through IDL messages (turning
        # a 10,000-item input into messages and back was three quarters of the page's time).
        # The reads go together: with the engine on the same loop, each read waits for the loop
        # once more, so the page waits for the slowest read, not for the sum of them all
        data, primary, signals, shown = await asyncio.gather(
            self.state.backend.admin.executions.get_execution_data(codec.from_proto(ident)),
            self._primary(execution),
            self.call("ListSignals", v1.ListSignalsRequest(execution_id=ident)),
            self._shown(ident, query))
        view = self._draw(ident, execution, shown, self._labels(primary))
        graph = self._graph(primary, view.phases, {p: [c.id.node_id for c in kids if c.id is not None]
                                                   for p, kids in shown.children.items()})
        base = f"/console/projects/{project}/domains/{domain}/executions/{name}"
        link = shown.folds.link()
        live = f"{base}/live{link}{'&' if link != '?' else ''}seen={view.digest}"
        return self.render(
            "execution.html", project=project, domain=domain, execution=execution, closure=execution.closure,
            inputs=_values(data.inputs), outputs=_values(data.outputs), graph=graph, signals=signals.signals,
            phase=view.phase, folds=shown.folds, view=view, live=live)

    async def _shown(self, ident: v1.ExecutionId, query: Mapping[str, list[str]]) -> _Shown:
        """The nodes the page shows now: the top-level ones, the unfolded parents' children, and
        with the timeline their attempts."""
        nodes, counts = await asyncio.gather(
            self._all_nodes(ident), self.state.backend.admin.nodes.child_counts(codec.from_proto(ident)))
        folds = Folds.read(query, counts)
        pages = await asyncio.gather(*(self.call("ListNodeExecutions", v1.ListNodeExecutionsRequest(
            execution_id=ident, parent_node_id=parent, limit=_CHILDREN_SHOWN)) for parent in folds.unfolded))
        children = {parent: list(page.node_executions)
                    for parent, page in zip(folds.unfolded, pages, strict=True)}
        shown_ids = {n.id.node_id for n in [*nodes, *chain(*children.values())] if n.id is not None}
        items = [n.id.node_id for n in chain(*children.values()) if n.id is not None]
        attempts = await self._timeline(ident, shown_ids, items) if folds.timeline else None
        return _Shown(nodes, counts, folds, children, attempts)

    def _draw(self, ident: v1.ExecutionId, execution: Any, shown: _Shown,
              labels: Mapping[str, str]) -> Snapshot:
        """What the page shows of the execution, drawn (the page and its live stream)."""
        phases = {n.id.node_id: _phase_name(n.closure.phase)
                  for n in [*shown.nodes, *chain(*shown.children.values())]
                  if n.closure is not None and n.id is not None}
        base = f"/console/projects/{ident.project}/domains/{ident.domain}/executions/{ident.name}"
        parts: Any = self.env.get_template("parts.html").module
        rows = [(r.kind, r.key, str(parts.table_row(r, base, shown.folds, labels)))
                for r in table_rows(shown.nodes, shown.counts, shown.children)]
        drawn = str(parts.timeline_body(shown.attempts, TIMELINE_WIDTH)) if shown.attempts is not None else ""
        closure = execution.closure
        phase = _phase_name(closure.phase) if closure else "undefined"
        ended = closure is not None and is_terminal("workflow", int(closure.phase))
        return Snapshot(phase, _duration(closure.duration if closure else None), rows, phases, drawn, ended)

    async def _all_nodes(self, ident: v1.ExecutionId) -> list[Any]:
        nodes, token = [], ""
        while True:  # the top-level nodes; a map's items and dynamic children are read per parent
            page = await self.call("ListNodeExecutions", v1.ListNodeExecutionsRequest(
                execution_id=ident, limit=1000, token=token))
            nodes += page.node_executions
            token = page.next_token
            if not token:
                return nodes

    async def _timeline(self, ident: v1.ExecutionId, shown: set[str], children: list[str]) -> Timeline:
        """The attempts of the shown nodes, from every task event of the execution (read in pages),
        and of the shown ``children`` from their attempts' rows: a map item's events are folded
        into its rows, not stored as events."""
        events: list[Any] = []
        after = 0
        while True:
            page = (await self.call("ListEvents", v1.ListEventsRequest(
                execution_id=ident, after_sequence=after, limit=_EVENTS_PAGE))).events
            events += page
            last = _sequence(page[-1]) if page else 0
            if len(page) < _EVENTS_PAGE or last <= after:
                break
            after = last
        if children:
            found = await self.state.backend.admin.nodes.attempts_of(codec.from_proto(ident), children)
            events += [e for attempt in found for e in _attempt_events(codec.to_proto(attempt))]
        return timeline(events, shown, _phase_name, dt.datetime.now(dt.UTC))

    async def node(self, project: str, domain: str, name: str, node_id: str,
                   children_token: str = "") -> Response[bytes]:
        """One node: its phase, inputs, outputs, children (map items, dynamic nodes; a page of them,
        ``children_token`` the next page's), every attempt with its error, logs and report, and the
        latest attempt's log text."""
        ident = v1.NodeExecutionId(execution_id=v1.ExecutionId(project=project, domain=domain, name=name),
                                   node_id=node_id)
        node = await self.call("GetNodeExecution", v1.GetNodeExecutionRequest(id=ident))
        data = await self.call("GetNodeExecutionData", v1.GetNodeExecutionRequest(id=ident))
        # a map's items and a dynamic node's children (a map node does not say it is a parent)
        listed = await self.call("ListNodeExecutions", v1.ListNodeExecutionsRequest(
            execution_id=ident.execution_id, parent_node_id=node_id, limit=_CHILDREN_PAGE,
            token=children_token))
        children = listed.node_executions
        counts = await self.state.backend.admin.nodes.child_counts(codec.from_proto(ident.execution_id))
        next_children = f"?{urlencode({'children': listed.next_token})}" if listed.next_token else ""
        attempts = (await self.call("ListTaskExecutions", v1.ListTaskExecutionsRequest(
            node_execution_id=ident, limit=100))).task_executions
        log_text, log_offset, live_log = "", 0, ""
        if attempts:
            chunks = []
            request = v1.GetTaskLogsRequest(node_execution_id=ident)
            async for chunk in self.call_stream("GetTaskLogs", request):
                chunks.append(chunk.data)
                log_offset = chunk.next_offset
                if sum(map(len, chunks)) > _LOG_BYTES:
                    break
            log_text = b"".join(chunks).decode(errors="replace")
            latest = max(attempts, key=lambda a: a.id.attempt if a.id is not None else 0)
            if latest.closure is None or _phase_name(latest.closure.phase) not in _ATTEMPT_ENDED:
                number = latest.id.attempt if latest.id else 0
                where = urlencode({"node": node_id, "attempt": number, "offset": log_offset})
                live_log = f"/console/projects/{project}/domains/{domain}/executions/{name}/log?{where}"
        return self.render("node.html", project=project, domain=domain, name=name, node=node,
                           inputs=_values(data.inputs), outputs=_values(data.outputs), children=children,
                           attempts=attempts, log_text=log_text, live_log=live_log, report=REPORT_LOG,
                           child_count=counts.get(node_id, 0), next_children=next_children,
                           later_page=bool(children_token))

    async def report(self, project: str, domain: str, name: str, node_id: str,
                     attempt: int) -> Response[bytes]:
        """An attempt's HTML report, sandboxed: its scripts run in an opaque origin, with no access to
        the console's, and it may load nothing from outside the server."""
        ident = v1.NodeExecutionId(execution_id=v1.ExecutionId(project=project, domain=domain, name=name),
                                   node_id=node_id)
        attempts = (await self.call("ListTaskExecutions", v1.ListTaskExecutionsRequest(
            node_execution_id=ident, limit=100))).task_executions
        found = next((a for a in attempts if a.id is not None and a.id.attempt == attempt), None)
        logs = list(found.closure.logs) if found is not None and found.closure is not None else []
        uri = next((log.uri for log in logs if log.name == REPORT_LOG), "")
        if not uri:
            raise NotFoundError(f"attempt {attempt} of node {node_id} of {name} has no report")
        body = await self.state.backend.admin.store.get(uri)
        return Response(body, media_type="text/html; charset=utf-8",
                        headers={"Content-Security-Policy": _REPORT_CSP})

    async def _primary(self, execution: Any) -> Any:
        """The execution's workflow as compiled (its nodes and their connections), or None."""
        workflow_id = execution.closure.workflow_id if execution.closure else None
        if workflow_id is None or not workflow_id.name:
            return None
        workflow = await self.call("GetWorkflow", v1.GetEntityRequest(id=workflow_id))
        primary = workflow.closure.primary if workflow.closure else None
        return primary if primary is not None and primary.template is not None else None

    @staticmethod
    def _labels(primary: Any) -> dict[str, str]:
        """Node id -> the name the workflow gave it."""
        if primary is None:
            return {}
        return {n.id: (n.metadata.name if n.metadata and n.metadata.name else n.id)
                for n in primary.template.nodes}

    @staticmethod
    def _graph(primary: Any, phases: dict[str, str], children: dict[str, list[str]]) -> Any:
        if primary is None:
            return None
        connections = primary.connections or v1.NodeConnections()
        labels = ConsolePages._labels(primary)
        order = list(connections.order) or list(labels)
        upstream = {k: list(v.ids) for k, v in connections.upstream.items()}
        for parent, kids in children.items():  # an unfolded parent's children, just after it
            order += kids
            upstream.update({kid: [parent] for kid in kids})
        return layout(order, upstream, labels, phases)

    async def entities(self, project: str, domain: str, kind: str) -> Response[bytes]:
        resource_type, _ = _KINDS[kind]
        names = await self.call("ListNames", v1.ListNamesRequest(
            resource_type=resource_type, list=v1.ListRequest(project=project, domain=domain, limit=500,
                                                             sort=v1.Sort(key="name", ascending=True))))
        return self.render("entities.html", project=project, domain=domain, kind=kind, names=names.entities)

    async def entity(self, project: str, domain: str, kind: str, name: str,
                     version: str = "") -> Response[bytes]:
        resource_type, title = _KINDS[kind]
        listed = await self.call(f"List{title}s", v1.ListRequest(
            project=project, domain=domain, name=name, limit=100))
        all_versions = list(getattr(listed, kind))
        if not all_versions:
            raise_not_found(kind, name)
        chosen_version = version or all_versions[0].id.version
        ident = v1.Identifier(resource_type=resource_type, project=project, domain=domain, name=name,
                              version=chosen_version)
        entity = await self.call(f"Get{title}", v1.GetEntityRequest(id=ident))
        interface, parameters, schedule, state = _interface_of(kind, entity)
        recent = (await self.call("ListExecutions", v1.ListRequest(
            project=project, domain=domain, name=name, limit=10))).executions
        return self.render(
            "entity.html", project=project, domain=domain, kind=kind, name=name, version=chosen_version,
            versions=all_versions, entity=entity, interface=interface, fields=form_fields(parameters),
            schedule=schedule, state=state, recent=recent)

    async def launch(self, project: str, domain: str, kind: str, name: str, version: str,
                     given: Mapping[str, Any]) -> Response[bytes]:
        resource_type, title = _KINDS[kind]
        ident = v1.Identifier(resource_type=resource_type, project=project, domain=domain, name=name,
                              version=version)
        entity = await self.call(f"Get{title}", v1.GetEntityRequest(id=ident))
        _, parameters, _, _ = _interface_of(kind, entity)
        inputs, errors = read_form(parameters, given)
        for name, uri in files_in(inputs):  # a file: only one this server's store holds
            try:
                self.state.backend.admin.store.key_of(uri)
            except WingspanError:
                errors[name] = f"{uri!r} is not in this server's store; upload the file here"
        if errors:
            body = {"code": "INVALID_ARGUMENT", "message": "some inputs are wrong", "fields": errors}
            return Response(json.dumps(body).encode(), status_code=400, media_type="application/json")
        spec = v1.ExecutionSpec(entity_id=ident, inputs=codec.to_proto(inputs))
        created = await self.call("CreateExecution", v1.CreateExecutionRequest(
            project=project, domain=domain, spec=spec))
        url = f"/console/projects/{project}/domains/{domain}/executions/{created.id.name}"
        return Response(json.dumps({"url": url}).encode(), media_type="application/json")

    async def signal(self, given: Any) -> Response[bytes]:
        """Gives a signal a value typed by the signal's own type (approve or reject: true or false)."""
        if not isinstance(given, dict) or not isinstance(given.get("id"), dict) or "value" not in given:
            raise InvalidArgumentError(
                'send {"id": {"executionId": {...}, "signalId": NAME}, "value": VALUE}')
        ident = v1.SignalId.from_dict(given["id"])
        execution_id, name = ident.execution_id, ident.signal_id
        signals = (await self.call("ListSignals", v1.ListSignalsRequest(execution_id=execution_id))).signals
        found = next((s for s in signals if s.id is not None and s.id.signal_id == name), None)
        if found is None or found.type is None:
            where = execution_id.name if execution_id else ""
            raise NotFoundError(f"execution {where} waits for no signal {name!r}")
        value = from_natural(given["value"], codec.from_proto(found.type), name)
        await self.call("SetSignal", v1.SetSignalRequest(id=ident, value=codec.to_proto(value)))
        return Response(b"{}", media_type="application/json")

    async def live(self, project: str, domain: str, name: str, query: Mapping[str, list[str]],
                   quickest: float = _LIVE_QUICKEST,
                   slowest: float = _LIVE_SLOWEST) -> AsyncIterator[ServerSentEventMessage]:
        """What the execution's page shows, as it changes: the server reads the page's snapshot again
        (the same folds, from the query) and sends what differs from the last one it sent, every
        ``quickest`` seconds while things change, backing off to ``slowest`` while nothing does.
        A page's work per update is bounded by what it shows, and a slow engine only makes the
        updates come later, coalesced; "end" once the execution has ended (or the stream failed:
        the page then says so rather than reconnecting for ever). ``?seen=`` is the digest of
        what the page drew: nothing is sent until the execution moves past it."""
        ident = v1.ExecutionId(project=project, domain=domain, name=name)
        seen = (query.get("seen") or [""])[0]
        last: Snapshot | None = None
        labels: dict[str, str] | None = None
        wait = quickest
        try:
            while True:
                # the execution first: seen ended, the nodes read after it hold their last phases
                execution = await self.call("GetExecution", v1.GetExecutionRequest(id=ident))
                shown = await self._shown(ident, query)
                if labels is None:
                    labels = self._labels(await self._primary(execution))
                view = self._draw(ident, execution, shown, labels)
                first = last is None
                if last is None and view.digest == seen:  # the page drew what this read sees
                    # (but the timeline's running bars grow with the clock: the page's are old)
                    last = dataclasses.replace(view, timeline="") if view.timeline else view
                found = changes(last, view)
                last = view
                for message in _messages(found):
                    yield message
                if first:  # the page now shows what the stream last read: a test or a bench may act
                    yield ServerSentEventMessage(json.dumps({"drawn": seen == view.digest}), event="ready")
                if view.ended:
                    break
                wait = quickest if found else min(wait * 2, slowest)
                await anyio.sleep(wait)
            yield ServerSentEventMessage(json.dumps({"reason": "ended"}), event="end")
        except Exception as exc:
            status, code = status_of(exc)
            text = str(exc) if status != 500 else "the live stream failed; reload the page"
            yield ServerSentEventMessage(json.dumps({"reason": text, "code": code}), event="end")

    async def live_log(self, project: str, domain: str, name: str, node_id: str, attempt: int,
                       offset: int) -> AsyncIterator[ServerSentEventMessage]:
        """An attempt's log from ``offset`` as it is written ("log": its text and the next offset),
        then "end" once the attempt has ended (or the stream failed: the page then says so)."""
        ident = v1.NodeExecutionId(execution_id=v1.ExecutionId(project=project, domain=domain, name=name),
                                   node_id=node_id)
        request = v1.GetTaskLogsRequest(node_execution_id=ident, attempt=attempt, offset=offset, follow=True)
        text = codecs.getincrementaldecoder("utf-8")(errors="replace")  # a character may span two chunks
        try:
            async for chunk in self.call_stream("GetTaskLogs", request):
                if chunk.data:
                    written = {"text": text.decode(chunk.data), "offset": chunk.next_offset}
                    yield ServerSentEventMessage(json.dumps(written), event="log")
            yield ServerSentEventMessage(json.dumps({"reason": "ended"}), event="end")
        except Exception as exc:
            status, code = status_of(exc)
            reason = str(exc) if status != 500 else "the live log failed; reload the page"
            yield ServerSentEventMessage(json.dumps({"reason": reason, "code": code}), event="end")

    def call_stream(self, method: str, message: Any) -> AsyncIterator[Any]:
        handler = self.state.backend.handler(self.by_name[method])
        if handler is None:
            raise InvalidArgumentError(f"{method} is not offered by this server")
        stream: AsyncIterator[Any] = handler(message)
        return stream


def _messages(found: Changes) -> list[ServerSentEventMessage]:
    """The live stream's events for ``found``: "execution" (phase, duration), one "node" per graph
    node whose phase moved, "rows" (rows replaced in place) or "body" (the whole table), "timeline"."""
    sent = []
    if found.execution:
        sent.append(ServerSentEventMessage(json.dumps(found.execution), event="execution"))
    sent += [ServerSentEventMessage(json.dumps({"node": node, "phase": phase}), event="node")
             for node, phase in found.nodes.items()]
    if found.body is not None:
        sent.append(ServerSentEventMessage(found.body, event="body"))
    elif found.rows:
        sent.append(ServerSentEventMessage(json.dumps(found.rows), event="rows"))
    if found.timeline is not None:
        sent.append(ServerSentEventMessage(found.timeline, event="timeline"))
    return sent


def raise_not_found(kind: str, name: str) -> None:
    raise NotFoundError(f"no {kind.rstrip('s').replace('_', ' ')} named {name!r} here")


def _interface_of(kind: str, entity: Any) -> tuple[Any, list[Parameter], Any, str]:
    """The entity's interface, the inputs a caller may give (with defaults), its schedule and state."""
    if kind == "launch_plans":
        closure = entity.closure
        parameters = codec.from_proto(closure.expected_inputs).parameters if closure.expected_inputs else ()
        state = _phase_name(closure.state)
        interface = codec.from_proto(closure.interface) if closure.interface else None
        return interface, list(parameters), entity.spec.schedule if entity.spec else None, state
    if kind == "tasks":
        interface = entity.template.interface if entity.template else None
        defaults: dict[str, Any] = {}
    else:
        template = entity.closure.primary.template
        interface = template.interface
        defaults = {p.variable.name: p for p in codec.from_proto(template.parameters).parameters
                    if p.variable is not None} if template.parameters else {}
    core = codec.from_proto(interface) if interface is not None else None
    parameters = [defaults.get(v.name) or Parameter(v, None, True) for v in (core.inputs if core else ())]
    return core, parameters, None, ""


def console_routes(state: Any) -> list[HTTPRouteHandler]:
    """The console's routes over the HTTP app's state (:class:`wingspan.server.api.http_app.HttpState`)."""
    pages = ConsolePages(state)
    base = "/console/projects/{project:str}/domains/{domain:str}"

    async def guarded(where: str, page: Any) -> Response[bytes]:
        try:
            response: Response[bytes] = await page
            return response
        except Exception as exc:
            return pages.failure(exc, where)

    @get("/", include_in_schema=False)
    async def root() -> Redirect:
        return Redirect("/console")

    @get("/console", include_in_schema=False)
    async def dashboard() -> Response[bytes]:
        return await guarded("dashboard", pages.dashboard())

    @get(f"{base}/executions", include_in_schema=False)
    async def executions(request: Request[Any, Any, Any]) -> Response[bytes]:
        p = request.path_params
        query = {k: request.query_params.getall(k) for k in request.query_params}
        return await guarded("executions", pages.executions(p["project"], p["domain"], query))

    @get(f"{base}/live/executions", include_in_schema=False)
    async def live_executions(request: Request[Any, Any, Any]) -> ServerSentEvent:
        p = request.path_params
        query = {k: request.query_params.getall(k) for k in request.query_params}
        return ServerSentEvent(pages.live_executions(p["project"], p["domain"], query))

    @get(f"{base}/executions/{{name:str}}", include_in_schema=False)
    async def execution(request: Request[Any, Any, Any]) -> Response[bytes]:
        p = request.path_params
        query = {k: request.query_params.getall(k) for k in request.query_params}
        return await guarded("execution", pages.execution(p["project"], p["domain"], p["name"], query))

    # node ids hold "/" (a map's items: n1/0), so the node is the path's last part
    @get(f"{base}/executions/{{name:str}}/nodes/{{node:path}}", include_in_schema=False)
    async def node(request: Request[Any, Any, Any]) -> Response[bytes]:
        p = request.path_params
        found = pages.node(p["project"], p["domain"], p["name"], p["node"].lstrip("/"),
                           request.query_params.get("children", ""))
        return await guarded("node", found)

    @get(f"{base}/executions/{{name:str}}/report", include_in_schema=False)
    async def report(request: Request[Any, Any, Any]) -> Response[bytes]:
        p, node_id, attempt = request.path_params, request.query_params.get("node", ""), \
            request.query_params.get("attempt", "")
        if not attempt.isdigit():
            return pages.render("error.html", 400, title="INVALID_ARGUMENT", project=p["project"],
                                domain=p["domain"], message="give ?node=NODE&attempt=NUMBER")
        found = pages.report(p["project"], p["domain"], p["name"], node_id, int(attempt))
        return await guarded("report", found)

    @get(f"{base}/executions/{{name:str}}/log", include_in_schema=False)
    async def live_log(request: Request[Any, Any, Any]) -> ServerSentEvent | Response[bytes]:
        p, q = request.path_params, request.query_params
        attempt, offset = q.get("attempt", ""), q.get("offset", "0")
        if not attempt.isdigit() or not offset.isdigit() or not q.get("node"):
            return pages.render("error.html", 400, title="INVALID_ARGUMENT", project=p["project"],
                                domain=p["domain"], message="give ?node=NODE&attempt=NUMBER&offset=BYTES")
        return ServerSentEvent(pages.live_log(p["project"], p["domain"], p["name"], q["node"], int(attempt),
                                              int(offset)))

    @get(f"{base}/executions/{{name:str}}/live", include_in_schema=False)
    async def live(request: Request[Any, Any, Any]) -> ServerSentEvent:
        p = request.path_params
        query = {k: request.query_params.getall(k) for k in request.query_params}
        return ServerSentEvent(pages.live(p["project"], p["domain"], p["name"], query))

    @get([f"{base}/{{kind:str}}", f"{base}/{{kind:str}}/{{name:str}}",
          f"{base}/{{kind:str}}/{{name:str}}/{{version:str}}"], include_in_schema=False)
    async def entities(request: Request[Any, Any, Any]) -> Response[bytes]:
        p = request.path_params
        if p["kind"] not in _KINDS:
            return pages.render("error.html", 404, title="NOT_FOUND", message=f"no page {p['kind']!r}",
                                project=p["project"], domain=p["domain"])
        if "name" not in p:
            return await guarded("entities", pages.entities(p["project"], p["domain"], p["kind"]))
        return await guarded("entity", pages.entity(p["project"], p["domain"], p["kind"], p["name"],
                                                    p.get("version", "")))

    async def answered(where: str, request: Request[Any, Any, Any], act: Any) -> Response[bytes]:
        """A JSON action: its answer, or the error as the API writes it."""
        try:
            try:
                given = json.loads(await request.body())
            except ValueError as exc:
                raise InvalidArgumentError(f"the body is not valid JSON: {exc}") from None
            response: Response[bytes] = await act(given)
            return response
        except Exception as exc:
            status, code = status_of(exc)
            text = str(exc) if status != 500 else f"{where}: internal error"
            body = json.dumps({"code": code, "message": text, "status": status}).encode()
            return Response(body, status_code=status, media_type="application/json")

    @post(f"{base}/{{kind:str}}/{{name:str}}/{{version:str}}/launch", include_in_schema=False,
          status_code=200)
    async def launch(request: Request[Any, Any, Any]) -> Response[bytes]:
        p = request.path_params

        async def act(given: Any) -> Response[bytes]:
            if not isinstance(given, dict) or p["kind"] not in _KINDS:
                raise InvalidArgumentError("send the form's fields as a JSON object of texts")
            return await pages.launch(p["project"], p["domain"], p["kind"], p["name"], p["version"], given)

        return await answered("launch", request, act)

    @post("/console/signal", include_in_schema=False, status_code=200)
    async def signal(request: Request[Any, Any, Any]) -> Response[bytes]:
        return await answered("signal", request, pages.signal)

    @get("/console/static/{file:str}", include_in_schema=False)
    async def static(request: Request[Any, Any, Any]) -> Response[bytes]:
        file = request.path_params["file"]
        if file not in _STATIC:
            return Response(b"not found", status_code=404, media_type="text/plain")
        body = (_HERE / file).read_bytes()
        # a page links the file by its content's digest: that URL's bytes never change, so the
        # browser keeps them and a page load asks the server for the page alone (each request
        # waits its turn on a loop the engine may hold busy); any other URL is checked each time
        kept = request.query_params.get("v") == _digest(body)
        return Response(body, media_type=_STATIC[file], headers={
            "Cache-Control": "public, max-age=31536000, immutable" if kept else "no-cache"})

    return [root, dashboard, executions, live_executions, execution, node, report, live_log, live, entities,
            launch, signal, static]
