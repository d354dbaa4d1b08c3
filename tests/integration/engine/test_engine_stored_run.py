"""What a replica reads of an execution it takes: nothing past one statement for a new one; its
rows and highest sequence once any event is stored, numbered or not."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlmodel import col, select

from tests.integration.services import flows
from tests.integration.services.builders import (
    DOMAIN,
    PROJECT,
    ident,
    literals,
    register_workflow_with_tasks,
    take_lease,
)
from wingspan.core.model.events import Event, NodeExecutionEvent
from wingspan.core.model.execution import NodePhase
from wingspan.core.model.interface import ExecutionId, NodeExecutionId
from wingspan.protos import v1
from wingspan.server.api.rpcs import AdminRpcs
from wingspan.server.db.models import ExecutionRow, key
from wingspan.server.engine.journal import read_stored_run
from wingspan.server.services.admin import AdminService


async def created(admin: AdminService, name: str) -> int:
    response = await AdminRpcs(admin).create_execution(v1.CreateExecutionRequest(
        project=PROJECT, domain=DOMAIN, name=name,
        spec=v1.ExecutionSpec(entity_id=ident(2, flows.gated.name, "v1"), inputs=literals(x=1))))
    assert response.id is not None
    await take_lease(admin, response.id, "replica-a")
    async with admin.db.read() as session:
        row = (await session.execute(select(ExecutionRow).where(col(ExecutionRow.name) == name))).scalar_one()
    return key(row)


def node_event(name: str, sequence: int) -> Event:
    return Event("node", NodeExecutionEvent(
        id=NodeExecutionId(ExecutionId(PROJECT, DOMAIN, name), "n0"), producer_id="replica-a",
        phase=NodePhase.RUNNING, sequence=sequence))


async def test_a_new_execution_is_read_in_one_statement(admin: AdminService) -> None:
    await register_workflow_with_tasks(admin, flows.gated, "v1")
    execution_key = await created(admin, "new")
    statements: list[str] = []

    def executed(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        statements.append(statement)

    engine = admin.db.read_engine.sync_engine
    event.listen(engine, "before_cursor_execute", executed)
    try:
        async with admin.db.read() as session:
            stored = await read_stored_run(session, execution_key)
    finally:
        event.remove(engine, "before_cursor_execute", executed)
    assert (stored.nodes, stored.tasks, stored.last_sequence) == ([], [], 0)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1


async def test_rows_are_read_once_any_event_is_stored_numbered_or_not(admin: AdminService) -> None:
    await register_workflow_with_tasks(admin, flows.gated, "v1")
    for name, sequence in (("numbered", 4), ("unnumbered", 0)):
        execution_key = await created(admin, name)
        await admin.events.ingest(ExecutionId(PROJECT, DOMAIN, name), [node_event(name, sequence)],
                                  owner="replica-a")
        async with admin.db.read() as session:
            stored = await read_stored_run(session, execution_key)
        assert [row.node_id for row in stored.nodes] == ["n0"], name
        assert stored.last_sequence == sequence
