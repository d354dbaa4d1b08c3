"""What an earlier run of an execution already did, so a new run resumes from there.

A server persists every phase change; when it restarts (or another replica takes an
execution over, or a user recovers a failed one), it reads back what was recorded
into a :class:`Journal` and runs the execution again with it. The engine then:

- returns the recorded outputs of a node whose success was recorded, without running
  it (and without recording anything for it again);
- numbers new attempts after the recorded ones, and re-attaches to an attempt whose
  start and handle were recorded but not its end (it may still be running: a pod, a
  detached worker); an attempt recorded as starting without a handle was interrupted
  before it could be followed, and ends as a failed attempt that may be retried;
- lets a sleep gate wait only for what remains of its duration;
- reuses the graph a dynamic node made instead of running its body again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wingspan.core.model.workflows import DynamicJobSpec

__all__ = ["Journal", "RecordedAttempt"]


@dataclass
class RecordedAttempt:
    """An attempt whose start was recorded and whose end was not."""

    attempt: int
    plugin: str = ""
    # the plugin's handle (plain data); None when the attempt ended before its handle was stored
    handle: dict[str, Any] | None = None
    # when it started (seconds since the epoch): its timeout runs from then, not from a resume
    started_at: float | None = None


@dataclass
class Journal:
    """Recorded facts of an execution, by node path ("n2", "n3/n0", "n4/7")."""

    # outputs (literals by name) of the nodes whose success was recorded
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    # the number of attempts recorded per task node (new ones are numbered after them)
    attempts: dict[str, int] = field(default_factory=dict)
    # attempts started and not ended
    running: dict[str, RecordedAttempt] = field(default_factory=dict)
    # when a gate began to wait (seconds since the epoch)
    waiting_since: dict[str, float] = field(default_factory=dict)
    # the graphs dynamic nodes produced
    dynamic: dict[str, DynamicJobSpec] = field(default_factory=dict)
    # nodes whose outputs come from another execution (a recovery): recorded as RECOVERED once
    recovered: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.outputs or self.attempts or self.running or self.waiting_since or self.dynamic)
