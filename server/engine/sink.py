"""The server engine's event sinks: the engine's events, numbered, into the database.

``record`` never blocks the engine: events queue in the execution's sink, and one writer
per replica (:class:`EventWriter`) ingests what every sink queued meanwhile in one
transaction, each execution's events in order, through the event service (idempotent
by sequence number, phases forward only). ``flush`` waits until everything recorded so
far is stored (committed: a sink hears of a write only after its commit): the engine
awaits it where a crash must leave a trace before it acts (an attempt about to start).

An attempt's handle (recorded just after it started) is not waited for: it goes with the
next write of any execution, at the latest :data:`HANDLE_WRITE_WITHIN` seconds later, so a
task's start costs one transaction, not two. An attempt whose handle could not be stored
(the lease lost, the write refused, the run stopped first) is aborted, as it was when the
engine waited for that write: nobody could follow it. A graceful stop therefore flushes
every sink before it detaches them (``EngineWorker.drain``).

Every batch is fenced by the replica's lease (``owner``): once the event service
refuses one with :class:`LeaseLostError`, the sink records nothing more and calls
``on_lease_lost`` so the engine stops acting on the execution.
"""

from __future__ import annotations

import json
import logging
import math
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import anyio
import anyio.lowlevel

from wingspan.core.engine import Event
from wingspan.core.errors import LeaseLostError
from wingspan.core.model import codec
from wingspan.core.model import events as stored
from wingspan.core.model.execution import CacheStatus, NodePhase, TaskPhase, WorkflowPhase
from wingspan.core.model.interface import ExecutionId, Identifier, NodeExecutionId, TaskExecutionId
from wingspan.core.model.literals import LiteralMap
from wingspan.core.types.passthrough import as_literal
from wingspan.server.services.events import ItemEvent

if TYPE_CHECKING:
    from wingspan.server.services.events import EventService

__all__ = ["DatabaseSink", "EventWriter"]

log = logging.getLogger("wingspan.engine")

#: events written at most per transaction (a sink's whole queue goes in one, however long)
WRITE_BATCH_EVENTS = 2000
#: turns of the event loop the writer lets pass between hearing of events and taking them: a
#: commit wakes the runs of every execution it stored, and each records its next events a few
#: turns later; taken at once, each would go in a transaction of its own (40 chains at once:
#: 1.4 transactions and 16 statements per task execution, 0.9 and 11 with this wait). Turns,
#: not time: with nothing else ready they pass in microseconds.
SETTLE_TURNS = 8
#: at the latest this long after an attempt started, its handle is written (if nothing else
#: wrote it meanwhile): how long a crash may leave a started attempt that cannot be followed
#: (it then ends as interrupted, and may be retried)
HANDLE_WRITE_WITHIN = 0.05

#: at most this long a sink's run spends aborting the attempts whose handles were not stored
#: (shielded: it runs while the engine stops); past it, those left are logged with their handles
ABORT_UNSTORED_WITHIN = 15.0

#: aborts an attempt whose handle was not stored
AbortUnstored = Callable[[], Awaitable[None]]


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
        writer: EventWriter,
        project: str,
        domain: str,
        name: str,
        *,
        producer: str,
        owner: str,
        first_sequence: int = 0,
        on_lease_lost: Callable[[], None] | None = None,
    ) -> None:
        self._writer = writer
        self.execution_id = ExecutionId(project, domain, name)
        self._producer = producer
        self.owner = owner
        self._on_lease_lost = on_lease_lost
        self.lease_lost = False
        self._sequence = first_sequence
        self._queue: deque[stored.Event] = deque()
        self._written = 0  # sequence numbers up to this one are stored
        self._progress = anyio.Event()
        self._closed = False
        self._detached = False
        self.failure: BaseException | None = None
        # by sequence number: the attempts whose handles are recorded and not yet stored (each
        # aborted by its callable, named by its string)
        self._unstored: dict[int, tuple[AbortUnstored, str]] = {}

    # ---- what the engine calls ----------------------------------------------------------

    def detach(self) -> None:
        """Records nothing more: the engine is stopping and the execution stays as stored."""
        self._detached = True
        self._queue.clear()
        self._closed = True
        self._progress.set()

    def record(self, event: Event) -> None:
        if self._detached:
            return
        self._sequence += 1
        event.sequence = self._sequence
        self._queue.append(self._message(event))
        self._writer.wants_write(self)

    def record_attempt_handle(
        self, node_id: str, attempt: int, task_id: Identifier | None, plugin: str, handle: Any,
        *, map_item: bool = False, abort: AbortUnstored | None = None,
    ) -> None:
        """The handle of an attempt just started (a second RUNNING event of that attempt), written
        with the next write, at the latest :data:`HANDLE_WRITE_WITHIN` seconds later; ``abort``
        stops the attempt if its handle cannot be stored. ``map_item``: an attempt of a map's
        item (folded into its rows, see :class:`ItemEvent`)."""
        if self._detached:
            return
        self._sequence += 1
        if abort is not None:
            self._unstored[self._sequence] = (abort, f"attempt {attempt} of node {node_id} on task plugin "
                                                     f"{plugin!r}, handle {handle}")
        self._queue.append(
            (ItemEvent if map_item else stored.Event)(
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
        self._writer.wants_write_within(self, HANDLE_WRITE_WITHIN)

    async def flush(self) -> None:
        """Returns once every event recorded so far is stored (raises what stopped the writer)."""
        target = self._sequence
        if self._written < target:  # what may wait (a handle) is waited for now: written at once
            self._writer.wants_write(self)
        while self._written < target:
            if self.failure is not None:
                raise self.failure
            if self._detached:  # nothing more is stored: the engine is being stopped
                await anyio.sleep_forever()
            progress = self._progress
            await progress.wait()
        if self.failure is not None:
            raise self.failure

    # ---- what the writer calls -----------------------------------------------------------

    def pending(self) -> list[stored.Event]:
        """The events queued and not yet stored (none once detached, or once a write failed:
        the execution's run then ends with that failure)."""
        return [] if self._detached or self.failure is not None else list(self._queue)

    def committed(self, batch: list[stored.Event]) -> None:
        """``batch`` (the first events of the queue) is committed."""
        if self._detached:
            return
        for _ in batch:
            self._queue.popleft()
        self._written = max(self._written, max(e.value.sequence for e in batch if e.value))
        for sequence in [s for s in self._unstored if s <= self._written]:
            del self._unstored[sequence]
        self._progress.set()
        self._progress = anyio.Event()

    def refused(self, exc: LeaseLostError) -> None:
        """The lease is lost: nothing more is recorded, the engine is told."""
        self.lease_lost = True
        self.failure = exc
        self.detach()
        if self._on_lease_lost is not None:
            self._on_lease_lost()

    def failed(self, exc: BaseException) -> None:
        """Writing failed for another reason: ``run`` and ``flush`` raise it."""
        self.failure = exc
        self._progress.set()

    # ---- the sink's task ------------------------------------------------------------------

    async def run(self) -> None:
        """Returns once closed and drained (or detached); raises what stopped the writing of
        this execution's events (the lease lost is not raised: ``on_lease_lost`` says it).
        However it ends, the attempts whose handles were not stored are aborted first."""
        try:
            await self._follow_writes()
        finally:
            await self._abort_unstored()

    async def _abort_unstored(self) -> None:
        """Aborts them even while cancelled, but for :data:`ABORT_UNSTORED_WITHIN` seconds at most:
        a plugin's abort that never returns must not hold a stop forever."""
        within = ABORT_UNSTORED_WITHIN
        unstored, self._unstored = self._unstored, {}
        left = [unstored[sequence] for sequence in sorted(unstored)]
        with anyio.CancelScope(shield=True) as scope:
            scope.deadline = anyio.current_time() + within
            while left:
                await left[0][0]()
                left.pop(0)
        if left:
            given_up = "; ".join(what for _, what in left)
            log.error("execution %s: aborting the attempts whose handles were not stored took over %s s; "
                      "given up on, these may still run with nobody following them (stop them through "
                      "their plugin): %s", self.execution_id.name, within, given_up)

    async def _follow_writes(self) -> None:
        while True:
            if self.failure is not None:
                if self.lease_lost:
                    return
                raise self.failure
            if self._detached or (self._closed and not self._queue):
                return
            progress = self._progress
            await progress.wait()

    async def aclose(self) -> None:
        self._closed = True
        self._progress.set()
        self._progress = anyio.Event()

    # ---- conversion ---------------------------------------------------------------------

    def _task_id(self, node_id: str, attempt: int, task_id: Identifier | None = None) -> TaskExecutionId:
        return TaskExecutionId(task_id, NodeExecutionId(self.execution_id, node_id), attempt)

    def _message(self, event: Event) -> stored.Event:
        message = self._converted(event)
        # a map's item: folded into its rows, not stored, watched or published as an event
        return ItemEvent(message.kind, message.value) if event.item else message

    def _converted(self, event: Event) -> stored.Event:
        at = _time(event.at)
        if event.kind == "workflow":
            return stored.Event("workflow", stored.WorkflowExecutionEvent(
                execution_id=self.execution_id,
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
                id=NodeExecutionId(self.execution_id, event.node_id),
                producer_id=self._producer,
                phase=NodePhase(int(event.phase)),
                occurred_at=at,
                outputs=_outputs(event.outputs),
                error=event.error,
                parent_node_id=event.parent,
                spec_node_id=event.node_id.rsplit("/", 1)[-1],
                node_name=event.name,
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


class EventWriter:
    """The one writer of a replica's event sinks: what every execution queued while the
    previous write ran goes in one transaction (a sink's events in order, never split)."""

    def __init__(self, events: EventService) -> None:
        self._events = events
        self._waiting: dict[DatabaseSink, None] = {}  # sinks with queued events, in arrival order
        # sinks whose queued events may wait, each until when (the event loop's clock)
        self._deferred: dict[DatabaseSink, float] = {}
        self._wake = anyio.Event()

    def wants_write(self, sink: DatabaseSink) -> None:
        self._waiting[sink] = None
        self._wake.set()

    def wants_write_within(self, sink: DatabaseSink, seconds: float) -> None:
        """``sink``'s events go with the next write, or are written ``seconds`` from now."""
        due = anyio.current_time() + seconds
        self._deferred[sink] = min(self._deferred.get(sink, due), due)
        self._wake.set()  # the writer's wait may end sooner now

    async def run(self) -> None:
        while True:
            while self._waiting:
                for _ in range(SETTLE_TURNS):  # what the runs woken by the last commit record
                    await anyio.lowlevel.checkpoint()
                await self._write(self._take())
            with anyio.move_on_after(self._until_due()):
                await self._wake.wait()
            self._wake = anyio.Event()
            now = anyio.current_time()
            for sink in [sink for sink, due in self._deferred.items() if due <= now]:
                self._waiting[sink] = None

    def _until_due(self) -> float:
        if not self._deferred:
            return math.inf
        return max(0.0, min(self._deferred.values()) - anyio.current_time())

    def _take(self) -> list[tuple[DatabaseSink, list[stored.Event]]]:
        taken: list[tuple[DatabaseSink, list[stored.Event]]] = []
        size = 0
        # what must be written now, then what may wait: it costs no transaction of its own here
        for sinks in (self._waiting, self._deferred):
            while sinks and size < WRITE_BATCH_EVENTS:
                sink = next(iter(sinks))
                self._waiting.pop(sink, None)
                self._deferred.pop(sink, None)
                batch = sink.pending()
                if batch:
                    taken.append((sink, batch))
                    size += len(batch)
        return taken

    async def _write(self, taken: list[tuple[DatabaseSink, list[stored.Event]]]) -> None:
        if not taken:
            return
        try:
            refused = await self._events.ingest_many([(s.execution_id, batch, s.owner) for s, batch in taken])
        except Exception:
            if len(taken) == 1:
                await self._write_alone(*taken[0])
                return
            # one execution's trouble must not stop the others: each is written alone
            for sink, batch in taken:
                await self._write_alone(sink, batch)
            return
        for (sink, batch), lost in zip(taken, refused, strict=True):
            if lost is None:
                sink.committed(batch)
            else:
                sink.refused(lost)

    async def _write_alone(self, sink: DatabaseSink, batch: list[stored.Event]) -> None:
        try:
            await self._events.ingest(sink.execution_id, batch, owner=sink.owner)
        except LeaseLostError as exc:
            sink.refused(exc)
        except Exception as exc:
            sink.failed(exc)
        else:
            sink.committed(batch)
