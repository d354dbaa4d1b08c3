"""A workflow of one node: how a task (or map task) runs when it is run on its own.

A task launched by itself on the server, and a task called like a function in Python,
both run as a workflow whose one node takes the workflow's inputs and whose outputs are
the node's. Both build that workflow here.
"""

from __future__ import annotations

from wingspan.core.compiler.closure import compile_workflow
from wingspan.core.errors import CompilationError
from wingspan.core.model.interface import Identifier, ParameterMap, ResourceType, TypedInterface
from wingspan.core.model.tasks import TaskTemplate
from wingspan.core.model.workflows import (
    START_NODE,
    Binding,
    BindingData,
    CompiledWorkflowClosure,
    Node,
    NodeMetadata,
    OutputReference,
    TaskNode,
    WorkflowMetadata,
    WorkflowTemplate,
)

__all__ = ["ONE_NODE_ID", "inputs_from_start", "one_node_workflow", "task_closure", "task_workflow"]

#: the id of the one node
ONE_NODE_ID = "n0"


def inputs_from_start(interface: TypedInterface | None) -> tuple[Binding, ...]:
    """Every input of ``interface`` bound to the workflow's input of the same name."""
    return tuple(Binding(v.name, BindingData("promise", OutputReference(START_NODE, v.name)))
                 for v in (interface.inputs if interface else ()))


def one_node_workflow(workflow_id: Identifier, interface: TypedInterface | None, node: Node, *,
                      metadata: WorkflowMetadata | None = None,
                      parameters: ParameterMap | None = None) -> WorkflowTemplate:
    """The workflow ``workflow_id`` of ``node`` alone: its outputs are the node's outputs."""
    outputs = tuple(Binding(v.name, BindingData("promise", OutputReference(node.id, v.name)))
                    for v in (interface.outputs if interface else ()))
    return WorkflowTemplate(id=workflow_id, metadata=metadata or WorkflowMetadata(), interface=interface,
                            nodes=(node,), outputs=outputs, parameters=parameters)


def task_workflow(template: TaskTemplate, workflow_id: Identifier | None = None) -> WorkflowTemplate:
    """The one-node workflow running the task ``template`` with the workflow's inputs (named
    ``<task>[task]`` in the task's project, domain and version unless ``workflow_id`` is given)."""
    if template.id is None:
        raise CompilationError("a task template without an id cannot run as a workflow: register "
                               "the task (or give it an id) first")
    task_id = template.id
    if workflow_id is None:
        workflow_id = Identifier(ResourceType.WORKFLOW, task_id.project, task_id.domain,
                                 f"{task_id.name}[task]", task_id.version)
    node = Node(ONE_NODE_ID, NodeMetadata(task_id.name.rsplit(".", 1)[-1]),
                inputs_from_start(template.interface), kind="task_node", value=TaskNode(task_id))
    return one_node_workflow(workflow_id, template.interface, node)


def task_closure(template: TaskTemplate) -> CompiledWorkflowClosure:
    """The compiled one-node workflow of the task ``template``: what an execution of a task runs."""
    workflow = task_workflow(template)
    assert template.id is not None  # task_workflow refuses a template without one
    return compile_workflow(workflow, {template.id: template})
