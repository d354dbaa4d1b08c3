"""The server engine's event sink: the engine's events, numbered, into the database.

``record`` never blocks the engine: events queue and a writer task ingests them in
order through the event service (idempotent by sequence number, phases forward
only). ``flush`` waits until everything recorded so far is stored: the engine awaits
it where a crash must leave a trace before it acts (an attempt about to start).

Every batch is fenced by the replica's lease (``owner``): once the event service
refuses one with :class:`LeaseLostError`, the sink records nothing more and calls
``on_lease_lost`` so the engine stops acting on the execution.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import anyio

from wingspan.core.engine import Event
from wingspan.core.errors import LeaseLostError
from wingspan.core.model import codec
from wingspan.core.model import events as stored
from wingspan.core.model.execution import CacheStatus, NodePhase, TaskPhase, WorkflowPhase
from wingspan.core.model.interface import ExecutionId, Identifier, NodeExecutionId, TaskExecutionId
from wingspan.core.model.literals import LiteralMap
from wingspan.core.types.passthrough import as_literal

if TYPE_CHECKING:
    from wingspan.server.services.events import EventService

__all__ = ["DatabaseSink"]


def _time(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)


def _outputs(values: Any) -> LiteralMap | None:
    if values is None or isinstance(values, LiteralMap):
        return values
    return LiteralMap({name: as_literal(value) for name, value in values.items()})


class DatabaseSink:
    """Events of one execution, written in order; ``producer`` names the engine replica."""

    def __init__(
        self,
        events: EventService,
        project: str,
        domain: str,
        name: str,
        *,
        producer: str,
        owner: str,
        first_sequence: int = 0,
        on_lease_lost: Callable[[], None] | None = None,
    ) -> None:
        self._events = events
        self._execution_id = ExecutionId(project, domain, name)
        self._producer = producer
        self._owner = owner
        self._on_lease_lost = on_lease_lost
        self.lease_lost = False
        self._sequence = first_sequence
        self._queue: deque[stored.Event] = deque()
        self._wake = anyio.Event()
        self._written = 0  # sequence numbers up to this one are stored
        self._progress = anyio.Event()
        self._closed = False
        self._detached = False
        self.failure: BaseException | None = None

    # ---- what the engine calls ----------------------------------------------------------

    def detach(self) -> None:
        """Records nothing more: the engine is stopping and the execution stays as stored."""
        self._detached = True
        self._queue.clear()
        self._closed = True
        self._wake.set()

    def record(self, event: Event) -> None:
        if self._detached:
            return
        self._sequence += 1
        event.sequence = self._sequence
        self._queue.append(self._message(event))
        self._wake.set()

    def record_attempt_handle(
        self, node_id: str, attempt: int, task_id: Identifier | None, plugin: str, handle: Any
    ) -> None:
        """The handle of an attempt just started (a second RUNNING event of that attempt)."""
        if self._detached:
            return
        self._sequence += 1
        self._queue.append(
            stored.Event(
                "task",
                stored.TaskExecutionEvent(
                    id=self._task_id(node_id, attempt, task_id),
                    producer_id=self._producer,
                    phase=TaskPhase.RUNNING,
                    occurred_at=datetime.now(UTC),
                    plugin=plugin,
                    plugin_handle=json.dumps(handle, sort_keys=True).encode(),
                    sequence=self._sequence,
                ),
            )
        )
        self._wake.set()

    async def flush(self) -> None:
        """Returns once every event recorded so far is stored (raises what stopped the writer)."""
        target = self._sequence
        while self._written < target:
            if self.failure is not None:
                raise self.failure
            progress = self._progress
            await progress.wait()
        if self.failure is not None:
            raise self.failure

    # ---- the writer ---------------------------------------------------------------------

    async def run(self) -> None:
        """Writes queued events until closed and drained: all that queued while the previous
        write ran go in one transaction."""
        try:
            while True:
                while self._queue:
                    batch = list(self._queue)
                    try:
                        await self._events.ingest(self._execution_id, batch, owner=self._owner)
                    except LeaseLostError as exc:
                        self.lease_lost = True
                        self.failure = exc
                        self.detach()
                        self._progress.set()
                        if self._on_lease_lost is not None:
                            self._on_lease_lost()
                        return
                    if self._detached:
                        return
                    for _ in batch:
                        self._queue.popleft()
                    self._written = max(self._written, max(e.value.sequence for e in batch if e.value))
                    self._progress.set()
                    self._progress = anyio.Event()
                if self._closed:
                    return
                await self._wake.wait()
                self._wake = anyio.Event()
        except BaseException as exc:
            self.failure = exc
            self._progress.set()
            raise

    async def aclose(self) -> None:
        self._closed = True
        self._wake.set()

    # ---- conversion ---------------------------------------------------------------------

    def _task_id(self, node_id: str, attempt: int, task_id: Identifier | None = None) -> TaskExecutionId:
        return TaskExecutionId(task_id, NodeExecutionId(self._execution_id, node_id), attempt)

    def _message(self, event: Event) -> stored.Event:
        at = _time(event.at)
        if event.kind == "workflow":
            return stored.Event("workflow", stored.WorkflowExecutionEvent(
                execution_id=self._execution_id,
                producer_id=self._producer,
                phase=WorkflowPhase(int(event.phase)),
                occurred_at=at,
                outputs=_outputs(event.outputs),
                error=event.error,
                reason=event.reason,
                sequence=event.sequence,
            ))
        if event.kind == "node":
            dynamic = event.dynamic
            return stored.Event("node", stored.NodeExecutionEvent(
                id=NodeExecutionId(self._execution_id, event.node_id),
                producer_id=self._producer,
                phase=NodePhase(int(event.phase)),
                occurred_at=at,
                outputs=_outputs(event.outputs),
                error=event.error,
                parent_node_id=event.parent,
                spec_node_id=event.node_id.rsplit("/", 1)[-1],
                cache_status=CacheStatus(int(event.cache)),
                reason=event.reason,
                sequence=event.sequence,
                is_parent=dynamic is not None or event.is_parent,
                is_dynamic=dynamic is not None,
                dynamic_spec=codec.encode(dynamic) if dynamic is not None else b"",
            ))
        return stored.Event("task", stored.TaskExecutionEvent(
            id=self._task_id(event.node_id, event.attempt),
            producer_id=self._producer,
            phase=TaskPhase(int(event.phase)),
            occurred_at=at,
            error=event.error,
            reason=event.reason,
            logs=tuple(stored.TaskLog(name, uri) for name, uri in event.logs),
            sequence=event.sequence,
        ))
