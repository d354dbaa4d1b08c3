"""The outward event stream's outbox and publisher on both databases: each event stored (one at a
time or in an engine's batch) is in the outbox once per sink, in the order stored; one publisher
at a time holds a sink's lease, another takes over once it lapses; an event its receiver refuses
for good is set aside with the error and the ones after it still go out; an execution's events
without a sink configured write nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select

from tests.integration.services import flows
from tests.integration.services.builders import (
    DOMAIN,
    PROJECT,
    TEST_ENGINE,
    ident,
    launch_plan_request,
    literals,
    register_workflow_with_tasks,
    some,
    take_lease,
)
from tests.unit.server.receivers import Receiver
from wingspan import LaunchPlan
from wingspan.core.config import Settings
from wingspan.core.model.events import Event, NodeExecutionEvent, WorkflowExecutionEvent
from wingspan.core.model.execution import NodePhase, WorkflowPhase
from wingspan.core.model.interface import ExecutionId, NodeExecutionId
from wingspan.protos import v1
from wingspan.server.api.rpcs import AdminRpcs, EngineRpcs
from wingspan.server.db.engine import now
from wingspan.server.db.models import EventOutboxRow, EventPublisherRow
from wingspan.server.services.admin import AdminService
from wingspan.server.stream.publisher import EventPublisher
from wingspan.server.stream.webhook import WebhookEventSink

STREAMED = LaunchPlan.get_or_create(flows.pipeline, name="streamed")


class Clock:
    def __init__(self) -> None:
        self.now = now()

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver(failures=1, status=400) as server:
        yield server


@pytest.fixture
async def streaming(db_url: str, tmp_path: Path) -> AsyncIterator[AdminService]:
    """An admin service whose stored events go to the outbox for the sinks "webhook" and "other"."""
    settings = Settings(home=tmp_path / "home", db_url=db_url, event_sinks="webhook,other",
                        event_source="/test")
    service = await AdminService.open(settings)
    try:
        yield service
    finally:
        await service.aclose()


async def start(admin: AdminService, name: str) -> ExecutionId:
    await register_workflow_with_tasks(admin, flows.pipeline, "v1")
    await AdminRpcs(admin).register_launch_plan(launch_plan_request(STREAMED, "v1"))
    created = await AdminRpcs(admin).create_execution(v1.CreateExecutionRequest(
        project=PROJECT, domain=DOMAIN, name=name, spec=v1.ExecutionSpec(entity_id=ident(3, "streamed", "v1"),
                                                                         inputs=literals(x=1))))
    execution_id = some(created.id)
    await take_lease(admin, execution_id)
    return ExecutionId(execution_id.project, execution_id.domain, execution_id.name)


async def record_some(admin: AdminService, execution_id: ExecutionId, at: datetime | None = None) -> None:
    """A workflow event alone (as the engine service receives one), then a batch of three."""
    at = at or now()
    await EngineRpcs(admin.events).create_workflow_event(v1.WorkflowExecutionEvent(
        execution_id=v1.ExecutionId(execution_id.project, execution_id.domain, execution_id.name),
        producer_id=TEST_ENGINE, phase=v1.WorkflowPhase.RUNNING, sequence=1))
    node = NodeExecutionId(execution_id, "n0")
    await admin.events.ingest(execution_id, [
        Event("node", NodeExecutionEvent(id=node, producer_id=TEST_ENGINE, phase=NodePhase.RUNNING,
                                         sequence=2, occurred_at=at)),
        Event("node", NodeExecutionEvent(id=node, producer_id=TEST_ENGINE, phase=NodePhase.SUCCEEDED,
                                         sequence=3, occurred_at=at)),
        Event("workflow", WorkflowExecutionEvent(execution_id=execution_id, producer_id=TEST_ENGINE,
                                                 phase=WorkflowPhase.SUCCEEDED, sequence=4, occurred_at=at)),
    ], owner=TEST_ENGINE)


async def outbox(admin: AdminService, sink: str) -> list[EventOutboxRow]:
    async with admin.db.read() as session:
        return list((await session.execute(select(EventOutboxRow).where(EventOutboxRow.sink == sink)
                                           .order_by(col(EventOutboxRow.id)))).scalars())


async def test_each_stored_event_is_in_the_outbox_once_per_sink_in_order(streaming: AdminService) -> None:
    execution_id = await start(streaming, "e-outbox")
    at = now()
    await record_some(streaming, execution_id, at)
    await record_some(streaming, execution_id, at)  # the same events again: stored once, so sent once
    for sink in ("webhook", "other"):
        events = [json.loads(row.body) for row in await outbox(streaming, sink)]
        assert [(e["type"], e["data"]["phase"], e["data"]["sequence"]) for e in events] == [
            ("io.wingspan.execution.phase", "RUNNING", 1), ("io.wingspan.node.phase", "RUNNING", 2),
            ("io.wingspan.node.phase", "SUCCEEDED", 3), ("io.wingspan.execution.phase", "SUCCEEDED", 4)]
        assert len({e["id"] for e in events}) == 4
        assert {e["subject"] for e in events} == {f"{PROJECT}/{DOMAIN}/e-outbox"}
        assert {e["source"] for e in events} == {"/test"}


async def test_without_sinks_nothing_is_written(admin: AdminService) -> None:
    execution_id = await start(admin, "e-quiet")
    await record_some(admin, execution_id)
    assert await outbox(admin, "webhook") == []


async def test_one_publisher_at_a_time_and_a_lapsed_lease_passes(streaming: AdminService) -> None:
    clock = Clock()
    sink = WebhookEventSink("http://127.0.0.1:9/unused")
    first = EventPublisher(streaming.db, "webhook", sink, owner="first", clock=clock)
    second = EventPublisher(streaming.db, "webhook", sink, owner="second", clock=clock)
    assert await first.hold()
    assert not await second.hold()
    assert await second.run_once() == -1  # it publishes nothing while the lease is another's
    clock.now += timedelta(seconds=31)  # the first stopped renewing (killed): its lease lapses
    assert await second.hold()
    assert not await first.hold()


async def test_a_refused_event_is_set_aside_and_the_rest_go_out(streaming: AdminService,
                                                                 receiver: Receiver) -> None:
    execution_id = await start(streaming, "e-refused")
    await record_some(streaming, execution_id)
    sink = WebhookEventSink(f"{receiver.url}/events")
    publisher = EventPublisher(streaming.db, "webhook", sink, owner="only")
    try:
        assert await publisher.run_once() == 3
    finally:
        await sink.aclose()
    (left,) = await outbox(streaming, "webhook")
    assert left.state == 2 and "answered 400" in left.error
    assert json.loads(left.body)["data"]["sequence"] == 1
    assert [r["json"]["data"]["sequence"] for r in receiver.requests] == [1, 2, 3, 4]
    async with streaming.db.read() as session:
        state = await session.get(EventPublisherRow, "webhook")
    assert state is not None and (state.published, state.dead) == (3, 1)
    assert "answered 400" in state.last_error
    assert len(await outbox(streaming, "other")) == 4  # another sink's events wait for their own publisher
