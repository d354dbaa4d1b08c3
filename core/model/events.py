"""What an engine reports of an execution, its nodes and their attempts: the events the
server stores (in this form, encoded) and replays to watchers."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from wingspan.core.model.execution import CacheStatus, ExecutionError, NodePhase, TaskPhase, WorkflowPhase
from wingspan.core.model.interface import ExecutionId, NodeExecutionId, TaskExecutionId
from wingspan.core.model.literals import LiteralMap
from wingspan.core.model.record import record

__all__ = ["Event", "NodeExecutionEvent", "TaskExecutionEvent", "TaskLog", "WorkflowExecutionEvent"]


@record
class TaskLog:
    name: str = ""
    uri: str = ""


@record
class WorkflowExecutionEvent:
    execution_id: ExecutionId | None = None
    # the engine replica that sent it (the holder of the execution's lease)
    producer_id: str = ""
    phase: WorkflowPhase = WorkflowPhase.UNDEFINED
    occurred_at: datetime | None = None
    outputs: LiteralMap | None = None
    error: ExecutionError | None = None
    reason: str = ""
    sequence: int = 0


@record
class NodeExecutionEvent:
    id: NodeExecutionId | None = None
    producer_id: str = ""
    phase: NodePhase = NodePhase.UNDEFINED
    occurred_at: datetime | None = None
    inputs: LiteralMap | None = None
    outputs: LiteralMap | None = None
    error: ExecutionError | None = None
    parent_node_id: str = ""
    spec_node_id: str = ""
    node_name: str = ""
    is_parent: bool = False
    is_dynamic: bool = False
    cache_status: CacheStatus = CacheStatus.DISABLED
    reason: str = ""
    sequence: int = 0
    # the DynamicJobSpec a dynamic node produced, encoded
    dynamic_spec: bytes = b""


@record
class TaskExecutionEvent:
    id: TaskExecutionId | None = None
    producer_id: str = ""
    phase: TaskPhase = TaskPhase.UNDEFINED
    occurred_at: datetime | None = None
    logs: tuple[TaskLog, ...] = ()
    outputs: LiteralMap | None = None
    error: ExecutionError | None = None
    reason: str = ""
    plugin: str = ""
    # the plugin's handle of the attempt (JSON), to re-attach to it after a restart
    plugin_handle: bytes = b""
    cache_status: CacheStatus = CacheStatus.DISABLED
    sequence: int = 0


@record
class Event:
    """One of: workflow, node, task (``kind`` names it, ``value`` holds it)."""

    __oneof__: ClassVar[str] = "event"

    kind: str = ""
    value: WorkflowExecutionEvent | NodeExecutionEvent | TaskExecutionEvent | None = None
