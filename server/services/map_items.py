"""A map node's items, aggregated per map node (issue #24 item 5, as Flyte's array node does).

An item that only starts and succeeds on its first attempt (a *plain* item: its node RUNNING
and SUCCEEDED, its attempt 0 RUNNING and SUCCEEDED, no handle, no error) leaves no row of its
own: its phases are a byte each in the map's one ``map_items`` row, and its outputs and log
links are in the row of the chunk it ran in (``map_item_chunks``: one per group of items that
started in one transaction, written when they start and again when they end). Any other event
of an item (a failure, a retry, a handle to follow it by) *promotes* it: node and attempt rows
are made from what the aggregate says, in the same transaction, and from then on its events
go to those rows as any node's do. A 100,000-item map so leaves two rows per transaction of
its chunks rather than two rows per item.

Ingest reads a map's row and its open chunks once per transaction (:meth:`MapItemStage.read`),
moves items' phases forward only, and writes what changed at the transaction's end; the lease
check that fences every event batch covers these writes (they are in its transaction).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Table, insert, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from wingspan.core.model import codec
from wingspan.core.model.events import NodeExecutionEvent, TaskExecutionEvent
from wingspan.core.model.execution import CacheStatus, NodePhase, TaskPhase
from wingspan.core.model.literals import VOID, Literal, LiteralCollection, LiteralMap
from wingspan.server.db.engine import now as utc_now
from wingspan.server.db.engine import utc
from wingspan.server.db.models import ExecutionRow, MapItemChunkRow, MapItemsRow, NodeExecutionRow, key
from wingspan.server.services.event_rows import StagedRows
from wingspan.server.services.payloads import Payloads
from wingspan.server.services.phases import TERMINAL_NODE, TERMINAL_TASK, moves_forward

__all__ = [
    "PROMOTED",
    "Links",
    "MapItemStage",
    "chunk_outputs",
    "decode_indices",
    "decode_logs",
    "encode_indices",
    "encode_logs",
    "item_of",
    "item_outputs",
]

RECORDS: Final[Table] = MapItemsRow.__table__  # type: ignore[attr-defined]
CHUNKS: Final[Table] = MapItemChunkRow.__table__  # type: ignore[attr-defined]
_NODES: Final[Table] = NodeExecutionRow.__table__  # type: ignore[attr-defined]

#: an item's ``attempts`` byte once it has rows of its own
PROMOTED: Final = 255
_PLAIN_PHASES = (2, 3)  # RUNNING and SUCCEEDED, the same numbers for nodes and tasks
_RANGE = struct.Struct("<II")


# ---- compact encodings ----------------------------------------------------------------------


def encode_indices(indices: Iterable[int]) -> bytes:
    """Item indices as runs of consecutive ones, each ``(first, length)`` in 8 bytes: a chunk's
    1,024 items in one run cost 8 bytes, not 1,024 numbers."""
    runs: list[list[int]] = []
    for index in sorted(set(indices)):
        if runs and runs[-1][0] + runs[-1][1] == index:
            runs[-1][1] += 1
        else:
            runs.append([index, 1])
    return b"".join(_RANGE.pack(first, length) for first, length in runs)


def decode_indices(data: bytes) -> list[int]:
    """The indices :func:`encode_indices` encoded, ascending."""
    return [i for first, length in _RANGE.iter_unpack(data) for i in range(first, first + length)]


#: an attempt's log links, as ``(name, uri)`` pairs in the order its events brought them
Links = tuple[tuple[str, str], ...]


def encode_logs(groups: dict[Links, set[int]]) -> str:
    """A chunk's log links as JSON: each set of links once, with the items that have it (runs of
    indices, as :func:`encode_indices`'s, hex): a chunk's items usually share one log file."""
    return json.dumps([[list(map(list, links)), encode_indices(indices).hex()]
                       for links, indices in groups.items()])


def decode_logs(text: str) -> dict[Links, set[int]]:
    """What :func:`encode_logs` encoded."""
    return {tuple((str(name), str(uri)) for name, uri in links): set(decode_indices(bytes.fromhex(runs)))
            for links, runs in json.loads(text)}


def chunk_outputs(indices: Sequence[int], outputs: dict[int, LiteralMap],
                  old: LiteralMap | None = None) -> LiteralMap:
    """A chunk's outputs as one literal map of lists, one element per index of ``indices`` (in
    order): the item's output where ``outputs`` has it, else what ``old`` held there (a none
    literal if nothing: an item that did not succeed in this chunk)."""
    names = sorted({name for each in outputs.values() for name in each.literals}
                   | set(old.literals if old else ()))
    columns: dict[str, Literal] = {}
    for name in names:
        before = old.literals.get(name) if old else None
        kept = list(before.value.literals) if before is not None else []
        values = []
        for position, index in enumerate(indices):
            item = outputs.get(index)
            if item is not None and name in item.literals:
                values.append(item.literals[name])
            else:
                values.append(kept[position] if position < len(kept) else Literal("none", VOID))
        columns[name] = Literal("collection", LiteralCollection(tuple(values)))
    return LiteralMap(columns)


def item_outputs(outputs: LiteralMap, position: int) -> LiteralMap:
    """The outputs of the item at ``position`` in a chunk's :func:`chunk_outputs`."""
    return LiteralMap({name: column.value.literals[position] for name, column in outputs.literals.items()})


def item_of(node_id: str) -> tuple[str, int] | None:
    """``(map node id, item index)`` of an item's node id (``<map>/<index>``), None for another."""
    parent, _, last = node_id.rpartition("/")
    return (parent, int(last)) if parent and last.isdigit() else None


def _is_plain(value: NodeExecutionEvent | TaskExecutionEvent) -> bool:
    """Whether an item event says no more than its aggregate keeps (see the module's text)."""
    if int(value.phase) not in _PLAIN_PHASES or value.error is not None or value.reason:
        return False
    if value.cache_status != CacheStatus.DISABLED:
        return False
    if isinstance(value, NodeExecutionEvent):
        return value.inputs is None and not value.dynamic_spec and not value.is_parent
    assert value.id is not None
    return (int(value.id.attempt) == 0 and not value.plugin_handle and not value.plugin
            and value.outputs is None and (value.phase == TaskPhase.SUCCEEDED or not value.logs))


# ---- what one ingest transaction stages -----------------------------------------------------


@dataclass(slots=True)
class _Record:
    """A map's aggregate as a transaction sees it."""

    execution_key: int
    node_id: str
    row_id: int | None
    phases: bytearray
    attempts: bytearray
    created_at: datetime
    updated_at: datetime
    last_sequence: int = 0
    changed: bool = False

    def grow(self, index: int) -> None:
        if index >= len(self.phases):
            self.phases.extend(bytes(index + 1 - len(self.phases)))
            self.attempts.extend(bytes(index + 1 - len(self.attempts)))


@dataclass(slots=True)
class _Chunk:
    """A chunk row (stored and open, or new in this transaction) and what this one adds to it."""

    execution: ExecutionRow
    node_id: str
    started_at: datetime
    indices: set[int]
    row_id: int | None = None
    logs: dict[Links, set[int]] = field(default_factory=dict)
    old_outputs: tuple[bytes | None, str] = (None, "")
    outputs: dict[int, LiteralMap] = field(default_factory=dict)
    touched: bool = False

    def holds(self, index: int) -> bool:
        return index in self.indices


class MapItemStage:
    """The map aggregates and open chunks one ingest transaction reads, changes and writes."""

    __slots__ = ("_chunks", "_new_chunks", "records")

    def __init__(self) -> None:
        self.records: dict[tuple[int, str], _Record] = {}
        self._chunks: dict[tuple[int, str], list[_Chunk]] = {}
        # per map: the chunk of the items that started in this transaction outside any chunk
        self._new_chunks: dict[tuple[int, str], _Chunk] = {}

    async def read(self, session: AsyncSession, maps: set[tuple[int, str]],
                   executions: dict[int, ExecutionRow]) -> None:
        """Reads the aggregates of ``maps`` (execution key, map node id) and their open chunks."""
        if not maps:
            return
        wanted = tuple_(RECORDS.c.execution_id, RECORDS.c.node_id).in_(sorted(maps))
        for row in (await session.execute(select(RECORDS).where(wanted))).mappings():
            self.records[(row["execution_id"], row["node_id"])] = _Record(
                row["execution_id"], row["node_id"], row["id"], bytearray(row["phases"]),
                bytearray(row["attempts"]), row["created_at"], row["updated_at"], row["last_sequence"])
        await self._mark_rows_of_new_maps(session, maps - set(self.records))
        open_chunks = select(CHUNKS).where(
            tuple_(CHUNKS.c.execution_id, CHUNKS.c.node_id).in_(sorted(maps)), CHUNKS.c.finished_at.is_(None))
        for row in (await session.execute(open_chunks)).mappings():
            chunk = _Chunk(executions[row["execution_id"]], row["node_id"], row["started_at"],
                           set(decode_indices(row["indices"])), row["id"], decode_logs(row["logs"]),
                           (row["outputs_bytes"], row["outputs_uri"]))
            self._chunks.setdefault((row["execution_id"], row["node_id"]), []).append(chunk)

    async def _mark_rows_of_new_maps(self, session: AsyncSession, maps: set[tuple[int, str]]) -> None:
        """Items of maps with no aggregate yet that have rows already (their execution ran
        before the aggregate existed): its new aggregate says they have, so they keep them."""
        if not maps:
            return
        nodes = _NODES.c
        children = tuple_(nodes.execution_id, nodes.parent_node_id).in_(sorted(maps))
        found = await session.execute(
            select(nodes.execution_id, nodes.parent_node_id, nodes.node_id).where(children))
        for execution_key, map_id, node_id in found.all():
            item = item_of(node_id)
            if item is not None and item[0] == map_id:
                record = self._record(execution_key, map_id, utc_now())
                record.grow(item[1])
                record.attempts[item[1]] = PROMOTED

    def may_promote(self, execution_key: int, node_id: str,
                    value: NodeExecutionEvent | TaskExecutionEvent) -> bool:
        """Whether an event of the item ``node_id`` may go to the item's own rows (so they must be
        read): it is not plain, or the item has rows already (as the aggregates read say)."""
        item = item_of(node_id)
        if item is None or not _is_plain(value):
            return True
        record = self.records.get((execution_key, item[0]))
        return record is not None and item[1] < len(record.attempts) and record.attempts[item[1]] == PROMOTED

    def _record(self, execution_key: int, map_id: str, at: datetime) -> _Record:
        record = self.records.get((execution_key, map_id))
        if record is None:
            record = self.records[(execution_key, map_id)] = _Record(
                execution_key, map_id, None, bytearray(), bytearray(), at, at, changed=True)
        return record

    def apply(self, execution: ExecutionRow, value: NodeExecutionEvent | TaskExecutionEvent,
              node_id: str, at: datetime) -> bool:
        """Applies a plain item event to its map's aggregate; False (nothing applied) when the
        event is not plain or the item has rows already: the caller promotes it and applies
        the event to its rows."""
        item = item_of(node_id)
        if item is None or not _is_plain(value):
            return False
        map_id, index = item
        record = self._record(key(execution), map_id, at)
        record.grow(index)
        if record.attempts[index] == PROMOTED:
            return False
        phase, sequence = int(value.phase), int(value.sequence)
        record.last_sequence = max(record.last_sequence, sequence)
        record.updated_at = max(utc(record.updated_at) or at, at)
        record.changed = True
        if isinstance(value, TaskExecutionEvent):
            attempt_phase = record.attempts[index] - 1 if record.attempts[index] else 0
            if not moves_forward("task", attempt_phase, phase):
                return True
            if phase == TaskPhase.SUCCEEDED and value.logs:
                chunk = self._chunk_of(execution, map_id, index, at)
                links = tuple(dict((log.name, log.uri) for log in value.logs).items())
                chunk.logs.setdefault(links, set()).add(index)
                chunk.touched = True
            record.attempts[index] = phase + 1
            return True
        if not moves_forward("node", record.phases[index], phase):
            return True
        was_started = record.phases[index] != NodePhase.UNDEFINED
        record.phases[index] = phase
        if phase == NodePhase.RUNNING and not was_started:
            self._chunk_of(execution, map_id, index, at)
        elif phase == NodePhase.SUCCEEDED:
            chunk = self._chunk_of(execution, map_id, index, at)
            chunk.touched = True
            if value.outputs is not None:
                chunk.outputs[index] = value.outputs
        return True

    def _chunk_of(self, execution: ExecutionRow, map_id: str, index: int, at: datetime) -> _Chunk:
        """The chunk the item runs in: an open one holding it, else this transaction's new one."""
        for chunk in self._chunks.get((key(execution), map_id), ()):
            if chunk.holds(index):
                return chunk
        new = self._new_chunks.get((key(execution), map_id))
        if new is None:
            new = self._new_chunks[(key(execution), map_id)] = _Chunk(execution, map_id, at, set())
        new.indices.add(index)
        return new

    def promote(self, rows: StagedRows, execution_key: int, node_id: str, at: datetime) -> None:
        """Gives the item ``node_id`` rows of its own, made from its aggregate (if it has one),
        staged in ``rows``: the event about to be applied to them says more than the aggregate
        keeps. Its ``attempts`` byte says PROMOTED from then on."""
        item = item_of(node_id)
        if item is None:
            return
        map_id, index = item
        record = self._record(execution_key, map_id, at)
        record.grow(index)
        if record.attempts[index] == PROMOTED:
            return
        phase, attempt_byte = record.phases[index], record.attempts[index]
        record.attempts[index] = PROMOTED
        record.changed = True
        if (execution_key, node_id) in rows.nodes or (not phase and not attempt_byte):
            return  # never aggregated (or rows from before the aggregate): the rows say it all
        map_key = (execution_key, map_id)
        chunks = (*self._chunks.get(map_key, ()), self._new_chunks.get(map_key))
        chunk = next((c for c in chunks if c is not None and c.holds(index)), None)
        started = chunk.started_at if chunk is not None else at
        node = rows.new_node(execution_key, node_id, started)
        node.parent_node_id, node.spec_node_id = map_id, str(index)
        if phase:
            node.phase, node.started_at = phase, started
        if attempt_byte:
            task = rows.new_task(execution_key, node_id, 0, started)
            task.phase, task.started_at = attempt_byte - 1, started
            links = [links for links, indices in (chunk.logs if chunk else {}).items() if index in indices]
            if links and TaskPhase(attempt_byte - 1) in TERMINAL_TASK:
                task.logs = json.dumps(list(links[0]))  # its ended attempt's, folded there

    async def write(self, session: AsyncSession, payloads: Payloads) -> None:
        """Writes the changed aggregates and the chunks this transaction made or changed."""
        for record in self.records.values():
            if not record.changed:
                continue
            values = {"phases": bytes(record.phases), "attempts": bytes(record.attempts),
                      "updated_at": record.updated_at, "last_sequence": record.last_sequence}
            if record.row_id is None:
                await session.execute(insert(RECORDS), {
                    **values, "execution_id": record.execution_key, "node_id": record.node_id,
                    "created_at": record.created_at})
            else:
                await session.execute(update(RECORDS).where(RECORDS.c.id == record.row_id).values(values))
        for chunk in [*self._new_chunks.values(), *(c for each in self._chunks.values() for c in each)]:
            if chunk.row_id is not None and not chunk.touched:
                continue
            await self._write_chunk(session, payloads, chunk)

    async def _write_chunk(self, session: AsyncSession, payloads: Payloads, chunk: _Chunk) -> None:
        record = self.records[(key(chunk.execution), chunk.node_id)]
        indices = sorted(chunk.indices)
        done = all(record.phases[i] in TERMINAL_NODE or record.attempts[i] == PROMOTED for i in indices)
        values: dict[str, Any] = {"logs": encode_logs(chunk.logs),
                                  "finished_at": record.updated_at if done else None}
        if chunk.outputs:
            stored = await payloads.get(*chunk.old_outputs)
            old = codec.decode(LiteralMap, stored) if stored else None
            encoded = codec.encode(chunk_outputs(indices, chunk.outputs, old))
            execution = chunk.execution
            values["outputs_bytes"], values["outputs_uri"] = await payloads.put(
                encoded, "executions", execution.project, execution.domain, execution.name, "nodes",
                chunk.node_id, "chunks", f"{indices[0]}-{record.last_sequence}.pb")
        if chunk.row_id is not None:
            await session.execute(update(CHUNKS).where(CHUNKS.c.id == chunk.row_id).values(values))
            return
        await session.execute(insert(CHUNKS), {
            "outputs_bytes": None, "outputs_uri": "", **values, "execution_id": key(chunk.execution),
            "node_id": chunk.node_id, "first_index": indices[0], "last_index": indices[-1],
            "indices": encode_indices(indices), "started_at": chunk.started_at})
