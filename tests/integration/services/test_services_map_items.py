"""A map's items aggregated per map node (issue #24 item 5): plain items leave no rows of their
own and are read from the map's aggregate (paged by index), an item whose events say more is
promoted to rows built from it, and a resumed run reads both back (outputs, running attempts)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import col, select

from tests.integration.engine.test_engine_fencing import create, set_lease, workflow_event
from wingspan.core.errors import InvalidArgumentError, NotFoundError
from wingspan.core.model.events import Event, NodeExecutionEvent, TaskExecutionEvent, TaskLog
from wingspan.core.model.execution import ExecutionError, NodePhase, TaskPhase
from wingspan.core.model.interface import ExecutionId, NodeExecutionId, TaskExecutionId
from wingspan.core.model.literals import Literal, LiteralMap
from wingspan.server.db.engine import now
from wingspan.server.db.models import MapItemChunkRow, MapItemsRow, NodeExecutionRow, TaskExecutionRow
from wingspan.server.engine.journal import journal_of, last_sequence, read_stored_run
from wingspan.server.services.admin import AdminService
from wingspan.server.services.events import ItemEvent
from wingspan.server.services.executions import ExecutionKey
from wingspan.server.services.pagination import EQ, Filter, Listing

OWNER = "replica"


class Items:
    """Item events of the map n0 of one execution, numbered in order."""

    def __init__(self, execution_id: ExecutionId) -> None:
        self.execution_id = execution_id
        self.sequence = 100

    def _next(self) -> int:
        self.sequence += 1
        return self.sequence

    def node(self, index: int, phase: NodePhase, **fields: Any) -> Event:
        return ItemEvent("node", NodeExecutionEvent(
            id=NodeExecutionId(self.execution_id, f"n0/{index}"), producer_id=OWNER, phase=phase,
            occurred_at=now(), parent_node_id="n0", spec_node_id=str(index), sequence=self._next(), **fields))

    def task(self, index: int, phase: TaskPhase, attempt: int = 0, **fields: Any) -> Event:
        return ItemEvent("task", TaskExecutionEvent(
            id=TaskExecutionId(None, NodeExecutionId(self.execution_id, f"n0/{index}"), attempt),
            producer_id=OWNER, phase=phase, occurred_at=now(), sequence=self._next(), **fields))

    def started(self, indices: range) -> list[Event]:
        """What the engine records before a chunk runs."""
        return [e for i in indices
                for e in (self.node(i, NodePhase.RUNNING), self.task(i, TaskPhase.RUNNING))]

    def succeeded(self, indices: range) -> list[Event]:
        """What it records when the chunk's items succeeded."""
        return [e for i in indices for e in (
            self.task(i, TaskPhase.SUCCEEDED, logs=(TaskLog("chunk", "file:///logs/chunk-0"),)),
            self.node(i, NodePhase.SUCCEEDED, outputs=outputs(i)))]


def outputs(index: int) -> LiteralMap:
    return LiteralMap({"o0": Literal("integer", index * 10), "o1": Literal("string", f"item {index}")})


async def started_execution(admin: AdminService, name: str) -> tuple[ExecutionId, Items]:
    execution_id = await create(admin, name)
    await set_lease(admin, name, OWNER, 60)
    # the run's first event, as a replica records it before any node's
    await admin.events.ingest(execution_id, [workflow_event(execution_id, 1)], owner=OWNER)
    return execution_id, Items(execution_id)


async def count(admin: AdminService, table: Any, *where: Any) -> int:
    async with admin.db.read() as session:
        found = await session.execute(select(func.count()).select_from(table).where(*where))
        return int(found.scalar_one())


async def item_rows(admin: AdminService) -> tuple[int, int]:
    nodes = await count(admin, NodeExecutionRow, col(NodeExecutionRow.node_id).like("n0/%"))
    tasks = await count(admin, TaskExecutionRow, col(TaskExecutionRow.node_id).like("n0/%"))
    return nodes, tasks


async def test_a_succeeded_maps_items_leave_no_rows_and_are_read_from_its_aggregate(
    admin: AdminService,
) -> None:
    execution_id, items = await started_execution(admin, "aggregated")
    await admin.events.ingest(execution_id, items.started(range(10)), owner=OWNER)
    await admin.events.ingest(execution_id, items.succeeded(range(10)), owner=OWNER)
    assert await item_rows(admin) == (0, 0)
    assert await count(admin, MapItemsRow) == 1 and await count(admin, MapItemChunkRow) == 1

    nodes = admin.nodes
    listed, token, pages = [], "", 0
    while True:  # paged by index
        page = await nodes.list_node_executions(execution_id, "n0", Listing(limit=3, token=token))
        listed += page.items
        pages += 1
        token = page.next_token
        if not token:
            break
    assert pages == 4
    assert [(n.id.node_id, n.closure.phase, n.parent_node_id) for n in listed if n.id and n.closure] == [
        (f"n0/{i}", NodePhase.SUCCEEDED, "n0") for i in range(10)]
    item = NodeExecutionId(execution_id, "n0/4")
    found = await nodes.get_node_execution(item)
    assert found.closure is not None and found.closure.phase == NodePhase.SUCCEEDED
    assert found.closure.started_at is not None and found.closure.duration is not None
    assert (await nodes.get_node_execution_data(item)).outputs == outputs(4)
    attempts = (await nodes.list_task_executions(item)).items
    assert [(a.closure.phase, a.closure.logs) for a in attempts if a.closure] == [
        (TaskPhase.SUCCEEDED, (TaskLog("chunk", "file:///logs/chunk-0"),))]
    attempt = TaskExecutionId(None, item, 0)
    assert (await nodes.get_task_execution(attempt)).closure == attempts[0].closure
    assert (await nodes.get_task_execution_data(attempt)).outputs == outputs(4)
    assert (await nodes.child_counts(execution_id))["n0"] == 10
    assert len(await nodes.attempts_of(execution_id, ["n0/1", "n0/2"])) == 2
    with pytest.raises(NotFoundError, match="no attempt 1"):
        await nodes.get_task_execution(TaskExecutionId(None, item, 1))
    with pytest.raises(NotFoundError, match="n0/10"):
        await nodes.get_node_execution(NodeExecutionId(execution_id, "n0/10"))


async def test_an_item_that_fails_is_promoted_to_rows_built_from_the_aggregate(admin: AdminService) -> None:
    execution_id, items = await started_execution(admin, "promoted")
    await admin.events.ingest(execution_id, items.started(range(4)), owner=OWNER)
    error = ExecutionError(code="USER", message="item 2 failed once", node_id="n0/2", retryable=True)
    await admin.events.ingest(execution_id, [
        *items.succeeded(range(2)), items.task(2, TaskPhase.RETRYABLE_FAILURE, error=error),
        *items.succeeded(range(3, 4))], owner=OWNER)
    # its second attempt, followed through a handle, then its success
    await admin.events.ingest(execution_id, [
        items.task(2, TaskPhase.RUNNING, 1, plugin="local-process", plugin_handle=b'{"pid": 1}'),
        items.task(2, TaskPhase.SUCCEEDED, 1), items.node(2, NodePhase.SUCCEEDED, outputs=outputs(2))],
        owner=OWNER)
    assert await item_rows(admin) == (1, 2)  # n0/2's node, its two attempts; no other item's

    nodes = admin.nodes
    listed = (await nodes.list_node_executions(execution_id, "n0")).items
    assert [(n.id.node_id, n.closure.phase) for n in listed if n.id and n.closure] == [
        (f"n0/{i}", NodePhase.SUCCEEDED) for i in range(4)]
    promoted = NodeExecutionId(execution_id, "n0/2")
    attempts = (await nodes.list_task_executions(promoted)).items
    assert [(a.closure.phase, a.closure.error.message if a.closure.error else "")
            for a in attempts if a.closure] == [
        (TaskPhase.RETRYABLE_FAILURE, "item 2 failed once"), (TaskPhase.SUCCEEDED, "")]
    node = await nodes.get_node_execution(promoted)
    assert node.closure is not None and node.closure.started_at == attempts[0].closure.started_at  # type: ignore[union-attr]
    assert (await nodes.get_node_execution_data(promoted)).outputs == outputs(2)
    assert (await nodes.child_counts(execution_id))["n0"] == 4

    # what a replica taking the execution over reads back
    key = await admin.executions.key(execution_id)
    async with admin.db.read() as session:
        stored = await read_stored_run(session, key.row_id)
    journal = await journal_of(admin.payloads, stored)
    assert [journal.outputs.get(f"n0/{i}") for i in range(4)] == [dict(outputs(i).literals) for i in range(4)]
    assert journal.attempts == {"n0/2": 2} and journal.running == {}
    assert stored.last_sequence == items.sequence == await last_sequence(admin.db, key.row_id)


async def test_a_resumed_run_finds_started_items_running_with_no_handle(admin: AdminService) -> None:
    execution_id, items = await started_execution(admin, "cut-short")
    await admin.events.ingest(execution_id, items.started(range(6)), owner=OWNER)
    await admin.events.ingest(execution_id, items.succeeded(range(3)), owner=OWNER)
    key: ExecutionKey = await admin.executions.key(execution_id)
    async with admin.db.read() as session:
        stored = await read_stored_run(session, key.row_id)
    journal = await journal_of(admin.payloads, stored)
    assert {node_id for node_id in journal.outputs if node_id.startswith("n0/")} == {"n0/0", "n0/1", "n0/2"}
    assert sorted(journal.running) == ["n0/3", "n0/4", "n0/5"]
    assert {(r.attempt, r.handle) for r in journal.running.values()} == {(0, None)}
    # a repeat of what was stored changes nothing (phases only move forward)
    await admin.events.ingest(execution_id, items.started(range(3)), owner=OWNER)
    listed = (await admin.nodes.list_node_executions(execution_id, "n0")).items
    assert [n.closure.phase for n in listed if n.closure] == [NodePhase.SUCCEEDED] * 3 + [
        NodePhase.RUNNING] * 3
    # filtered by phase, read from the aggregate (a page of two, then the rest)
    running = Listing(limit=2, filters=(Filter("phase", EQ, ("running",)),))
    first = await admin.nodes.list_node_executions(execution_id, "n0", running)
    rest = await admin.nodes.list_node_executions(execution_id, "n0", Listing(
        limit=2, token=first.next_token, filters=running.filters))
    assert [n.id.node_id for n in [*first.items, *rest.items] if n.id] == ["n0/3", "n0/4", "n0/5"]
    assert rest.next_token == ""
    with pytest.raises(InvalidArgumentError, match="filtered by phase only"):
        await admin.nodes.list_node_executions(execution_id, "n0", Listing(
            filters=(Filter("node_name", EQ, ("x",)),)))


async def test_items_with_rows_from_before_the_aggregate_keep_them(admin: AdminService) -> None:
    """An execution that ran before the aggregate existed: its items' rows stay theirs."""
    execution_id, items = await started_execution(admin, "upgraded")
    before = items.node(0, NodePhase.SUCCEEDED, outputs=outputs(0))
    await admin.events.ingest(execution_id, [Event("node", before.value)], owner=OWNER)  # a row, as then
    await admin.events.ingest(execution_id, [*items.started(range(1, 3)), *items.succeeded(range(1, 3))],
                              owner=OWNER)
    assert await item_rows(admin) == (1, 0)
    listed = (await admin.nodes.list_node_executions(execution_id, "n0")).items
    assert [(n.id.node_id, n.closure.phase) for n in listed if n.id and n.closure] == [
        (f"n0/{i}", NodePhase.SUCCEEDED) for i in range(3)]
    assert (await admin.nodes.child_counts(execution_id))["n0"] == 3
