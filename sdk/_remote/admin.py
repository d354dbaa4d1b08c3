"""What an operator does on a server: projects (create, update, archive), domains (listed),
launch plans switched on and off, executions deleted, as :class:`~wingspan._remote.client.AsyncRemote`
and the ``wingspan project``, ``launchplan`` and ``execution delete`` commands use them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from wingspan._remote.listing import parse_filters, parse_sort
from wingspan._remote.transport import Transport
from wingspan.core.errors import NotFoundError
from wingspan.core.model import codec
from wingspan.core.model.interface import ExecutionId, Identifier, NamedEntityIdentifier, ResourceType
from wingspan.core.model.settings import items, with_items
from wingspan.protos import v1

__all__ = ["archive_execution", "create_project", "delete_execution", "execution_settings", "list_domains",
           "list_projects", "project_row", "project_settings", "set_launch_plan_state", "update_project",
           "update_project_settings"]

_PAGE = 500


def project_row(project: Any) -> dict[str, Any]:
    retention = project.retention.max_age if project.retention and project.retention.max_age else None
    return {"id": project.id, "name": project.name, "description": project.description,
            "state": "archived" if int(project.state) else "active",
            "labels": {kv.key: kv.value for kv in project.labels},
            "retention_days": retention.total_seconds() / 86400 if retention else None}


async def list_projects(transport: Transport, *, include_archived: bool = False,
                        filters: Sequence[str] = (), sort: str = "", limit: int = 100) -> list[Any]:
    """Projects (IDL messages), by id unless ``sort`` says otherwise, at most ``limit``."""
    found: list[Any] = []
    token = ""
    parsed, order = parse_filters(filters), parse_sort(sort)
    while len(found) < limit:
        answer = await transport.call("list_projects", v1.ListProjectsRequest(
            limit=min(limit - len(found), _PAGE), token=token, include_archived=include_archived,
            filters=parsed, sort=order), "list projects")
        found += answer.projects
        token = answer.next_token
        if not token:
            break
    return found


async def _project(transport: Transport, project_id: str) -> Any:
    found = await list_projects(transport, include_archived=True, filters=[f"id={project_id}"], limit=1)
    if not found:
        raise NotFoundError(f"project {project_id!r} does not exist; `wingspan get projects` lists them")
    return found[0]


async def create_project(transport: Transport, project_id: str, *, name: str = "", description: str = "",
                         labels: Mapping[str, str] | None = None) -> Any:
    project = v1.Project(id=project_id, name=name or project_id, description=description,
                         labels=_labels(labels or {}))
    return await transport.call("create_project", v1.CreateProjectRequest(project=project),
                                f"create project {project_id}")


async def update_project(transport: Transport, project_id: str, *, name: str | None = None,
                         description: str | None = None, labels: Mapping[str, str] | None = None,
                         archived: bool | None = None) -> Any:
    """Changes what is given and keeps the rest (its retention too)."""
    project = await _project(transport, project_id)
    if name is not None:
        project.name = name
    if description is not None:
        project.description = description
    if labels is not None:
        project.labels = _labels(labels)
    if archived is not None:
        project.state = v1.ProjectState.ARCHIVED if archived else v1.ProjectState.ACTIVE
    return await transport.call("update_project", v1.UpdateProjectRequest(project=project),
                                f"update project {project_id}")


def _labels(labels: Mapping[str, str]) -> list[Any]:
    return [v1.KeyValue(key=k, value=v) for k, v in sorted(labels.items())]


async def list_domains(transport: Transport) -> list[dict[str, str]]:
    answer = await transport.call("list_domains", v1.ListDomainsRequest(), "list domains")
    return [{"id": d.id, "name": d.name} for d in answer.domains]


async def set_launch_plan_state(transport: Transport, project: str, domain: str, name: str,
                                version: str | None, *, active: bool) -> Any:
    """Activates a version of launch plan ``name`` (its latest when ``version`` is None; the
    active one of the name is deactivated with it) or deactivates it (the active one when None)."""
    if not version:
        version = await _version_for(transport, project, domain, name, active=active)
    lp_id = Identifier(ResourceType.LAUNCH_PLAN, project, domain, name, version)
    state = v1.LaunchPlanState.ACTIVE if active else v1.LaunchPlanState.INACTIVE
    return await transport.call("update_launch_plan_state", v1.UpdateLaunchPlanStateRequest(
        id=codec.to_proto(lp_id), state=state),
        f"{'activate' if active else 'deactivate'} launch plan {name}:{version}")


async def _version_for(transport: Transport, project: str, domain: str, name: str, *, active: bool) -> str:
    if not active:
        named = NamedEntityIdentifier(project, domain, name)
        found = await transport.call("get_active_launch_plan", v1.GetActiveLaunchPlanRequest(
            id=codec.to_proto(named)), f"find the active version of launch plan {name}")
        version: str = found.id.version
        return version
    listing = await transport.call("list_launch_plans", v1.ListRequest(
        project=project, domain=domain, name=name, limit=1), f"find launch plan {name}")
    if not listing.launch_plans:
        raise NotFoundError(f"launch plan {name!r} is not registered in {project}/{domain}; "
                            f"`wingspan get launchplans` lists them")
    latest: str = listing.launch_plans[0].id.version
    return latest


async def archive_execution(transport: Transport, execution_id: ExecutionId, *, archived: bool) -> Any:
    state = v1.ExecutionState.ARCHIVED if archived else v1.ExecutionState.ACTIVE
    return await transport.call("update_execution", v1.UpdateExecutionRequest(
        id=codec.to_proto(execution_id), state=state),
        f"{'archive' if archived else 'unarchive'} execution {execution_id.name}")


async def delete_execution(transport: Transport, execution_id: ExecutionId) -> None:
    await transport.call("delete_execution", v1.DeleteExecutionRequest(id=codec.to_proto(execution_id)),
                         f"delete execution {execution_id.name}")


async def project_settings(transport: Transport, project: str, domain: str = "") -> dict[str, str]:
    """The settings a project (domain ""), one of its domains, or the deployment (project "*")
    gives its executions, by name (see wingspan.core.model.settings)."""
    found = await transport.call("get_project_settings", v1.GetProjectSettingsRequest(
        project=project, domain=domain), f"get the settings of {_level(project, domain)}")
    return items(codec.from_proto(found.settings) if found.settings else None)


async def update_project_settings(transport: Transport, project: str, domain: str,
                                  changes: Mapping[str, object]) -> dict[str, str]:
    """Sets each named value (None: unsets it) and keeps the others of that level."""
    where = _level(project, domain)
    found = await transport.call("get_project_settings", v1.GetProjectSettingsRequest(
        project=project, domain=domain), f"get the settings of {where}")
    settings = with_items(codec.from_proto(found.settings) if found.settings else None, changes)
    stored = await transport.call("update_project_settings", v1.UpdateProjectSettingsRequest(
        project=project, domain=domain, settings=codec.to_proto(settings)), f"update the settings of {where}")
    return items(codec.from_proto(stored.settings) if stored.settings else None)


def _level(project: str, domain: str) -> str:
    if project == "*":
        return "the deployment"
    return f"project {project}" + (f", domain {domain}" if domain else "")


def execution_settings(spec: Any) -> list[dict[str, str]]:
    """What an execution runs with (its spec's resolved settings) and where each came from."""
    if spec is None or spec.settings is None:
        return []
    values = items(codec.from_proto(spec.settings))
    sources = {s.name: s.level for s in spec.setting_sources}
    return [{"setting": name, "value": value, "from": sources.get(name, "")}
            for name, value in values.items()]
