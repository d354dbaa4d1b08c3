"""What an execution runs, loaded from what was registered: the compiled closure of its
workflow (or a one-node workflow around its task) and every launch plan it calls."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlmodel import select

from wingspan.core.compiler import compile_workflow
from wingspan.core.compiler.one_node import task_workflow
from wingspan.core.model import codec
from wingspan.core.model.interface import Identifier, ResourceType
from wingspan.core.model.launch_plans import LaunchPlanSpec
from wingspan.core.model.tasks import TaskTemplate
from wingspan.core.model.workflows import CompiledWorkflowClosure
from wingspan.server.db.models import ExecutionRow, LaunchPlanRow
from wingspan.server.engine.resolver import RegisteredResolver, RunAttempt, launch_plan_ids, plan_target
from wingspan.server.services.idl import v1

if TYPE_CHECKING:
    from wingspan.server.db.engine import Database
    from wingspan.server.services.entities import EntityService

__all__ = ["called_launch_plans", "execution_closure", "single_task_closure"]


async def execution_closure(entities: EntityService, row: ExecutionRow) -> CompiledWorkflowClosure:
    """The closure execution ``row`` runs: its workflow's, or one around the task it launched."""
    if row.entity_type == int(ResourceType.TASK):
        task_id = Identifier(ResourceType.TASK, row.project, row.domain, row.entity_name, row.entity_version)
        message = await entities.get_task(v1.GetEntityRequest(id=codec.to_proto(task_id)))
        return single_task_closure(codec.from_proto(message.template))
    return await entities.workflow_closure(
        Identifier(ResourceType.WORKFLOW, row.project, row.domain, row.workflow_name, row.workflow_version)
    )


async def called_launch_plans(
    db: Database, entities: EntityService, closure: CompiledWorkflowClosure, run_attempt: RunAttempt
) -> dict[Any, Any]:
    """Every launch plan the closure calls (and those their workflows call), loaded now: the
    engine resolves ids without waiting. Keyed by (name, version), as the resolver finds them."""
    found: dict[Any, Any] = {}
    pending = launch_plan_ids(closure)
    while pending:
        plan_id = pending.pop()
        if (plan_id.name, plan_id.version) in found:
            continue
        async with db.read() as session:
            plan_row = (
                await session.execute(
                    select(LaunchPlanRow).where(
                        LaunchPlanRow.project == plan_id.project,
                        LaunchPlanRow.domain == plan_id.domain,
                        LaunchPlanRow.name == plan_id.name,
                        LaunchPlanRow.version == plan_id.version,
                    )
                )
            ).scalar_one()
        plan_spec = codec.decode(LaunchPlanSpec, await entities.content(plan_row))
        assert plan_spec.workflow_id is not None
        plan_closure = await entities.workflow_closure(plan_spec.workflow_id)
        inner = RegisteredResolver(plan_closure, found, run_attempt=run_attempt)
        found[(plan_id.name, plan_id.version)] = plan_target(plan_spec, plan_closure, inner)
        pending.extend(launch_plan_ids(plan_closure))
    return found


def single_task_closure(template: TaskTemplate) -> CompiledWorkflowClosure:
    """A one-node workflow running ``template``: how an execution of a task runs."""
    assert template.id is not None
    return compile_workflow(task_workflow(template), {template.id: template})
