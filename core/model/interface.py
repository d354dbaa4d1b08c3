"""Identifiers and typed interfaces of tasks, workflows and launch plans."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from wingspan.core.model.literals import Literal, LiteralType

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


@dataclass(frozen=True, slots=True)
class Identifier:
    resource_type: ResourceType = ResourceType.UNSPECIFIED
    project: str = ""
    domain: str = ""
    name: str = ""
    version: str = ""

    def __str__(self) -> str:
        scope = f"{self.project}/{self.domain}/" if self.project else ""
        return f"{scope}{self.name}" + (f"@{self.version}" if self.version else "")


@dataclass(frozen=True, slots=True)
class NamedEntityIdentifier:
    project: str = ""
    domain: str = ""
    name: str = ""


@dataclass(frozen=True, slots=True)
class ExecutionId:
    project: str = ""
    domain: str = ""
    name: str = ""


@dataclass(frozen=True, slots=True)
class NodeExecutionId:
    execution_id: ExecutionId | None = None
    node_id: str = ""


@dataclass(frozen=True, slots=True)
class TaskExecutionId:
    task_id: Identifier | None = None
    node_execution_id: NodeExecutionId | None = None
    attempt: int = 0


@dataclass(frozen=True, slots=True)
class SignalId:
    execution_id: ExecutionId | None = None
    signal_id: str = ""


@dataclass(frozen=True, slots=True)
class Variable:
    name: str = ""
    type: LiteralType | None = None
    description: str = ""


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class Parameter:
    variable: Variable | None = None
    default: Literal | None = None
    required: bool = False


@dataclass(frozen=True, slots=True)
class ParameterMap:
    parameters: tuple[Parameter, ...] = ()
