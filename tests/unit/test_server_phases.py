"""The ordering rules of phases: forward only, terminal phases final, ties by sequence."""

from __future__ import annotations

import enum

import pytest

from wingspan.core.model.execution import NodePhase, TaskPhase, WorkflowPhase
from wingspan.server.services.phases import TERMINAL_NODE, TERMINAL_TASK, TERMINAL_WORKFLOW, moves_forward


@pytest.mark.parametrize(
    ("current", "new", "expected"),
    [
        (WorkflowPhase.UNDEFINED, WorkflowPhase.QUEUED, True),
        (WorkflowPhase.QUEUED, WorkflowPhase.RUNNING, True),
        (WorkflowPhase.RUNNING, WorkflowPhase.QUEUED, False),
        (WorkflowPhase.RUNNING, WorkflowPhase.ABORTING, True),
        (WorkflowPhase.ABORTING, WorkflowPhase.RUNNING, False),
        (WorkflowPhase.ABORTING, WorkflowPhase.ABORTED, True),
        (WorkflowPhase.QUEUED, WorkflowPhase.SKIPPED, True),
    ],
)
def test_workflow_phases_move_forward(current: WorkflowPhase, new: WorkflowPhase, expected: bool) -> None:
    assert moves_forward("workflow", current, new) is expected


@pytest.mark.parametrize(
    ("kind", "terminal", "phases"),
    [
        ("workflow", TERMINAL_WORKFLOW, WorkflowPhase),
        ("node", TERMINAL_NODE, NodePhase),
        ("task", TERMINAL_TASK, TaskPhase),
    ],
)
def test_a_terminal_phase_never_changes(kind: str, terminal: frozenset[int],
                                        phases: type[enum.IntEnum]) -> None:
    for end in terminal:
        for other in phases:
            assert not moves_forward(kind, end, other), (kind, end, other)


def test_equal_ranks_follow_the_sequence() -> None:
    assert moves_forward("node", NodePhase.RUNNING, NodePhase.WAITING, current_sequence=3, new_sequence=4)
    assert not moves_forward("node", NodePhase.WAITING, NodePhase.RUNNING, current_sequence=4, new_sequence=3)
    assert moves_forward("task", TaskPhase.RUNNING, TaskPhase.RUNNING)  # a RUNNING event with more logs
    assert moves_forward("task", TaskPhase.RUNNING, TaskPhase.RETRYABLE_FAILURE)
