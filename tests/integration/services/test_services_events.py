"""Event ingestion: idempotent, phases only forward, concurrent ingestion; node and task
executions (attempts, logs, cache status) and their data; signals; the catalog."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy.event
from sqlmodel import col, select

from tests.integration.services import flows
from tests.integration.services.builders import (
    DOMAIN,
    PROJECT,
    TEST_ENGINE,
    closure_of,
    ident,
    literals,
    register_workflow_with_tasks,
    some,
    take_lease,
)
from wingspan.core.errors import (
    AlreadyExistsError,
    FailedPreconditionError,
    InvalidArgumentError,
    LeaseLostError,
    NotFoundError,
)
from wingspan.core.model import codec
from wingspan.core.model.events import Event, TaskExecutionEvent, TaskLog
from wingspan.core.model.execution import TaskPhase
from wingspan.core.model.interface import ExecutionId, NodeExecutionId, SignalId, TaskExecutionId
from wingspan.core.model.literals import Literal, LiteralType, SimpleType
from wingspan.protos import v1
from wingspan.server.api.grpc_server import DEFAULT_MAX_MESSAGE_BYTES, LimitedCodec
from wingspan.server.api.rpcs import AdminRpcs, EngineRpcs
from wingspan.server.db.models import TaskExecutionRow
from wingspan.server.services.admin import AdminService
from wingspan.server.services.catalog import CatalogEntry, CatalogKey

WP, NP, TP = v1.WorkflowPhase, v1.NodePhase, v1.TaskPhase
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
async def execution(admin: AdminService) -> v1.ExecutionId:
    await register_workflow_with_tasks(admin, flows.gated, "v1")
    response = await AdminRpcs(admin).create_execution(
        v1.CreateExecutionRequest(
            project=PROJECT,
            domain=DOMAIN,
            name="run",
            spec=v1.ExecutionSpec(entity_id=ident(2, flows.gated.name, "v1"), inputs=literals(x=1)),
        )
    )
    # the tests write events as the engine holding the lease
    execution_id = some(response.id)
    await take_lease(admin, execution_id)
    return execution_id


def wf_event(execution: v1.ExecutionId, phase: v1.WorkflowPhase, sequence: int, **kw: Any
             ) -> v1.WorkflowExecutionEvent:
    return v1.WorkflowExecutionEvent(
        execution_id=execution,
        phase=phase,
        sequence=sequence,
        occurred_at=T0 + timedelta(seconds=sequence),
        **{"producer_id": TEST_ENGINE, **kw},
    )


def node_event(
    execution: v1.ExecutionId, node: str, phase: v1.NodePhase, sequence: int, **kw: Any
) -> v1.NodeExecutionEvent:
    return v1.NodeExecutionEvent(
        id=v1.NodeExecutionId(execution_id=execution, node_id=node),
        phase=phase,
        sequence=sequence,
        occurred_at=T0 + timedelta(seconds=sequence),
        **{"producer_id": TEST_ENGINE, **kw},
    )


def task_event(
    execution: v1.ExecutionId, node: str, attempt: int, phase: v1.TaskPhase, sequence: int, **kw: Any
) -> v1.TaskExecutionEvent:
    return v1.TaskExecutionEvent(
        id=v1.TaskExecutionId(
            task_id=ident(1, flows.add.name, "v1"),
            node_execution_id=v1.NodeExecutionId(execution_id=execution, node_id=node),
            attempt=attempt,
        ),
        phase=phase,
        sequence=sequence,
        occurred_at=T0 + timedelta(seconds=sequence),
        **{"producer_id": TEST_ENGINE, **kw},
    )


async def phase_of(admin: AdminService, execution: v1.ExecutionId) -> v1.WorkflowPhase:
    return closure_of(await AdminRpcs(admin).get_execution(v1.GetExecutionRequest(id=execution))).phase


async def test_a_repeated_event_changes_nothing(admin: AdminService, execution: v1.ExecutionId) -> None:
    first = await EngineRpcs(admin.events).create_workflow_event(wf_event(execution, WP.RUNNING, 1))
    again = await EngineRpcs(admin.events).create_workflow_event(wf_event(execution, WP.RUNNING, 1))
    assert first.recorded and not again.recorded
    events = await AdminRpcs(admin).list_events(v1.ListEventsRequest(execution_id=execution))
    assert len(events.events) == 1
    with pytest.raises(AlreadyExistsError, match="sequence 1"):
        await EngineRpcs(admin.events).create_workflow_event(wf_event(execution, WP.FAILED, 1))
    assert await phase_of(admin, execution) == WP.RUNNING


async def test_an_event_is_recorded_only_for_the_replica_holding_the_lease(
    admin: AdminService, execution: v1.ExecutionId
) -> None:
    events = EngineRpcs(admin.events)
    forged = wf_event(execution, WP.SUCCEEDED, 1, outputs=literals(o0=666), producer_id="intruder")
    batch = [Event("workflow", codec.from_proto(forged))]
    with pytest.raises(LeaseLostError, match="replica 'intruder' does not hold its lease"):
        await events.create_workflow_event(forged)
    with pytest.raises(LeaseLostError, match="'intruder'"):
        await admin.events.ingest(codec.from_proto(execution), batch, owner="intruder")
    with pytest.raises(InvalidArgumentError, match="no sender"):
        await events.create_workflow_event(wf_event(execution, WP.SUCCEEDED, 1, producer_id=""))
    with pytest.raises(InvalidArgumentError, match="no sender"):
        await admin.events.ingest(codec.from_proto(execution), batch, owner="")
    await take_lease(admin, execution, TEST_ENGINE, seconds=-1)  # the holder's lease ran out
    with pytest.raises(LeaseLostError, match=f"replica {TEST_ENGINE!r}"):
        await events.create_node_event(node_event(execution, "n0", NP.SUCCEEDED, 1))
    assert await phase_of(admin, execution) == WP.QUEUED
    assert (await AdminRpcs(admin).list_events(v1.ListEventsRequest(execution_id=execution))).events == []
    nodes = await AdminRpcs(admin).list_node_executions(v1.ListNodeExecutionsRequest(execution_id=execution))
    assert nodes.node_executions == []
    await take_lease(admin, execution, "intruder")
    assert (await events.create_workflow_event(forged)).recorded
    assert await phase_of(admin, execution) == WP.SUCCEEDED


async def test_a_late_event_never_moves_a_terminal_phase_back(
    admin: AdminService, execution: v1.ExecutionId
) -> None:
    await EngineRpcs(admin.events).create_workflow_event(wf_event(execution, WP.RUNNING, 1))
    await EngineRpcs(admin.events).create_workflow_event(
        wf_event(execution, WP.SUCCEEDED, 3, outputs=literals(o0=7)))
    late = await EngineRpcs(admin.events).create_workflow_event(wf_event(execution, WP.RUNNING, 2))
    other_end = await EngineRpcs(admin.events).create_workflow_event(wf_event(execution, WP.FAILED, 4))
    assert late.recorded and other_end.recorded  # recorded in the history, ignored for the phase
    got = await AdminRpcs(admin).get_execution(v1.GetExecutionRequest(id=execution))
    assert closure_of(got).phase == WP.SUCCEEDED
    assert closure_of(got).started_at == T0 + timedelta(seconds=1)
    assert closure_of(got).duration == timedelta(seconds=2)
    data = await AdminRpcs(admin).get_execution_data(v1.GetExecutionRequest(id=execution))
    assert data.outputs == literals(o0=7)
    events = await AdminRpcs(admin).list_events(
        v1.ListEventsRequest(execution_id=execution, after_sequence=2))
    assert [some(e.workflow).sequence for e in events.events] == [3, 4]


async def test_events_in_any_order_give_the_same_result(
    admin: AdminService, execution: v1.ExecutionId
) -> None:
    events = [
        node_event(execution, "n1", NP.QUEUED, 1),
        node_event(execution, "n1", NP.RUNNING, 2),
        node_event(execution, "n1", NP.SUCCEEDED, 3, outputs=literals(o0=2)),
    ]
    for k, order in enumerate(itertools.permutations(range(3))):
        name = f"n1-{k}"
        for i in order:
            event = events[i]
            assert event.id is not None
            event.id.node_id = name
            event.sequence = 10 * k + i + 1  # arrival order differs from sequence order
            await EngineRpcs(admin.events).create_node_event(event)
        node = await AdminRpcs(admin).get_node_execution(
            v1.GetNodeExecutionRequest(id=v1.NodeExecutionId(execution_id=execution, node_id=name))
        )
        assert some(node.closure).phase == NP.SUCCEEDED, order


async def test_concurrent_ingestion_records_each_event_once(
    admin: AdminService, execution: v1.ExecutionId
) -> None:
    events = [
        task_event(execution, "n1", 0, TP.RUNNING, s, logs=[v1.TaskLog(name=f"log{s}", uri=f"file:///{s}")])
        for s in range(1, 21)
    ]
    events.append(task_event(execution, "n1", 0, TP.SUCCEEDED, 21, cache_status=v1.CacheStatus.POPULATED))
    # every event twice, all at once
    results = await asyncio.gather(*(EngineRpcs(admin.events).create_task_event(e) for e in events + events))
    assert sum(r.recorded for r in results) == len(events)
    attempts = await AdminRpcs(admin).list_task_executions(
        v1.ListTaskExecutionsRequest(
            node_execution_id=v1.NodeExecutionId(execution_id=execution, node_id="n1")
        )
    )
    (attempt,) = attempts.task_executions
    assert some(attempt.closure).phase == TP.SUCCEEDED
    assert sorted(log.name for log in some(attempt.closure).logs) == sorted(f"log{s}" for s in range(1, 21))
    listed = await AdminRpcs(admin).list_events(v1.ListEventsRequest(execution_id=execution))
    assert [some(e.task).sequence for e in listed.events] == list(range(1, 22))


async def test_concurrent_events_of_many_executions(admin: AdminService, execution: v1.ExecutionId) -> None:
    names = []
    for i in range(6):
        response = await AdminRpcs(admin).create_execution(
            v1.CreateExecutionRequest(
                project=PROJECT,
                domain=DOMAIN,
                spec=v1.ExecutionSpec(entity_id=ident(2, flows.gated.name, "v1"), inputs=literals(x=i)),
            )
        )
        names.append(some(response.id))
        await take_lease(admin, response.id)
    events = [wf_event(e, phase, s) for e in names for s, phase in ((1, WP.RUNNING), (2, WP.SUCCEEDED))]
    await asyncio.gather(*(EngineRpcs(admin.events).create_workflow_event(e) for e in reversed(events)))
    assert [await phase_of(admin, e) for e in names] == [WP.SUCCEEDED] * 6


async def test_nodes_attempts_logs_cache_status_and_data(
    admin: AdminService, execution: v1.ExecutionId
) -> None:
    big = "z" * 10_000
    await EngineRpcs(admin.events).create_node_event(
        node_event(
            execution, "n1", NP.RUNNING, 1, inputs=literals(a=1, b=big), node_name="add", spec_node_id="n1"
        )
    )
    await EngineRpcs(admin.events).create_task_event(
        task_event(execution, "n1", 0, TP.RUNNING, 2, plugin="local-process", plugin_handle=b"pid:1")
    )
    await EngineRpcs(admin.events).create_task_event(
        task_event(
            execution,
            "n1",
            0,
            TP.RETRYABLE_FAILURE,
            3,
            error=v1.ExecutionError(code="USER:ValueError", message="boom", retryable=True),
        )
    )
    await EngineRpcs(admin.events).create_task_event(
        task_event(
            execution,
            "n1",
            1,
            TP.SUCCEEDED,
            4,
            outputs=literals(o0=3),
            logs=[v1.TaskLog(name="stdout", uri="file:///out")],
        )
    )
    await EngineRpcs(admin.events).create_node_event(
        node_event(execution, "n1", NP.SUCCEEDED, 5, outputs=literals(o0=3), cache_status=v1.CacheStatus.MISS)
    )
    await EngineRpcs(admin.events).create_node_event(
        node_event(execution, "n1/0", NP.RUNNING, 6, parent_node_id="n1"))
    top = await AdminRpcs(admin).list_node_executions(v1.ListNodeExecutionsRequest(execution_id=execution))
    assert [
        (some(n.id).node_id, some(n.closure).phase, some(n.closure).node_name, some(n.closure).cache_status)
        for n in top.node_executions
    ] == [("n1", NP.SUCCEEDED, "add", v1.CacheStatus.MISS)]
    children = await AdminRpcs(admin).list_node_executions(
        v1.ListNodeExecutionsRequest(execution_id=execution, parent_node_id="n1")
    )
    assert [some(n.id).node_id for n in children.node_executions] == ["n1/0"]
    node_id = v1.NodeExecutionId(execution_id=execution, node_id="n1")
    data = await AdminRpcs(admin).get_node_execution_data(v1.GetNodeExecutionRequest(id=node_id))
    assert data.inputs == literals(a=1, b=big) and data.outputs == literals(o0=3)
    rpcs = AdminRpcs(admin)
    attempts = await rpcs.list_task_executions(v1.ListTaskExecutionsRequest(node_execution_id=node_id))
    assert [(some(a.id).attempt, some(a.closure).phase) for a in attempts.task_executions] == [
        (0, TP.RETRYABLE_FAILURE),
        (1, TP.SUCCEEDED),
    ]
    first = attempts.task_executions[0]
    first_closure = some(first.closure)
    assert some(first_closure.error).message == "boom" and first_closure.plugin_handle == b"pid:1"
    assert some(some(first.id).task_id).name == flows.add.name
    second = await rpcs.get_task_execution(v1.GetTaskExecutionRequest(id=attempts.task_executions[1].id))
    assert [log.name for log in some(second.closure).logs] == ["stdout"]
    attempt_data = await AdminRpcs(admin).get_task_execution_data(v1.GetTaskExecutionRequest(id=second.id))
    assert attempt_data.outputs == literals(o0=3) and attempt_data.inputs == literals(a=1, b=big)
    with pytest.raises(NotFoundError, match="no attempt 5"):
        await AdminRpcs(admin).get_task_execution(
            v1.GetTaskExecutionRequest(id=v1.TaskExecutionId(node_execution_id=node_id, attempt=5))
        )
    with pytest.raises(NotFoundError, match="no node"):
        await AdminRpcs(admin).get_node_execution(
            v1.GetNodeExecutionRequest(id=v1.NodeExecutionId(execution_id=execution, node_id="n9"))
        )


async def test_events_for_unknown_executions_or_without_ids_are_rejected(admin: AdminService) -> None:
    with pytest.raises(NotFoundError):
        await EngineRpcs(admin.events).create_workflow_event(
            wf_event(v1.ExecutionId(project=PROJECT, domain=DOMAIN, name="x"), WP.RUNNING, 1)
        )
    with pytest.raises(InvalidArgumentError):
        await EngineRpcs(admin.events).create_node_event(v1.NodeExecutionEvent(phase=NP.RUNNING))


async def test_signals_are_listed_from_the_closure_and_set_once_type_checked(
    admin: AdminService, execution: v1.ExecutionId
) -> None:
    rpcs = AdminRpcs(admin)
    listed = await rpcs.list_signals(v1.ListSignalsRequest(execution_id=execution))
    (signal,) = listed.signals
    assert some(signal.id).signal_id == "factor" and signal.node_id == "n0"
    assert some(signal.type).simple == v1.SimpleType.INTEGER and signal.value is None
    signal_id = v1.SignalId(execution_id=execution, signal_id="factor")
    with pytest.raises(InvalidArgumentError, match="expects int"):
        await rpcs.set_signal(v1.SetSignalRequest(id=signal_id, value=v1.Literal(string="2")))
    await rpcs.set_signal(v1.SetSignalRequest(id=signal_id, value=v1.Literal(integer=2)))
    await rpcs.set_signal(v1.SetSignalRequest(id=signal_id, value=v1.Literal(integer=2)))  # same: a no-op
    with pytest.raises(FailedPreconditionError, match="already set"):
        await rpcs.set_signal(v1.SetSignalRequest(id=signal_id, value=v1.Literal(integer=3)))
    got = await admin.signals.get_signal(codec.from_proto(signal_id))
    assert got.value == Literal("integer", 2) and got.set_at is not None
    with pytest.raises(NotFoundError, match="no signal 'other'"):
        await AdminRpcs(admin).set_signal(
            v1.SetSignalRequest(
                id=v1.SignalId(execution_id=execution, signal_id="other"), value=v1.Literal(boolean=True)
            )
        )
    made = await admin.signals.ensure_signal(
        SignalId(codec.from_proto(execution), "other"), LiteralType("simple", SimpleType.BOOLEAN), "n5"
    )
    assert made.node_id == "n5"
    await AdminRpcs(admin).set_signal(
        v1.SetSignalRequest(id=codec.to_proto(made.id), value=v1.Literal(boolean=True)))


async def test_catalog_entries_and_reservations(admin: AdminService) -> None:
    catalog = admin.catalog
    key = CatalogKey("default/development/add", "1", "abc")
    assert await catalog.get(key) is None
    outputs = bytes(literals(o0="w" * 20_000))  # offloaded to the blob store
    await catalog.put(CatalogEntry(key, outputs, source="run/n1/0"))
    entry = await catalog.get(key)
    assert entry is not None and entry.outputs == outputs and entry.source == "run/n1/0"
    await catalog.put(CatalogEntry(key, bytes(literals(o0=1)), source="run2"))
    entry = await catalog.get(key)
    assert entry is not None and entry.source == "run2"

    reservations = await asyncio.gather(*(catalog.reserve(key, f"engine{i}", 60) for i in range(5)))
    holders = {r.owner for r in reservations}
    assert len(holders) == 1 and sum(r.acquired for r in reservations) == 1
    (holder,) = holders
    extended = await catalog.reserve(key, holder, 120)
    assert extended.acquired
    await catalog.release(key, "someone else")
    assert not (await catalog.reserve(key, "late", 60)).acquired
    await catalog.release(key, holder)
    assert (await catalog.reserve(key, "late", 0)).acquired  # a reservation that lapses at once
    assert (await catalog.reserve(key, "next", 60)).acquired
    assert await catalog.clear() == 1
    assert await catalog.get(key) is None


async def test_watch_replays_then_follows_until_the_end(
    admin: AdminService, execution: v1.ExecutionId
) -> None:
    await EngineRpcs(admin.events).create_workflow_event(wf_event(execution, WP.RUNNING, 1))
    seen: list[int] = []
    first_seen = asyncio.Event()

    async def watch() -> None:
        # a long poll: events recorded in this process wake the watcher at once
        async for event in admin.events.watch_execution(codec.from_proto(execution), poll_interval=30):
            assert event.value is not None
            seen.append(event.value.sequence)
            first_seen.set()

    watcher = asyncio.create_task(watch())
    await asyncio.wait_for(first_seen.wait(), 10)
    await EngineRpcs(admin.events).create_node_event(node_event(execution, "n0", NP.RUNNING, 2))
    await EngineRpcs(admin.events).create_workflow_event(wf_event(execution, WP.SUCCEEDED, 3))
    await asyncio.wait_for(watcher, 10)  # ends by itself once the execution has ended
    assert seen == [1, 2, 3]
    rpcs = AdminRpcs(admin)
    stored = [e async for e in rpcs.watch_execution(v1.WatchExecutionRequest(id=execution, after_sequence=2))]
    later = [e.message() for e in stored]
    assert [some(e.workflow).sequence for e in later] == [3]
    # the gRPC transport sends each event as stored, without decoding and encoding it again
    wire = LimitedCodec(DEFAULT_MAX_MESSAGE_BYTES)
    assert [wire.encode(e, v1.Event) for e in stored] == [e.data for e in stored]
    assert [wire.decode(wire.encode(e, v1.Event), v1.Event) for e in stored] == later
    with pytest.raises(TypeError):
        wire.encode(stored[0], v1.Execution)


async def test_watching_an_ended_execution_reads_its_events_in_one_pass(
    admin: AdminService, execution: v1.ExecutionId
) -> None:
    for sequence, phase in enumerate((WP.RUNNING, WP.SUCCEEDED), start=1):
        await EngineRpcs(admin.events).create_workflow_event(wf_event(execution, phase, sequence))
    statements: list[str] = []

    def executed(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        statements.append(statement)

    # PostgreSQL's statement engine is the read engine with an option: it shares its events
    engines = [admin.db.read_engine.sync_engine]
    if admin.db.statement_engine.sync_engine.pool is not admin.db.read_engine.sync_engine.pool:
        engines.append(admin.db.statement_engine.sync_engine)
    for engine in engines:
        sqlalchemy.event.listen(engine, "before_cursor_execute", executed)
    try:
        seen = [e async for e in admin.events.watch_execution(codec.from_proto(execution))]
    finally:
        for engine in engines:
            sqlalchemy.event.remove(engine, "before_cursor_execute", executed)
    assert len(seen) == 2
    # the execution found by name; then its phase and its events, once and by one statement: a
    # page shorter than the limit is all there is, and an ended execution's events are all stored
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 2, statements
    # that statement alone, in no transaction (on SQLite, the name's look-up begins one)
    assert len([s for s in statements if s.lstrip().upper().startswith("BEGIN")]) <= 1, statements


async def test_attempts_changing_different_columns_are_updated_by_one_statement(
    admin: AdminService, execution: v1.ExecutionId
) -> None:
    """One batch: attempt a gets its handle while attempt b (started earlier, with a handle of
    its own) ends. One UPDATE writes both; each keeps what the other's event set."""
    events = EngineRpcs(admin.events)
    await events.create_task_event(task_event(execution, "a", 0, TP.RUNNING, 1))
    await events.create_task_event(task_event(execution, "b", 0, TP.RUNNING, 2, plugin="local-process",
                                              plugin_handle=b"pid:2"))
    ids = ExecutionId(execution.project, execution.domain, execution.name)

    def attempt(node: str, phase: TaskPhase, sequence: int, **kw: Any) -> Event:
        return Event("task", TaskExecutionEvent(
            id=TaskExecutionId(None, NodeExecutionId(ids, node), 0), producer_id=TEST_ENGINE, phase=phase,
            occurred_at=T0 + timedelta(seconds=sequence), sequence=sequence, **kw))

    updates: list[str] = []

    def executed(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE TASK_EXECUTIONS"):
            updates.append(statement)

    engine = admin.db.write_engine.sync_engine
    sqlalchemy.event.listen(engine, "before_cursor_execute", executed)
    try:
        await admin.events.ingest(ids, [
            attempt("a", TaskPhase.RUNNING, 3, plugin="local-process", plugin_handle=b"pid:1"),
            attempt("b", TaskPhase.SUCCEEDED, 4, logs=(TaskLog("stdout", "file:///b"),)),
        ], owner=TEST_ENGINE)
    finally:
        sqlalchemy.event.remove(engine, "before_cursor_execute", executed)
    assert len(updates) == 1, updates
    async with admin.db.read() as session:
        by_node = select(TaskExecutionRow).order_by(col(TaskExecutionRow.node_id))
        rows = (await session.execute(by_node)).scalars()
        found = [(row.node_id, row.phase, row.plugin, row.plugin_handle, row.logs) for row in rows]
    assert found == [
        ("a", int(TaskPhase.RUNNING), "local-process", b"pid:1", "[]"),
        ("b", int(TaskPhase.SUCCEEDED), "local-process", b"pid:2", '[["stdout", "file:///b"]]'),
    ]
