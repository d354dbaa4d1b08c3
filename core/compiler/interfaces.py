"""The interface each kind of node presents, and what a workflow knows of a launch plan."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from wingspan.core.model.interface import Identifier, TypedInterface, Variable
from wingspan.core.model.literals import LiteralType, SimpleType, UnionType
from wingspan.core.model.record import replace
from wingspan.core.model.tasks import TaskTemplate
from wingspan.core.model.workflows import Node, WorkflowTemplate

__all__ = ["LaunchPlanInterface", "node_interface"]


@dataclass(frozen=True)
class LaunchPlanInterface:
    """What a workflow needs to know of a launch plan it calls."""

    interface: TypedInterface
    # inputs the caller may leave out (they have defaults) and those it may not set (fixed)
    optional_inputs: frozenset[str] = frozenset()
    fixed_inputs: frozenset[str] = frozenset()


def node_interface(node: Node, tasks: Mapping[Identifier, TaskTemplate],
                   workflows: Mapping[Identifier, WorkflowTemplate],
                   launch_plans: Mapping[Identifier, LaunchPlanInterface]) -> TypedInterface | None:
    """The interface a node presents to its bindings and to its consumers."""
    match node.kind:
        case "task_node":
            task = tasks.get(node.value.task_id)
            return task.interface if task else None
        case "workflow_node":
            if node.value.kind == "subworkflow_id":
                wf = workflows.get(node.value.value)
                return wf.interface if wf else None
            lp = launch_plans.get(node.value.value)
            return lp.interface if lp else None
        case "array_node":
            inner = node_interface(node.value.node, tasks, workflows, launch_plans)
            if inner is None:
                return None
            mapped = set(node.value.mapped_inputs)
            # below a success ratio of 1, a failed item leaves None in its place
            optional = node.value.min_success_ratio < 1
            return TypedInterface(
                tuple(Variable(v.name, _list_of(v.type) if v.name in mapped else v.type)
                      for v in inner.inputs),
                tuple(Variable(v.name, _list_of(_or_none(v.type) if optional else v.type))
                      for v in inner.outputs),
                "single" if len(inner.outputs) == 1 else "tuple",
            )
        case "gate_node":
            gate = node.value
            if gate.kind == "signal":
                return TypedInterface((), (Variable(gate.value.output_variable_name, gate.value.type),),
                                      "single")
            if gate.kind == "approve":
                # passes its input through; the type is that of whatever is bound to it
                return TypedInterface((Variable("value"),), (Variable("o0"),), "single")
            return TypedInterface()
        case "branch_node":
            for case in node.value.cases:
                if case.then_node is not None:
                    inner = node_interface(case.then_node, tasks, workflows, launch_plans)
                    if inner is not None:
                        return TypedInterface((), inner.outputs, inner.output_style,
                                              inner.output_type_name)
            return TypedInterface()
    return None


def _or_none(lt: LiteralType | None) -> LiteralType | None:
    if lt is None:
        return None
    none = LiteralType("simple", SimpleType.NONE, tag="None")
    return LiteralType("union_type", UnionType((replace(lt, tag=lt.annotation), none)))


def _list_of(lt: LiteralType | None) -> LiteralType | None:
    return None if lt is None else LiteralType("collection_type", lt)
