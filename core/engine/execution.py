"""State shared by every graph of one execution: identity, sinks, limits, abort."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio

from wingspan.core.engine.events import Event, EventSink
from wingspan.core.engine.interfaces import SignalSource, TaskExecutor
from wingspan.core.engine.retry import RetryPolicy
from wingspan.core.model.execution import CacheStatus, ExecutionError, NodePhase, TaskPhase, WorkflowPhase

if TYPE_CHECKING:
    from wingspan.core.engine.caching import TaskCache
    from wingspan.core.engine.journal import Journal

__all__ = ["ExecutionState", "NodeFailed"]


class NodeFailed(Exception):
    """A node ended without success; carries the error the workflow fails with."""

    def __init__(self, error: ExecutionError, phase: NodePhase = NodePhase.FAILED,
                 exception: BaseException | None = None) -> None:
        super().__init__(error.message)
        self.error = error
        self.phase = phase
        self.exception = exception


@dataclass
class ExecutionState:
    """One execution as the engine runs it."""

    execution_id: str
    sink: EventSink
    executor: TaskExecutor
    signals: SignalSource | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_parallelism: int = 0
    # run a lone ready task on the loop's own thread: only when this loop is private to the
    # run, since nothing else (an abort, a timer) can act on the loop while the task runs
    allow_inline: bool = False
    # task attempts running in spawned tasks or threads (inline execution needs none)
    busy: int = 0
    aborted: str | None = None
    cancel_scope: anyio.CancelScope | None = None
    limiter: anyio.CapacityLimiter | None = None
    # the task cache (catalog); None runs every task
    cache: TaskCache | None = None
    # what an earlier run of this execution recorded (a resumed or recovered execution)
    journal: Journal | None = None

    def __post_init__(self) -> None:
        if self.max_parallelism > 0:
            self.limiter = anyio.CapacityLimiter(self.max_parallelism)

    def node(self, node_id: str, phase: NodePhase, parent: str = "", error: ExecutionError | None = None,
             reason: str = "", cache: CacheStatus = CacheStatus.DISABLED, outputs: Any = None,
             dynamic: Any = None, is_parent: bool = False, name: str = "", item: bool = False) -> None:
        event = Event("node", node_id, phase, 0, parent, error, reason, cache, outputs)
        event.name = name
        event.item = item
        if dynamic is not None:
            event.dynamic = dynamic
        event.is_parent = is_parent
        self.sink.record(event)

    def task(self, node_id: str, phase: TaskPhase, attempt: int, error: ExecutionError | None = None,
             reason: str = "", logs: tuple[tuple[str, str], ...] = (), item: bool = False) -> None:
        event = Event("task", node_id, phase, attempt, "", error, reason, logs=logs)
        event.item = item
        self.sink.record(event)

    def workflow(self, phase: WorkflowPhase, error: ExecutionError | None = None, reason: str = "",
                 outputs: Any = None) -> None:
        self.sink.record(Event("workflow", "", phase, 0, "", error, reason, outputs=outputs))

    def abort(self, reason: str) -> None:
        """Stops every running node; the execution ends ABORTED."""
        if self.aborted is None:
            self.aborted = reason or "aborted"
            if self.cancel_scope is not None:
                self.cancel_scope.cancel()
