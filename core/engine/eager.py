"""Eager nodes: a task whose ``async`` body awaits other tasks (and workflows) as it needs
them, with real Python control flow. The body runs as the eager node's attempt; each task
or workflow it awaits is launched here as a child node of that node
(``<eager node>/<name>-<n>``), so the run records it like any other: phases, retries,
cache, events, journal.

Children are named by task and call order. A retried body, or one run again by a resumed
execution, gets a child's outputs back without running it again when it makes the same call
at the same place in that order, as a deterministic body does.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from wingspan.core.engine.execution import NodeFailed
from wingspan.core.engine.interfaces import WorkflowTarget
from wingspan.core.errors import ExecutionFailedError
from wingspan.core.model.interface import Identifier
from wingspan.core.model.workflows import (
    Binding,
    BindingData,
    CompiledWorkflow,
    Node,
    NodeConnections,
    NodeMetadata,
    OutputReference,
    TaskNode,
    WorkflowNode,
    WorkflowTemplate,
)

if TYPE_CHECKING:
    from wingspan.core.engine.dag import DagRun
    from wingspan.core.engine.interfaces import EntityResolver, LaunchPlanTarget, TaskRunner

__all__ = ["EagerLaunch"]


class EagerLaunch:
    """Launches the tasks (and workflows) an eager node's body awaits, each as a child node of
    it; passed to the runner's ``run_eager``. Also the child graph's resolver: it knows what
    was launched, and what resolves the insides of the workflows launched."""

    def __init__(self, dag: DagRun, path: str) -> None:
        self.path = path
        self._runners: dict[Identifier, TaskRunner] = {}
        self._workflows: dict[Identifier, WorkflowTarget] = {}
        self._counts: Counter[str] = Counter()
        # children that succeeded in an earlier attempt of the body, by node id
        self._done: dict[str, dict[str, Any]] = {}
        empty = CompiledWorkflow(WorkflowTemplate(), NodeConnections())
        self._children = dag.child(empty, {}, self, path)

    def start_attempt(self) -> None:
        """The body starts (again): its calls are numbered from the first."""
        self._counts.clear()

    async def __call__(self, target: TaskRunner | WorkflowTarget, label: str,
                       inputs: dict[str, Any]) -> dict[str, Any]:
        """Runs ``target`` (a task, or a workflow) with ``inputs`` as the next child node named
        after ``label``; returns its outputs, or raises ExecutionFailedError naming the child
        (the task's own exception as its cause, when it ran in this process)."""
        node_id = f"{label}-{self._counts[label]}"
        self._counts[label] += 1
        if node_id in self._done:
            return self._done[node_id]
        value: TaskNode | WorkflowNode
        if isinstance(target, WorkflowTarget):
            template = target.workflow.template
            assert template is not None and template.id is not None
            self._workflows[template.id] = target
            kind, value = "workflow_node", WorkflowNode("subworkflow_id", template.id)
        else:
            task_id = target.template.id
            assert task_id is not None
            self._runners[task_id] = target
            kind, value = "task_node", TaskNode(task_id=task_id)
        # the inputs are values already: the child's bindings point at them, kept as the
        # outputs of a source no node has
        source = f"{node_id}:inputs"
        self._children.outputs[source] = inputs
        node = Node(node_id, NodeMetadata(label),
                    tuple(Binding(k, BindingData("promise", OutputReference(source, k))) for k in inputs),
                    (), kind, value)
        try:
            outputs = self._done[node_id] = await self._children.run_one(node)
            return outputs
        except NodeFailed as failed:
            path = self._children.path(node_id)
            what = "workflow" if kind == "workflow_node" else "task"
            raise ExecutionFailedError(f"{what} {label!r} (node {path}) failed: {failed.error.message}",
                                       node_id=path, phase=failed.phase.name,
                                       code=failed.error.code) from failed.exception
        finally:
            del self._children.outputs[source]

    # ---- the child graph's resolver -------------------------------------------------------

    def task(self, task_id: Identifier) -> TaskRunner:
        runner = self._runners.get(task_id)
        return runner if runner is not None else self._inside("task", task_id).task(task_id)

    def workflow(self, workflow_id: Identifier) -> CompiledWorkflow:
        target = self._workflows.get(workflow_id)
        return target.workflow if target is not None else self._inside("workflow", workflow_id).workflow(
            workflow_id)

    def launch_plan(self, launch_plan_id: Identifier) -> LaunchPlanTarget:
        return self._inside("launch plan", launch_plan_id).launch_plan(launch_plan_id)

    def _inside(self, kind: str, entity_id: Identifier) -> EntityResolver:
        """The resolver of a launched workflow that knows ``entity_id`` (a node inside it)."""
        for target in self._workflows.values():
            try:
                getattr(target.resolver, kind.replace(" ", "_"))(entity_id)
            except LookupError:
                continue
            return target.resolver
        raise LookupError(f"{kind} {entity_id} is neither awaited by the eager body at {self.path} "
                          "nor part of a workflow it awaits")
