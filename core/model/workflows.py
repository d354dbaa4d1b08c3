"""Workflow templates: nodes, bindings, conditions, and the compiled closure."""

from __future__ import annotations

import enum
from dataclasses import field
from datetime import timedelta
from typing import Any, ClassVar

from wingspan.core.model.interface import Identifier, ParameterMap, TypedInterface
from wingspan.core.model.literals import LiteralType
from wingspan.core.model.record import record
from wingspan.core.model.tasks import Resources, TaskTemplate

__all__ = [
    "ApproveCondition",
    "ArrayNode",
    "Binding",
    "BindingData",
    "BindingDataCollection",
    "BindingDataMap",
    "BooleanExpression",
    "BranchNode",
    "ComparisonExpression",
    "ComparisonOperator",
    "CompiledTask",
    "CompiledWorkflow",
    "CompiledWorkflowClosure",
    "ConjunctionExpression",
    "ConjunctionOperator",
    "DynamicJobSpec",
    "FailurePolicy",
    "GateNode",
    "IfBlock",
    "Node",
    "NodeConnections",
    "NodeIdList",
    "NodeMetadata",
    "Operand",
    "OutputReference",
    "PathStep",
    "SignalCondition",
    "SleepCondition",
    "TaskNode",
    "TaskNodeOverrides",
    "WorkflowMetadata",
    "WorkflowNode",
    "WorkflowTemplate",
]

# the pseudo node whose outputs are the workflow's inputs
START_NODE = "start"
# the pseudo node whose output "err" is the failure a workflow's failure node is told of
ERROR_NODE = "error"


@record
class PathStep:
    """One of: index (int), key (str)."""

    __oneof__: ClassVar[str] = "step"
    kind: str = ""
    value: Any = None


@record
class OutputReference:
    node_id: str = ""
    var: str = ""
    path: tuple[PathStep, ...] = ()


@record
class BindingDataCollection:
    bindings: tuple[BindingData, ...] = ()


@record
class BindingDataMap:
    bindings: dict[str, BindingData] = field(default_factory=dict)


@record
class BindingData:
    """One of: literal, promise (OutputReference), collection, map."""

    __oneof__: ClassVar[str] = "value"
    kind: str = ""
    value: Any = None
    union_tag: str = ""


@record
class Binding:
    var: str = ""
    binding: BindingData | None = None


@record
class NodeMetadata:
    name: str = ""
    timeout: timedelta | None = None
    retries: int | None = None
    interruptible: bool | None = None


@record
class TaskNodeOverrides:
    resources: Resources | None = None


@record
class TaskNode:
    task_id: Identifier | None = None
    overrides: TaskNodeOverrides | None = None


@record
class WorkflowNode:
    """One of: subworkflow_id, launch_plan_id."""

    __oneof__: ClassVar[str] = "reference"
    kind: str = ""
    value: Any = None


class ComparisonOperator(enum.IntEnum):
    EQ = 0
    NEQ = 1
    GT = 2
    GTE = 3
    LT = 4
    LTE = 5


class ConjunctionOperator(enum.IntEnum):
    AND = 0
    OR = 1


@record
class Operand:
    """One of: literal, promise."""

    __oneof__: ClassVar[str] = "value"
    kind: str = ""
    value: Any = None


@record
class ComparisonExpression:
    operator: ComparisonOperator = ComparisonOperator.EQ
    left: Operand | None = None
    right: Operand | None = None


@record
class ConjunctionExpression:
    operator: ConjunctionOperator = ConjunctionOperator.AND
    left: BooleanExpression | None = None
    right: BooleanExpression | None = None


@record
class BooleanExpression:
    """One of: comparison, conjunction."""

    __oneof__: ClassVar[str] = "expression"
    kind: str = ""
    value: Any = None


@record
class IfBlock:
    condition: BooleanExpression | None = None
    then_node: Node | None = None


@record
class BranchNode:
    """``cases`` in order; ``kind``/``value`` is the otherwise part: else_node or else_fail."""

    __oneof__: ClassVar[str] = "otherwise"
    cases: tuple[IfBlock, ...] = ()
    kind: str = ""
    value: Any = None


@record
class SleepCondition:
    duration: timedelta | None = None


@record
class ApproveCondition:
    signal_id: str = ""


@record
class SignalCondition:
    signal_id: str = ""
    type: LiteralType | None = None
    output_variable_name: str = ""


@record
class GateNode:
    """One of: sleep, approve, signal."""

    __oneof__: ClassVar[str] = "condition"
    kind: str = ""
    value: Any = None
    timeout: timedelta | None = None


@record
class ArrayNode:
    node: Node | None = None
    parallelism: int = 0
    min_success_ratio: float = 1.0
    mapped_inputs: tuple[str, ...] = ()


@record
class Node:
    """One of: task_node, workflow_node, branch_node, gate_node, array_node."""

    __oneof__: ClassVar[str] = "target"
    id: str = ""
    metadata: NodeMetadata | None = None
    inputs: tuple[Binding, ...] = ()
    upstream_node_ids: tuple[str, ...] = ()
    kind: str = ""
    value: Any = None


class FailurePolicy(enum.IntEnum):
    FAIL_IMMEDIATELY = 0
    FAIL_AFTER_EXECUTABLE_NODES_COMPLETE = 1


@record
class WorkflowMetadata:
    failure_policy: FailurePolicy = FailurePolicy.FAIL_IMMEDIATELY
    docs: str = ""


@record
class WorkflowTemplate:
    id: Identifier | None = None
    metadata: WorkflowMetadata | None = None
    interface: TypedInterface | None = None
    nodes: tuple[Node, ...] = ()
    outputs: tuple[Binding, ...] = ()
    parameters: ParameterMap | None = None
    # run when the workflow fails (on_failure); binds only START_NODE and ERROR_NODE
    failure_node: Node | None = None


@record
class NodeIdList:
    ids: tuple[str, ...] = ()


@record
class NodeConnections:
    upstream: dict[str, NodeIdList] = field(default_factory=dict)
    downstream: dict[str, NodeIdList] = field(default_factory=dict)
    order: tuple[str, ...] = ()


@record
class CompiledWorkflow:
    template: WorkflowTemplate | None = None
    connections: NodeConnections | None = None


@record
class CompiledTask:
    template: TaskTemplate | None = None


@record
class CompiledWorkflowClosure:
    primary: CompiledWorkflow | None = None
    sub_workflows: tuple[CompiledWorkflow, ...] = ()
    tasks: tuple[CompiledTask, ...] = ()
    launch_plans: tuple[Identifier, ...] = ()


@record
class DynamicJobSpec:
    nodes: tuple[Node, ...] = ()
    outputs: tuple[Binding, ...] = ()
    sub_workflows: tuple[CompiledWorkflow, ...] = ()
    tasks: tuple[CompiledTask, ...] = ()
    connections: NodeConnections | None = None



