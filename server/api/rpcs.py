"""The admin service's RPCs over the typed service layer.

Each method reads its IDL request into the services' types (core model records, the
services' own dataclasses), calls the service, and answers in IDL, through
:mod:`wingspan.server.api.converters`; no rule of its own. Both transports call these,
and so may a test that wants to speak the IDL without a transport.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TypeVar

from wingspan.core.model.events import NodeExecutionEvent, TaskExecutionEvent, WorkflowExecutionEvent
from wingspan.core.model.execution_spec import ExecutionSpec
from wingspan.core.model.interface import (
    ExecutionId,
    Identifier,
    NamedEntityIdentifier,
    NodeExecutionId,
    SignalId,
    TaskExecutionId,
)
from wingspan.core.model.launch_plans import LaunchPlanSpec
from wingspan.core.model.literals import Literal
from wingspan.core.model.projects import Project
from wingspan.core.model.settings import ExecutionSettings
from wingspan.core.model.tasks import TaskTemplate
from wingspan.core.model.workflows import WorkflowTemplate
from wingspan.protos import v1
from wingspan.server.api.converters.access import (
    audit_events_message,
    audit_query_of,
    binding_of,
    bindings_message,
)
from wingspan.server.api.converters.common import listing, model, page_of
from wingspan.server.api.converters.entities import (
    launch_plan_message,
    launch_plans_message,
    names_message,
    registration_message,
    task_message,
    tasks_message,
    workflow_message,
    workflows_message,
)
from wingspan.server.api.converters.events import event_message, recorded_message, stored_event_message
from wingspan.server.api.converters.executions import (
    created_message,
    data_message,
    execution_message,
    executions_message,
)
from wingspan.server.api.converters.nodes import (
    node_data_message,
    node_message,
    nodes_message,
    task_data_message,
    task_execution_message,
    task_executions_message,
)
from wingspan.server.api.converters.notifications import deliveries_message
from wingspan.server.api.converters.projects import (
    domains_message,
    project_message,
    project_settings_message,
    projects_message,
)
from wingspan.server.api.converters.signals import signals_message
from wingspan.server.api.encoded import Encoded
from wingspan.server.auth.service import AuthService
from wingspan.server.services.admin import AdminService
from wingspan.server.services.events import EventService

__all__ = ["AccessRpcs", "AdminRpcs", "EngineRpcs"]


class AdminRpcs:
    """The RPCs of ``admin``'s typed services, under the IDL's method names."""

    def __init__(self, admin: AdminService) -> None:
        self.admin = admin

    # ---- projects and domains ------------------------------------------------------------

    async def create_project(self, request: v1.CreateProjectRequest) -> v1.Project:
        return project_message(await self.admin.projects.create_project(model(Project, request.project)))

    async def update_project(self, request: v1.UpdateProjectRequest) -> v1.Project:
        return project_message(await self.admin.projects.update_project(model(Project, request.project)))

    async def list_projects(self, request: v1.ListProjectsRequest) -> v1.ListProjectsResponse:
        listing = page_of(request.limit, request.token, request.filters, request.sort)
        return projects_message(await self.admin.projects.list_projects(
            listing, include_archived=request.include_archived))

    async def list_domains(self, request: v1.ListDomainsRequest) -> v1.ListDomainsResponse:
        return domains_message(await self.admin.projects.list_domains())

    async def get_project_settings(self, request: v1.GetProjectSettingsRequest) -> v1.ProjectSettings:
        found = await self.admin.run_settings.get_settings(request.project, request.domain)
        return project_settings_message(request.project, request.domain, found)

    async def update_project_settings(self, request: v1.UpdateProjectSettingsRequest) -> v1.ProjectSettings:
        stored = await self.admin.run_settings.update_settings(
            request.project, request.domain, model(ExecutionSettings, request.settings))
        return project_settings_message(request.project, request.domain, stored)

    # ---- entities ------------------------------------------------------------------------

    async def register_task(self, request: v1.RegisterTaskRequest) -> v1.RegisterResponse:
        return registration_message(await self.admin.entities.register_task(
            model(Identifier, request.id), model(TaskTemplate, request.template)))

    async def get_task(self, request: v1.GetEntityRequest) -> v1.Task:
        return task_message(await self.admin.entities.get_task(model(Identifier, request.id)))

    async def list_tasks(self, request: v1.ListRequest) -> v1.ListTasksResponse:
        return tasks_message(await self.admin.entities.list_tasks(listing(request)))

    async def register_workflow(self, request: v1.RegisterWorkflowRequest) -> v1.RegisterResponse:
        subs = [model(WorkflowTemplate, m) for m in request.sub_workflows]
        return registration_message(await self.admin.entities.register_workflow(
            model(Identifier, request.id), model(WorkflowTemplate, request.template),
            [s for s in subs if s is not None]))

    async def get_workflow(self, request: v1.GetEntityRequest) -> v1.Workflow:
        return workflow_message(await self.admin.entities.get_workflow(model(Identifier, request.id)))

    async def list_workflows(self, request: v1.ListRequest) -> Encoded:
        return workflows_message(await self.admin.entities.list_workflows(listing(request)))

    async def register_launch_plan(self, request: v1.RegisterLaunchPlanRequest) -> v1.RegisterResponse:
        return registration_message(await self.admin.entities.register_launch_plan(
            model(Identifier, request.id), model(LaunchPlanSpec, request.spec)))

    async def get_launch_plan(self, request: v1.GetEntityRequest) -> v1.LaunchPlan:
        return launch_plan_message(await self.admin.entities.get_launch_plan(model(Identifier, request.id)))

    async def get_active_launch_plan(self, request: v1.GetActiveLaunchPlanRequest) -> v1.LaunchPlan:
        return launch_plan_message(await self.admin.entities.get_active_launch_plan(
            model(NamedEntityIdentifier, request.id)))

    async def list_launch_plans(self, request: v1.ListRequest) -> v1.ListLaunchPlansResponse:
        return launch_plans_message(await self.admin.entities.list_launch_plans(listing(request)))

    async def update_launch_plan_state(self, request: v1.UpdateLaunchPlanStateRequest) -> v1.LaunchPlan:
        return launch_plan_message(await self.admin.entities.update_launch_plan_state(
            model(Identifier, request.id), int(request.state)))

    async def list_names(self, request: v1.ListNamesRequest) -> v1.ListNamesResponse:
        return names_message(await self.admin.entities.list_names(
            int(request.resource_type), listing(request.list)))

    # ---- executions ----------------------------------------------------------------------

    async def create_execution(self, request: v1.CreateExecutionRequest) -> v1.CreateExecutionResponse:
        return created_message(await self.admin.executions.create_execution(
            model(ExecutionSpec, request.spec), project=request.project, domain=request.domain,
            name=request.name))

    async def get_execution(self, request: v1.GetExecutionRequest) -> v1.Execution:
        return execution_message(await self.admin.executions.get_execution(model(ExecutionId, request.id)))

    async def list_executions(self, request: v1.ListRequest) -> v1.ListExecutionsResponse:
        return executions_message(await self.admin.executions.list_executions(listing(request)))

    async def get_execution_data(self, request: v1.GetExecutionRequest) -> v1.ExecutionData:
        return data_message(await self.admin.executions.get_execution_data(model(ExecutionId, request.id)))

    async def terminate_execution(
        self, request: v1.TerminateExecutionRequest
    ) -> v1.TerminateExecutionResponse:
        execution = await self.admin.executions.terminate_execution(
            model(ExecutionId, request.id), request.reason, force=request.force)
        return v1.TerminateExecutionResponse(execution=execution_message(execution))

    async def relaunch_execution(self, request: v1.RelaunchExecutionRequest) -> v1.CreateExecutionResponse:
        return created_message(await self.admin.executions.relaunch_execution(
            model(ExecutionId, request.id), request.name))

    async def recover_execution(self, request: v1.RecoverExecutionRequest) -> v1.CreateExecutionResponse:
        return created_message(await self.admin.executions.recover_execution(
            model(ExecutionId, request.id), request.name))

    async def delete_execution(self, request: v1.DeleteExecutionRequest) -> v1.DeleteExecutionResponse:
        await self.admin.executions.delete_execution(model(ExecutionId, request.id))
        return v1.DeleteExecutionResponse()

    async def update_execution(self, request: v1.UpdateExecutionRequest) -> v1.Execution:
        return execution_message(await self.admin.executions.update_execution(
            model(ExecutionId, request.id), int(request.state)))

    # ---- events --------------------------------------------------------------------------

    async def list_events(self, request: v1.ListEventsRequest) -> v1.ListEventsResponse:
        events = await self.admin.events.list_events(
            model(ExecutionId, request.execution_id), request.after_sequence, request.limit)
        return v1.ListEventsResponse(events=[event_message(e) for e in events])

    async def watch_execution(self, request: v1.WatchExecutionRequest) -> AsyncIterator[Encoded]:
        """Each ``v1.Event`` as stored: the gRPC transport sends the bytes as they are (see
        :mod:`wingspan.server.api.encoded`; ``.message()`` is the ``v1.Event``)."""
        execution_id = model(ExecutionId, request.id)
        async for data in self.admin.events.watch_execution_stored(execution_id, request.after_sequence):
            yield stored_event_message(data)

    # ---- nodes and attempts --------------------------------------------------------------

    async def list_node_executions(
        self, request: v1.ListNodeExecutionsRequest
    ) -> v1.ListNodeExecutionsResponse:
        found = await self.admin.nodes.list_node_executions(
            model(ExecutionId, request.execution_id), request.parent_node_id,
            page_of(request.limit, request.token, request.filters))
        return nodes_message(found)

    async def get_node_execution(self, request: v1.GetNodeExecutionRequest) -> v1.NodeExecution:
        return node_message(await self.admin.nodes.get_node_execution(model(NodeExecutionId, request.id)))

    async def get_node_execution_data(self, request: v1.GetNodeExecutionRequest) -> v1.NodeExecutionData:
        return node_data_message(
            await self.admin.nodes.get_node_execution_data(model(NodeExecutionId, request.id)))

    async def list_task_executions(
        self, request: v1.ListTaskExecutionsRequest
    ) -> v1.ListTaskExecutionsResponse:
        found = await self.admin.nodes.list_task_executions(
            model(NodeExecutionId, request.node_execution_id), page_of(request.limit, request.token))
        return task_executions_message(found)

    async def get_task_execution(self, request: v1.GetTaskExecutionRequest) -> v1.TaskExecution:
        return task_execution_message(
            await self.admin.nodes.get_task_execution(model(TaskExecutionId, request.id)))

    async def get_task_execution_data(self, request: v1.GetTaskExecutionRequest) -> v1.TaskExecutionData:
        return task_data_message(
            await self.admin.nodes.get_task_execution_data(model(TaskExecutionId, request.id)))

    # ---- logs ----------------------------------------------------------------------------

    async def get_task_logs(self, request: v1.GetTaskLogsRequest) -> AsyncIterator[v1.LogChunk]:
        chunks = self.admin.logs.get_task_logs(
            model(NodeExecutionId, request.node_execution_id), request.attempt, request.offset,
            follow=request.follow)
        async for chunk in chunks:
            yield v1.LogChunk(data=chunk.data, next_offset=chunk.next_offset, complete=chunk.complete)

    # ---- notifications -------------------------------------------------------------------

    async def list_notifications(self, request: v1.ListNotificationsRequest) -> v1.ListNotificationsResponse:
        found = await self.admin.notifications.list_notifications(model(ExecutionId, request.execution_id))
        return deliveries_message(found)

    # ---- signals -------------------------------------------------------------------------

    async def list_signals(self, request: v1.ListSignalsRequest) -> v1.ListSignalsResponse:
        return signals_message(await self.admin.signals.list_signals(
            model(ExecutionId, request.execution_id), page_of(request.limit, request.token)))

    async def set_signal(self, request: v1.SetSignalRequest) -> v1.SetSignalResponse:
        await self.admin.signals.set_signal(model(SignalId, request.id), model(Literal, request.value))
        return v1.SetSignalResponse()


class AccessRpcs:
    """The RPCs of who may do what, over the server's :class:`AuthService`."""

    def __init__(self, auth: AuthService) -> None:
        self.auth = auth

    async def grant_role(self, request: v1.GrantRoleRequest) -> v1.GrantRoleResponse:
        await self.auth.grant_role(binding_of(request.binding))
        return v1.GrantRoleResponse()

    async def revoke_role(self, request: v1.RevokeRoleRequest) -> v1.RevokeRoleResponse:
        await self.auth.revoke_role(binding_of(request.binding))
        return v1.RevokeRoleResponse()

    async def list_role_bindings(self, request: v1.ListRoleBindingsRequest) -> v1.ListRoleBindingsResponse:
        found = await self.auth.role_bindings(project=request.project, subject=request.subject)
        return bindings_message(found)

    async def list_audit_events(self, request: v1.ListAuditEventsRequest) -> v1.ListAuditEventsResponse:
        return audit_events_message(await self.auth.audit_events(audit_query_of(request)))


class EngineRpcs:
    """The internal engine service's RPCs: each engine's events into ``events``."""

    def __init__(self, events: EventService) -> None:
        self.events = events

    async def create_workflow_event(self, request: v1.WorkflowExecutionEvent) -> v1.CreateEventResponse:
        event = _event(WorkflowExecutionEvent, request)
        return recorded_message(await self.events.create_workflow_event(event))

    async def create_node_event(self, request: v1.NodeExecutionEvent) -> v1.CreateEventResponse:
        return recorded_message(await self.events.create_node_event(_event(NodeExecutionEvent, request)))

    async def create_task_event(self, request: v1.TaskExecutionEvent) -> v1.CreateEventResponse:
        return recorded_message(await self.events.create_task_event(_event(TaskExecutionEvent, request)))


E = TypeVar("E")


def _event(cls: type[E], message: object) -> E:
    found = model(cls, message)
    assert found is not None  # the transport always has a message
    return found
