"""Which phase changes events may make: the one place that orders phases.

Phases only move forward. Each phase has a rank; an event moves a row to a phase
of higher rank, or of equal rank if it is no older than the last event applied
(a RUNNING event with more logs, WAITING after RUNNING); a terminal phase never
changes again (the first terminal event wins, a late one is recorded but ignored).
"""

from __future__ import annotations

import enum
from typing import Any

from wingspan.core.model.execution import NodePhase, TaskPhase, WorkflowPhase

__all__ = ["TERMINAL_NODE", "TERMINAL_TASK", "TERMINAL_WORKFLOW", "moves_forward"]

TERMINAL_WORKFLOW = frozenset(
    {
        WorkflowPhase.SUCCEEDED,
        WorkflowPhase.FAILED,
        WorkflowPhase.TIMED_OUT,
        WorkflowPhase.ABORTED,
        WorkflowPhase.SKIPPED,
    }
)
TERMINAL_NODE = frozenset(
    {
        NodePhase.SUCCEEDED,
        NodePhase.FAILED,
        NodePhase.SKIPPED,
        NodePhase.TIMED_OUT,
        NodePhase.ABORTED,
        NodePhase.RECOVERED,
    }
)
# RETRYABLE_FAILURE ends an attempt: the next attempt is another row
TERMINAL_TASK = frozenset(
    {
        TaskPhase.SUCCEEDED,
        TaskPhase.FAILED,
        TaskPhase.TIMED_OUT,
        TaskPhase.ABORTED,
        TaskPhase.RETRYABLE_FAILURE,
    }
)

_WORKFLOW_RANK = {
    WorkflowPhase.UNDEFINED: 0,
    WorkflowPhase.QUEUED: 1,
    WorkflowPhase.RUNNING: 2,
    WorkflowPhase.ABORTING: 3,
}
_NODE_RANK = {NodePhase.UNDEFINED: 0, NodePhase.QUEUED: 1, NodePhase.RUNNING: 2, NodePhase.WAITING: 2}
_TASK_RANK = {TaskPhase.UNDEFINED: 0, TaskPhase.QUEUED: 1, TaskPhase.RUNNING: 2}
_TERMINAL_RANK = 9

_TABLES: dict[str, tuple[type[enum.IntEnum], dict[Any, int], frozenset[Any]]] = {
    "workflow": (WorkflowPhase, _WORKFLOW_RANK, TERMINAL_WORKFLOW),
    "node": (NodePhase, _NODE_RANK, TERMINAL_NODE),
    "task": (TaskPhase, _TASK_RANK, TERMINAL_TASK),
}


def is_terminal(kind: str, phase: int) -> bool:
    cls, _, terminal = _TABLES[kind]
    return cls(phase) in terminal


def moves_forward(
    kind: str, current: int, new: int, *, current_sequence: int = 0, new_sequence: int = 0
) -> bool:
    """Whether an event of ``kind`` ("workflow", "node", "task") may move a row from
    phase ``current`` to ``new``."""
    cls, ranks, terminal = _TABLES[kind]
    now, then = cls(current), cls(new)
    if now in terminal:
        return False
    rank_now = ranks.get(now, _TERMINAL_RANK)
    rank_new = _TERMINAL_RANK if then in terminal else ranks[then]
    if rank_new != rank_now:
        return rank_new > rank_now
    # same rank: an older event (by sequence, when both carry one) does not win
    return not (new_sequence and current_sequence and new_sequence < current_sequence)
