"""What an execution is asked to run, and why: the spec a created execution keeps."""

from __future__ import annotations

import enum
from datetime import datetime

from wingspan.core.model.interface import ExecutionId, Identifier, NodeExecutionId
from wingspan.core.model.launch_plans import Notification
from wingspan.core.model.literals import LiteralMap
from wingspan.core.model.record import record
from wingspan.core.model.settings import ExecutionSettings, SettingSource

__all__ = ["ExecutionMetadata", "ExecutionMode", "ExecutionSpec"]


class ExecutionMode(enum.IntEnum):
    MANUAL = 0
    SCHEDULED = 1
    RELAUNCH = 2
    RECOVER = 3
    CHILD = 4


@record
class ExecutionMetadata:
    mode: ExecutionMode = ExecutionMode.MANUAL
    principal: str = ""
    scheduled_at: datetime | None = None
    # for relaunch / recover: the execution this one repeats
    reference_execution: ExecutionId | None = None
    # for a launch plan run as a node of another execution
    parent_node_execution: NodeExecutionId | None = None
    # set by the server: the W3C traceparent of the call that created it (the engine's spans
    # of its run continue that trace, on whichever replica, after any restart)
    trace_parent: str = ""


@record
class ExecutionSpec:
    # what runs: a launch plan, a workflow or a single task
    entity_id: Identifier | None = None
    inputs: LiteralMap | None = None
    metadata: ExecutionMetadata | None = None
    max_parallelism: int = 0
    notifications: tuple[Notification, ...] = ()
    # where python tasks run ("local-process", "k8s", ...), for this execution only
    python_target: str = ""
    # asked for at create; once created, what it runs with (resolved) and where each came from
    settings: ExecutionSettings | None = None
    setting_sources: tuple[SettingSource, ...] = ()
