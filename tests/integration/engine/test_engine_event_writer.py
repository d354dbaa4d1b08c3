"""One writer per engine replica: what all its executions queued meanwhile is stored in one
transaction, each execution fenced by its own lease; an execution whose write fails (its
lease lost, or refused by the database) is told so, and the others are stored all the same.
A sink hears of its events as stored only once they are committed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError

from tests.integration.engine.refusals import refusing
from tests.integration.services import flows
from tests.integration.services.builders import (
    DOMAIN,
    PROJECT,
    ident,
    literals,
    register_workflow_with_tasks,
    take_lease,
)
from wingspan.core.engine import Event
from wingspan.core.errors import LeaseLostError
from wingspan.core.model.execution import NodePhase, TaskPhase, WorkflowPhase
from wingspan.protos import v1
from wingspan.server.api.rpcs import AdminRpcs
from wingspan.server.engine.sink import SETTLE_TURNS, DatabaseSink, EventWriter
from wingspan.server.services.admin import AdminService

RUNNING = int(WorkflowPhase.RUNNING)


async def create(admin: AdminService, name: str, owner: str) -> None:
    response = await AdminRpcs(admin).create_execution(v1.CreateExecutionRequest(
        project=PROJECT, domain=DOMAIN, name=name,
        spec=v1.ExecutionSpec(entity_id=ident(2, flows.gated.name, "v1"), inputs=literals(x=1))))
    assert response.id is not None
    await take_lease(admin, response.id, owner)


async def phase_of(admin: AdminService, name: str) -> int:
    found = await AdminRpcs(admin).get_execution(v1.GetExecutionRequest(
        id=v1.ExecutionId(project=PROJECT, domain=DOMAIN, name=name)))
    assert found.closure is not None
    return int(found.closure.phase)


@contextmanager
def counted_writes(admin: AdminService) -> Iterator[tuple[list[int], list[str]]]:
    """The commits and the statements of the database's writer, while inside."""
    commits: list[int] = []
    statements: list[str] = []

    def committed(_connection: Any) -> None:
        commits.append(1)

    def executed(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        statements.append(statement)

    engine = admin.db.write_engine.sync_engine
    event.listen(engine, "commit", committed)
    event.listen(engine, "before_cursor_execute", executed)
    try:
        yield commits, statements
    finally:
        event.remove(engine, "commit", committed)
        event.remove(engine, "before_cursor_execute", executed)


def sinks_of(writer: EventWriter, names: list[str], lost: list[str]) -> dict[str, DatabaseSink]:
    sinks = {}
    for name in names:
        sinks[name] = DatabaseSink(writer, PROJECT, DOMAIN, name, producer="replica-a", owner="replica-a",
                                   on_lease_lost=lambda name=name: lost.append(name))  # type: ignore[misc]
        sinks[name].record(Event("workflow", "", WorkflowPhase.RUNNING))
        sinks[name].record(Event("node", "n0", NodePhase.RUNNING))
    return sinks


async def test_what_several_executions_queued_is_stored_in_one_transaction(admin: AdminService) -> None:
    await register_workflow_with_tasks(admin, flows.gated, "v1")
    for name, owner in (("a", "replica-a"), ("b", "replica-a"), ("c", "replica-b")):
        await create(admin, name, owner)
    writer, lost = EventWriter(admin.events), list[str]()
    sinks = sinks_of(writer, ["a", "b", "c"], lost)
    with counted_writes(admin) as (commits, statements):
        async with anyio.create_task_group() as group:
            group.start_soon(writer.run)
            with anyio.fail_after(30):
                await sinks["a"].flush()
                await sinks["b"].flush()
                with pytest.raises(LeaseLostError, match="replica 'replica-a' does not hold its lease"):
                    await sinks["c"].flush()
            group.cancel_scope.cancel()
    assert len(commits) == 1
    # the new events of both executions by one statement (not one INSERT ... RETURNING each)
    assert len([s for s in statements if s.lstrip().upper().startswith("INSERT INTO EVENTS")]) == 1
    assert lost == ["c"]
    assert [await phase_of(admin, name) for name in "abc"] == [RUNNING, RUNNING, int(WorkflowPhase.QUEUED)]


async def test_an_execution_the_database_refuses_is_told_and_the_others_are_stored(
    admin: AdminService,
) -> None:
    await register_workflow_with_tasks(admin, flows.gated, "v1")
    for name in "abc":
        await create(admin, name, "replica-a")
    writer, lost = EventWriter(admin.events), list[str]()
    sinks = sinks_of(writer, ["a", "b", "c"], lost)
    async with anyio.create_task_group() as group:
        group.start_soon(writer.run)
        with anyio.fail_after(30):
            async with refusing(admin.db, "refuse_c", column="phase", when="NEW.name = 'c'"):
                await sinks["a"].flush()
                await sinks["b"].flush()
                with pytest.raises(DBAPIError, match="refused by the test"):
                    await sinks["c"].flush()
                with pytest.raises(DBAPIError):  # the execution's own task hears it too
                    await sinks["c"].run()
            # the database would take it now: a failed execution's sink writes nothing more (its
            # run ends with the failure), the others go on
            sinks["c"].record(Event("node", "n1", NodePhase.RUNNING))
            sinks["a"].record(Event("node", "n1", NodePhase.RUNNING))
            await sinks["a"].flush()
        group.cancel_scope.cancel()
    assert lost == []
    assert [await phase_of(admin, name) for name in "abc"] == [RUNNING, RUNNING, int(WorkflowPhase.QUEUED)]


async def test_events_recorded_a_few_loop_turns_apart_share_a_transaction(admin: AdminService) -> None:
    # what the runs woken by one commit record next arrives over a few turns of the loop: the
    # writer waits those turns (not time) before it takes, so one transaction stores it all
    await register_workflow_with_tasks(admin, flows.gated, "v1")
    for name in "ab":
        await create(admin, name, "replica-a")
    writer = EventWriter(admin.events)
    sinks = {name: DatabaseSink(writer, PROJECT, DOMAIN, name, producer="replica-a", owner="replica-a")
             for name in "ab"}
    with counted_writes(admin) as (commits, _statements):
        async with anyio.create_task_group() as group:
            group.start_soon(writer.run)
            await anyio.lowlevel.checkpoint()  # the writer waits for events
            with anyio.fail_after(30):
                sinks["a"].record(Event("workflow", "", WorkflowPhase.RUNNING))
                for _ in range(3):
                    await anyio.lowlevel.checkpoint()
                sinks["b"].record(Event("workflow", "", WorkflowPhase.RUNNING))
                await sinks["a"].flush()
                await sinks["b"].flush()
            group.cancel_scope.cancel()
    assert len(commits) == 1
    assert [await phase_of(admin, name) for name in "ab"] == [RUNNING, RUNNING]


async def test_an_attempts_handle_goes_with_the_next_write_or_alone_soon_after(admin: AdminService) -> None:
    # the engine does not wait for a handle's write: it rides with the next write (here the
    # attempt's end), so a task's start costs one transaction; alone, it is written within
    # HANDLE_WRITE_WITHIN seconds
    await register_workflow_with_tasks(admin, flows.gated, "v1")
    await create(admin, "h", "replica-a")
    writer = EventWriter(admin.events)
    sink = DatabaseSink(writer, PROJECT, DOMAIN, "h", producer="replica-a", owner="replica-a")
    with counted_writes(admin) as (commits, _statements):
        async with anyio.create_task_group() as group:
            group.start_soon(writer.run)
            with anyio.fail_after(30):
                sink.record(Event("workflow", "", WorkflowPhase.RUNNING))
                sink.record(Event("task", "n0", TaskPhase.RUNNING, attempt=0))
                await sink.flush()
                sink.record_attempt_handle("n0", 0, None, "local-process", {"pid": 1})
                for _ in range(4 * SETTLE_TURNS):  # the writer would have taken it by now
                    await anyio.lowlevel.checkpoint()
                sink.record(Event("task", "n0", TaskPhase.SUCCEEDED, attempt=0))
                await sink.flush()
                assert len(commits) == 2
                sink.record_attempt_handle("n0", 1, None, "local-process", {"pid": 2})
                await sink.flush()  # nothing else to ride with: written on its own
            group.cancel_scope.cancel()
    assert len(commits) == 3


async def test_an_attempt_whose_handle_could_not_be_stored_is_aborted(admin: AdminService) -> None:
    await register_workflow_with_tasks(admin, flows.gated, "v1")
    await create(admin, "taken", "replica-b")
    writer, lost = EventWriter(admin.events), list[str]()
    sink = DatabaseSink(writer, PROJECT, DOMAIN, "taken", producer="replica-a", owner="replica-a",
                        on_lease_lost=lambda: lost.append("taken"))
    aborted = anyio.Event()

    async def abort() -> None:
        aborted.set()

    async with anyio.create_task_group() as group:
        group.start_soon(writer.run)
        group.start_soon(sink.run)
        with anyio.fail_after(30):
            sink.record_attempt_handle("n0", 0, None, "local-process", {"pid": 1}, abort=abort)
            await aborted.wait()
        group.cancel_scope.cancel()
    assert lost == ["taken"]


async def test_an_attempt_whose_handle_was_stored_is_left_running_when_the_run_stops(
    admin: AdminService,
) -> None:
    await register_workflow_with_tasks(admin, flows.gated, "v1")
    await create(admin, "kept", "replica-a")
    writer = EventWriter(admin.events)
    sink = DatabaseSink(writer, PROJECT, DOMAIN, "kept", producer="replica-a", owner="replica-a")
    aborted: list[int] = []

    async def abort() -> None:
        aborted.append(1)

    async with anyio.create_task_group() as group:
        group.start_soon(writer.run)
        with anyio.fail_after(30):
            async with anyio.create_task_group() as run:
                run.start_soon(sink.run)
                sink.record(Event("workflow", "", WorkflowPhase.RUNNING))
                sink.record_attempt_handle("n0", 0, None, "local-process", {"pid": 1}, abort=abort)
                await sink.flush()
                sink.detach()  # the engine stops: what was stored can be followed by the next one
        group.cancel_scope.cancel()
    assert aborted == []


@pytest.mark.slow
async def test_a_batch_beyond_sqlites_variable_limit_is_stored(admin: AdminService) -> None:
    # one execution's 40,000 node events in one batch (a big map starting): the look-ups of their
    # keys and nodes go by chunks, SQLite refusing a statement of more than 32,766 variables
    await register_workflow_with_tasks(admin, flows.gated, "v1")
    await create(admin, "big", "replica-a")
    writer, lost = EventWriter(admin.events), list[str]()
    sink = DatabaseSink(writer, PROJECT, DOMAIN, "big", producer="replica-a", owner="replica-a",
                        on_lease_lost=lambda: lost.append("big"))
    count = 40_000
    for index in range(count):
        sink.record(Event("node", f"n0/{index}", NodePhase.RUNNING))
    async with anyio.create_task_group() as group:
        group.start_soon(writer.run)
        with anyio.fail_after(300):
            await sink.flush()
        group.cancel_scope.cancel()
    assert not lost
    async with admin.db.read() as session:
        stored = (await session.execute(text("SELECT count(*) FROM node_executions"))).scalar_one()
    assert stored == count


async def test_a_big_batch_lets_the_loop_run_others_while_it_is_applied(
        admin: AdminService, monkeypatch: pytest.MonkeyPatch) -> None:
    # a 10,000-item map's first batch once held the server's loop for seconds of pure CPU (the
    # console and the API stalled): others must get turns between its events
    await register_workflow_with_tasks(admin, flows.gated, "v1")
    await create(admin, "wide", "replica-a")
    writer = EventWriter(admin.events)
    sink = DatabaseSink(writer, PROJECT, DOMAIN, "wide", producer="replica-a", owner="replica-a",
                        on_lease_lost=lambda: None)
    for index in range(3_000):
        sink.record(Event("node", f"n0/{index}", NodePhase.RUNNING))
    beats = 0
    seen: list[int] = []
    apply = admin.events._apply

    async def counted(*args: Any) -> bool:
        seen.append(beats)
        return await apply(*args)

    monkeypatch.setattr(admin.events, "_apply", counted)

    async def beat() -> None:
        nonlocal beats
        while True:
            beats += 1
            await anyio.lowlevel.checkpoint()

    async with anyio.create_task_group() as group:
        group.start_soon(writer.run)
        group.start_soon(beat)
        with anyio.fail_after(120):
            await sink.flush()
        group.cancel_scope.cancel()
    node_events = seen[-3_000:]
    assert node_events[-1] - node_events[0] >= 3_000 // 256 - 1, "the batch never gave the loop away"
