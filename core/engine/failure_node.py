"""A workflow's failure node (``on_failure``): run once the workflow has failed, with the
workflow's inputs and what went wrong, before the failure is reported. What the handler
does cannot change the outcome: the workflow fails with its own error either way."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from wingspan.core.engine.execution import NodeFailed
from wingspan.core.engine.nodes import run_node
from wingspan.core.model.literals import Literal, UnionValue
from wingspan.core.model.record import replace
from wingspan.core.model.workflows import ERROR_NODE, BindingData, Node
from wingspan.core.types.purity import to_literal_now

if TYPE_CHECKING:
    from wingspan.core.engine.dag import DagRun

__all__ = ["WorkflowFailure", "run_failure_node"]


@dataclass(frozen=True)
class WorkflowFailure:
    """What a failure handler is told: ``err: WorkflowFailure | None = None`` among its inputs
    (Flyte's ``FlyteError``)."""

    message: str
    failed_node_id: str
    code: str = ""


async def run_failure_node(dag: DagRun, node: Node, failed: NodeFailed) -> None:
    """Runs ``node`` with the error of ``failed`` as ``err``; its own failure is recorded on it
    and goes no further."""
    error = failed.error
    # a literal: the handler may run in another process; tagged as the variant of a union
    # (err: WorkflowFailure | None) where the binding says so
    told = to_literal_now(WorkflowFailure(error.message, error.node_id, error.code), WorkflowFailure)

    def bound(data: BindingData | None) -> BindingData | None:
        if data is None or data.kind != "promise" or data.value.node_id != ERROR_NODE:
            return data
        value = Literal("union", UnionValue(told, data.union_tag)) if data.union_tag else told
        return BindingData("literal", value)

    node = replace(node, inputs=tuple(replace(b, binding=bound(b.binding)) for b in node.inputs))
    # its failure is recorded on the failure node; the workflow's own error is what it reports
    with contextlib.suppress(NodeFailed):
        await run_node(dag, node, inline=False)
