"""A task run on its own is the same one-node workflow in Python (a task called like a function)
and on the server (an execution of a registered task): both are core's one_node workflow."""

from __future__ import annotations

from typing import Any

import pytest

from wingspan import task
from wingspan._authoring.workflow import single_node_workflow
from wingspan.core.compiler.one_node import task_closure, task_workflow
from wingspan.core.model.interface import Identifier, ResourceType
from wingspan.core.model.record import replace


@task
def with_defaults(x: int, label: str = "a") -> int:
    return x


@task
def two_outputs(x: int) -> tuple[int, str]:
    return x, str(x)


@task
def no_outputs(x: int) -> None:
    return None


@pytest.mark.parametrize("entity", [with_defaults, two_outputs, no_outputs], ids=lambda e: e.short_name)
def test_the_sdk_and_the_server_run_a_task_as_the_same_workflow(entity: Any) -> None:
    in_python = single_node_workflow(entity).template
    primary = task_closure(entity.template).primary
    assert primary is not None and primary.template is not None
    on_server = primary.template
    # the names differ on purpose (the server's says it wraps a task); the SDK's also carries the
    # Python defaults as parameters, which the server merged into the inputs before the run
    assert on_server.id == Identifier(ResourceType.WORKFLOW, name=f"{entity.name}[task]")
    assert replace(in_python, id=on_server.id, parameters=None) == on_server
    assert in_python == replace(task_workflow(entity.template, in_python.id), parameters=in_python.parameters)
    (node,) = on_server.nodes
    assert node.metadata is not None and node.metadata.name == entity.short_name
    assert [b.var for b in node.inputs] == [v.name for v in entity.template.interface.inputs]
    assert [b.var for b in on_server.outputs] == [v.name for v in entity.template.interface.outputs]
