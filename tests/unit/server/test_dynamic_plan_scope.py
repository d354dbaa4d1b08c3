"""A dynamic graph is made by task code: the launch plans it calls are loaded only from its
dynamic task's own project and domain. A graph naming another project's plan is refused, and that
plan is never read, so registering code in one project reaches no other project's plans."""

from __future__ import annotations

from typing import Any

import pytest

from wingspan.core.errors import ExecutionFailedError
from wingspan.core.model.interface import Identifier, ResourceType
from wingspan.core.model.tasks import TaskTemplate
from wingspan.core.model.workflows import CompiledWorkflowClosure, DynamicJobSpec, Node, WorkflowNode
from wingspan.server.engine.resolver import RegisteredResolver

DYNAMIC = TaskTemplate(id=Identifier(ResourceType.TASK, "flowers", "development", "flows.fan", "v1"))


def calling(plan: Identifier) -> DynamicJobSpec:
    return DynamicJobSpec(nodes=(Node(id="n0", kind="workflow_node",
                                      value=WorkflowNode(kind="launch_plan_id", value=plan)),))


async def test_a_dynamic_graph_calling_another_projects_launch_plan_is_refused_unread() -> None:
    asked: list[list[Identifier]] = []

    async def load(ids: list[Identifier]) -> dict[Any, Any]:
        asked.append(list(ids))
        return {}

    outer = RegisteredResolver(CompiledWorkflowClosure(), {}, load_plans=load)
    elsewhere = Identifier(ResourceType.LAUNCH_PLAN, "payroll", "production", "pay_all", "v7")
    spec = calling(elsewhere)
    with pytest.raises(ExecutionFailedError, match=r"a dynamic graph of flowers/development calls launch "
                                                   r"plan .*payroll.*, of another project or domain"):
        await outer.with_dynamic(spec, DYNAMIC).load_plans_of(spec)
    assert asked == []


async def test_a_dynamic_graphs_own_launch_plan_is_loaded_at_its_tasks_version() -> None:
    asked: list[list[Identifier]] = []

    async def load(ids: list[Identifier]) -> dict[Any, Any]:
        asked.append(list(ids))
        return {}

    outer = RegisteredResolver(CompiledWorkflowClosure(), {}, load_plans=load)
    spec = calling(Identifier(ResourceType.LAUNCH_PLAN, name="doubled_plan"))
    await outer.with_dynamic(spec, DYNAMIC).load_plans_of(spec)
    assert asked == [[Identifier(ResourceType.LAUNCH_PLAN, "flowers", "development", "doubled_plan", "v1")]]
