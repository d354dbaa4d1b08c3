"""Where an execution's nodes, their attempts and its signals stand, as the server reports them."""

from __future__ import annotations

from datetime import datetime, timedelta

from wingspan.core.model.events import TaskLog
from wingspan.core.model.execution import CacheStatus, ExecutionError, NodePhase, TaskPhase
from wingspan.core.model.interface import NodeExecutionId, SignalId, TaskExecutionId
from wingspan.core.model.literals import Literal, LiteralType
from wingspan.core.model.record import record

__all__ = ["NodeExecution", "NodeExecutionClosure", "Signal", "TaskExecution", "TaskExecutionClosure"]


@record
class NodeExecutionClosure:
    phase: NodePhase = NodePhase.UNDEFINED
    started_at: datetime | None = None
    updated_at: datetime | None = None
    duration: timedelta | None = None
    error: ExecutionError | None = None
    cache_status: CacheStatus = CacheStatus.DISABLED
    # a node that runs others (a dynamic task, a subworkflow, a map)
    is_parent: bool = False
    is_dynamic: bool = False
    node_name: str = ""
    reason: str = ""


@record
class NodeExecution:
    id: NodeExecutionId | None = None
    closure: NodeExecutionClosure | None = None
    # the node this one runs under ("" at the top level)
    parent_node_id: str = ""


@record
class TaskExecutionClosure:
    phase: TaskPhase = TaskPhase.UNDEFINED
    started_at: datetime | None = None
    updated_at: datetime | None = None
    duration: timedelta | None = None
    error: ExecutionError | None = None
    logs: tuple[TaskLog, ...] = ()
    # the plugin's handle of the attempt (JSON)
    plugin_handle: bytes = b""
    plugin: str = ""
    reason: str = ""


@record
class TaskExecution:
    id: TaskExecutionId | None = None
    closure: TaskExecutionClosure | None = None


@record
class Signal:
    """A value a gate waits for (an approval, an input)."""

    id: SignalId | None = None
    type: LiteralType | None = None
    # set once the signal has been given
    value: Literal | None = None
    created_at: datetime | None = None
    set_at: datetime | None = None
    # the gate node waiting for it
    node_id: str = ""
