"""``on_failure``: the task (or workflow) a workflow runs when it fails, as Flyte spells it:

    @task
    def clean_up(name: str, err: WorkflowFailure | None = None) -> None: ...

    @workflow(on_failure=clean_up)
    def wf(name: str) -> None: ...

The handler's inputs are bound by name to the workflow's inputs; an input typed
``WorkflowFailure`` (or ``WorkflowFailure | None``) receives what went wrong; any other
input needs a default.
"""

from __future__ import annotations

import types
import typing
from typing import Any

from wingspan._authoring.entity import Entity
from wingspan._authoring.graph import NodeSpec
from wingspan._authoring.interface import PythonInterface
from wingspan._authoring.promises import Promise, bind
from wingspan.core.engine.failure_node import WorkflowFailure
from wingspan.core.errors import CompilationError
from wingspan.core.model.workflows import ERROR_NODE, Binding, BindingData, OutputReference
from wingspan.core.types import type_repr

__all__ = ["FAILURE_NODE_ID", "failure_node_spec"]

#: the failure node's id (the workflow's other nodes are n0, n1, ...)
FAILURE_NODE_ID = "on-failure"


def _is_failure_type(py_type: Any) -> bool:
    return py_type is WorkflowFailure or (
        typing.get_origin(py_type) in (typing.Union, types.UnionType)
        and WorkflowFailure in typing.get_args(py_type))


def failure_node_spec(handler: Any, interface: PythonInterface, where: str) -> NodeSpec:
    """The node that runs ``handler`` when the workflow of ``interface`` fails."""
    if not isinstance(handler, Entity):
        raise CompilationError(f"{where}: on_failure takes a task or workflow, not "
                               f"{type(handler).__name__} {handler!r:.60}")
    kind, target = handler.node_kind_and_target()
    spec = NodeSpec(FAILURE_NODE_ID, kind, target, handler, f"on_failure: {handler.short_name}")
    typed = {v.name: v.type for v in handler.interface.typed.inputs}
    workflow_types = {v.name: v.type for v in interface.typed.inputs}
    problems = []
    for name, py_type in handler.interface.inputs.items():
        context = f"{where}, on_failure handler {handler.name!r}, input {name!r}"
        workflow_type = workflow_types.get(name)
        if _is_failure_type(py_type):
            tag = type_repr(WorkflowFailure) if py_type is not WorkflowFailure else ""
            spec.inputs.append(Binding(name, BindingData("promise", OutputReference(ERROR_NODE, "err"),
                                                         union_tag=tag)))
        elif name in interface.inputs and workflow_type is not None:
            given = Promise(None, name, interface.inputs[name], workflow_type)
            try:
                spec.inputs.append(Binding(name, bind(given, py_type, typed[name], context)))
            except CompilationError as exc:
                problems.append(str(exc))
        elif name in handler.interface.default_literals:
            default = handler.interface.default_literals[name]
            spec.inputs.append(Binding(name, BindingData("literal", default)))
        else:
            problems.append(f"{context} ({type_repr(py_type)}) is neither an input of the workflow nor "
                            "the error (err: WorkflowFailure | None = None); rename it after a workflow "
                            "input or give it a default")
    if problems:
        raise CompilationError(problems)
    return spec
