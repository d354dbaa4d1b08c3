"""Requests built from SDK entities, for the service tests and the benchmark."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy import update
from sqlmodel import col

from wingspan import LaunchPlan
from wingspan._authoring.workflow import Workflow
from wingspan.core.model import codec
from wingspan.protos import v1
from wingspan.server.api.rpcs import AdminRpcs
from wingspan.server.db.engine import now
from wingspan.server.db.models import ExecutionRow

PROJECT, DOMAIN = "default", "development"


def ident(kind: int, name: str, version: str, project: str = PROJECT, domain: str = DOMAIN) -> v1.Identifier:
    return v1.Identifier(
        resource_type=v1.ResourceType(kind), project=project, domain=domain, name=name, version=version
    )


def task_request(task: Any, version: str, project: str = PROJECT) -> Any:
    return v1.RegisterTaskRequest(
        id=ident(1, task.name, version, project), template=codec.to_proto(task.template)
    )


def workflow_request(wf: Workflow, version: str, project: str = PROJECT) -> Any:
    subs = [codec.to_proto(c.template) for c in wf.closure.sub_workflows if c.template is not None]
    return v1.RegisterWorkflowRequest(
        id=ident(2, wf.name, version, project), template=codec.to_proto(wf.template), sub_workflows=subs
    )


def launch_plan_request(plan: LaunchPlan, version: str, project: str = PROJECT) -> Any:
    return v1.RegisterLaunchPlanRequest(
        id=ident(3, plan.name, version, project), spec=codec.to_proto(plan.spec())
    )


async def register_workflow_with_tasks(
    admin: Any, wf: Workflow, version: str, project: str = PROJECT
) -> None:
    """Registers the workflow's tasks, then the workflow."""
    for compiled in wf.closure.tasks:
        template = compiled.template
        assert template is not None and template.id is not None
        await AdminRpcs(admin).register_task(
            v1.RegisterTaskRequest(
                id=ident(1, template.id.name, version, project), template=codec.to_proto(template)
            )
        )
    await AdminRpcs(admin).register_workflow(workflow_request(wf, version, project))


def literals(**values: Any) -> v1.LiteralMap:
    """A LiteralMap of plain Python ints, strings, floats and bools."""
    out = {}
    for name, value in values.items():
        if isinstance(value, bool):
            out[name] = v1.Literal(boolean=value)
        elif isinstance(value, int):
            out[name] = v1.Literal(integer=value)
        elif isinstance(value, float):
            out[name] = v1.Literal(float=value)
        else:
            out[name] = v1.Literal(string=value)
    return v1.LiteralMap(literals=out)


#: the engine replica tests write events as (the events' producer_id)
TEST_ENGINE = "test-engine"


async def take_lease(admin: Any, execution_id: Any, owner: str = TEST_ENGINE, seconds: float = 600.0) -> None:
    """Gives ``owner`` the execution's lease, as an engine's claim does: only the lease holder
    records events."""
    async with admin.db.write() as session:
        found = await session.execute(
            update(ExecutionRow)
            .where(col(ExecutionRow.project) == execution_id.project,
                   col(ExecutionRow.domain) == execution_id.domain,
                   col(ExecutionRow.name) == execution_id.name)
            .values(owner=owner, lease_expires_at=now() + timedelta(seconds=seconds)))
        assert found.rowcount == 1, f"no execution {execution_id.name} to lease"


def closure_of(execution: v1.Execution) -> v1.ExecutionClosure:
    """An execution's closure (a message field, so optional to the type checker)."""
    assert execution.closure is not None
    return execution.closure


def spec_of(execution: v1.Execution) -> v1.ExecutionSpec:
    assert execution.spec is not None
    return execution.spec


def metadata_of(execution: v1.Execution) -> v1.ExecutionMetadata:
    metadata = spec_of(execution).metadata
    assert metadata is not None
    return metadata


def entity_of(execution: v1.Execution) -> v1.Identifier:
    entity = spec_of(execution).entity_id
    assert entity is not None
    return entity


def name_of(execution: v1.Execution) -> str:
    assert execution.id is not None
    return execution.id.name


T = TypeVar("T")


def some(value: T | None) -> T:
    """A message field the test expects set (optional to the type checker)."""
    assert value is not None
    return value
