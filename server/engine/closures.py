"""What an execution runs, loaded from what was registered: the compiled closure of its
workflow (or a one-node workflow around its task) and every launch plan it calls."""

from __future__ import annotations

from typing import Any

from wingspan.core.compiler.one_node import task_closure
from wingspan.core.model.interface import Identifier, ResourceType
from wingspan.core.model.workflows import CompiledWorkflowClosure
from wingspan.server.db.models import ExecutionRow
from wingspan.server.engine.resolver import (
    LoadPlans,
    RegisteredResolver,
    RunAttempt,
    launch_plan_ids,
    plan_target,
)
from wingspan.server.services.entities import EntityService

__all__ = ["called_launch_plans", "execution_closure"]


async def execution_closure(entities: EntityService, row: ExecutionRow) -> CompiledWorkflowClosure:
    """The closure execution ``row`` runs: its workflow's, or one around the task it launched."""
    if row.entity_type == int(ResourceType.TASK):
        task_id = Identifier(ResourceType.TASK, row.project, row.domain, row.entity_name, row.entity_version)
        return task_closure(await entities.task_template(task_id))
    return await entities.workflow_closure(
        Identifier(ResourceType.WORKFLOW, row.project, row.domain, row.workflow_name, row.workflow_version)
    )


async def called_launch_plans(
    entities: EntityService, closure: CompiledWorkflowClosure, run_attempt: RunAttempt
) -> tuple[dict[Any, Any], LoadPlans]:
    """Every launch plan the closure calls (and those their workflows call), loaded now: the
    engine resolves ids without waiting. Keyed by (name, version), as the resolver finds them.
    Also returns the loader that adds those a dynamic graph calls, once it is made."""
    found: dict[Any, Any] = {}

    async def load(pending: list[Identifier]) -> dict[Any, Any]:
        while pending:
            plan_id = pending.pop()
            if (plan_id.name, plan_id.version) in found:
                continue
            plan_spec = (await entities.get_launch_plan(plan_id)).spec
            assert plan_spec is not None and plan_spec.workflow_id is not None
            plan_closure = await entities.workflow_closure(plan_spec.workflow_id)
            inner = RegisteredResolver(plan_closure, found, run_attempt=run_attempt, load_plans=load)
            found[(plan_id.name, plan_id.version)] = plan_target(plan_spec, plan_closure, inner)
            pending.extend(launch_plan_ids(plan_closure))
        return found

    return await load(launch_plan_ids(closure)), load
