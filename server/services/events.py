"""Event ingestion from engines: idempotent, and phases only move forward.

Each event is stored once under a key unique within its execution: its sequence
number, or for an event without one, the digest of its bytes. The same event
again changes nothing (``recorded=False``); another event under a used sequence
number is a conflict. Events of one execution are applied one at a time (the
execution's row is locked, on PostgreSQL with ``FOR UPDATE``; SQLite writers are
serial), so concurrent ingestion gives the result of some serial order, and
:mod:`wingspan.server.services.phases` makes that result the same for every order
in which a phase could have been reached.

Only the engine replica holding an execution's lease records its events: every event
names its sender (``producer_id``, or the ``owner`` of a batch), and is refused with
:class:`LeaseLostError`, nothing recorded, unless that sender holds the unexpired lease,
checked with the execution's row locked in the transaction that writes the event.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

import anyio
import anyio.lowlevel
from sqlalchemy import and_, bindparam, insert, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from wingspan.core.errors import AlreadyExistsError, InvalidArgumentError, LeaseLostError, NotFoundError
from wingspan.core.model import codec
from wingspan.core.model.events import Event, NodeExecutionEvent, TaskExecutionEvent, WorkflowExecutionEvent
from wingspan.core.model.interface import ExecutionId, Identifier
from wingspan.server.db.engine import Database, now, utc
from wingspan.server.db.models import EventOutboxRow, EventRow, ExecutionRow, key
from wingspan.server.db.queries import execution_key, execution_row
from wingspan.server.db.wakeups import EVENTS, announce
from wingspan.server.services.concurrency import on_phase_change
from wingspan.server.services.event_rows import StagedRow, StagedRows
from wingspan.server.services.identifiers import check_execution_id, digest
from wingspan.server.services.map_items import MapItemStage, item_of
from wingspan.server.services.payloads import Payloads
from wingspan.server.services.phases import is_terminal, moves_forward
from wingspan.server.stream.outbox import EventOutbox

__all__ = ["EventService", "ItemEvent"]


class ItemEvent(Event):
    """An event of a map node's item (its node or an attempt), folded: stored as no event row, so
    neither watched nor published, but applied (phases forward only, fenced by the lease in the
    same transaction) to the map's aggregate, or to the item's own node and task rows once it
    needs them (see :mod:`wingspan.server.services.map_items`). A map of 100,000 items leaves
    a row per map and per chunk, not 600,000 events nor 200,000 rows; a watch sees the map
    node's own events, and an item's state is read from the aggregate or its rows."""

_RUNNING = {"workflow": 2, "node": 2, "task": 2}
# where a batch's transaction keeps its ``_Lookups`` in ``session.info``
_LOOKUPS = "wingspan.event_lookups"
#: values in one IN list of the events' look-ups: well below the databases' parameter limits
_IN_LIST_MAX = 10_000
#: how many events a batch applies between two turns of the event loop given to others
_EVENTS_BETWEEN_YIELDS = 256


class _Lookups:
    """What a transaction of event batches looked up at once, by execution row id: the event keys
    already stored (with their digests) and the rows of the nodes and attempts the events name
    (staged: written when all the batches are applied)."""

    __slots__ = ("known", "maps", "new_events", "outbox", "rows")

    def __init__(self) -> None:
        # the batches' new event rows, inserted together by one statement once all are applied
        self.new_events: list[dict[str, Any]] = []
        # their CloudEvents for the outward stream's outbox, likewise
        self.outbox: list[dict[str, Any]] = []
        self.known: dict[tuple[int, str], str] = {}
        self.rows = StagedRows()
        self.maps = MapItemStage()

    async def write(self, session: AsyncSession, payloads: Payloads) -> None:
        """Writes what the applied events changed and stored: the rows of their nodes and
        attempts, their maps' aggregates, the new event rows and their outbox entries."""
        await self.rows.write(session)
        await self.maps.write(session, payloads)
        if self.new_events:  # in the order applied: a watcher reads them by row id
            await session.execute(insert(EventRow), self.new_events)
        if self.outbox:  # in the same order: the publisher sends them by row id
            await session.execute(insert(EventOutboxRow), self.outbox)


class EventService:
    def __init__(self, db: Database, payloads: Payloads, outbox: EventOutbox | None = None) -> None:
        self.db = db
        self.payloads = payloads
        # every event stored is also put in the outward stream's outbox (when it has sinks)
        self.outbox = outbox or EventOutbox()
        # per execution row id: set (and replaced) when an event of it is recorded here
        self._waiters: dict[int, anyio.Event] = {}
        #: told the key of each execution whose events are stored here: how the followers of
        #: another service layer in this process (the API's, beside an engine on its own
        #: thread) hear of them at once
        self.on_stored: list[Callable[[int], None]] = []

    async def _lock_execution(self, session: AsyncSession, execution_id: ExecutionId | None) -> ExecutionRow:
        execution_id = check_execution_id(execution_id, "event: execution id")
        row = await execution_row(session, execution_id, lock=True)
        if row is None:
            raise NotFoundError(
                f"event for execution {execution_id.project}/{execution_id.domain}/"
                f"{execution_id.name}, which does not exist"
            )
        return row

    @staticmethod
    def _check_lease(execution: ExecutionRow, sender: str) -> None:
        """Raises unless ``sender`` holds the (locked) execution's unexpired lease."""
        expires = utc(execution.lease_expires_at)
        if execution.owner != sender or expires is None or expires <= now():
            if not execution.owner or expires is None:
                holder = "held by no replica"
            elif expires <= now():
                holder = f"{execution.owner!r} held it until {expires.isoformat()}"
            else:
                holder = f"held by {execution.owner!r} until {expires.isoformat()}"
            raise LeaseLostError(
                f"execution {execution.name}: replica {sender!r} does not hold its lease ({holder}); "
                "only the engine replica holding an execution's lease records its events"
            )

    async def _record(
        self,
        session: AsyncSession,
        execution: ExecutionRow,
        event: Event,
        node_id: str = "",
        attempt: int = 0,
        folded: bool = False,
    ) -> bool:
        """Stores the event unless stored already; False for a repeat. A ``folded`` one (an
        :class:`ItemEvent`) is not stored: its rows' forward-only phases make a repeat harmless."""
        if folded:
            return True
        kind, data = event.kind, codec.encode(event)
        assert event.value is not None
        sequence = int(event.value.sequence)
        event_key = f"s{sequence}" if sequence else f"d{digest(data)}"
        lookups: _Lookups = session.info[_LOOKUPS]
        if sequence:  # numbered keys were looked up at once, before the events were applied
            found = lookups.known.get((key(execution), event_key))
        else:
            found = (
                await session.execute(
                    select(EventRow.digest).where(
                        EventRow.execution_id == execution.id, EventRow.key == event_key
                    )
                )
            ).scalar_one_or_none()
        event_digest = digest(data)
        if found is not None:
            if found == event_digest:
                return False
            raise AlreadyExistsError(
                f"execution {execution.name}: event sequence {sequence} was already recorded with other "
                "content; each event needs its own sequence number"
            )
        lookups.known[(key(execution), event_key)] = event_digest
        inline, uri = await self.payloads.put(
            data,
            "executions",
            execution.project,
            execution.domain,
            execution.name,
            "events",
            f"{event_key}.pb",
        )
        row: dict[str, Any] = {
            "execution_id": key(execution), "key": event_key, "digest": event_digest, "kind": kind,
            "node_id": node_id, "attempt": attempt, "sequence": sequence, "phase": int(event.value.phase),
            "occurred_at": event.value.occurred_at, "recorded_at": now(), "data_bytes": inline,
            "data_uri": uri,
        }
        lookups.new_events.append(row)
        lookups.outbox += self.outbox.rows(execution, event_key, event, node_id, attempt)
        return True

    async def _payload(self, execution: ExecutionRow, value: object, *parts: str) -> tuple[bytes | None, str]:
        return await self.payloads.put(
            codec.encode(value), "executions", execution.project, execution.domain, execution.name, *parts
        )

    async def _advance(
        self, execution: ExecutionRow, row: Any, kind: str,
        event: WorkflowExecutionEvent | NodeExecutionEvent | TaskExecutionEvent, at: datetime,
        *outputs_at: str,
    ) -> bool:
        """Applies what an event says about its phase, unless it would move ``row`` back;
        ``outputs_at`` names where its outputs are stored. True when it moved forward."""
        if not moves_forward(kind, row.phase, int(event.phase), current_sequence=row.last_sequence,
                             new_sequence=int(event.sequence)):
            return False
        row.phase = int(event.phase)
        _times(row, kind, at)
        if not isinstance(event, WorkflowExecutionEvent) and event.cache_status:
            row.cache_status = int(event.cache_status)
        if event.error is not None:
            row.error_bytes = codec.encode(event.error)
        if event.reason:
            row.reason = event.reason
        if event.outputs is not None:
            row.outputs_bytes, row.outputs_uri = await self._payload(execution, event.outputs, *outputs_at)
        row.last_sequence = max(row.last_sequence, int(event.sequence))
        return True

    # ---- ingestion -----------------------------------------------------------------------

    # one event each, as the internal engine service receives them: the sender is the
    # event's producer_id

    # (each returns whether it was recorded: False for a repeat)

    async def create_workflow_event(self, event: WorkflowExecutionEvent) -> bool:
        return await self._ingest_one(Event("workflow", event), event.producer_id, event.execution_id)

    async def create_node_event(self, event: NodeExecutionEvent) -> bool:
        if event.id is None or not event.id.node_id:
            raise InvalidArgumentError("node event: the node execution id is missing")
        return await self._ingest_one(Event("node", event), event.producer_id, event.id.execution_id)

    async def create_task_event(self, event: TaskExecutionEvent) -> bool:
        task_execution = event.id
        if task_execution is None or task_execution.node_execution_id is None:
            raise InvalidArgumentError(
                "task event: the task execution id (with its node execution) is missing"
            )
        if not task_execution.node_execution_id.node_id:
            raise InvalidArgumentError("task event: the node id is missing")
        return await self._ingest_one(
            Event("task", event), event.producer_id, task_execution.node_execution_id.execution_id)

    async def _ingest_one(self, event: Event, producer_id: str, execution_id: ExecutionId | None) -> bool:
        sender = _sender(f"{event.kind} event", "producer_id", producer_id)
        async with self.db.write() as session:
            execution = await self._lock_execution(session, execution_id)
            self._check_lease(execution, sender)
            lookups = session.info[_LOOKUPS] = await _look_up(session, [(execution, [event])])
            try:
                recorded = await self._apply(session, execution, event)
                await lookups.write(session, self.payloads)
            finally:
                session.info.pop(_LOOKUPS, None)
            if recorded:
                await announce(session, EVENTS, key(execution))
        if recorded:
            self._notify(execution)
            self.outbox.committed()
        return recorded

    async def ingest(self, execution_id: ExecutionId, events: Sequence[Event], *, owner: str) -> None:
        """Events of one execution, in order and in one transaction: how an engine writes a
        step (group commit).

        ``owner`` (the sending engine replica's id) fences the write: with the execution's row
        locked, the batch is refused with :class:`LeaseLostError` unless that replica holds an
        unexpired lease on it, so a replica that lost its lease cannot interleave its events
        with those of the replica that took over."""
        if not events:
            return
        refused = (await self.ingest_many([(execution_id, events, owner)]))[0]
        if refused is not None:
            raise refused

    async def ingest_many(
        self, batches: Sequence[tuple[ExecutionId, Sequence[Event], str]]
    ) -> list[LeaseLostError | None]:
        """Batches of events of several executions, each ``(execution id, events in order,
        owner)``, in one transaction: how an engine replica writes what all its executions
        recorded meanwhile. Each batch is fenced as in :meth:`ingest`; one refused for its lease
        is left out (its ``LeaseLostError`` in the answer, at its index; None for a stored one)
        and the others are stored. Any other error rolls every batch back."""
        senders = [_sender("event batch", "owner", owner) for _, _, owner in batches]
        refused: list[LeaseLostError | None] = [None] * len(batches)
        applied: list[tuple[ExecutionRow, Sequence[Event]]] = []
        async with self.db.write() as session:
            rows = await _lock_executions(session, [execution_id for execution_id, _, _ in batches])
            for index, (execution, (_, events, _)) in enumerate(zip(rows, batches, strict=True)):
                try:
                    self._check_lease(execution, senders[index])
                except LeaseLostError as exc:
                    refused[index] = exc
                    continue
                if events:
                    applied.append((execution, events))
            if not applied:
                return refused
            lookups = session.info[_LOOKUPS] = await _look_up(session, applied)
            # rows met in the batches are kept in the lookups: no flush before each lookup
            try:
                with session.no_autoflush:
                    applying = 0
                    for execution, events in applied:
                        for event in events:
                            await self._apply(session, execution, event)
                            applying += 1
                            if applying % _EVENTS_BETWEEN_YIELDS == 0:
                                # a big map's first batch is tens of thousands of events of pure
                                # CPU: let the API and the engine's other runs answer meanwhile
                                await anyio.lowlevel.checkpoint()
                await lookups.write(session, self.payloads)
                if lookups.new_events:
                    # followers in other processes (an API replica's watchers) read again at once
                    await announce(session, EVENTS, _keys_payload(execution for execution, _ in applied))
            finally:
                session.info.pop(_LOOKUPS, None)
        for execution, _ in applied:
            self._notify(execution)
        self.outbox.committed()
        return refused

    async def _apply(self, session: AsyncSession, execution: ExecutionRow, event: Event) -> bool:
        if isinstance(event.value, WorkflowExecutionEvent):
            return await self._apply_workflow(session, execution, event.value)
        folded = isinstance(event, ItemEvent)
        if folded and isinstance(event.value, NodeExecutionEvent | TaskExecutionEvent):
            node_id, at = _node_id(event), event.value.occurred_at or now()
            lookups: _Lookups = session.info[_LOOKUPS]
            if lookups.maps.apply(execution, event.value, node_id, at):
                execution.updated_at = max(utc(execution.updated_at) or at, at)
                return True
            # it says more than the aggregate keeps: the item's own rows take it
            lookups.maps.promote(lookups.rows, key(execution), node_id, at)
        if isinstance(event.value, NodeExecutionEvent):
            return await self._apply_node(session, execution, event.value, folded)
        if isinstance(event.value, TaskExecutionEvent):
            return await self._apply_task(session, execution, event.value, folded)
        raise InvalidArgumentError("event: it is neither a workflow, a node nor a task event")

    async def _apply_workflow(
        self, session: AsyncSession, execution: ExecutionRow, event: WorkflowExecutionEvent
    ) -> bool:
        if not await self._record(session, execution, Event("workflow", event)):
            return False
        at = event.occurred_at or now()
        old_phase = execution.phase
        if await self._advance(execution, execution, "workflow", event, at, "outputs.pb"):
            await on_phase_change(session, execution, old_phase, execution.phase, at=at)
        return True

    async def _apply_node(
        self, session: AsyncSession, execution: ExecutionRow, event: NodeExecutionEvent, folded: bool = False
    ) -> bool:
        node_id = _node_id(Event("node", event))
        if not await self._record(session, execution, Event("node", event), node_id, folded=folded):
            return False
        at = event.occurred_at or now()
        row = _node_row(session, execution, node_id, at)
        # facts about the node are kept from whichever event brings them
        row.parent_node_id = row.parent_node_id or event.parent_node_id
        row.spec_node_id = row.spec_node_id or event.spec_node_id
        row.node_name = row.node_name or event.node_name
        row.is_parent = row.is_parent or event.is_parent
        row.is_dynamic = row.is_dynamic or event.is_dynamic
        if event.inputs is not None and row.inputs_bytes is None and not row.inputs_uri:
            row.inputs_bytes, row.inputs_uri = await self._payload(
                execution, event.inputs, "nodes", node_id, "inputs.pb"
            )
        moved = await self._advance(execution, row, "node", event, at, "nodes", node_id, "outputs.pb")
        if moved and event.dynamic_spec:
            row.dynamic_bytes, row.dynamic_uri = await self.payloads.put(
                event.dynamic_spec, "executions", execution.project, execution.domain,
                execution.name, "nodes", node_id, "dynamic.pb",
            )
        execution.updated_at = max(utc(execution.updated_at) or at, at)
        return True

    async def _apply_task(
        self, session: AsyncSession, execution: ExecutionRow, event: TaskExecutionEvent, folded: bool = False
    ) -> bool:
        task_execution = event.id
        assert task_execution is not None  # checked when it came in
        node_id, attempt = _node_id(Event("task", event)), int(task_execution.attempt)
        if not await self._record(session, execution, Event("task", event), node_id, attempt, folded):
            return False
        at = event.occurred_at or now()
        _node_row(session, execution, node_id, at)
        rows: StagedRows = session.info[_LOOKUPS].rows
        row = rows.tasks.get((key(execution), node_id, attempt))
        if row is None:
            task_id = task_execution.task_id or Identifier()
            row = rows.new_task(key(execution), node_id, attempt, at, task_project=task_id.project,
                                task_domain=task_id.domain, task_name=task_id.name,
                                task_version=task_id.version)
        # log links accumulate, whatever the order: a late event may bring one more
        logs = {name: uri for name, uri in json.loads(row.logs)}
        for log in event.logs:
            logs.setdefault(log.name, log.uri)
        row.logs = json.dumps(list(logs.items()))
        if event.plugin:
            row.plugin = event.plugin
        if event.plugin_handle:
            row.plugin_handle = event.plugin_handle
        await self._advance(execution, row, "task", event, at,
                            "nodes", node_id, "attempts", str(attempt), "outputs.pb")
        execution.updated_at = max(utc(execution.updated_at) or at, at)
        return True

    # ---- reading -------------------------------------------------------------------------

    def next_event(self, execution_key: int) -> anyio.Event:
        """Set when the next event of the execution (by row id) is recorded in this process: what
        a follower of the execution (its events, its logs) waits on before it reads again."""
        return self._waiters.setdefault(execution_key, anyio.Event())

    def _notify(self, execution: ExecutionRow) -> None:
        """Wakes the watchers of an execution in this process (others hear of it through
        :func:`~wingspan.server.db.wakeups.announce` on PostgreSQL, or poll)."""
        self.wake(key(execution))
        for listener in self.on_stored:
            listener(key(execution))

    def wake(self, execution_key: int) -> None:
        """Wakes the followers of an execution in this process: it has new events."""
        waiter = self._waiters.pop(execution_key, None)
        if waiter is not None:
            waiter.set()

    def wake_all(self) -> None:
        """Wakes every follower in this process (new events of any execution may be stored)."""
        waiters, self._waiters = self._waiters, {}
        for waiter in waiters.values():
            waiter.set()

    def heard(self, payload: str) -> None:
        """What an :data:`~wingspan.server.db.wakeups.EVENTS` notification says: the executions
        whose events were stored (their keys, comma separated), or "" for any."""
        keys = [part for part in payload.split(",") if part.isdigit()]
        if not keys:
            self.wake_all()
        for each in keys:
            self.wake(int(each))

    async def watch_execution(
        self, execution_id: ExecutionId | None, after_sequence: int = 0, *, poll_interval: float = 1.0
    ) -> AsyncIterator[Event]:
        """Every event of the execution after ``after_sequence``, then each new one as it is
        recorded, until the execution has ended and every event is out. Events ingested in
        this process arrive at once; those of other replicas within ``poll_interval``."""
        stored = self.watch_execution_stored(execution_id, after_sequence, poll_interval=poll_interval)
        async for data in stored:
            yield codec.decode(Event, data)

    async def watch_execution_stored(
        self, execution_id: ExecutionId | None, after_sequence: int = 0, *, poll_interval: float = 1.0
    ) -> AsyncIterator[bytes]:
        """As :meth:`watch_execution`, each event as stored (``codec.encode`` of the Event): a
        transport that sends events in that encoding sends them without decoding them first."""
        execution_id = check_execution_id(execution_id, "watch: execution id")
        last_id = 0
        watched = await execution_key(self.db, execution_id)
        if watched is None:
            raise NotFoundError(f"execution {execution_id.name} does not exist")
        page = _WATCH_PAGE
        while True:
            # the waiter comes before the read: an event recorded after this point wakes it,
            # one recorded before is in what the read sees; none can slip between the two
            waiter = self.next_event(watched)
            # the phase and the events in one statement, so in one snapshot: an execution seen
            # ended has every event stored (its last one in the transaction that ended it)
            found_rows = await self.db.query(
                _WATCH_READ_AFTER if after_sequence else _WATCH_READ,
                {"execution": watched, "last_id": last_id, "after_sequence": after_sequence})
            if not found_rows:
                raise NotFoundError(f"execution {execution_id.name} does not exist")
            phase = found_rows[0][0]
            rows = [(row_id, data_bytes, data_uri) for _, row_id, data_bytes, data_uri in found_rows
                    if row_id is not None]
            for row_id, data_bytes, data_uri in rows:
                last_id = row_id
                data = await self.payloads.get(data_bytes, data_uri)
                yield data or b""
            if len(rows) == page:  # more may be stored already
                continue
            if is_terminal("workflow", phase):
                return
            with anyio.move_on_after(poll_interval):
                await waiter.wait()

    async def list_events(
        self, execution_id: ExecutionId | None, after_sequence: int = 0, limit: int = 0
    ) -> list[Event]:
        """Events of an execution in sequence order (then arrival), after ``after_sequence``."""
        limit = limit or 1000
        execution_id = check_execution_id(execution_id)
        async with self.db.read() as session:
            execution = (
                await session.execute(
                    select(ExecutionRow.id).where(
                        ExecutionRow.project == execution_id.project,
                        ExecutionRow.domain == execution_id.domain,
                        ExecutionRow.name == execution_id.name,
                    )
                )
            ).scalar_one_or_none()
            if execution is None:
                raise NotFoundError(f"execution {execution_id.name} does not exist")
            statement = select(EventRow).where(EventRow.execution_id == execution)
            if after_sequence:
                statement = statement.where(EventRow.sequence > after_sequence)
            rows = list(
                (
                    await session.execute(
                        statement.order_by(col(EventRow.sequence), col(EventRow.id)).limit(limit)
                    )
                ).scalars()
            )
        events = []
        for row in rows:
            data = await self.payloads.get(row.data_bytes, row.data_uri)
            events.append(codec.decode(Event, data or b""))
        return events


async def _lock_executions(
    session: AsyncSession, execution_ids: Sequence[ExecutionId | None]
) -> list[ExecutionRow]:
    """The executions the ids name (each checked), locked for update in one statement, in row id
    order (as every transaction locking several takes them), answered in the order asked."""
    checked = [check_execution_id(execution_id, "event: execution id") for execution_id in execution_ids]
    names = {(e.project, e.domain, e.name) for e in checked}
    found = (await session.execute(
        select(ExecutionRow)
        .where(tuple_(ExecutionRow.project, ExecutionRow.domain, ExecutionRow.name).in_(names))
        .order_by(col(ExecutionRow.id))
        .with_for_update()
    )).scalars()
    by_name = {(row.project, row.domain, row.name): row for row in found}
    rows = []
    for execution_id in checked:
        row = by_name.get((execution_id.project, execution_id.domain, execution_id.name))
        if row is None:
            raise NotFoundError(
                f"event for execution {execution_id.project}/{execution_id.domain}/"
                f"{execution_id.name}, which does not exist"
            )
        rows.append(row)
    return rows


async def _look_up(
    session: AsyncSession, batches: Sequence[tuple[ExecutionRow, Sequence[Event]]]
) -> _Lookups:
    """Looks up at once what the batches' events will need: their keys already stored, and the
    rows of their nodes and attempts (one statement each, for every execution)."""
    lookups = _Lookups()
    executions = {key(execution) for execution, _ in batches}
    keys = sorted({f"s{e.value.sequence}" for _, events in batches for e in events
                   if e.value is not None and e.value.sequence and not isinstance(e, ItemEvent)})
    for chunk in _chunks(keys):
        found = await session.execute(
            select(EventRow.execution_id, EventRow.key, EventRow.digest).where(
                col(EventRow.execution_id).in_(executions), col(EventRow.key).in_(chunk)))
        lookups.known.update({(row[0], row[1]): row[2] for row in found.all()})
    by_key = {key(execution): execution for execution, _ in batches}
    maps = {(key(execution), item[0]) for execution, events in batches for e in events
            if isinstance(e, ItemEvent) and e.kind != "workflow" and (item := item_of(_node_id(e)))}
    await lookups.maps.read(session, maps, by_key)
    # an item aggregated in its map's row has no rows to read: only those promoted, or about to be
    node_ids = sorted({_node_id(e) for execution, events in batches for e in events
                       if e.kind in ("node", "task") and (not isinstance(e, ItemEvent) or (
                           isinstance(e.value, NodeExecutionEvent | TaskExecutionEvent)
                           and lookups.maps.may_promote(key(execution), _node_id(e), e.value)))})
    for chunk in _chunks(node_ids):
        await lookups.rows.read(session, executions, chunk)
    return lookups


def _watch_read(after_sequence: bool) -> Any:
    """A watch's read: the execution's phase and its next events (after row ``last_id``, and
    after sequence ``after_sequence`` if asked), built once: its parameters change, not it."""
    joined = and_(col(EventRow.execution_id) == col(ExecutionRow.id), col(EventRow.id) > bindparam("last_id"))
    if after_sequence:
        joined = and_(joined, col(EventRow.sequence) > bindparam("after_sequence"))
    return (
        select(ExecutionRow.phase, EventRow.id, EventRow.data_bytes, EventRow.data_uri)
        .select_from(ExecutionRow)
        .outerjoin(EventRow, joined)
        .where(col(ExecutionRow.id) == bindparam("execution"))
        .order_by(col(EventRow.id))
        .limit(_WATCH_PAGE)
    )


#: events a watch reads at most at once
_WATCH_PAGE = 500
_WATCH_READ = _watch_read(after_sequence=False)
_WATCH_READ_AFTER = _watch_read(after_sequence=True)


def _keys_payload(executions: Iterable[ExecutionRow]) -> str:
    """Executions' keys for a notification's payload; "" (any) past PostgreSQL's 8,000 bytes."""
    payload = ",".join(str(key(execution)) for execution in executions)
    return payload if len(payload) < 7000 else ""


def _chunks(values: list[str]) -> Iterator[list[str]]:
    """``values`` in lists short enough for one statement's parameters (PostgreSQL takes at most
    32,767 in one statement, SQLite 32,766 unless built for more)."""
    for start in range(0, len(values), _IN_LIST_MAX):
        yield values[start:start + _IN_LIST_MAX]


def _node_id(event: Event) -> str:
    """The node a node or task event is about."""
    value = event.value
    if isinstance(value, NodeExecutionEvent) and value.id is not None:
        return value.id.node_id
    if isinstance(value, TaskExecutionEvent) and value.id and value.id.node_execution_id:
        return value.id.node_execution_id.node_id
    raise InvalidArgumentError(f"{event.kind} event: the node execution id is missing")


def _sender(what: str, field: str, sender: str) -> str:
    if not sender:
        raise InvalidArgumentError(
            f"{what}: no sender; set {field} to the id of the engine replica holding the execution's lease"
        )
    return sender


def _node_row(session: AsyncSession, execution: ExecutionRow, node_id: str, at: datetime) -> StagedRow:
    """The node's row, staged in the transaction's lookups (made if the node has none yet: a
    task event may arrive before its node's first event)."""
    rows: StagedRows = session.info[_LOOKUPS].rows
    row = rows.nodes.get((key(execution), node_id))
    return row if row is not None else rows.new_node(key(execution), node_id, at)


def _prefix(execution: ExecutionRow) -> tuple[str, ...]:
    return ("executions", execution.project, execution.domain, execution.name)


def _times(row: Any, kind: str, at: datetime) -> None:
    row.updated_at = max(utc(row.updated_at) or at, at)
    if row.phase == _RUNNING[kind] and row.started_at is None:
        row.started_at = at
    if is_terminal(kind, row.phase):
        row.finished_at = at
        if row.started_at is None:
            row.started_at = at
