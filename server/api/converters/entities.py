"""Tasks, workflows and launch plans: registration requests in, registered versions out."""

from __future__ import annotations

from wingspan.core.model import codec
from wingspan.core.model.launch_plans import LaunchPlan
from wingspan.protos import v1
from wingspan.server.api.encoded import Encoded, field_number, length_delimited
from wingspan.server.services.entities import NamedEntity, Registration, StoredVersion
from wingspan.server.services.pagination import Page

__all__ = [
    "launch_plan_message",
    "launch_plans_message",
    "names_message",
    "registration_message",
    "task_message",
    "tasks_message",
    "workflow_message",
    "workflows_message",
]


def registration_message(registration: Registration) -> v1.RegisterResponse:
    return v1.RegisterResponse(created=registration.created, digest=registration.digest)


def task_message(task: StoredVersion) -> v1.Task:
    # the stored bytes are the template's message: parsed as they are, not rebuilt from records
    return v1.Task(id=codec.to_proto(task.id), template=v1.TaskTemplate.parse(task.content),
                   created_at=task.created_at, digest=task.digest)


def workflow_message(workflow: StoredVersion) -> v1.Workflow:
    closure = v1.CompiledWorkflowClosure.parse(workflow.content)
    return v1.Workflow(id=codec.to_proto(workflow.id), closure=closure, created_at=workflow.created_at,
                       digest=workflow.digest)


def launch_plan_message(plan: LaunchPlan) -> v1.LaunchPlan:
    message: v1.LaunchPlan = codec.to_proto(plan)
    return message


def tasks_message(found: Page[StoredVersion]) -> v1.ListTasksResponse:
    return v1.ListTasksResponse(tasks=[task_message(t) for t in found.items], next_token=found.next_token)


def workflows_message(found: Page[StoredVersion]) -> Encoded:
    """The page in the wire format, each stored closure embedded as it is (parsing a closure into
    betterproto's objects to encode it again cost most of a page); ``.message()`` builds the
    ``v1.ListWorkflowsResponse``, for JSON."""
    parts = []
    for workflow in found.items:
        head = bytes(v1.Workflow(id=codec.to_proto(workflow.id), created_at=workflow.created_at,
                                 digest=workflow.digest))
        parts.append(length_delimited(_WORKFLOWS, head + length_delimited(_CLOSURE, workflow.content)))
    if found.next_token:
        parts.append(bytes(v1.ListWorkflowsResponse(next_token=found.next_token)))
    return Encoded(b"".join(parts), v1.ListWorkflowsResponse, lambda _: _workflows_built(found))


def _workflows_built(found: Page[StoredVersion]) -> v1.ListWorkflowsResponse:
    return v1.ListWorkflowsResponse(workflows=[workflow_message(w) for w in found.items],
                                    next_token=found.next_token)


_WORKFLOWS = field_number(v1.ListWorkflowsResponse, "workflows")
_CLOSURE = field_number(v1.Workflow, "closure")


def launch_plans_message(found: Page[LaunchPlan]) -> v1.ListLaunchPlansResponse:
    return v1.ListLaunchPlansResponse(launch_plans=[launch_plan_message(p) for p in found.items],
                                      next_token=found.next_token)


def names_message(found: Page[NamedEntity]) -> v1.ListNamesResponse:
    return v1.ListNamesResponse(
        entities=[
            v1.NamedEntity(resource_type=v1.ResourceType(int(e.resource_type)), id=codec.to_proto(e.id),
                           latest_at=e.latest_at, latest_version=e.latest_version)
            for e in found.items
        ],
        next_token=found.next_token,
    )
