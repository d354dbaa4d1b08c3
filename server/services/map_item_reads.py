"""A map's items read back from its aggregate (see :mod:`wingspan.server.services.map_items`):
an item with no rows of its own is answered as the node and first attempt its aggregate byte
phases and its chunk's row say; one with rows (promoted) is read from them by the caller.
The engine's journal reads succeeded items' outputs and running items from here too."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from wingspan.core.model import codec
from wingspan.core.model.events import TaskLog
from wingspan.core.model.execution import CacheStatus, NodePhase, TaskPhase
from wingspan.core.model.interface import (
    ExecutionId,
    Identifier,
    NodeExecutionId,
    ResourceType,
    TaskExecutionId,
)
from wingspan.core.model.literals import Literal, LiteralMap
from wingspan.core.model.progress import (
    NodeExecution,
    NodeExecutionClosure,
    TaskExecution,
    TaskExecutionClosure,
)
from wingspan.server.db.engine import Database, utc
from wingspan.server.services.map_items import (
    CHUNKS,
    PROMOTED,
    RECORDS,
    Links,
    decode_indices,
    decode_logs,
    item_outputs,
)
from wingspan.server.services.payloads import Payloads
from wingspan.server.services.phases import TERMINAL_NODE, TERMINAL_TASK

__all__ = ["AggregatedItem", "StoredMap", "item_outputs_of", "read_maps"]


@dataclass(slots=True)
class StoredChunk:
    row_id: int
    outputs_read: bool
    positions: dict[int, int]  # item index -> its position in the chunk's outputs
    logs: dict[Links, set[int]]
    started_at: datetime | None
    finished_at: datetime | None
    outputs_bytes: bytes | None
    outputs_uri: str


@dataclass(slots=True)
class StoredMap:
    """A map node's aggregate and its chunks, as stored."""

    node_id: str
    phases: bytes
    attempts: bytes
    updated_at: datetime | None
    chunks: list[StoredChunk]

    def aggregated(self, index: int) -> bool:
        """Whether item ``index`` started and has no rows of its own."""
        return (0 <= index < len(self.phases) and self.attempts[index] != PROMOTED
                and bool(self.phases[index] or self.attempts[index]))

    def promoted(self) -> list[int]:
        """The items with rows of their own (found by the bytes' search, not a loop per item)."""
        found, index = [], self.attempts.find(PROMOTED)
        while index >= 0:
            found.append(index)
            index = self.attempts.find(PROMOTED, index + 1)
        return found

    def started_from(self, first: int) -> int:
        """How many items from ``first`` on started (aggregated or promoted), counted in C: an
        item that has not started has both bytes 0."""
        phases, attempts = self.phases[first:], self.attempts[first:]
        either = int.from_bytes(phases, "big") | int.from_bytes(attempts, "big")
        return len(phases) - either.to_bytes(len(phases), "big").count(0)

    def item(self, index: int) -> AggregatedItem:
        chunk = next((c for c in self.chunks if index in c.positions), None)
        return AggregatedItem(self, index, chunk)

    def aggregated_count(self) -> int:
        return self.started_from(0) - self.attempts.count(PROMOTED)


async def read_maps(session: AsyncSession, execution_key: int, node_id: str | None = None, *,
                    outputs: bool = False) -> dict[str, StoredMap]:
    """The execution's map aggregates (only ``node_id``'s if given), by map node id, with their
    chunks (and where the chunks' outputs are, if ``outputs``)."""
    records = select(RECORDS).where(RECORDS.c.execution_id == execution_key)
    chunk_columns = [c for c in CHUNKS.c if outputs or c.name != "outputs_bytes"]
    chunks = select(*chunk_columns).where(CHUNKS.c.execution_id == execution_key)
    if node_id is not None:
        records = records.where(RECORDS.c.node_id == node_id)
        chunks = chunks.where(CHUNKS.c.node_id == node_id)
    found = {row["node_id"]: StoredMap(row["node_id"], row["phases"], row["attempts"],
                                       utc(row["updated_at"]), [])
             for row in (await session.execute(records)).mappings()}
    if not found:
        return found
    for row in (await session.execute(chunks.order_by(CHUNKS.c.id))).mappings():
        stored = found.get(row["node_id"])
        if stored is not None:
            indices = decode_indices(row["indices"])
            stored.chunks.append(StoredChunk(
                row["id"], outputs, {index: position for position, index in enumerate(indices)},
                decode_logs(row["logs"]),
                utc(row["started_at"]), utc(row["finished_at"]), row.get("outputs_bytes"),
                row["outputs_uri"]))
    return found


@dataclass(slots=True)
class AggregatedItem:
    """One item as its map's aggregate says: its node, its first attempt, its outputs."""

    map: StoredMap
    index: int
    chunk: StoredChunk | None

    @property
    def node_id(self) -> str:
        return f"{self.map.node_id}/{self.index}"

    def _times(self, terminal: bool) -> tuple[datetime | None, datetime | None, Any]:
        started = self.chunk.started_at if self.chunk else self.map.updated_at
        ended = (self.chunk.finished_at if self.chunk else None) or self.map.updated_at
        finished = ended if terminal else None
        duration = finished - started if finished is not None and started is not None else None
        return started, finished, duration

    def node(self, execution_id: ExecutionId) -> NodeExecution:
        phase = NodePhase(self.map.phases[self.index])
        started, finished, duration = self._times(phase in TERMINAL_NODE)
        closure = NodeExecutionClosure(phase=phase, started_at=started, updated_at=finished or started,
                                       duration=duration, cache_status=CacheStatus.DISABLED)
        return NodeExecution(NodeExecutionId(execution_id, self.node_id), closure, self.map.node_id)

    def attempts(self, execution_id: ExecutionId) -> list[TaskExecution]:
        """Its first attempt, if one was recorded."""
        byte = self.map.attempts[self.index]
        if not byte:
            return []
        phase = TaskPhase(byte - 1)
        started, finished, duration = self._times(phase in TERMINAL_TASK)
        closure = TaskExecutionClosure(phase=phase, started_at=started, updated_at=finished or started,
                                       duration=duration, logs=self._logs())
        task_id = Identifier(ResourceType.TASK, "", "", "", "")
        attempt = TaskExecutionId(task_id, NodeExecutionId(execution_id, self.node_id), 0)
        return [TaskExecution(attempt, closure)]

    def _logs(self) -> tuple[TaskLog, ...]:
        """Its attempt's log links (its chunk's, or its own: a report)."""
        groups = self.chunk.logs if self.chunk is not None else {}
        links = next((links for links, indices in groups.items() if self.index in indices), ())
        return tuple(TaskLog(name, uri) for name, uri in links)

    async def outputs(self, db: Database, payloads: Payloads) -> LiteralMap | None:
        """Its outputs, once it succeeded (read from its chunk's, which are read now if they were not)."""
        chunk = self.chunk
        if chunk is None or self.map.phases[self.index] != NodePhase.SUCCEEDED:
            return None
        if not chunk.outputs_read:
            async with db.read() as session:
                found = (await session.execute(select(CHUNKS.c.outputs_bytes, CHUNKS.c.outputs_uri)
                                               .where(CHUNKS.c.id == chunk.row_id))).one()
            chunk.outputs_bytes, chunk.outputs_uri, chunk.outputs_read = found[0], found[1], True
        data = await payloads.get(chunk.outputs_bytes, chunk.outputs_uri)
        if not data:
            return None
        return item_outputs(codec.decode(LiteralMap, data), chunk.positions[self.index])


async def item_outputs_of(payloads: Payloads, stored: StoredMap) -> dict[str, dict[str, Literal]]:
    """The outputs of the map's aggregated items that succeeded, by item node id, each chunk's
    outputs decoded once: what a resumed run takes instead of running them again."""
    found: dict[str, dict[str, Literal]] = {}
    for chunk in stored.chunks:
        data = await payloads.get(chunk.outputs_bytes, chunk.outputs_uri)
        if not data:
            continue
        columns = codec.decode(LiteralMap, data).literals
        for index, position in chunk.positions.items():
            if stored.aggregated(index) and stored.phases[index] == NodePhase.SUCCEEDED:
                found[f"{stored.node_id}/{index}"] = {name: column.value.literals[position]
                                                      for name, column in columns.items()}
    return found
