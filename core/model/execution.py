"""Phases of executions, nodes and attempts; cache outcomes; execution errors."""

from __future__ import annotations

import enum
from datetime import datetime

from wingspan.core.model.literals import ErrorKind
from wingspan.core.model.record import record

__all__ = ["ENDED_WORKFLOW_PHASES", "CacheStatus", "ExecutionError", "NodePhase", "TaskPhase",
           "WorkflowPhase"]


class WorkflowPhase(enum.IntEnum):
    UNDEFINED = 0
    QUEUED = 1
    RUNNING = 2
    SUCCEEDED = 3
    FAILED = 4
    TIMED_OUT = 5
    ABORTING = 6
    ABORTED = 7
    SKIPPED = 8


#: the phases an execution never leaves
ENDED_WORKFLOW_PHASES = frozenset({WorkflowPhase.SUCCEEDED, WorkflowPhase.FAILED, WorkflowPhase.TIMED_OUT,
                                   WorkflowPhase.ABORTED, WorkflowPhase.SKIPPED})


class NodePhase(enum.IntEnum):
    UNDEFINED = 0
    QUEUED = 1
    RUNNING = 2
    SUCCEEDED = 3
    FAILED = 4
    SKIPPED = 5
    TIMED_OUT = 6
    ABORTED = 7
    WAITING = 8
    RECOVERED = 9


class TaskPhase(enum.IntEnum):
    UNDEFINED = 0
    QUEUED = 1
    RUNNING = 2
    SUCCEEDED = 3
    FAILED = 4
    TIMED_OUT = 5
    ABORTED = 6
    RETRYABLE_FAILURE = 7


class CacheStatus(enum.IntEnum):
    DISABLED = 0
    MISS = 1
    HIT = 2
    POPULATED = 3
    LOOKUP_FAILURE = 4
    PUT_FAILURE = 5
    WAITED = 6


@record
class ExecutionError:
    code: str = ""
    message: str = ""
    kind: ErrorKind = ErrorKind.UNSPECIFIED
    retryable: bool = False
    node_id: str = ""
    occurred_at: datetime | None = None
    error_uri: str = ""
