"""Identifiers and typed interfaces of tasks, workflows and launch plans."""

from __future__ import annotations

import enum

from wingspan.core.model.literals import Literal, LiteralType
from wingspan.core.model.record import record

__all__ = [
    "ExecutionId",
    "Identifier",
    "NamedEntityIdentifier",
    "NodeExecutionId",
    "Parameter",
    "ParameterMap",
    "ResourceType",
    "SignalId",
    "TaskExecutionId",
    "TypedInterface",
    "Variable",
]


class ResourceType(enum.IntEnum):
    UNSPECIFIED = 0
    TASK = 1
    WORKFLOW = 2
    LAUNCH_PLAN = 3


@record
class Identifier:
    resource_type: ResourceType = ResourceType.UNSPECIFIED
    project: str = ""
    domain: str = ""
    name: str = ""
    version: str = ""

    def __str__(self) -> str:
        scope = f"{self.project}/{self.domain}/" if self.project else ""
        return f"{scope}{self.name}" + (f"@{self.version}" if self.version else "")


@record
class NamedEntityIdentifier:
    project: str = ""
    domain: str = ""
    name: str = ""


@record
class ExecutionId:
    project: str = ""
    domain: str = ""
    name: str = ""


@record
class NodeExecutionId:
    execution_id: ExecutionId | None = None
    node_id: str = ""


@record
class TaskExecutionId:
    task_id: Identifier | None = None
    node_execution_id: NodeExecutionId | None = None
    attempt: int = 0


@record
class SignalId:
    execution_id: ExecutionId | None = None
    signal_id: str = ""


@record
class Variable:
    name: str = ""
    type: LiteralType | None = None
    description: str = ""


@record
class TypedInterface:
    inputs: tuple[Variable, ...] = ()
    outputs: tuple[Variable, ...] = ()
    # "single", "tuple", "named_tuple" or "none"
    output_style: str = "none"
    output_type_name: str = ""

    def input(self, name: str) -> Variable | None:
        return next((v for v in self.inputs if v.name == name), None)

    def output(self, name: str) -> Variable | None:
        return next((v for v in self.outputs if v.name == name), None)


@record
class Parameter:
    variable: Variable | None = None
    default: Literal | None = None
    required: bool = False


@record
class ParameterMap:
    parameters: tuple[Parameter, ...] = ()
