"""The reads as ``GET`` routes shaped like Flyte's HTTP gateway (``GET /api/v1/projects``,
``GET /api/v1/executions/{project}/{domain}``, ...), beside ``POST /api/v1/<Method>``.

Each route only turns its path and query into the IDL request of one admin method and
calls that method's handler (so a GET is checked, authorized and answered exactly as the
POST of the same method); the filters, sort and pages are the services' (:mod:`wingspan.
server.services.pagination`). A query parameter the route does not list is refused, so that
a misspelt filter never silently lists everything. :data:`RESOURCES` is also what the
OpenAPI document describes (:mod:`.openapi`).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from litestar import Request, Response, get
from litestar.handlers import HTTPRouteHandler

from wingspan.core.errors import InvalidArgumentError
from wingspan.core.model.execution import NodePhase, WorkflowPhase
from wingspan.protos import v1
from wingspan.server.api.contract import MAX_LIMIT, NAME, VERSION
from wingspan.server.api.encoded import plain
from wingspan.server.api.http_errors import error_response, exception_response, status_of
from wingspan.server.api.messages import JSON_PATTERNS, check_message, encode_json
from wingspan.server.api.methods import Method, methods

__all__ = ["RESOURCES", "QueryParam", "Resource", "resource_routes"]

Query = Mapping[str, Sequence[str]]
Path = Mapping[str, str]


@dataclasses.dataclass(frozen=True, slots=True)
class QueryParam:
    name: str
    schema: dict[str, Any]
    description: str
    #: may be given more than once (``?phase=running&phase=queued``)
    many: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class Resource:
    """``GET path`` answers what ``method`` answers for the request ``build`` makes."""

    path: str
    method: str
    summary: str
    build: Callable[[Path, Query], Any]
    query: tuple[QueryParam, ...] = ()

    @property
    def operation_id(self) -> str:
        """``get_api_v1_executions_project_domain``: the route's name and its OpenAPI operationId."""
        return "get_" + self.path.strip("/").replace("/", "_").replace("{", "").replace("}", "")

    @property
    def path_names(self) -> list[str]:
        return [part[1:-1] for part in self.path.split("/") if part.startswith("{")]


def _text(description: str, pattern: str | None = None, max_length: int = 255) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "maxLength": max_length, "description": description}
    schema["pattern"] = f"^({pattern})$" if pattern else "^[^\\u0000]*$"
    return schema


def _phases(enum: Any) -> dict[str, Any]:
    names = [m.name.lower() for m in enum if m.name != "UNDEFINED"]
    return {"type": "string", "enum": names}


_TIME = {"type": "string", "format": "date-time", "pattern": f"^({JSON_PATTERNS['timestamp']})$"}
_PAGE = (
    QueryParam("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
               f"items per page (default 100, at most {MAX_LIMIT})"),
    QueryParam("token", _text("", max_length=4096), "next_token of the previous page, as is"),
)


def _sort_params(*keys: str) -> tuple[QueryParam, ...]:
    """Sort by one of ``keys`` (what the list's service sorts on), newest first by default."""
    by = QueryParam("sort_by", {"type": "string", "enum": list(keys)}, "what to sort by (default created_at)")
    return (by,
            QueryParam("order", {"type": "string", "enum": ["asc", "desc"]}, "default desc (newest first)"))


_NAME_PREFIX = QueryParam("name_prefix", _text("", NAME), "names that begin with this")
_CREATED = (
    QueryParam("created_after", _TIME, "created at or after this time (RFC 3339)"),
    QueryParam("created_before", _TIME, "created before this time (RFC 3339)"),
)


def _one(query: Query, name: str) -> str | None:
    values = query.get(name, ())
    if len(values) > 1:
        raise InvalidArgumentError(f"query parameter {name!r} is given {len(values)} times; give it once")
    return values[0] if values else None


def _limit(query: Query) -> int:
    raw = _one(query, "limit")
    if raw is None:
        return 0
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise InvalidArgumentError(
            f"query parameter 'limit': {raw!r} is not a whole number from 1 to {MAX_LIMIT}")
    return int(raw)


def _sort(query: Query) -> v1.Sort | None:
    key, order = _one(query, "sort_by"), _one(query, "order")
    if order not in (None, "asc", "desc"):
        raise InvalidArgumentError(f"query parameter 'order': {order!r}; give asc or desc")
    if key is None and order is None:
        return None
    return v1.Sort(key=key or "created_at", ascending=order == "asc")


def _filters(query: Query) -> list[v1.Filter]:
    """The filters a query names, as the services read them."""
    found = []
    if phases := list(query.get("phase", ())):
        found.append(v1.Filter(field="phase", operator=v1.FilterOperator.IN, values=phases))
    if (prefix := _one(query, "name_prefix")) is not None:
        found.append(v1.Filter(field="name", operator=v1.FilterOperator.STARTS_WITH, values=[prefix]))
    for name in ("launch_plan", "workflow", "principal", "state"):
        if (value := _one(query, name)) is not None:
            found.append(v1.Filter(field=name, values=[value]))
    if (after := _one(query, "created_after")) is not None:
        found.append(v1.Filter(field="created_at", operator=v1.FilterOperator.GTE, values=[after]))
    if (before := _one(query, "created_before")) is not None:
        found.append(v1.Filter(field="created_at", operator=v1.FilterOperator.LT, values=[before]))
    return found


def _listing(path: Path, query: Query, name: str = "") -> v1.ListRequest:
    return v1.ListRequest(project=path["project"], domain=path["domain"], name=name, limit=_limit(query),
                          token=_one(query, "token") or "", filters=_filters(query), sort=_sort(query))


def _execution_id(path: Path) -> v1.ExecutionId:
    return v1.ExecutionId(project=path["project"], domain=path["domain"], name=path["name"])


def _entity_id(kind: v1.ResourceType, path: Path) -> v1.Identifier:
    return v1.Identifier(resource_type=kind, project=path["project"], domain=path["domain"],
                         name=path["name"], version=path["version"])


def _entity_routes(plural: str, ids: str, kind: v1.ResourceType, title: str) -> list[Resource]:
    base = f"/api/v1/{plural}/{{project}}/{{domain}}"
    keys = ("created_at", "name", "version", *(("updated_at",) if plural == "launch_plans" else ()))
    sorted_page = (*_PAGE, *_sort_params(*keys))
    lp = (QueryParam("state", {"type": "string", "enum": ["active", "inactive"]}, "active or inactive"),
          QueryParam("workflow", _text("", NAME), "of this workflow")) if plural == "launch_plans" else ()
    return [
        Resource(f"/api/v1/{ids}/{{project}}/{{domain}}", "ListNames",
                 f"the {title} names of a project and domain",
                 lambda p, q: v1.ListNamesRequest(resource_type=kind, list=_listing(p, q)),
                 (*_PAGE, _NAME_PREFIX)),  # by name, always
        Resource(base, f"List{title}s", f"every version of every {title} of a project and domain",
                 lambda p, q: _listing(p, q), (*sorted_page, _NAME_PREFIX, *_CREATED, *lp)),
        Resource(f"{base}/{{name}}", f"List{title}s", f"the versions of one {title}",
                 lambda p, q: _listing(p, q, p["name"]), (*sorted_page, *_CREATED, *lp)),
        Resource(f"{base}/{{name}}/{{version}}", f"Get{title}", f"one version of a {title}",
                 lambda p, q: v1.GetEntityRequest(id=_entity_id(kind, p))),
    ]


_EXECUTION_FILTERS = (
    QueryParam("phase", _phases(WorkflowPhase), "in any of these phases", many=True),
    _NAME_PREFIX,
    QueryParam("launch_plan", _text("", NAME), "launched from this launch plan"),
    QueryParam("workflow", _text("", NAME), "of this workflow"),
    QueryParam("principal", _text("", max_length=255), "created by this principal"),
    *_CREATED,
)

RESOURCES: tuple[Resource, ...] = (
    Resource("/api/v1/projects", "ListProjects", "the projects",
             lambda p, q: v1.ListProjectsRequest(limit=_limit(q), token=_one(q, "token") or "",
                                                 include_archived=_one(q, "include_archived") == "true"),
             (*_PAGE, QueryParam("include_archived", {"type": "string", "enum": ["true", "false"]},
                                 "archived projects too"))),
    Resource("/api/v1/domains", "ListDomains", "the domains", lambda p, q: v1.ListDomainsRequest()),
    Resource("/api/v1/executions/{project}/{domain}", "ListExecutions",
             "the executions of a project and domain (newest first)",
             lambda p, q: _listing(p, q),
             (*_PAGE, *_sort_params("created_at", "updated_at", "name"), *_EXECUTION_FILTERS)),
    Resource("/api/v1/executions/{project}/{domain}/{name}", "GetExecution", "one execution",
             lambda p, q: v1.GetExecutionRequest(id=_execution_id(p))),
    Resource("/api/v1/data/executions/{project}/{domain}/{name}", "GetExecutionData",
             "an execution's inputs and outputs", lambda p, q: v1.GetExecutionRequest(id=_execution_id(p))),
    Resource("/api/v1/node_executions/{project}/{domain}/{name}", "ListNodeExecutions",
             "the nodes of an execution (top level, or the children of ?parent=NODE)",
             lambda p, q: v1.ListNodeExecutionsRequest(
                 execution_id=_execution_id(p), parent_node_id=_one(q, "parent") or "", limit=_limit(q),
                 token=_one(q, "token") or "",
                 filters=[f for f in _filters(q) if f.field == "phase"]),
             (*_PAGE, QueryParam("parent", _text("", max_length=1024), "the node whose children to list"),
              QueryParam("phase", _phases(NodePhase), "in any of these phases", many=True))),
    *_entity_routes("tasks", "task_ids", v1.ResourceType.TASK, "Task"),
    *_entity_routes("workflows", "workflow_ids", v1.ResourceType.WORKFLOW, "Workflow"),
    *_entity_routes("launch_plans", "launch_plan_ids", v1.ResourceType.LAUNCH_PLAN, "LaunchPlan"),
)

PATH_PATTERNS = {"project": (NAME, 63), "domain": (NAME, 63), "name": (NAME, 255), "version": (VERSION, 255)}


def _route(resource: Resource, method: Method, state: Any) -> HTTPRouteHandler:
    listed = {param.name: param for param in resource.query}

    async def call(request: Request[Any, Any, Any]) -> Response[Any]:
        started = time.perf_counter()
        try:
            query = {key: request.query_params.getall(key) for key in request.query_params}
            unknown = sorted(set(query) - set(listed))
            if unknown:
                valid = ", ".join(listed) or "none"
                raise InvalidArgumentError(
                    f"GET {resource.path} takes no query parameter {', '.join(map(repr, unknown))}; "
                    f"it takes: {valid}")
            message = resource.build({k: str(v) for k, v in request.path_params.items()}, query)
            check_message(message, type(message).__name__, max_text_chars=state.max_text_chars)
            handler = state.backend.handler(method)
            if handler is None:
                text = f"{method.name} is not implemented by this server"
                response = error_response(501, "UNIMPLEMENTED", text)
            else:
                response = Response(encode_json(plain(await handler(message))), media_type="application/json")
            code = "OK" if response.status_code == 200 else "UNIMPLEMENTED"
        except Exception as exc:
            response, code = exception_response(exc, f"GET {resource.path}"), status_of(exc)[1]
        state.metrics.observe("http", method.name, code, time.perf_counter() - started)
        return response

    litestar_path = resource.path.replace("}", ":str}")
    call.__name__ = call.__qualname__ = resource.operation_id
    return get(litestar_path, name=resource.operation_id)(call)


def resource_routes(state: Any) -> list[HTTPRouteHandler]:
    """The GET routes, answered through ``state.backend`` (:class:`.http_app.HttpState`)."""
    by_name = {m.name: m for m in methods()}
    return [_route(resource, by_name[resource.method], state) for resource in RESOURCES]
