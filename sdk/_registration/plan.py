"""What ``register`` sends: every task, workflow and launch plan the given entities reach,
with ids under one project, domain and version, in an order the server can check.

The server completes the references inside templates (a name alone means "the same
project, domain and version as the entity being registered"), so a set registered
together under one version refers to itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from wingspan._authoring.launch_plan import LaunchPlan
from wingspan._authoring.workflow import Workflow
from wingspan.core.model.interface import Identifier, ResourceType
from wingspan.core.model.launch_plans import LaunchPlanSpec
from wingspan.core.model.record import replace
from wingspan.core.model.tasks import CodeReference, TaskTemplate
from wingspan.core.model.workflows import WorkflowTemplate

__all__ = ["RegistrationPlan", "plan_registration"]


@dataclass
class RegistrationPlan:
    tasks: list[tuple[Identifier, TaskTemplate]] = field(default_factory=list)
    # each with the subworkflows it calls (callees come before their callers)
    workflows: list[tuple[Identifier, WorkflowTemplate, list[WorkflowTemplate]]] = field(default_factory=list)
    launch_plans: list[tuple[Identifier, LaunchPlanSpec]] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.tasks) + len(self.workflows) + len(self.launch_plans)


def _reach(entities: Iterable[Any]) -> dict[Identifier, Any]:
    found: dict[Identifier, Any] = {}
    pending = list(entities)
    while pending:
        entity = pending.pop()
        if entity.id in found:
            continue
        found[entity.id] = entity
        pending.extend(getattr(entity, "entities", {}).values())
    return found


def _workflow_order(workflows: dict[Identifier, Any]) -> list[Any]:
    """Callees before callers, otherwise by name (the same input gives the same order)."""
    ordered: list[Any] = []
    seen: set[Identifier] = set()

    def visit(wf: Any) -> None:
        if wf.id in seen:
            return
        seen.add(wf.id)
        for callee_id in sorted(wf.entities, key=str):
            if callee_id in workflows:
                visit(workflows[callee_id])
        ordered.append(wf)

    for wf_id in sorted(workflows, key=str):
        visit(workflows[wf_id])
    return ordered


def plan_registration(entities: Iterable[Any], *, project: str, domain: str, version: str,
                      bundle_uri: str = "") -> RegistrationPlan:
    """The requests that register ``entities`` and everything they reach."""
    def scoped(entity_id: Identifier) -> Identifier:
        return Identifier(entity_id.resource_type, project, domain, entity_id.name, version)

    reached = _reach(entities)
    plan = RegistrationPlan()
    for entity_id in sorted(reached, key=str):
        entity = reached[entity_id]
        if entity_id.resource_type != ResourceType.TASK or not hasattr(entity, "template"):
            continue  # a map task is its task, registered on its own
        template: TaskTemplate = entity.template
        code = template.code or CodeReference()
        template = replace(template, id=scoped(entity_id), code=replace(code, bundle_uri=bundle_uri))
        plan.tasks.append((template.id, template))  # type: ignore[arg-type]
    workflows = {i: e for i, e in reached.items() if isinstance(e, Workflow)}
    for wf in _workflow_order(workflows):
        subs = [e.template for i, e in sorted(wf.entities.items(), key=lambda kv: str(kv[0]))
                if isinstance(e, Workflow)]
        wf_id = scoped(wf.id)
        plan.workflows.append((wf_id, replace(wf.template, id=wf_id), subs))
    for plan_id in sorted(reached, key=str):
        entity = reached[plan_id]
        if isinstance(entity, LaunchPlan):
            spec = entity.spec()
            workflow_id = scoped(entity.workflow.id)
            plan.launch_plans.append((scoped(plan_id), replace(spec, workflow_id=workflow_id)))
    return plan
