"""What registered executions refer to, looked up without importing the user's code.

The server runs a workflow from its compiled closure: tasks, subworkflows and the
launch plans its nodes call were registered, and their values are literals (a
:class:`LiteralSlot` stands for each variable's Python type). Launch plans are
fetched before the run starts, since the engine resolves ids synchronously.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any

from wingspan.core.engine import (
    AttemptOutcome,
    AttemptRequest,
    EagerLauncher,
    LaunchPlanTarget,
    WorkflowTarget,
)
from wingspan.core.model import codec
from wingspan.core.model.execution import TaskPhase
from wingspan.core.model.interface import Identifier, TypedInterface
from wingspan.core.model.launch_plans import LaunchPlanSpec
from wingspan.core.model.record import replace
from wingspan.core.model.tasks import CodeReference, TaskTemplate
from wingspan.core.model.workflows import (
    CompiledTask,
    CompiledWorkflow,
    CompiledWorkflowClosure,
    DynamicJobSpec,
    Node,
)
from wingspan.core.types.passthrough import LiteralSlot
from wingspan.server.services.references import complete_ids

__all__ = ["RegisteredResolver", "RegisteredTask", "launch_plan_ids"]

#: runs one attempt through the server's executor (how a dynamic task's body runs)
RunAttempt = Callable[[AttemptRequest], Awaitable[AttemptOutcome]]
#: loads registered launch plans by id, keyed by (name, version) (those a dynamic graph calls)
LoadPlans = Callable[[list[Identifier]], Awaitable[Mapping[tuple[str, str], LaunchPlanTarget]]]


def _slots(interface: TypedInterface | None, outputs: bool) -> dict[str, LiteralSlot]:
    if interface is None:
        return {}
    variables = interface.outputs if outputs else interface.inputs
    return {v.name: LiteralSlot(v.type) for v in variables}


def _key(entity_id: Identifier | None) -> tuple[str, str]:
    """Ids are matched by name and version: a dynamic graph's ids carry no project or domain."""
    if entity_id is None:
        return "", ""
    return entity_id.name, entity_id.version


class RegisteredTask:
    """A registered task as the server's engine runs it: through task plugins only."""

    is_async = False

    def __init__(self, template: TaskTemplate, resolver: RegisteredResolver) -> None:
        self.template = template
        self.input_types: Mapping[str, Any] = _slots(template.interface, outputs=False)
        self.output_types: Mapping[str, Any] = _slots(template.interface, outputs=True)
        self._resolver = resolver

    def call(self, inputs: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError(
            f"task {self.template.id} of type {self.template.type!r} has no task plugin in this server "
            "to run it (install one, or set task_targets)"
        )

    async def call_async(self, inputs: dict[str, Any]) -> dict[str, Any]:
        return self.call(inputs)

    def build_dynamic(self, inputs: dict[str, Any]) -> tuple[DynamicJobSpec, RegisteredResolver]:
        raise RuntimeError("a registered dynamic task's body runs in a worker, not in the server")

    async def build_dynamic_remotely(
        self,
        inputs: dict[str, Any],
        execution_id: str,
        node_id: str,
        recorded: DynamicJobSpec | None,
        attempt: int = 0,
    ) -> tuple[DynamicJobSpec, RegisteredResolver]:
        """Runs the body where the task's code is (a worker) and returns the graph it made;
        ``recorded``: the graph an earlier run of this node made, used as it is."""
        spec = recorded
        if spec is None:
            run = self._resolver.run_attempt
            if run is None:
                raise RuntimeError("this server cannot run dynamic tasks: it has no attempt runner")
            outcome = await run(AttemptRequest(self, inputs, execution_id, node_id, attempt))
            if outcome.phase != TaskPhase.SUCCEEDED or outcome.dynamic is None:
                from wingspan.core.errors import ExecutionFailedError

                message = outcome.error.message if outcome.error else "it made no graph"
                raise ExecutionFailedError(f"dynamic task {self.template.id}: {message}")
            spec = outcome.dynamic
        child = self._resolver.with_dynamic(spec, self.template)
        await child.load_plans_of(spec)
        return spec, child


    async def run_eager(self, request: AttemptRequest, launch: EagerLauncher) -> AttemptOutcome:
        """Runs an eager body's attempt where the task's code is (a worker); each task it
        awaits comes back here by its template and runs through ``launch`` as a child node,
        with the eager task's code (the same bundle, whatever the call says)."""
        run = self._resolver.run_attempt
        if run is None:
            raise RuntimeError("this server cannot run eager tasks: it has no attempt runner")
        bundle = self.template.code.bundle_uri if self.template.code else ""

        def ours(template: TaskTemplate) -> TaskTemplate:
            return replace(template, code=replace(template.code or CodeReference(), bundle_uri=bundle))

        async def calls(called: TaskTemplate | CompiledWorkflowClosure, label: str,
                        inputs: dict[str, Any]) -> dict[str, Any]:
            if isinstance(called, CompiledWorkflowClosure):  # a workflow: its graph and its tasks
                assert called.primary is not None
                tasks = tuple(CompiledTask(ours(t.template)) for t in called.tasks if t.template is not None)
                spec = DynamicJobSpec(sub_workflows=(called.primary, *called.sub_workflows), tasks=tasks)
                inside = self._resolver.with_dynamic(spec, self.template)
                return await launch(WorkflowTarget(called, inside), label, inputs)
            return await launch(RegisteredTask(ours(called), self._resolver), label, inputs)

        return await run(dataclasses.replace(request, eager_calls=calls))


class RegisteredResolver:
    """Finds the tasks, workflows and launch plans of one closure (and of those it calls)."""

    def __init__(
        self,
        closure: CompiledWorkflowClosure,
        launch_plans: dict[tuple[str, str], LaunchPlanTarget],
        run_attempt: RunAttempt | None = None,
        load_plans: LoadPlans | None = None,
    ) -> None:
        self.run_attempt = run_attempt
        self.load_plans = load_plans
        # a launch plan called in a dynamic graph has no version (the worker does not know it):
        # it is the one registered with the dynamic task, at that task's scope and version
        self._plan_scope = Identifier()
        self._tasks = {_key(t.template.id): t.template for t in closure.tasks if t.template is not None}
        self._workflows = {_key(w.template.id): w for w in closure.sub_workflows if w.template is not None}
        self._launch_plans = launch_plans
        self._runners: dict[tuple[str, str], RegisteredTask] = {}

    def task(self, task_id: Identifier) -> RegisteredTask:
        key = _key(task_id)
        runner = self._runners.get(key)
        if runner is None:
            template = self._tasks.get(key)
            if template is None:
                raise LookupError(f"task {task_id} is not in the execution's closure")
            runner = self._runners[key] = RegisteredTask(template, self)
        return runner

    def workflow(self, workflow_id: Identifier) -> CompiledWorkflow:
        found = self._workflows.get(_key(workflow_id))
        if found is None:
            raise LookupError(f"workflow {workflow_id} is not in the execution's closure")
        return found

    def add_launch_plans(self, launch_plans: Mapping[tuple[str, str], LaunchPlanTarget]) -> None:
        """Makes ``launch_plans`` (by ``(name, version)``) known; they are loaded
        once the resolver exists, since loading one needs the execution's executor."""
        self._launch_plans.update(launch_plans)

    def launch_plan(self, launch_plan_id: Identifier) -> LaunchPlanTarget:
        found = self._launch_plans.get(_key(self._pinned(launch_plan_id)))
        if found is None:
            raise LookupError(f"launch plan {launch_plan_id} was not loaded for this execution")
        return found

    def _pinned(self, plan_id: Identifier) -> Identifier:
        if plan_id.version or not self._plan_scope.version:
            return plan_id
        scope = self._plan_scope
        return complete_ids(plan_id, scope.project, scope.domain, scope.version)  # type: ignore[no-any-return]

    async def load_plans_of(self, spec: DynamicJobSpec) -> None:
        """Loads the launch plans a dynamic graph calls that this execution has not loaded. The
        graph is made by task code, so it may call only the launch plans of its dynamic task's own
        project and domain: whoever may register code there must not reach another project's."""
        nodes = [*spec.nodes, *(n for w in spec.sub_workflows if w.template for n in w.template.nodes)]
        called = list(map(self._pinned, _plan_ids_in(nodes)))
        scope = self._plan_scope
        home = (scope.project, scope.domain)
        elsewhere = [p for p in called if scope.project and (p.project, p.domain) != home]
        if elsewhere:
            from wingspan.core.errors import ExecutionFailedError

            raise ExecutionFailedError(
                f"a dynamic graph of {scope.project}/{scope.domain} calls launch plan {elsewhere[0]}, of "
                "another project or domain; a dynamic graph calls only its own project's and domain's "
                "launch plans (register the plan there, or call it from a registered workflow)")
        missing = [p for p in called if _key(p) not in self._launch_plans]
        if missing and self.load_plans is not None:
            self.add_launch_plans(await self.load_plans(missing))

    def with_dynamic(self, spec: DynamicJobSpec, parent: TaskTemplate) -> RegisteredResolver:
        """This resolver plus what a dynamic node's graph brings; its tasks' code is the code
        of the dynamic task that made it (the same bundle)."""
        child = RegisteredResolver(CompiledWorkflowClosure(), self._launch_plans, self.run_attempt,
                                   self.load_plans)
        # a dynamic task made by another dynamic graph has an id without scope: keep the outer one's
        outer = self._plan_scope
        made = parent.id or Identifier()
        child._plan_scope = complete_ids(made, outer.project, outer.domain, outer.version)
        child._tasks = dict(self._tasks)
        child._workflows = dict(self._workflows)
        bundle = parent.code.bundle_uri if parent.code else ""
        for compiled in spec.tasks:
            template = compiled.template
            if template is None:
                continue
            code = template.code or CodeReference()
            if bundle and not code.bundle_uri:
                template = replace(template, code=replace(code, bundle_uri=bundle))
            child._tasks[_key(template.id)] = template
        for workflow in spec.sub_workflows:
            if workflow.template is not None:
                child._workflows[_key(workflow.template.id)] = workflow
        return child


def plan_target(
    spec: LaunchPlanSpec, closure: CompiledWorkflowClosure, resolver: RegisteredResolver | None
) -> LaunchPlanTarget:
    defaults = {
        p.variable.name: p.default
        for p in (spec.default_inputs.parameters if spec.default_inputs else ())
        if p.variable is not None and p.default is not None
    }
    fixed = dict(spec.fixed_inputs.literals) if spec.fixed_inputs else {}
    return LaunchPlanTarget(closure, defaults, fixed, resolver)


def _nodes(nodes: tuple[Node, ...]) -> Iterator[Node]:
    for node in nodes:
        yield node
        if node.kind == "branch_node":
            branch = node.value
            yield from _nodes(tuple(c.then_node for c in branch.cases if c.then_node is not None))
            if branch.kind == "else_node" and branch.value is not None:
                yield from _nodes((branch.value,))
        elif node.kind == "array_node" and node.value.node is not None:
            yield from _nodes((node.value.node,))


def launch_plan_ids(closure: CompiledWorkflowClosure) -> list[Identifier]:
    """The launch plans the closure's nodes call (its own list, else found in its nodes)."""
    found = {str(i): i for i in closure.launch_plans}
    workflows = (closure.primary, *closure.sub_workflows)
    nodes = [n for w in workflows if w and w.template for n in w.template.nodes]
    for plan_id in _plan_ids_in(nodes):
        found.setdefault(str(plan_id), plan_id)
    return list(found.values())


def _plan_ids_in(nodes: list[Node]) -> list[Identifier]:
    return [node.value.value for node in _nodes(tuple(nodes))
            if node.kind == "workflow_node" and node.value.kind == "launch_plan_id"]


def decode_spec(data: bytes) -> LaunchPlanSpec:
    return codec.decode(LaunchPlanSpec, data)
