"""Requests built from SDK entities, for the service tests and the benchmark."""

from __future__ import annotations

from typing import Any

from wingspan import LaunchPlan
from wingspan._authoring.workflow import Workflow
from wingspan.core.model import codec
from wingspan.protos import v1

PROJECT, DOMAIN = "default", "development"


def ident(kind: int, name: str, version: str, project: str = PROJECT, domain: str = DOMAIN) -> Any:
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
        await admin.register_task(
            v1.RegisterTaskRequest(
                id=ident(1, template.id.name, version, project), template=codec.to_proto(template)
            )
        )
    await admin.register_workflow(workflow_request(wf, version, project))


def literals(**values: Any) -> Any:
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
