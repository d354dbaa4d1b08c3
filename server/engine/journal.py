"""Reads back what the database recorded of an execution, as the engine's Journal."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from wingspan.core.engine.journal import Journal, RecordedAttempt
from wingspan.core.model import codec
from wingspan.core.model.execution import NodePhase, TaskPhase
from wingspan.core.model.literals import LiteralMap
from wingspan.core.model.workflows import DynamicJobSpec
from wingspan.server.db.engine import Database, utc
from wingspan.server.db.models import EventRow, MapItemsRow, NodeExecutionRow, TaskExecutionRow
from wingspan.server.services.map_item_reads import StoredMap, item_outputs_of, read_maps
from wingspan.server.services.payloads import Payloads
from wingspan.server.services.phases import TERMINAL_TASK

__all__ = ["StoredRun", "journal_of", "last_sequence", "read_stored_run", "recovered_journal"]

_DONE = (int(NodePhase.SUCCEEDED), int(NodePhase.RECOVERED))


async def _outputs(payloads: Payloads, row: NodeExecutionRow) -> dict[str, Any]:
    data = await payloads.get(row.outputs_bytes, row.outputs_uri)
    return dict(codec.decode(LiteralMap, data).literals) if data else {}


class StoredRun:
    """What one read found of an execution's earlier runs: its node and attempt rows, when
    nodes began waiting, and the highest sequence number its events and rows carry."""

    __slots__ = ("last_sequence", "maps", "nodes", "tasks", "waits")

    def __init__(self, nodes: list[NodeExecutionRow], tasks: list[TaskExecutionRow],
                 waits: list[tuple[str, datetime | None]], events_sequence: int,
                 maps: dict[str, StoredMap] | None = None, maps_sequence: int = 0) -> None:
        self.nodes = nodes
        self.tasks = tasks
        self.waits = waits
        self.maps = maps or {}
        # the rows count too: a map item's events are folded into its map's aggregate or its
        # node and task rows (no event rows), and a later event numbered below their last one
        # would lose to it
        rows = [row.last_sequence for row in nodes] + [row.last_sequence for row in tasks]
        self.last_sequence = max([events_sequence, maps_sequence, *rows])


async def read_stored_run(session: AsyncSession, execution_key: int) -> StoredRun:
    """Everything the engine needs to resume execution ``execution_key`` (its row id), in one
    session: what a replica reads once per execution it takes."""
    highest, first = (await session.execute(
        select(func.max(EventRow.sequence), func.min(EventRow.id))
        .where(EventRow.execution_id == execution_key)
    )).one()
    events_sequence = int(highest or 0)
    if first is None:
        # no event stored yet (a new execution): node and attempt rows are made only by events
        # applied after the run's first one (its workflow RUNNING, stored as an event row)
        return StoredRun([], [], [], 0)
    nodes = list((await session.execute(
        select(NodeExecutionRow).where(NodeExecutionRow.execution_id == execution_key))).scalars())
    tasks = list((await session.execute(
        select(TaskExecutionRow).where(TaskExecutionRow.execution_id == execution_key))).scalars())
    waits = [(node_id, at) for node_id, at in (await session.execute(
        select(EventRow.node_id, col(EventRow.occurred_at))
        .where(
            EventRow.execution_id == execution_key,
            EventRow.kind == "node",
            EventRow.phase == int(NodePhase.WAITING),
        )
        .order_by(col(EventRow.id))
    )).all()]
    maps = await read_maps(session, execution_key, outputs=True)
    maps_sequence = (await session.execute(select(func.max(MapItemsRow.last_sequence))
                                           .where(MapItemsRow.execution_id == execution_key))).scalar()
    return StoredRun(nodes, tasks, waits, events_sequence, maps, int(maps_sequence or 0))


async def journal_of(payloads: Payloads, stored: StoredRun) -> Journal:
    """The engine's journal of what ``stored`` holds (stored outputs read from the payloads)."""
    journal = Journal()
    for row in stored.nodes:
        if row.phase in _DONE:
            journal.outputs[row.node_id] = await _outputs(payloads, row)
        dynamic = await payloads.get(row.dynamic_bytes, row.dynamic_uri)
        if dynamic:
            journal.dynamic[row.node_id] = codec.decode(DynamicJobSpec, dynamic)
    for task in stored.tasks:
        if TaskPhase(task.phase) in TERMINAL_TASK or task.phase == int(TaskPhase.RETRYABLE_FAILURE):
            journal.attempts[task.node_id] = max(journal.attempts.get(task.node_id, 0), task.attempt + 1)
        else:
            handle = json.loads(task.plugin_handle) if task.plugin_handle else None
            started = task.started_at or task.created_at
            journal.running[task.node_id] = RecordedAttempt(task.attempt, task.plugin, handle,
                                                            utc(started).timestamp() if started else None)
    for stored_map in stored.maps.values():
        _aggregated_items(journal, stored_map)
        journal.outputs.update(await item_outputs_of(payloads, stored_map))
    for node_id, occurred_at in stored.waits:
        if occurred_at is not None:
            journal.waiting_since.setdefault(node_id, occurred_at.timestamp())
    # an attempt superseded by a later one is not running, whatever its last event said
    for node_id, running in list(journal.running.items()):
        if journal.attempts.get(node_id, 0) > running.attempt:
            del journal.running[node_id]
    return journal


def _aggregated_items(journal: Journal, stored: StoredMap) -> None:
    """What a map's aggregate says of its items' attempts (their outputs are read apart): one
    recorded as started and not ended runs with no handle (the next run ends it interrupted and
    retries it under the next number); one whose first attempt ended has had one attempt."""
    for index, byte in enumerate(stored.attempts):
        if not byte or not stored.aggregated(index) or stored.phases[index] == NodePhase.SUCCEEDED:
            continue
        node_id = f"{stored.node_id}/{index}"
        if TaskPhase(byte - 1) in TERMINAL_TASK:
            journal.attempts[node_id] = max(journal.attempts.get(node_id, 0), 1)
        else:
            chunk = stored.item(index).chunk
            started = chunk.started_at if chunk is not None else None
            journal.running[node_id] = RecordedAttempt(0, "", None, started.timestamp() if started else None)


async def recovered_journal(db: Database, payloads: Payloads, original_key: int) -> Journal:
    """For a recovery: the outputs of every node that succeeded in the original execution
    (and the graphs its dynamic nodes made), to be reused rather than run again."""
    journal = Journal()
    async with db.read() as session:
        nodes = list(
            (
                await session.execute(
                    select(NodeExecutionRow).where(NodeExecutionRow.execution_id == original_key)
                )
            ).scalars()
        )
        maps = await read_maps(session, original_key, outputs=True)
    for stored_map in maps.values():  # a map's items that succeeded without rows of their own
        for node_id, outputs in (await item_outputs_of(payloads, stored_map)).items():
            journal.outputs[node_id] = outputs
            journal.recovered.add(node_id)
    for row in nodes:
        if row.phase in _DONE:
            journal.outputs[row.node_id] = await _outputs(payloads, row)
            journal.recovered.add(row.node_id)
        dynamic = await payloads.get(row.dynamic_bytes, row.dynamic_uri)
        if dynamic:
            journal.dynamic[row.node_id] = codec.decode(DynamicJobSpec, dynamic)
    return journal


async def last_sequence(db: Database, execution_key: int) -> int:
    """The highest sequence number the execution's stored events and rows carry (0: none yet): a
    replica taking the execution over numbers its events after it. The rows count too: a map
    item's events are folded into its node and task rows (no event rows), and a later event
    numbered below a row's last one would lose to it."""
    statements = (
        select(func.max(EventRow.sequence)).where(EventRow.execution_id == execution_key),
        select(func.max(NodeExecutionRow.last_sequence))
        .where(NodeExecutionRow.execution_id == execution_key),
        select(func.max(TaskExecutionRow.last_sequence))
        .where(TaskExecutionRow.execution_id == execution_key),
        select(func.max(MapItemsRow.last_sequence)).where(MapItemsRow.execution_id == execution_key),
    )
    highest = 0
    async with db.read() as session:
        for statement in statements:
            highest = max(highest, int((await session.execute(statement)).scalar_one_or_none() or 0))
    return highest
