"""What the engine records: one event per phase change, and where events go.

Events are small plain objects on the hot path; a server's event sink turns them
into IDL events and writes a step's events in one transaction.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from wingspan.core.model.execution import CacheStatus, ExecutionError, NodePhase, TaskPhase, WorkflowPhase

__all__ = ["Event", "EventSink", "MemorySink"]


class Event:
    """One phase change of the workflow, a node or a task attempt.

    ``kind`` is "workflow", "node" or "task"; ``phase`` the matching phase enum.
    ``node_id`` is a path ("n2/n0", "n3/7") for nested nodes; ``parent`` names the
    node that spawned it. ``at`` is seconds since the epoch.
    """

    __slots__ = ("at", "attempt", "cache", "dynamic", "error", "is_parent", "item", "kind", "logs", "name",
                 "node_id", "outputs", "parent", "phase", "reason", "sequence")

    def __init__(self, kind: str, node_id: str, phase: WorkflowPhase | NodePhase | TaskPhase,
                 attempt: int = 0, parent: str = "", error: ExecutionError | None = None,
                 reason: str = "", cache: CacheStatus = CacheStatus.DISABLED,
                 outputs: Any = None, logs: tuple[tuple[str, str], ...] = ()) -> None:
        self.kind = kind
        self.node_id = node_id
        self.phase = phase
        self.attempt = attempt
        self.parent = parent
        self.error = error
        self.reason = reason
        self.cache = cache
        self.outputs = outputs
        # task events: where the attempt's logs are, as (name, uri or path) pairs
        self.logs = logs
        self.at = time.time()
        self.sequence = 0
        # a dynamic node's RUNNING event: the graph its body made (a DynamicJobSpec)
        self.dynamic: Any = None
        # a node whose children are made as it runs (an eager node), without a graph to show
        self.is_parent = False
        # a node's first event: the node's name in its workflow ("add"), for lists of nodes
        self.name = ""
        # about an item of a map node (its node or an attempt): a sink may keep only the state
        # it leaves (the server folds it into the item's rows: a map of 100,000 items must not
        # store, stream and publish 600,000 events)
        self.item = False

    def __repr__(self) -> str:
        where = f" {self.node_id}" if self.node_id else ""
        attempt = f" attempt {self.attempt}" if self.kind == "task" else ""
        return f"<{self.kind}{where} {self.phase.name}{attempt}>"


class EventSink(Protocol):
    """Receives every event, in order. Must not block: queue I/O and write it elsewhere."""

    def record(self, event: Event) -> None: ...


class MemorySink:
    """Keeps events in a list, numbering them; calls ``listener`` for each (progress views)."""

    def __init__(self, listener: Callable[[Event], None] | None = None) -> None:
        self.events: list[Event] = []
        self._listener = listener

    def record(self, event: Event) -> None:
        event.sequence = len(self.events) + 1
        self.events.append(event)
        if self._listener is not None:
            self._listener(event)

    def of(self, node_id: str) -> Sequence[Event]:
        return [e for e in self.events if e.node_id == node_id]

    def phases(self, node_id: str, kind: str = "node") -> list[str]:
        return [e.phase.name for e in self.events if e.node_id == node_id and e.kind == kind]
