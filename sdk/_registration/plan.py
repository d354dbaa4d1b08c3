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
from wingspan.core.errors import CompilationError
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
    # the launch plans of this plan each workflow calls (itself or in a subworkflow it carries)
    calls: dict[Identifier, set[Identifier]] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.tasks) + len(self.workflows) + len(self.launch_plans)

    def stages(self) -> list[tuple[list[tuple[Identifier, WorkflowTemplate, list[WorkflowTemplate]]],
                                   list[tuple[Identifier, LaunchPlanSpec]]]]:
        """Workflows and launch plans in the order the server can check them, as stages of
        requests that may go at once: a workflow after the launch plans it calls, a launch plan
        after its workflow (a workflow calling its module's own launch plan is common)."""
        stages: list[tuple[list[Any], list[Any]]] = []
        workflows, plans = list(self.workflows), list(self.launch_plans)
        ours = {plan_id for plan_id, _ in plans}
        done: set[Identifier] = set()
        while workflows or plans:
            ready_workflows = [w for w in workflows if self.calls.get(w[0], set()) & ours <= done]
            done.update(w[0] for w in ready_workflows)
            ready_plans = [p for p in plans if p[1].workflow_id in done]
            done.update(p[0] for p in ready_plans)
            if not ready_workflows and not ready_plans:
                raise CompilationError(f"workflows {sorted(str(w[0].name) for w in workflows)} call one "
                                       "another's launch plans in a circle: none can be registered first")
            stages.append((ready_workflows, ready_plans))
            workflows = [w for w in workflows if w not in ready_workflows]
            plans = [p for p in plans if p not in ready_plans]
        return stages


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


def _launch_plans_called(wf: Any) -> set[Identifier]:
    called: set[Identifier] = set()
    for entity_id, entity in wf.entities.items():
        if isinstance(entity, LaunchPlan):
            called.add(entity_id)
        elif isinstance(entity, Workflow):  # a subworkflow goes inside its caller's request
            called |= _launch_plans_called(entity)
    return called


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
        plan.calls[wf_id] = {scoped(i) for i in _launch_plans_called(wf)}
    for plan_id in sorted(reached, key=str):
        entity = reached[plan_id]
        if isinstance(entity, LaunchPlan):
            spec = entity.spec()
            workflow_id = scoped(entity.workflow.id)
            plan.launch_plans.append((scoped(plan_id), replace(spec, workflow_id=workflow_id)))
    return plan
