"""The API's reads per task execution (issue #24 item 2): a get of an execution, a node or an
attempt, and the start of a watch, are single statements that open no session; a create reads
a workflow version's closure once; readers keep their connections."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterator
from contextlib import aclosing, contextmanager
from datetime import UTC, datetime
from typing import Any, cast

import anyio
import sqlalchemy.event
from sqlalchemy import text
from sqlalchemy.engine import Engine

from tests.integration.services import flows
from tests.integration.services.builders import (
    DOMAIN,
    PROJECT,
    TEST_ENGINE,
    ident,
    literals,
    register_workflow_with_tasks,
    some,
    take_lease,
)
from wingspan.core.errors import NotFoundError
from wingspan.core.model.interface import ExecutionId
from wingspan.protos import v1
from wingspan.server.api.rpcs import AdminRpcs, EngineRpcs
from wingspan.server.db.engine import POSTGRESQL_POOL, SQLITE_READ_POOL, Database
from wingspan.server.services.admin import AdminService

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@contextmanager
def statements() -> Iterator[list[str]]:
    """Every SQL statement any engine runs inside the block."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        seen.append(statement)

    sqlalchemy.event.listen(Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sqlalchemy.event.remove(Engine, "before_cursor_execute", record)


async def _started(admin: AdminService, name: str) -> v1.ExecutionId:
    """An execution of ``flows.pipeline`` with a node ``n1`` and its first attempt running."""
    created = await AdminRpcs(admin).create_execution(v1.CreateExecutionRequest(
        project=PROJECT, domain=DOMAIN, name=name,
        spec=v1.ExecutionSpec(entity_id=ident(2, flows.pipeline.name, "v1"), inputs=literals(x=1))))
    execution = some(created.id)
    await take_lease(admin, execution)
    engine = EngineRpcs(admin.events)
    await engine.create_node_event(v1.NodeExecutionEvent(
        id=v1.NodeExecutionId(execution_id=execution, node_id="n1"), phase=v1.NodePhase.RUNNING,
        sequence=1, occurred_at=T0, producer_id=TEST_ENGINE, inputs=literals(a=1, b=3), node_name="add",
        spec_node_id="n1"))
    await engine.create_task_event(v1.TaskExecutionEvent(
        id=v1.TaskExecutionId(task_id=ident(1, flows.add.name, "v1"),
                              node_execution_id=v1.NodeExecutionId(execution_id=execution, node_id="n1"),
                              attempt=0),
        phase=v1.TaskPhase.RUNNING, sequence=2, occurred_at=T0, producer_id=TEST_ENGINE,
        plugin="local-process"))
    return execution


async def test_gets_and_a_watch_read_single_statements_without_a_session(admin: AdminService) -> None:
    await register_workflow_with_tasks(admin, flows.pipeline, "v1")
    execution = await _started(admin, "gets")
    rpcs = AdminRpcs(admin)
    node = v1.NodeExecutionId(execution_id=execution, node_id="n1")
    attempt = v1.TaskExecutionId(node_execution_id=node, attempt=0)
    accesses: list[str] = []
    admin.db.on_transaction = lambda access, _held: accesses.append(access)

    found = await rpcs.get_execution(v1.GetExecutionRequest(id=execution))
    assert some(found.closure).phase == v1.WorkflowPhase.QUEUED  # no workflow event was sent
    assert some(some(found.spec).entity_id).name == flows.pipeline.name
    got_node = await rpcs.get_node_execution(v1.GetNodeExecutionRequest(id=node))
    assert some(got_node.closure).node_name == "add"
    data = await rpcs.get_node_execution_data(v1.GetNodeExecutionRequest(id=node))
    assert data.inputs == literals(a=1, b=3) and data.outputs is None
    running = await rpcs.get_task_execution(v1.GetTaskExecutionRequest(id=attempt))
    assert some(running.closure).plugin == "local-process"
    assert some(some(running.id).task_id).name == flows.add.name
    attempt_data = await rpcs.get_task_execution_data(v1.GetTaskExecutionRequest(id=attempt))
    assert attempt_data.inputs == literals(a=1, b=3)
    stream = cast(AsyncGenerator[bytes, None],
                  admin.events.watch_execution_stored(ExecutionId(PROJECT, DOMAIN, "gets")))
    with anyio.fail_after(10):
        async with aclosing(stream):
            watched = [await anext(stream), await anext(stream)]  # the node's event and the attempt's
    assert all(watched)

    assert accesses and set(accesses) == {"statement"}, accesses
    # and what is not there is still not found, naming it
    missing = v1.ExecutionId(project=PROJECT, domain=DOMAIN, name="nothing")
    for call in (rpcs.get_execution(v1.GetExecutionRequest(id=missing)),
                 rpcs.get_node_execution(v1.GetNodeExecutionRequest(
                     id=v1.NodeExecutionId(execution_id=missing, node_id="n1")))):
        try:
            await call
        except NotFoundError as exc:
            assert f"{PROJECT}/{DOMAIN}/nothing does not exist" in str(exc)
        else:
            raise AssertionError("a missing execution was found")


async def test_a_list_of_one_names_versions_opens_no_session(admin: AdminService) -> None:
    await register_workflow_with_tasks(admin, flows.pipeline, "v1")
    await register_workflow_with_tasks(admin, flows.pipeline, "v2")
    accesses: list[str] = []
    admin.db.on_transaction = lambda access, _held: accesses.append(access)
    rpcs = AdminRpcs(admin)
    first = (await rpcs.list_workflows(v1.ListRequest(
        project=PROJECT, domain=DOMAIN, name=flows.pipeline.name, limit=1))).message()
    assert [some(w.id).version for w in first.workflows] == ["v2"] and first.next_token
    rest = (await rpcs.list_workflows(v1.ListRequest(
        project=PROJECT, domain=DOMAIN, name=flows.pipeline.name, token=first.next_token))).message()
    assert [some(w.id).version for w in rest.workflows] == ["v1"]
    assert some(some(rest.workflows[0].closure).primary).template is not None
    plans = await rpcs.list_launch_plans(v1.ListRequest(project=PROJECT, domain=DOMAIN, name="no-such-plan"))
    assert not plans.launch_plans
    assert accesses and set(accesses) == {"statement"}, accesses


async def test_a_workflow_versions_closure_is_read_once_for_many_creates(admin: AdminService) -> None:
    await register_workflow_with_tasks(admin, flows.pipeline, "v1")
    with statements() as seen:
        for index in range(3):
            await AdminRpcs(admin).create_execution(v1.CreateExecutionRequest(
                project=PROJECT, domain=DOMAIN, name=f"run{index}",
                spec=v1.ExecutionSpec(entity_id=ident(2, flows.pipeline.name, "v1"),
                                      inputs=literals(x=index))))
    workflow_reads = [s for s in seen if s.lstrip().upper().startswith("SELECT") and "FROM workflows" in s]
    assert len(workflow_reads) == 1, workflow_reads


async def test_readers_keep_their_connections(db_url: str) -> None:
    db = Database(db_url)
    size = db.read_engine.sync_engine.pool.size()  # type: ignore[attr-defined]
    assert size == (SQLITE_READ_POOL if db.dialect == "sqlite" else POSTGRESQL_POOL)
    opened: list[object] = []
    sqlalchemy.event.listen(db.read_engine.sync_engine, "connect", lambda *_: opened.append(1))
    try:
        async with db.write() as session:
            await session.execute(text("CREATE TABLE IF NOT EXISTS items (value INTEGER)"))

        async def readers() -> None:
            """As many readers at once as the pool holds, each holding its connection until all
            of them have read."""
            reading, all_read, held = [0], anyio.Event(), anyio.Event()

            async def read() -> None:
                async with db.read() as session:
                    await session.execute(text("SELECT count(*) FROM items"))
                    reading[0] += 1
                    if reading[0] == size:
                        all_read.set()
                    await held.wait()

            async with anyio.create_task_group() as group:
                for _ in range(size):
                    group.start_soon(read)
                await all_read.wait()
                held.set()

        with anyio.fail_after(30):
            await readers()
            first = len(opened)
            await readers()
        assert first == size
        assert len(opened) == first, "connections were opened again"
    finally:
        await db.dispose()
