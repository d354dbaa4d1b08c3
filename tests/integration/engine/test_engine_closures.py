"""An engine replica reads and decodes a workflow version's closure once, however many of its
executions it runs: a registered version never changes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlmodel import col, select

from tests.integration.services import flows
from tests.integration.services.builders import DOMAIN, PROJECT, ident, literals, register_workflow_with_tasks
from wingspan.protos import v1
from wingspan.server.api.rpcs import AdminRpcs
from wingspan.server.db.models import ExecutionRow
from wingspan.server.engine.closures import Closures
from wingspan.server.services.admin import AdminService


async def created(admin: AdminService, name: str, version: str) -> ExecutionRow:
    await AdminRpcs(admin).create_execution(v1.CreateExecutionRequest(
        project=PROJECT, domain=DOMAIN, name=name,
        spec=v1.ExecutionSpec(entity_id=ident(2, flows.gated.name, version), inputs=literals(x=1))))
    async with admin.db.read() as session:
        found: ExecutionRow = (await session.execute(
            select(ExecutionRow).where(col(ExecutionRow.name) == name))).scalar_one()
    return found


async def test_a_workflow_versions_closure_is_read_once_for_all_its_executions(admin: AdminService) -> None:
    for version in ("v1", "v2"):
        await register_workflow_with_tasks(admin, flows.gated, version)
    rows = [await created(admin, name, version) for name, version in (("a", "v1"), ("b", "v1"), ("c", "v2"))]
    reads: list[str] = []

    def executed(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if "FROM workflows" in statement:
            reads.append(statement)

    engines = {admin.db.read_engine.sync_engine, admin.db.write_engine.sync_engine}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", executed)
    try:
        closures = Closures(admin.entities, size=1)
        first, again = await closures.of(rows[0]), await closures.of(rows[1])
        other = await closures.of(rows[2])
        assert len(reads) == 2  # v1 once for both of its executions, v2 once
        assert again is first
        assert other is not first and other.primary is not None and first.primary is not None
        versions = [closure.primary.template.id.version for closure in (first, other)
                    if closure.primary and closure.primary.template and closure.primary.template.id]
        assert versions == ["v1", "v2"]
        await closures.of(rows[0])  # v1 was let go to keep one closure: read again
        assert len(reads) == 3
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", executed)
