"""The executions list's filters by principal and by name prefix read an index (issue #19: over
100,000 executions, a filter that matches no row read the project's every row on SQLite), and a
name prefix means the same on both backends."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

from tests.integration.services import flows
from tests.integration.services.builders import (
    DOMAIN,
    PROJECT,
    ident,
    launch_plan_request,
    literals,
    register_workflow_with_tasks,
    some,
)
from wingspan.protos import v1
from wingspan.server.api.rpcs import AdminRpcs
from wingspan.server.services.admin import AdminService


@pytest.fixture
async def registered(admin: AdminService) -> AdminService:
    await register_workflow_with_tasks(admin, flows.pipeline, "v1")
    await AdminRpcs(admin).register_launch_plan(launch_plan_request(flows.pipeline_plan, "v1"))
    return admin


async def _create(admin: AdminService, name: str) -> None:
    await AdminRpcs(admin).create_execution(v1.CreateExecutionRequest(
        project=PROJECT, domain=DOMAIN, name=name,
        spec=v1.ExecutionSpec(entity_id=ident(3, "pipeline_plan", "v1"), inputs=literals(x=1))))


async def _names(admin: AdminService, field: str, operator: v1.FilterOperator, value: str,
                 sort: v1.Sort | None = None) -> list[str]:
    found = await AdminRpcs(admin).list_executions(v1.ListRequest(
        project=PROJECT, domain=DOMAIN, sort=sort or v1.Sort(key="name", ascending=True),
        filters=[v1.Filter(field=field, operator=operator, values=[value])]))
    return [some(e.id).name for e in found.executions]


async def test_a_name_prefix_is_case_sensitive_on_both_backends(registered: AdminService) -> None:
    # SQLite's LIKE ignores ASCII case, PostgreSQL's does not: the prefix means one thing on both
    for name in ("nightly-1", "nightly-2", "night-owl", "nightz", "Nightly-3", "morning"):
        await _create(registered, name)
    starts = v1.FilterOperator.STARTS_WITH
    assert await _names(registered, "name", starts, "nightly") == ["nightly-1", "nightly-2"]
    assert await _names(registered, "name", starts, "Night") == ["Nightly-3"]
    assert await _names(registered, "name", starts, "night") == [
        "night-owl", "nightly-1", "nightly-2", "nightz"]
    assert await _names(registered, "name", starts, "nightz") == ["nightz"]
    assert await _names(registered, "name", starts, "zzz") == []


@pytest.mark.parametrize("backend", ["sqlite"])  # how SQLite reads a prefix depends on how many match
async def test_a_prefix_of_many_executions_reads_along_the_lists_order_and_still_ignores_other_cases(
        registered: AdminService) -> None:
    registered.executions.few_named = 3  # what 2,000 executions would show
    for name in ("many-1", "many-2", "Many-3", "many-4", "many-5", "few-1"):
        await _create(registered, name)
    starts = v1.FilterOperator.STARTS_WITH
    newest_first = v1.Sort(key="created_at", ascending=False)
    assert await _names(registered, "name", starts, "many", newest_first) == [
        "many-5", "many-4", "many-2", "many-1"]
    assert await _names(registered, "name", starts, "few", newest_first) == ["few-1"]
    along = await _plan_of_list(registered, "name", starts, "many")
    assert "ix_executions_project_domain_created_at_id" in along and "name>?" not in along, along
    through_names = await _plan_of_list(registered, "name", starts, "few")
    assert "(project=? AND domain=? AND name>? AND name<?)" in through_names, through_names


async def _plan_of_list(admin: AdminService, field: str, operator: v1.FilterOperator, value: str) -> str:
    """SQLite's plan for the list's query with that filter, as the service sends it (newest first,
    the console's order)."""
    sent: list[tuple[str, Any]] = []

    def seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM executions" in statement:
            sent.append((statement, parameters))

    engine = admin.db.read_engine.sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        await _names(admin, field, operator, value, v1.Sort(key="created_at", ascending=False))
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert sent, "the list sent no query of the executions table"
    statement, parameters = sent[-1]
    async with admin.db.read_engine.connect() as connection:
        raw = await connection.get_raw_connection()
        assert raw.driver_connection is not None
        cursor = await raw.driver_connection.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)
        rows = await cursor.fetchall()
    return "\n".join(str(row[-1]) for row in rows)


@pytest.mark.parametrize("backend", ["sqlite"])  # PostgreSQL's planner weighs its own statistics
async def test_filters_that_match_no_row_read_an_index_not_every_row(registered: AdminService) -> None:
    for index in range(30):
        await _create(registered, f"run-{index:03d}")
    principal = await _plan_of_list(registered, "principal", v1.FilterOperator.EQ, "nobody")
    assert "ix_executions_project_domain_principal_created_at (project=? AND domain=? AND principal=?)" \
        in principal, principal
    prefix = await _plan_of_list(registered, "name", v1.FilterOperator.STARTS_WITH, "zzz")
    # the (project, domain, name) unique index, read from the prefix to its successor only
    assert "(project=? AND domain=? AND name>? AND name<?)" in prefix, prefix
