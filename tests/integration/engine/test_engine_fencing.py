"""Fencing: a replica that lost its lease (expired, or taken by another) cannot write its
execution's events, and its engine stops acting on the execution (the run detaches);
another replica then takes the execution over and completes it, its events in order."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import anyio
import pytest
from sqlalchemy import func, update
from sqlmodel import col, select

from tests.integration.services import flows
from tests.integration.services.builders import (
    DOMAIN,
    PROJECT,
    ident,
    literals,
    register_workflow_with_tasks,
    some,
)
from wingspan.core.config import Settings
from wingspan.core.errors import LeaseLostError
from wingspan.core.model import codec
from wingspan.core.model.events import Event, NodeExecutionEvent, WorkflowExecutionEvent
from wingspan.core.model.execution import NodePhase, WorkflowPhase
from wingspan.core.model.interface import ExecutionId, NodeExecutionId
from wingspan.core.model.literals import Literal, LiteralMap
from wingspan.protos import v1
from wingspan.server.api.rpcs import AdminRpcs
from wingspan.server.db.engine import now
from wingspan.server.db.models import ExecutionRow, MapItemsRow, NodeExecutionRow
from wingspan.server.engine.worker import EngineWorker, server_registry
from wingspan.server.services.admin import AdminService
from wingspan.server.services.events import ItemEvent

pytestmark = [pytest.mark.slow]


async def set_lease(admin: AdminService, name: str, owner: str, seconds: float) -> None:
    async with admin.db.write() as session:
        await session.execute(update(ExecutionRow).where(col(ExecutionRow.name) == name)
                              .values(owner=owner, lease_expires_at=now() + timedelta(seconds=seconds)))


async def create(admin: AdminService, name: str) -> ExecutionId:
    await register_workflow_with_tasks(admin, flows.gated, "v1")
    await AdminRpcs(admin).create_execution(v1.CreateExecutionRequest(
        project=PROJECT, domain=DOMAIN, name=name,
        spec=v1.ExecutionSpec(entity_id=ident(2, "tests.integration.services.flows.gated", "v1"),
                              inputs=literals(x=1))))
    return ExecutionId(PROJECT, DOMAIN, name)


async def sequences(admin: AdminService, execution_id: ExecutionId) -> list[int]:
    return [event.value.sequence for event in await admin.events.list_events(execution_id) if event.value]


def workflow_event(execution_id: ExecutionId, sequence: int) -> Event:
    return Event("workflow", WorkflowExecutionEvent(
        execution_id=execution_id, producer_id="test", phase=WorkflowPhase.RUNNING,
        occurred_at=now(), sequence=sequence))


async def test_ingest_is_refused_to_a_replica_without_the_lease(admin: AdminService) -> None:
    execution_id = await create(admin, "fenced")
    await set_lease(admin, "fenced", "replica-a", 60)
    await admin.events.ingest(execution_id, [workflow_event(execution_id, 1)], owner="replica-a")
    # partitioned: the lease ran out while replica-a was away
    await set_lease(admin, "fenced", "replica-a", -1)
    with pytest.raises(LeaseLostError, match="replica-a"):
        await admin.events.ingest(execution_id, [workflow_event(execution_id, 2)], owner="replica-a")
    # taken over: replica-b holds it now
    await set_lease(admin, "fenced", "replica-b", 60)
    with pytest.raises(LeaseLostError):
        await admin.events.ingest(execution_id, [workflow_event(execution_id, 2)], owner="replica-a")
    await admin.events.ingest(execution_id, [workflow_event(execution_id, 2)], owner="replica-b")
    assert await sequences(admin, execution_id) == [1, 2]


@pytest.fixture
async def workers(
    admin: AdminService, settings: Settings, tmp_path: Path
) -> AsyncIterator[list[EngineWorker]]:
    registry = server_registry(settings)
    made: list[EngineWorker] = []
    try:
        # no polls during the test (a claim happens when a worker starts or is woken); a lease
        # long enough that no heartbeat runs unless the test calls it
        for name in ("replica-a", "replica-b"):
            made.append(EngineWorker(admin, registry, tmp_path / name, replica_id=name,
                                     lease_seconds=600, poll_interval=600))
        yield made
    finally:
        for plugin in registry.plugins:
            await plugin.aclose()


async def wait_for(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Polls ``check`` until it is true (fails naming ``what`` after 30 s)."""
    with anyio.fail_after(30, reason=f"waited 30 s for {what}"):
        while True:
            if await check():
                return
            await anyio.sleep(0.02)


async def row(admin: AdminService, name: str) -> ExecutionRow:
    async with admin.db.read() as session:
        statement = select(ExecutionRow).where(col(ExecutionRow.name) == name)
        found: ExecutionRow = (await session.execute(statement)).scalar_one()
    return found


async def test_a_partitioned_replica_cannot_write_and_another_completes_the_run(
    admin: AdminService, workers: list[EngineWorker]
) -> None:
    a, b = workers
    execution_id = await create(admin, "split")
    async with anyio.create_task_group() as group:
        group.start_soon(a.run)

        async def gate_waiting() -> bool:
            listed = await admin.events.list_events(execution_id)
            return any(isinstance(e.value, NodeExecutionEvent) and some(e.value.id).node_id == "n0"
                       for e in listed)

        await wait_for(gate_waiting, "replica-a to reach the gate")
        key = (await row(admin, "split")).id
        assert key in a.running
        before = await sequences(admin, execution_id)
        # replica-a is cut off: its lease expires while it still runs the execution
        await set_lease(admin, "split", "replica-a", -1)
        signal = v1.SignalId(execution_id=codec.to_proto(execution_id), signal_id="factor")
        await AdminRpcs(admin).set_signal(v1.SetSignalRequest(id=signal, value=v1.Literal(integer=2)))

        async def detached() -> bool:
            return key not in a.running

        await wait_for(detached, "replica-a to detach the run")
        # what it tried to write after the gate (the add node about to start) was refused
        assert await sequences(admin, execution_id) == before
        assert (await row(admin, "split")).phase == int(v1.WorkflowPhase.RUNNING)
        group.cancel_scope.cancel()

    async with anyio.create_task_group() as group:
        group.start_soon(b.run)

        async def ended() -> bool:
            return (await row(admin, "split")).phase in (3, 4, 5, 7)

        await wait_for(ended, "replica-b to complete the execution")
        group.cancel_scope.cancel()
    done = await row(admin, "split")
    assert done.phase == int(v1.WorkflowPhase.SUCCEEDED), done.reason
    data = await admin.executions.get_execution_data(execution_id)
    assert some(data.outputs).literals["o0"].value == 1 + 2
    found = await sequences(admin, execution_id)
    assert found == list(range(1, len(found) + 1))


async def test_a_heartbeat_that_finds_the_lease_taken_detaches_the_run(
    admin: AdminService, workers: list[EngineWorker]
) -> None:
    a, _ = workers
    execution_id = await create(admin, "taken")
    async with anyio.create_task_group() as group:
        group.start_soon(a.run)

        async def running() -> bool:
            return (await row(admin, "taken")).phase == int(v1.WorkflowPhase.RUNNING)

        await wait_for(running, "replica-a to run it")
        key = (await row(admin, "taken")).id
        await set_lease(admin, "taken", "replica-b", 60)
        await a.heartbeat()

        async def detached() -> bool:
            return key not in a.running

        await wait_for(detached, "replica-a to detach the run")
        group.cancel_scope.cancel()
    taken = await row(admin, "taken")
    assert taken.owner == "replica-b"  # left as replica-b holds it
    del execution_id


async def test_a_chunks_item_results_are_refused_to_a_replica_without_the_lease(admin: AdminService) -> None:
    """What a map's chunk ended with (its items' folded node events, written together) is fenced
    like any event: a replica that lost the lease leaves no item in the map's aggregate (nor rows)."""
    execution_id = await create(admin, "fenced-chunk")

    def items(owner: str, first: int) -> list[Event]:
        return [ItemEvent("node", NodeExecutionEvent(
            id=NodeExecutionId(execution_id, f"n0/{index}"), producer_id=owner, phase=NodePhase.SUCCEEDED,
            occurred_at=now(), parent_node_id="n0", outputs=LiteralMap({"o0": Literal("integer", index)}),
            sequence=first + index)) for index in range(3)]

    async def stored_items() -> list[tuple[str, NodePhase]]:
        async with admin.db.read() as session:
            aggregates = (await session.execute(select(func.count()).select_from(MapItemsRow))).scalar_one()
            rows = (await session.execute(select(func.count()).select_from(NodeExecutionRow).where(
                col(NodeExecutionRow.parent_node_id) == "n0"))).scalar_one()
        listed = await admin.nodes.list_node_executions(execution_id, "n0")
        assert rows == 0 and aggregates == (1 if listed.items else 0)
        return [(n.id.node_id, n.closure.phase) for n in listed.items if n.id and n.closure]

    await set_lease(admin, "fenced-chunk", "replica-b", 60)
    with pytest.raises(LeaseLostError, match="replica-a"):
        await admin.events.ingest(execution_id, items("replica-a", 1), owner="replica-a")
    assert await stored_items() == []
    await admin.events.ingest(execution_id, items("replica-b", 1), owner="replica-b")
    assert await stored_items() == [(f"n0/{i}", NodePhase.SUCCEEDED) for i in range(3)]
    data = await admin.nodes.get_node_execution_data(NodeExecutionId(execution_id, "n0/2"))
    assert data.outputs == LiteralMap({"o0": Literal("integer", 2)})
